/**
 * Placement benchmark: plans 1,000 services onto 10,000 hosts with the `auto` strategy several
 * times and prints the time of each run, then the median in the line
 * `placement median_ms=<number> items=1000 hosts=10000`. The inputs come from a fixed
 * pseudo-random sequence, so every run plans the same problem.
 *
 * Usage: npm run bench:placement [-- --runs 7 --items 1000 --hosts 10000 --strategy auto]
 */
import { parseArgs } from 'node:util';
import os from 'node:os';
import type { HostFacts, HostRecord, PlacementStrategyName, ServiceSpec } from '../core/model';
import { planPlacement } from '../core/placement';

const GIB = 1024 ** 3;

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '7' },
    items: { type: 'string', default: '1000' },
    hosts: { type: 'string', default: '10000' },
    strategy: { type: 'string', default: 'auto' },
  },
});
const runs = Number(values.runs);
const itemCount = Number(values.items);
const hostCount = Number(values.hosts);
const strategy = values.strategy as PlacementStrategyName;

/** A linear congruential generator, so the problem is the same on every run and machine. */
function sequence(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const next = sequence(42);
const hosts: HostRecord[] = [];
const facts: Record<string, HostFacts> = {};
for (let index = 0; index < hostCount; index++) {
  const name = `host-${String(index).padStart(5, '0')}`;
  hosts.push({
    name,
    docker: { protocol: 'tcp', host: '10.0.0.1', port: 2375 },
    address: '10.0.0.1',
    datacenter: `dc-${index % 8}`,
    labels: index % 3 === 0 ? { disk: 'ssd' } : {},
    imagePull: 'missing',
    status: next() < 0.98 ? 'active' : 'inactive',
  });
  const cpus = [2, 4, 8, 16, 32][Math.floor(next() * 5)];
  const memoryBytes = [4, 8, 16, 32, 64][Math.floor(next() * 5)] * GIB;
  facts[name] = {
    name,
    reachable: next() < 0.99,
    cpus,
    memoryBytes,
    runningContainers: Math.floor(next() * 30),
    cpusReserved: cpus * next() * 0.6,
    memoryReservedBytes: Math.floor(memoryBytes * next() * 0.6),
    publishedPorts: next() < 0.2 ? ['80/tcp', '443/tcp'] : [],
  };
}

const services: ServiceSpec[] = [];
for (let index = 0; index < itemCount; index++) {
  const service: ServiceSpec = {
    name: `svc-${index}`,
    position: index + 1,
    image: 'registry.example/app:1',
    environment: {},
    ports: index % 50 === 0 ? [{ containerPort: 80, hostPort: 80, protocol: 'tcp' }] : [],
    dependencies: [],
    labels: {},
    resources: {
      cpus: [0.25, 0.5, 1, 2][Math.floor(next() * 4)],
      memoryBytes: [0.25, 0.5, 1, 2][Math.floor(next() * 4)] * GIB,
    },
    mounts: [],
    actions: [],
    sourcePath: `$.itemListElement[${index}]`,
  };
  if (index % 10 === 0) service.constraints = { labels: { disk: 'ssd' } };
  if (index % 25 === 1) service.antiAffinity = [`svc-${index - 1}`];
  services.push(service);
}

const stack = { name: 'bench', placement: strategy, volumes: [], services };
const timings: number[] = [];
let placedHosts = 0;
for (let run = 0; run < runs; run++) {
  const started = performance.now();
  const plan = planPlacement({ stack, hosts, facts, seed: `dep_bench_${run}` });
  const elapsed = performance.now() - started;
  timings.push(elapsed);
  placedHosts = new Set(Object.values(plan.assignments)).size;
  console.log(`run ${run + 1}/${runs}: ${elapsed.toFixed(1)} ms, ${placedHosts} hosts used`);
}

const sorted = [...timings].sort((a, b) => a - b);
const median = sorted[Math.floor(sorted.length / 2)];
console.log(
  `machine: ${os.cpus().length} CPUs (${os.cpus()[0]?.model.trim()}), node ${process.version}, strategy ${strategy}; ` +
    `min ${sorted[0].toFixed(1)} ms, max ${sorted.at(-1)!.toFixed(1)} ms`,
);
console.log(`placement median_ms=${median.toFixed(1)} items=${itemCount} hosts=${hostCount}`);
