import { describe, expect, it } from 'vitest';
import type { HostFacts, HostRecord, ServiceSpec, StackSpec } from '../../core/model';
import { PlacementError, planPlacement, tieBreak, type PlacementInput } from '../../core/placement';

function host(name: string, overrides: Partial<HostRecord> = {}): HostRecord {
  return {
    name,
    docker: { protocol: 'unix', socketPath: `/run/${name}.sock` },
    address: '10.0.0.1',
    datacenter: 'dc1',
    labels: {},
    imagePull: 'missing',
    status: 'active',
    ...overrides,
  };
}

function facts(name: string, overrides: Partial<HostFacts> = {}): HostFacts {
  return { name, reachable: true, cpus: 4, memoryBytes: 8e9, runningContainers: 0, ...overrides };
}

function service(name: string, targetHost?: string): ServiceSpec {
  return {
    name,
    position: 1,
    image: 'busybox',
    environment: {},
    ports: [],
    dependencies: [],
    labels: {},
    resources: {},
    mounts: [],
    actions: [],
    sourcePath: '$.itemListElement[0]',
    ...(targetHost ? { targetHost } : {}),
  };
}

function input(
  placement: StackSpec['placement'],
  services: ServiceSpec[],
  hostFacts: HostFacts[],
): PlacementInput {
  return {
    stack: { name: 'demo', placement, volumes: [], services },
    hosts: hostFacts.map((f) => host(f.name)),
    facts: Object.fromEntries(hostFacts.map((f) => [f.name, f])),
    seed: 'dep_1',
  };
}

function placementError(run: () => unknown): PlacementError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(PlacementError);
    return error as PlacementError;
  }
  throw new Error('expected a PlacementError');
}

describe('manual placement', () => {
  it('puts each service on its targetHost', () => {
    const plan = planPlacement(
      input('manual', [service('db', 'h1'), service('app', 'h2')], [facts('h1'), facts('h2')]),
    );

    expect(plan.assignments).toEqual({ db: 'h1', app: 'h2' });
    expect(plan.services[0]!.reason).toBe('pinned by targetHost');
  });

  it('names every service whose host is down', () => {
    const run = () =>
      planPlacement(
        input(
          'manual',
          [service('db', 'h1'), service('app', 'h2')],
          [
            facts('h1', { reachable: false, error: 'connect ECONNREFUSED' }),
            facts('h2', { reachable: false, error: 'timed out' }),
          ],
        ),
      );
    const error = placementError(run);

    expect(error.unplaced.map((u) => u.service)).toEqual(['db', 'app']);
    expect(error.unplaced[0]!.reasons[0]!.reason).toBe('host h1 is unreachable: connect ECONNREFUSED');
    expect(error.message).toContain('app: h2: host h2 is unreachable: timed out');
  });

  it('rejects an inactive or unregistered host', () => {
    const placement = input('manual', [service('db', 'h1'), service('app', 'ghost')], [facts('h1')]);
    placement.hosts[0]!.status = 'inactive';
    const error = placementError(() => planPlacement(placement));

    expect(error.unplaced[0]!.reasons[0]!.reason).toBe('host h1 is inactive');
    expect(error.unplaced[1]!.reasons[0]!.reason).toBe('host ghost is not registered');
  });
});

