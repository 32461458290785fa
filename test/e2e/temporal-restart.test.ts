/**
 * The Temporal dev server stopped in the middle of deployments and started again on the same
 * SQLite file: the worker and the API reconnect, and every deployment continues where it was.
 * The test runs its own server on ports of its own, so the other tests' server is untouched.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABELS, stackSlug } from '../../core/names';
import { ensureLab, labAvailable, type LabHost } from '../../lib/lab';
import { startTemporalDevServer, type DevServer } from '../../lib/temporal-dev';
import { findPostgresBinaries, startTestPostgres, type TestPostgres } from '../db/postgres-server';
import {
  containersWithLabel,
  labDocker,
  registerLabHosts,
  startTestGraphium,
  waitForStatus,
  type TestGraphium,
} from '../support/graphium';

const RUN = randomUUID().slice(0, 6);
const PORT = Number(process.env.GRAPHIUM_TEST_RESTART_TEMPORAL_PORT ?? 7363);
const UI_PORT = PORT + 1000;
const IDLE = 'trap "exit 0" TERM; while :; do sleep 1; done';

let lab: LabHost[];
let postgres: TestPostgres;
let graphium: TestGraphium;
let server: DevServer | undefined;
let dataDir: string;

function slowStack(index: number) {
  return {
    '@context': 'https://schema.org',
    '@type': 'ItemList',
    name: `restart-${RUN}-${index}`,
    placement: 'manual',
    itemListElement: [
      {
        '@type': 'SoftwareApplication',
        position: 1,
        name: 'first',
        image: 'graphium/busybox:lab',
        targetHost: `host${(index % 3) + 1}`,
        command: ['sh', '-c', `sleep 6; touch /tmp/ok; ${IDLE}`],
        healthCheck: { type: 'command', command: ['test', '-f', '/tmp/ok'], interval: 1, retries: 60 },
      },
      {
        '@type': 'SoftwareApplication',
        position: 2,
        name: 'second',
        image: 'graphium/busybox:lab',
        targetHost: `host${((index + 1) % 3) + 1}`,
        command: ['sh', '-c', IDLE],
        dependsOn: [{ name: 'first', waitForHealthy: true }],
      },
    ],
  };
}

describe.skipIf(!labAvailable())('a Temporal server restart during deployments', () => {
  beforeAll(async () => {
    lab = await ensureLab(3);
    dataDir = mkdtempSync(join(tmpdir(), 'graphium-restart-'));
    server = await startTemporalDevServer({ dataDir, port: PORT, uiPort: UI_PORT });
    const binDir = findPostgresBinaries();
    if (!binDir) throw new Error('PostgreSQL server binaries are missing; run npm run setup');
    postgres = await startTestPostgres(binDir);
    graphium = await startTestGraphium({ temporalAddress: server.address, databaseUrl: postgres.url });
    await graphium.startWorker();
    await registerLabHosts(graphium, lab);
  });

  afterAll(async () => {
    for (const host of lab ?? []) {
      for (let index = 0; index < 3; index++) {
        const label = `${LABELS.stack}=${stackSlug(`restart-${RUN}-${index}`)}`;
        for (const container of await containersWithLabel(host, label)) {
          await labDocker(host).getContainer(container.Id).remove({ force: true });
        }
      }
    }
    await graphium?.stop();
    await postgres?.stop();
    await server?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('continues every deployment once the server is back', async () => {
    const ids: string[] = [];
    for (let index = 0; index < 3; index++) {
      const accepted = await graphium.request('POST', '/deployments', slowStack(index));
      expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
      ids.push(accepted.body.deploymentId);
    }
    // Every deployment is waiting for its first service's health when the server goes away.
    for (const id of ids) {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const body = (await graphium.request('GET', `/deployments/${id}`)).body;
        if (body?.progress?.services?.[0]?.step === 'waiting for health') break;
        if (Date.now() > deadline) throw new Error(`deployment ${id} never reached its health wait`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }

    await server!.stop();
    server = undefined;
    // Long enough for the worker's polls and heartbeats to fail, short of any activity deadline.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const stillDeploying = (await graphium.request('GET', `/deployments/${ids[0]}`)).body;
    expect(stillDeploying.status).toBe('deploying');
    server = await startTemporalDevServer({ dataDir, port: PORT, uiPort: UI_PORT });

    for (const [index, id] of ids.entries()) {
      const ended = await waitForStatus(graphium, id, ['running', 'rolled_back'], 240_000);
      expect(ended.status, JSON.stringify(ended.failure)).toBe('running');
      const slug = stackSlug(`restart-${RUN}-${index}`);
      const containers = (
        await Promise.all(lab.map((host) => containersWithLabel(host, `${LABELS.stack}=${slug}`)))
      ).flat();
      expect(containers.map((c) => c.Labels[LABELS.service]).sort()).toEqual(['first', 'second']);
    }
  });
});
