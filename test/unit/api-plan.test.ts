import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../../db/client';
import { listDeployments } from '../../db/repository';
import type { HostFacts } from '../../core/model';
import {
  PGLITE_START_TIMEOUT_MS,
  hostBody,
  hostFacts,
  openTestDatabase,
  resetApi,
  type TestApi,
} from './api-helpers';

const GIB = 1024 ** 3;

let handle: DatabaseHandle;

beforeAll(async () => {
  handle = await openTestDatabase();
}, PGLITE_START_TIMEOUT_MS);

afterAll(async () => {
  await handle.close();
});

/** Builds an API whose hosts h1, h2 and h3 report the given figures over 4 CPUs and 8 GiB each. */
async function apiWith(figures: Record<string, Partial<HostFacts>> = {}): Promise<TestApi> {
  const api = await resetApi(handle.db, {
    gatherFacts: async (hosts) =>
      Object.fromEntries(
        hosts.map((host) => [host.name, { ...hostFacts(host.name), ...figures[host.name] }]),
      ),
  });
  for (const name of ['h1', 'h2', 'h3']) {
    expect((await api.send('POST', '/hosts', hostBody(name))).status).toBe(201);
  }
  return api;
}

function stack(placement: string, items: Record<string, unknown>[]) {
  return {
    '@context': 'https://schema.org',
    '@type': 'ItemList',
    name: 'Planned',
    placement,
    itemListElement: items.map((item, index) => ({
      '@type': 'SoftwareApplication',
      position: index + 1,
      name: `s${index + 1}`,
      image: 'graphium/busybox:lab',
      ...item,
    })),
  };
}

describe('POST /stacks/plan', () => {
  it('returns the plan with scores and reasons and deploys nothing', async () => {
    const api = await apiWith({ h1: { runningContainers: 8 }, h3: { runningContainers: 2 } });
    const response = await api.send('POST', '/stacks/plan', stack('auto', [{}]));
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body.strategy).toBe('auto');
    expect(body.plan.assignments).toEqual({ s1: 'h2' });
    const [placed] = body.plan.services;
    expect(placed.score).toEqual({ cpu: 1, memory: 1, containers: 1, total: 3 });
    expect(placed.rejected).toEqual([
      { host: 'h3', reason: 'ranked lower: score 2.3333 against 3' },
      { host: 'h1', reason: 'ranked lower: score 2.1111 against 3' },
    ]);
    expect(api.deployer.calls).toEqual([]);
    expect((await listDeployments(api.db)).items).toEqual([]);
  });

  it('spreads six services two per host', async () => {
    const api = await apiWith();
    const response = await api.send('POST', '/stacks/plan', stack('spread', Array(6).fill({})));
    const assignments = Object.values((await response.json()).plan.assignments) as string[];
    expect(assignments.filter((host) => host === 'h1')).toHaveLength(2);
    expect(assignments.filter((host) => host === 'h2')).toHaveLength(2);
    expect(assignments.filter((host) => host === 'h3')).toHaveLength(2);
  });

  it('answers 422 naming every host for a service that fits nowhere', async () => {
    const api = await apiWith({ h2: { reachable: false, error: 'connect ECONNREFUSED' } });
    const response = await api.send(
      'POST',
      '/stacks/plan',
      stack('auto', [{ resources: { memory: '64G' } }]),
    );
    expect(response.status).toBe(422);
    const body = await response.json();
    expect(body.error.code).toBe('unplaceable');
    expect(body.error.details).toEqual([
      {
        path: '$.itemListElement[0]',
        message: 's1 cannot run on host h1: not enough memory: needs 64 GiB, free 8 GiB',
      },
      {
        path: '$.itemListElement[0]',
        message: 's1 cannot run on host h2: host is unreachable: connect ECONNREFUSED',
      },
      {
        path: '$.itemListElement[0]',
        message: 's1 cannot run on host h3: not enough memory: needs 64 GiB, free 8 GiB',
      },
    ]);
  });

  it('names a host whose TLS handshake failed as unusable', async () => {
    const error =
      'TLS handshake with h2 at tcp://10.0.0.2:2376 failed: the daemon rejected the client ' +
      'certificate in /tls/cert.pem (ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE); give a client certificate';
    const api = await apiWith({ h2: { reachable: false, error, errorKind: 'tls' } });
    const response = await api.send('POST', '/stacks/plan', stack('manual', [{ targetHost: 'h2' }]));

    expect(response.status).toBe(422);
    const body = await response.json();
    expect(body.error.details).toEqual([
      { path: '$.itemListElement[0]', message: `s1 cannot run on host h2: host is unusable: ${error}` },
    ]);
    const hosts = await (await api.send('GET', '/hosts')).json();
    const h2 = hosts.items.find((item: { name: string }) => item.name === 'h2');
    expect(h2.facts).toEqual({ reachable: false, error, errorKind: 'tls' });
  });

  it('answers 400 for an invalid stack before planning', async () => {
    const api = await apiWith();
    const response = await api.send('POST', '/stacks/plan', stack('auto', [{ image: '' }]));
    expect(response.status).toBe(400);
  });
});

describe('POST /deployments placement check', () => {
  it('answers 422 and creates nothing when the stack fits nowhere', async () => {
    const api = await apiWith();
    const response = await api.send(
      'POST',
      '/deployments',
      stack('single', [{ resources: { memory: '5G' } }, { resources: { memory: '5G' } }]),
    );
    expect(response.status).toBe(422);
    const body = await response.json();
    expect(body.error.details).toContainEqual({
      path: '$.itemListElement[0]',
      message: 's1 cannot run on host h1: not enough memory: needs 10 GiB, free 8 GiB for the whole stack',
    });
    expect(api.deployer.calls).toEqual([]);
    expect((await listDeployments(api.db)).items).toEqual([]);
  });
});

describe('GET /hosts figures', () => {
  it('lists each host with its live figures', async () => {
    const api = await apiWith({
      h1: {
        cpusReserved: 1.5,
        memoryReservedBytes: 2 * GIB,
        runningContainers: 3,
        publishedPorts: ['5432/tcp'],
      },
      h3: { reachable: false, error: 'timed out' },
    });
    const body = await (await api.send('GET', '/hosts')).json();
    const byName = Object.fromEntries(
      body.items.map((item: { name: string; facts: unknown }) => [item.name, item.facts]),
    );
    expect(byName.h1).toEqual({
      reachable: true,
      cpus: 4,
      cpusReserved: 1.5,
      cpusFree: 2.5,
      memoryBytes: 8 * GIB,
      memoryReservedBytes: 2 * GIB,
      memoryFreeBytes: 6 * GIB,
      runningContainers: 3,
      publishedPorts: ['5432/tcp'],
    });
    expect(byName.h3).toEqual({ reachable: false, error: 'timed out', errorKind: 'unreachable' });
    const one = await (await api.send('GET', '/hosts/h1')).json();
    expect(one.facts.cpusFree).toBe(2.5);
  });
});
