/**
 * Host facts read from a fake Docker daemon on loopback that counts its requests. Plans that
 * start together share one read, each container's limits are inspected once, and
 * `maxAgeMs: 0` never returns cached facts.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { clearFactsCache, gatherFacts } from '../../activities/host-facts';
import type { HostRecord } from '../../core/model';

interface FakeContainer {
  id: string;
  nanoCpus: number;
  memory: number;
}

let server: Server;
let host: HostRecord;
let running: FakeContainer[] = [];
/** Containers that the listing shows but inspection returns 404 for, as when one is removed in between. */
const uninspectable = new Set<string>();
const requests: string[] = [];
/** Delay of the fake daemon's /info response in milliseconds, so reads overlap. */
let infoDelayMs = 0;

function send(response: import('node:http').ServerResponse, body: unknown): void {
  response.writeHead(200, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

beforeAll(async () => {
  server = createServer((request, response) => {
    const path = (request.url ?? '').replace(/^\/v[\d.]+/, '').split('?')[0]!;
    requests.push(path);
    if (path === '/info') {
      setTimeout(() => send(response, { NCPU: 8, MemTotal: 16 * 1024 ** 3 }), infoDelayMs);
      return;
    }
    if (path === '/containers/json') {
      send(
        response,
        running.map((c) => ({ Id: c.id, Ports: [] })),
      );
      return;
    }
    const inspect = /^\/containers\/([^/]+)\/json$/.exec(path);
    const container = inspect && !uninspectable.has(inspect[1]!) && running.find((c) => c.id === inspect[1]);
    if (container) {
      send(response, {
        Id: container.id,
        HostConfig: { NanoCpus: container.nanoCpus, Memory: container.memory },
      });
      return;
    }
    response.writeHead(404, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ message: `path not found: ${path}` }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  host = {
    name: 'fake-1',
    docker: { protocol: 'tcp', host: '127.0.0.1', port },
    address: '127.0.0.1',
    datacenter: 'test',
    labels: {},
    imagePull: 'never',
    status: 'active',
  };
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  clearFactsCache();
  requests.length = 0;
  infoDelayMs = 0;
  uninspectable.clear();
  running = [
    { id: 'aaa', nanoCpus: 1e9, memory: 256 * 1024 ** 2 },
    { id: 'bbb', nanoCpus: 5e8, memory: 0 },
  ];
});

const count = (path: string) => requests.filter((p) => p === path).length;

describe('gatherFacts', () => {
  it('sums the limits of the running containers', async () => {
    const facts = await gatherFacts([host], { maxAgeMs: 0 });
    expect(facts['fake-1']).toMatchObject({
      reachable: true,
      cpus: 8,
      runningContainers: 2,
      cpusReserved: 1.5,
      memoryReservedBytes: 256 * 1024 ** 2,
    });
  });

  it('shares one read among plans that start while it is under way', async () => {
    infoDelayMs = 100;
    const plans = await Promise.all(Array.from({ length: 20 }, () => gatherFacts([host], { maxAgeMs: 0 })));

    expect(count('/info')).toBe(1);
    expect(new Set(plans.map((p) => p['fake-1']!.cpusReserved))).toEqual(new Set([1.5]));
  });

  it('reads again with maxAgeMs 0', async () => {
    // Both reads see the same clock, so only the zero age itself can force the second read.
    const now = vi.spyOn(Date, 'now').mockReturnValue(1_000_000);
    try {
      await gatherFacts([host], { maxAgeMs: 0 });
      await gatherFacts([host], { maxAgeMs: 0 });
    } finally {
      now.mockRestore();
    }
    expect(count('/info')).toBe(2);
  });

  it('answers from the cache within the given age', async () => {
    await gatherFacts([host], { maxAgeMs: 60_000 });
    await gatherFacts([host], { maxAgeMs: 60_000 });
    expect(count('/info')).toBe(1);
  });

  it('inspects each container once and forgets those that stopped', async () => {
    await gatherFacts([host], { maxAgeMs: 0 });
    running = [running[0]!, { id: 'ccc', nanoCpus: 2e9, memory: 1024 ** 3 }];
    const facts = await gatherFacts([host], { maxAgeMs: 0 });

    expect(count('/containers/aaa/json')).toBe(1);
    expect(count('/containers/bbb/json')).toBe(1);
    expect(count('/containers/ccc/json')).toBe(1);
    expect(facts['fake-1']).toMatchObject({ runningContainers: 2, cpusReserved: 3 });
    expect(facts['fake-1']!.memoryReservedBytes).toBe(256 * 1024 ** 2 + 1024 ** 3);
  });

  it('counts a container nothing until it can be inspected, then inspects it again', async () => {
    running.push({ id: 'late', nanoCpus: 1e9, memory: 0 });
    uninspectable.add('late');
    const first = await gatherFacts([host], { maxAgeMs: 0 });
    uninspectable.clear();
    const second = await gatherFacts([host], { maxAgeMs: 0 });

    expect(first['fake-1']!.cpusReserved).toBe(1.5);
    expect(second['fake-1']!.cpusReserved).toBe(2.5);
    expect(count('/containers/late/json')).toBe(2);
  });
});
