/**
 * Properties of placement over random host sets and stacks: every strategy keeps pins, capacity,
 * ports, labels and anti-affinity, gives the same plan for the same inputs, and names every
 * service it cannot place.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { HostFacts, HostRecord, PlacementStrategyName, ServiceSpec, StackSpec } from '../../core/model';
import { PlacementError, planPlacement, type PlacementInput, type PlacementPlan } from '../../core/placement';

const GIB = 1024 ** 3;
const PORTS = ['80/tcp', '443/tcp', '5432/tcp'];

interface World {
  input: PlacementInput;
}

const hostArbitrary = fc.record({
  cpus: fc.integer({ min: 1, max: 16 }),
  memoryGib: fc.integer({ min: 1, max: 32 }),
  reservedShare: fc.constantFrom(0, 0, 0.25, 0.5, 0.9, 1.2),
  running: fc.integer({ min: 0, max: 20 }),
  datacenter: fc.constantFrom('dc1', 'dc2', 'dc3'),
  ssd: fc.boolean(),
  active: fc.constantFrom(true, true, true, true, true, true, true, false),
  reachable: fc.constantFrom(true, true, true, true, true, true, true, false),
  ports: fc.oneof(fc.constant([]), fc.constant([]), fc.subarray(PORTS, { maxLength: 2 })),
});

const serviceArbitrary = fc.record({
  cpus: fc.constantFrom(0, 0, 0.25, 0.5, 1, 2),
  memoryGib: fc.constantFrom(0, 0, 0.5, 1, 2, 4),
  pin: fc.option(fc.nat(), { nil: undefined, freq: 2 }),
  ssd: fc.constantFrom(false, false, false, false, false, true),
  port: fc.option(fc.constantFrom(...PORTS), { nil: undefined, freq: 1 }),
  avoid: fc.option(fc.nat(), { nil: undefined, freq: 1 }),
});

const worldArbitrary = fc
  .record({
    hosts: fc.array(hostArbitrary, { minLength: 1, maxLength: 10 }),
    services: fc.array(serviceArbitrary, { minLength: 1, maxLength: 8 }),
    strategy: fc.constantFrom<PlacementStrategyName>('auto', 'spread', 'datacenter', 'single', 'manual'),
    seed: fc.string({ minLength: 1, maxLength: 8 }),
    maxPerHost: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined, freq: 4 }),
  })
  .map(({ hosts, services, strategy, seed, maxPerHost }): World => {
    const records: HostRecord[] = hosts.map((entry, index) => ({
      name: `h${index}`,
      docker: { protocol: 'unix', socketPath: `/run/h${index}.sock` },
      address: `10.0.0.${index + 1}`,
      datacenter: entry.datacenter,
      labels: entry.ssd ? { disk: 'ssd' } : ({} as Record<string, string>),
      imagePull: 'never',
      status: entry.active ? 'active' : 'inactive',
    }));
    const facts: Record<string, HostFacts> = Object.fromEntries(
      hosts.map((entry, index) => [
        `h${index}`,
        {
          name: `h${index}`,
          reachable: entry.reachable,
          cpus: entry.cpus,
          memoryBytes: entry.memoryGib * GIB,
          runningContainers: entry.running,
          cpusReserved: entry.cpus * entry.reservedShare,
          memoryReservedBytes: entry.memoryGib * GIB * entry.reservedShare,
          publishedPorts: [...entry.ports],
        },
      ]),
    );
    const specs: ServiceSpec[] = services.map((entry, index) => {
      const pinned = strategy === 'manual' || (entry.pin !== undefined && entry.pin % 4 === 0);
      const spec: ServiceSpec = {
        name: `s${index}`,
        position: index + 1,
        image: 'busybox',
        environment: {},
        ports: [],
        dependencies: [],
        labels: {},
        resources: {},
        mounts: [],
        actions: [],
        sourcePath: `$.itemListElement[${index}]`,
      };
      if (entry.cpus > 0) spec.resources.cpus = entry.cpus;
      if (entry.memoryGib > 0) spec.resources.memoryBytes = entry.memoryGib * GIB;
      if (pinned) spec.targetHost = `h${(entry.pin ?? index) % hosts.length}`;
      if (entry.ssd) spec.constraints = { labels: { disk: 'ssd' } };
      if (entry.port) {
        const [hostPort, protocol] = entry.port.split('/');
        spec.ports = [
          { containerPort: Number(hostPort), hostPort: Number(hostPort), protocol: protocol as 'tcp' },
        ];
      }
      if (entry.avoid !== undefined && services.length > 1) {
        const other = entry.avoid % services.length;
        if (other !== index) spec.antiAffinity = [`s${other}`];
      }
      return spec;
    });
    const stack: StackSpec = { name: 'prop', placement: strategy, volumes: [], services: specs };
    if (maxPerHost !== undefined) stack.maxServicesPerHost = maxPerHost;
    return { input: { stack, hosts: records, facts, seed } };
  });

/** Runs placement and returns the plan, or the error for a stack that cannot be placed. */
function attempt(input: PlacementInput): PlacementPlan | PlacementError {
  try {
    return planPlacement(input);
  } catch (error) {
    if (error instanceof PlacementError) return error;
    throw error;
  }
}

