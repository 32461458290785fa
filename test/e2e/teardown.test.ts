/**
 * Teardowns through the HTTP API on the lab hosts, with the real Temporal dev server, a real
 * PostgreSQL and a worker process. One teardown races the deploy it cancels, and another keeps
 * the volume of a PostgreSQL that the next deploy starts again.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { demuxBuffer } from '../../activities/health';
import { LABELS, stackSlug } from '../../core/names';
import { ensureLab, labAvailable, type LabHost } from '../../lib/lab';
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

let lab: LabHost[];
let postgres: TestPostgres;
let graphium: TestGraphium;
/** Slugs of the stacks these tests deploy, removed with their volumes afterwards. */
const slugs = new Set<string>();

function stackDocument(name: string, services: object[]) {
  slugs.add(stackSlug(name));
  return {
    '@context': 'https://schema.org',
    '@type': 'ItemList',
    name,
    placement: 'manual',
    itemListElement: services,
  };
}

async function stackContainers(slug: string) {
  const found = await Promise.all(lab.map((host) => containersWithLabel(host, `${LABELS.stack}=${slug}`)));
  return found.flat();
}

/** Polls the stack until `done` holds for its view, failing with the last view after the timeout. */
async function waitForStack(slug: string, done: (stack: any) => boolean, timeoutMs = 120_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  let last: any;
  while (Date.now() < deadline) {
    last = (await graphium.request('GET', `/stacks/${slug}`)).body;
    if (done(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`stack ${slug} did not reach the expected state: ${JSON.stringify(last)}`);
}

async function waitForStep(deploymentId: string, service: string, step: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const body = (await graphium.request('GET', `/deployments/${deploymentId}`)).body;
    const state = body?.progress?.services?.find((s: any) => s.service === service);
    if (state?.step === step) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`service ${service} of ${deploymentId} never reached step "${step}"`);
}

async function deploy(stack: object): Promise<string> {
  const accepted = await graphium.request('POST', '/deployments', stack);
  expect(accepted.status).toBe(202);
  return accepted.body.deploymentId as string;
}

async function removeStack(slug: string, query = ''): Promise<any> {
  const response = await graphium.request('DELETE', `/stacks/${slug}${query}`);
  expect(response.status).toBe(202);
  return response.body;
}

describe.skipIf(!labAvailable())('teardown on the lab hosts', () => {
  beforeAll(async () => {
    lab = await ensureLab(3);
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
    for (const host of lab ?? []) {
      const docker = labDocker(host);
      for (const slug of slugs) {
        const filters = { label: [`${LABELS.stack}=${slug}`] };
        for (const container of await docker.listContainers({ all: true, filters })) {
          await docker.getContainer(container.Id).remove({ force: true, v: true });
        }
        for (const volume of (await docker.listVolumes({ filters })).Volumes ?? []) {
          await docker.getVolume(volume.Name).remove();
        }
      }
    }
    await graphium?.stop();
    await postgres?.stop();
  });

  it('deletes a stack during its health wait', async () => {
    const name = `slow-health-${RUN}`;
    const slug = stackSlug(name);
    const stack = stackDocument(name, [
      {
        '@type': 'SoftwareApplication',
        position: 1,
        name: 'slow',
        image: 'graphium/busybox:lab',
        targetHost: 'host1',
        command: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'],
        healthCheck: { type: 'command', command: ['false'], interval: 1, retries: 100, startPeriod: 60 },
      },
    ]);
    const deploymentId = await deploy(stack);
    await waitForStep(deploymentId, 'slow', 'waiting for health');

    const teardown = await removeStack(slug);
    expect(teardown.cancelledDeploymentId).toBe(deploymentId);

    // The deploy records its outcome and rollback report once its rollback ends, which may come
    // after the teardown, so the stack must read removed with the report present.
    const ended = await waitForStack(slug, (view) => view?.status === 'removed' && view?.compensation);

    expect(ended.deploymentId).toBe(deploymentId);
    expect(ended.failure[0]).toBe('the deployment was cancelled on request');
    expect(ended.compensation.failed).toEqual([]);
    expect(ended.status).toBe('removed');
    expect(await stackContainers(slug)).toEqual([]);
  });

  it('restarts PostgreSQL cleanly after keepVolumes', async () => {
    const name = `kept-postgres-${RUN}`;
    const slug = stackSlug(name);
    const stack = stackDocument(name, [
      {
        '@type': 'SoftwareApplication',
        position: 1,
        name: 'postgres',
        image: 'graphium/services:lab',
        command: ['start-postgres'],
        targetHost: 'host1',
        environment: { POSTGRES_USER: 'app', POSTGRES_PASSWORD: 'app-password' },
        volumeMounts: [{ source: 'data', target: '/var/lib/postgresql/data' }],
        healthCheck: { type: 'postgres', interval: 1, timeout: 3, retries: 30, startPeriod: 20 },
      },
    ]);
    const first = await deploy(stack);
    expect((await waitForStatus(graphium, first, ['running', 'rolled_back'])).status).toBe('running');
    await removeStack(slug, '?keepVolumes=true');
    await waitForStack(slug, (view) => view?.status === 'removed');

    const second = await deploy(stack);
    const running = await waitForStatus(graphium, second, ['running', 'rolled_back']);
    const container = running.containers.find((c: any) => c.service === 'postgres');
    const host = lab.find((candidate) => candidate.name === container.hostName)!;
    const logs = (await labDocker(host)
      .getContainer(container.containerId)
      .logs({ stdout: true, stderr: true })) as unknown as Buffer;
    const output = demuxBuffer(logs);

    expect(running.status).toBe('running');
    expect(output).not.toContain('initializing');
    expect(output).toContain('database system was shut down at');
    expect(output).not.toContain('not properly shut down');

    await removeStack(slug);
    await waitForStack(slug, (view) => view?.status === 'removed');
  });
});