describe('single-host placement', () => {
  it('prefers the host running the fewest containers', () => {
    const plan = planPlacement(
      input(
        'single',
        [service('db'), service('app')],
        [
          facts('h1', { runningContainers: 5 }),
          facts('h2', { runningContainers: 1 }),
          facts('h3', { runningContainers: 3 }),
        ],
      ),
    );

    expect(plan.assignments).toEqual({ db: 'h2', app: 'h2' });
    expect(plan.services[0]!.rejected.map((r) => r.host)).toEqual(['h3', 'h1']);
  });

  it('breaks a container tie by memory', () => {
    const plan = planPlacement(
      input(
        'single',
        [service('db')],
        [facts('h1', { memoryBytes: 4e9 }), facts('h2', { memoryBytes: 16e9 })],
      ),
    );

    expect(plan.assignments.db).toBe('h2');
  });

  it('breaks a full tie the same way for one seed', () => {
    const equalHosts = ['h1', 'h2', 'h3', 'h4'].map((name) => facts(name));
    const first = planPlacement(input('single', [service('db')], equalHosts));
    const again = planPlacement(input('single', [service('db')], [...equalHosts].reverse()));

    expect(again.assignments.db).toBe(first.assignments.db);
    const expected = [...equalHosts].sort((a, b) => tieBreak('dep_1', a.name) - tieBreak('dep_1', b.name))[0]!
      .name;
    expect(first.assignments.db).toBe(expected);
  });

  it('spreads full ties across seeds', () => {
    const equalHosts = ['h1', 'h2', 'h3'].map((name) => facts(name));
    const chosen = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const placement = { ...input('single', [service('db')], equalHosts), seed: `dep_${i}` };
      chosen.add(planPlacement(placement).assignments.db!);
    }

    expect(chosen.size).toBe(3);
  });

  it('follows a pinned service', () => {
    const plan = planPlacement(
      input(
        'single',
        [service('db', 'h3'), service('app')],
        [facts('h1'), facts('h2'), facts('h3', { runningContainers: 9 })],
      ),
    );

    expect(plan.assignments).toEqual({ db: 'h3', app: 'h3' });
  });

  it('rejects pins to two hosts', () => {
    const error = placementError(() =>
      planPlacement(input('single', [service('db', 'h1'), service('app', 'h2')], [facts('h1'), facts('h2')])),
    );

    expect(error.unplaced[0]!.reasons[0]!.reason).toBe('single placement with several targetHosts');
  });

  it('fails when every host is down', () => {
    const error = placementError(() =>
      planPlacement(input('single', [service('db')], [facts('h1', { reachable: false, error: 'no route' })])),
    );

    expect(error.unplaced[0]!.reasons).toEqual([{ host: 'h1', reason: 'host h1 is unreachable: no route' }]);
  });
});

describe('placement strategies', () => {
  it('rejects a strategy this version lacks', () => {
    expect(() => planPlacement(input('spread', [service('db')], [facts('h1')]))).toThrow(
      'placement "spread" is not supported by this version; use one of: manual, single',
    );
  });
});

describe('placement constraints', () => {
  const three = [facts('a', { cpus: 2, memoryBytes: 2e9 }), facts('b', { runningContainers: 5 }), facts('c')];

  function withHosts(base: PlacementInput, overrides: Record<string, Partial<HostRecord>>): PlacementInput {
    return { ...base, hosts: base.hosts.map((entry) => ({ ...entry, ...overrides[entry.name] })) };
  }

  it('keeps single placement inside the request targetHosts', () => {
    const base = input('single', [service('web')], three);
    const plan = planPlacement({ ...base, stack: { ...base.stack, candidateHosts: ['b'] } });
    expect(plan.assignments).toEqual({ web: 'b' });
    expect(plan.services[0].rejected).toContainEqual({
      host: 'c',
      reason: "host c is not among the request's targetHosts",
    });
  });

  it('keeps single placement inside the stack datacenter', () => {
    const base = withHosts(input('single', [service('web')], three), { c: { datacenter: 'dc2' } });
    const plan = planPlacement({ ...base, stack: { ...base.stack, datacenter: 'dc1' } });
    expect(plan.assignments).toEqual({ web: 'a' });
  });

  it('needs the labels and sizes a service asks for', () => {
    const web = { ...service('web'), constraints: { labels: { disk: 'ssd' }, minCpus: 3 } };
    const base = withHosts(input('single', [web], three), {
      a: { labels: { disk: 'ssd' } },
      b: { labels: { disk: 'ssd' } },
    });
    const plan = planPlacement(base);
    expect(plan.assignments).toEqual({ web: 'b' });
    expect(plan.services[0].rejected).toContainEqual({
      host: 'a',
      reason: 'host a has 2 CPUs, but web needs at least 3',
    });
    expect(plan.services[0].rejected).toContainEqual({
      host: 'c',
      reason: 'host c has no label disk, but web needs disk=ssd',
    });
  });

  it('rejects a manual pin that misses a constraint', () => {
    const db = { ...service('db', 'a'), constraints: { labels: {}, minMemoryBytes: 4e9 } };
    const error = placementError(() => planPlacement(input('manual', [db], three)));
    expect(error.unplaced).toEqual([
      {
        service: 'db',
        reasons: [
          { host: 'a', reason: 'host a has 2000000000 bytes of memory, but db needs at least 4000000000' },
        ],
      },
    ]);
  });
});