function servicesOn(plan: PlacementPlan, stack: StackSpec, host: string): ServiceSpec[] {
  return stack.services.filter((service) => plan.assignments[service.name] === host);
}

const RUNS = { numRuns: 400 };

describe('placement properties', () => {
  it('places every service or names it', () => {
    fc.assert(
      fc.property(worldArbitrary, ({ input }) => {
        const result = attempt(input);
        const names = input.stack.services.map((service) => service.name);
        if (result instanceof PlacementError) {
          expect(result.unplaced.length).toBeGreaterThan(0);
          for (const entry of result.unplaced) {
            expect(names).toContain(entry.service);
            expect(entry.reasons.length + (entry.groups?.length ?? 0)).toBeGreaterThan(0);
          }
        } else {
          expect(Object.keys(result.assignments).sort()).toEqual([...names].sort());
          expect(result.services.map((entry) => entry.service)).toEqual(names);
        }
      }),
      RUNS,
    );
  });

  it('respects pins', () => {
    fc.assert(
      fc.property(worldArbitrary, ({ input }) => {
        const result = attempt(input);
        if (result instanceof PlacementError) return;
        for (const service of input.stack.services) {
          if (service.targetHost) expect(result.assignments[service.name]).toBe(service.targetHost);
        }
      }),
      RUNS,
    );
  });

  it('never over-commits CPU or memory', () => {
    fc.assert(
      fc.property(worldArbitrary, ({ input }) => {
        const result = attempt(input);
        if (result instanceof PlacementError) return;
        for (const host of input.hosts) {
          const facts = input.facts[host.name];
          const placed = servicesOn(result, input.stack, host.name);
          const cpus = placed.reduce((sum, service) => sum + (service.resources.cpus ?? 0), 0);
          const memory = placed.reduce((sum, service) => sum + (service.resources.memoryBytes ?? 0), 0);
          if (cpus > 0) expect(cpus).toBeLessThanOrEqual(facts.cpus - (facts.cpusReserved ?? 0) + 1e-9);
          if (memory > 0)
            expect(memory).toBeLessThanOrEqual(facts.memoryBytes - (facts.memoryReservedBytes ?? 0));
        }
      }),
      RUNS,
    );
  });

  it('uses only usable hosts that meet every constraint', () => {
    fc.assert(
      fc.property(worldArbitrary, ({ input }) => {
        const result = attempt(input);
        if (result instanceof PlacementError) return;
        const max = input.stack.maxServicesPerHost;
        for (const host of input.hosts) {
          const placed = servicesOn(result, input.stack, host.name);
          if (placed.length === 0) continue;
          expect(host.status).toBe('active');
          expect(input.facts[host.name].reachable).toBe(true);
          if (max !== undefined) expect(placed.length).toBeLessThanOrEqual(max);
          const ports = placed.flatMap((service) =>
            service.ports.map((port) => `${port.hostPort}/${port.protocol}`),
          );
          expect(new Set(ports).size).toBe(ports.length);
          for (const port of ports) expect(input.facts[host.name].publishedPorts).not.toContain(port);
          for (const service of placed) {
            for (const [key, value] of Object.entries(service.constraints?.labels ?? {})) {
              expect(host.labels[key]).toBe(value);
            }
          }
        }
      }),
      RUNS,
    );
  });

  it('keeps anti-affine services apart', () => {
    fc.assert(
      fc.property(worldArbitrary, ({ input }) => {
        const result = attempt(input);
        if (result instanceof PlacementError) return;
        for (const service of input.stack.services) {
          for (const other of service.antiAffinity ?? []) {
            expect(result.assignments[service.name]).not.toBe(result.assignments[other]);
          }
        }
      }),
      RUNS,
    );
  });

  it('gives the same plan for the same inputs in any host order', () => {
    fc.assert(
      fc.property(worldArbitrary, ({ input }) => {
        const first = attempt(input);
        const shuffled = { ...input, hosts: [...input.hosts].reverse() };
        const again = attempt(shuffled);
        if (first instanceof PlacementError) {
          expect(again).toBeInstanceOf(PlacementError);
          expect((again as PlacementError).unplaced).toEqual(first.unplaced);
        } else {
          expect(again).toEqual(first);
        }
      }),
      RUNS,
    );
  });

  it('spreads services evenly over equal usable hosts', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 40 }),
        fc.string(),
        (hostCount, serviceCount, seed) => {
          const hosts: HostRecord[] = Array.from({ length: hostCount }, (_, index) => ({
            name: `h${index}`,
            docker: { protocol: 'unix', socketPath: `/run/h${index}.sock` },
            address: '10.0.0.1',
            datacenter: 'dc1',
            labels: {},
            imagePull: 'never',
            status: 'active',
          }));
          const facts = Object.fromEntries(
            hosts.map((host, index) => [
              host.name,
              {
                name: host.name,
                reachable: true,
                cpus: 2 + index,
                memoryBytes: (4 + index) * GIB,
                runningContainers: index * 3,
              },
            ]),
          );
          const services: ServiceSpec[] = Array.from({ length: serviceCount }, (_, index) => ({
            name: `s${index}`,
            position: index + 1,
            image: 'busybox',
            environment: {},
            ports: [],
            dependencies: [],
            labels: {},
            resources: {},
            mounts: [],
            actions: [],
            sourcePath: '$',
          }));
          const plan = planPlacement({
            stack: { name: 'even', placement: 'spread', volumes: [], services },
            hosts,
            facts,
            seed,
          });
          const perHost = hosts.map(
            (host) => Object.values(plan.assignments).filter((name) => name === host.name).length,
          );
          expect(Math.max(...perHost) - Math.min(...perHost)).toBeLessThanOrEqual(1);
        },
      ),
      RUNS,
    );
  });
});

