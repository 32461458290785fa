/**
 * Placement end to end on the lab hosts. The live figures each daemon reports decide where an
 * `auto` stack lands, and a `spread` stack shares its services out evenly. A stack that fits on no
 * host is rejected with `422` before anything is created.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { LABELS, stackSlug } from '../../core/names';
import { ensureLab, type LabHost } from '../../lib/lab';
import { findPostgresBinaries, startTestPostgres, type TestPostgres } from '../db/postgres-server';
import {
  containersWithLabel,
  labDocker,
  registerLabHosts,
  startTestGraphium,
  waitForStatus,
  type TestGraphium,
} from '../support/graphium';

/** Label of the filler containers this file starts to make hosts busy; Graphium does not manage them. */
const FILLER_LABEL = 'org.graphium.test.filler';

let lab: LabHost[];
let postgres: TestPostgres;
let graphium: TestGraphium;

beforeAll(async () => {
  lab = await ensureLab(3);
  await removeLeftovers();
  const binDir = findPostgresBinaries();
  if (!binDir) throw new Error('PostgreSQL server binaries are missing; run npm run setup');
  postgres = await startTestPostgres(binDir);
  graphium = await startTestGraphium({
    temporalAddress: inject('temporalAddress'),
    databaseUrl: postgres.url,
  });
  await graphium.startWorker();
  await registerLabHosts(graphium, lab);
});

afterAll(async () => {
  await removeLeftovers();
  await graphium?.stop();
  await postgres?.stop();
});

async function removeLeftovers(): Promise<void> {
  for (const host of lab) {
    for (const label of [`${LABELS.managed}=true`, `${FILLER_LABEL}=true`]) {
      for (const container of await containersWithLabel(host, label)) {
        await labDocker(host).getContainer(container.Id).remove({ force: true, v: true });
      }
    }
  }
}

/** Starts `count` idle containers on `host`, so it runs more than the others. */
async function fill(host: LabHost, count: number): Promise<void> {
  for (let index = 0; index < count; index++) {
    const container = await labDocker(host).createContainer({
      Image: 'graphium/busybox:lab',
      Cmd: ['sh', '-c', "trap 'exit 0' TERM; while :; do sleep 1; done"],
      Labels: { [FILLER_LABEL]: 'true' },
    });
    await container.start();
  }
}

function stack(name: string, placement: string, items: Record<string, unknown>[]) {
  return {
    '@context': 'https://schema.org',
    '@type': 'ItemList',
    name,
    placement,
    itemListElement: items.map((item, index) => ({
      '@type': 'SoftwareApplication',
      position: index + 1,
      name: `s${index + 1}`,
      image: 'graphium/busybox:lab',
      command: ['sh', '-c', "trap 'exit 0' TERM; while :; do sleep 1; done"],
      ...item,
    })),
  };
}

async function teardown(name: string): Promise<void> {
  const response = await graphium.request('DELETE', `/stacks/${encodeURIComponent(stackSlug(name))}`);
  expect(response.status).toBe(202);
  await waitForRemoved(name);
}

async function waitForRemoved(name: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const left = await Promise.all(
      lab.map((host) => containersWithLabel(host, `${LABELS.stack}=${stackSlug(name)}`)),
    );
    if (left.every((containers) => containers.length === 0)) return;
    if (Date.now() > deadline) throw new Error(`teardown of ${name} left containers`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe('placement on the lab hosts', () => {
  it('lists the live figures of each host', async () => {
    await fill(lab[0], 2);
    const response = await graphium.request('GET', '/hosts');
    const host1 = response.body.items.find((item: { name: string }) => item.name === 'host1');
    expect(host1.facts.reachable).toBe(true);
    expect(host1.facts.cpus).toBeGreaterThan(0);
    expect(host1.facts.memoryBytes).toBeGreaterThan(0);
    expect(host1.facts.runningContainers).toBe(2);
  });

  it('puts an auto stack on the emptiest host', async () => {
    await fill(lab[1], 1);
    const accepted = await graphium.request('POST', '/deployments', stack('Auto One', 'auto', [{}]));
    expect(accepted.status).toBe(202);
    const detail = await waitForStatus(graphium, accepted.body.deploymentId, ['running', 'rolled_back']);
    expect(detail.status).toBe('running');
    expect(detail.containers.map((c: { hostName: string }) => c.hostName)).toEqual(['host3']);
    const [placed] = detail.placement.services;
    expect(placed.host).toBe('host3');
    expect(placed.rejected.map((entry: { host: string }) => entry.host).sort()).toEqual(['host1', 'host2']);
    expect(placed.rejected[0].reason).toMatch(/^ranked lower: score/);
    await teardown('Auto One');
  });

  it('spreads six services two per host', async () => {
    const accepted = await graphium.request(
      'POST',
      '/deployments',
      stack('Spread Six', 'spread', Array(6).fill({})),
    );
    expect(accepted.status).toBe(202);
    const detail = await waitForStatus(graphium, accepted.body.deploymentId, ['running', 'rolled_back']);
    expect(detail.status).toBe('running');
    const counts: Record<string, number> = {};
    for (const container of detail.containers as { hostName: string }[]) {
      counts[container.hostName] = (counts[container.hostName] ?? 0) + 1;
    }
    expect(counts).toEqual({ host1: 2, host2: 2, host3: 2 });
    await teardown('Spread Six');
  });

  it('refuses a stack larger than any host with 422 and creates nothing', async () => {
    const response = await graphium.request(
      'POST',
      '/deployments',
      stack('Too Big', 'auto', [{ resources: { memory: '1T' } }]),
    );
    expect(response.status).toBe(422);
    expect(response.body.error.code).toBe('unplaceable');
    const messages = response.body.error.details.map((detail: { message: string }) => detail.message);
    expect(messages).toHaveLength(3);
    for (const host of ['host1', 'host2', 'host3']) {
      expect(messages).toContainEqual(
        expect.stringMatching(
          new RegExp(`^s1 cannot run on host ${host}: not enough memory: needs 1 TiB, free`),
        ),
      );
    }
    const deployments = await graphium.request('GET', `/deployments?stack=${encodeURIComponent('Too Big')}`);
    expect(deployments.body.items).toEqual([]);
    for (const host of lab) {
      expect(await containersWithLabel(host, `${LABELS.stack}=${stackSlug('Too Big')}`)).toEqual([]);
    }
  });
});