describe('placement on large host sets', () => {
  it('gives the same plan when reusing scans as when scanning every host', () => {
    fc.assert(
      fc.property(
        fc.array(hostArbitrary, { minLength: 65, maxLength: 90 }),
        fc.array(serviceArbitrary, { minLength: 1, maxLength: 40 }),
        fc.string({ maxLength: 6 }),
        (hosts, services, seed) => {
          const world = fc.sample(worldArbitrary, { numRuns: 1, seed: services.length })[0];
          const input = rebuild(world.input, hosts, services.length, seed);
          const reused = attempt(input);
          const scanned = attempt({ ...input, reuseScans: false });
          expect(reused).toEqual(scanned);
        },
      ),
      { numRuns: 150 },
    );
  });
});

/** Replaces the hosts of `input` with `hosts` and repeats its services to `count`, all unpinned. */
function rebuild(
  input: PlacementInput,
  hosts: { cpus: number; memoryGib: number; reservedShare: number; running: number; ssd: boolean }[],
  count: number,
  seed: string,
): PlacementInput {
  const records: HostRecord[] = hosts.map((entry, index) => ({
    name: `h${index}`,
    docker: { protocol: 'unix', socketPath: `/run/h${index}.sock` },
    address: '10.0.0.1',
    datacenter: 'dc1',
    labels: entry.ssd ? { disk: 'ssd' } : ({} as Record<string, string>),
    imagePull: 'never',
    status: 'active',
  }));
  const facts: Record<string, HostFacts> = Object.fromEntries(
    hosts.map((entry, index) => [
      `h${index}`,
      {
        name: `h${index}`,
        reachable: true,
        cpus: entry.cpus,
        memoryBytes: entry.memoryGib * GIB,
        runningContainers: entry.running,
        cpusReserved: entry.cpus * entry.reservedShare,
        memoryReservedBytes: entry.memoryGib * GIB * entry.reservedShare,
      },
    ]),
  );
  const template = input.stack.services;
  const services = Array.from({ length: count }, (_, index) => {
    const { targetHost: _pin, antiAffinity: _avoid, ...rest } = template[index % template.length];
    return { ...rest, name: `s${index}`, position: index + 1 };
  });
  return {
    stack: { ...input.stack, placement: 'auto', services, maxServicesPerHost: undefined },
    hosts: records,
    facts,
    seed,
  };
}
