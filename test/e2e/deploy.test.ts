/**
 * The main job end to end: three real Docker hosts of the local lab, the real
 * Temporal dev server, a real PostgreSQL, the HTTP API and a worker process.
 */
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { demuxBuffer } from '../../activities/health';
import { LABELS, stackSlug } from '../../core/names';
import { findPostgresBinaries, startTestPostgres, type TestPostgres } from '../db/postgres-server';
import { ensureLab, type LabHost } from '../../lib/lab';
import {
  containersWithLabel,
  labDocker,
  registerLabHosts,
  startTestGraphium,
  waitForStatus,
  type TestGraphium,
} from '../support/graphium';

const EXAMPLE = JSON.parse(readFileSync(new URL('../../examples/three-hosts.json', import.meta.url), 'utf8'));

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
  await graphium?.stop();
  await postgres?.stop();
});

/** Remove containers an interrupted earlier run may have left, so host ports are free. */
async function removeLeftovers(): Promise<void> {
  for (const host of lab) {
    for (const container of await containersWithLabel(host, `${LABELS.managed}=true`)) {
      await labDocker(host).getContainer(container.Id).remove({ force: true });
    }
  }
}

async function stackContainers(name: string) {
  const perHost = await Promise.all(
    lab.map(async (host) => ({
      host: host.name,
      containers: await containersWithLabel(host, `${LABELS.stack}=${stackSlug(name)}`),
    })),
  );
  return perHost.flatMap(({ host, containers }) => containers.map((container) => ({ host, container })));
}

async function logsOf(host: LabHost, containerId: string): Promise<string> {
  const buffer = (await labDocker(host)
    .getContainer(containerId)
    .logs({ stdout: true, stderr: true })) as unknown as Buffer;
  return demuxBuffer(buffer);
}

async function teardown(name: string): Promise<void> {
  const response = await graphium.request('DELETE', `/stacks/${encodeURIComponent(stackSlug(name))}`);
  expect(response.status).toBe(202);
  const deadline = Date.now() + 60_000;
  while ((await stackContainers(name)).length > 0) {
    if (Date.now() > deadline) throw new Error(`teardown of ${name} left containers behind`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function busyboxStack(name: string, services: object[]) {
  return {
    '@context': 'https://schema.org',
    '@type': 'ItemList',
    name,
    placement: 'manual',
    itemListElement: services,
  };
}

describe('deploy across three lab hosts', () => {
  it('deploys the example stack where asked and wires it', async () => {
    const accepted = await graphium.request('POST', '/deployments', EXAMPLE);
    expect(accepted.status).toBe(202);
    expect(accepted.headers.get('location')).toBe(`/deployments/${accepted.body.deploymentId}`);
    expect(accepted.body.workflowId).toBe('graphium-deploy-distributed-app');

    const running = await waitForStatus(graphium, accepted.body.deploymentId, ['running', 'rolled_back']);
    expect(running.failure).toBeNull();
    expect(running.status).toBe('running');

    const placed = Object.fromEntries(running.containers.map((c: any) => [c.service, c.hostName]));
    expect(placed).toEqual({ postgres: 'host1', cache: 'host2', app: 'host3' });
    const app = running.containers.find((c: any) => c.service === 'app');
    expect(app.connections).toEqual([
      { name: 'postgres', address: '10.213.0.11', port: 5432 },
      { name: 'cache', address: '10.213.0.12', port: 6379 },
    ]);

    const found = await stackContainers('Distributed App');
    expect(found.map((f) => `${f.host}/${f.container.Labels[LABELS.service]}`).sort()).toEqual([
      'host1/postgres',
      'host2/cache',
      'host3/app',
    ]);
    for (const { container } of found) {
      expect(container.State).toBe('running');
      expect(container.Labels[LABELS.deployment]).toBe(accepted.body.deploymentId);
      expect(container.Labels[LABELS.stackName]).toBe('Distributed App');
    }

    const appContainer = found.find((f) => f.host === 'host3')!.container;
    const logs = await logsOf(lab[2]!, appContainer.Id);
    expect(logs).toContain('proof: postgres answered app as app at 10.213.0.11:5432');
    expect(logs).toContain('proof: redis answered PONG at 10.213.0.12:6379');

    await teardown('Distributed App');
    expect(await stackContainers('Distributed App')).toEqual([]);
    // The teardown workflow records `removed` after it has removed the containers, networks and volumes.
    const removed = await waitForStatus(graphium, accepted.body.deploymentId, ['removed'], 60_000);
    expect(removed.status).toBe('removed');
    expect(removed.containers.map((c: any) => c.health)).toEqual(['removed', 'removed', 'removed']);
  });

  it('rejects a second deploy of a stack still deploying', async () => {
    const name = `busy-${randomUUID().slice(0, 6)}`;
    const stack = busyboxStack(name, [
      {
        '@type': 'SoftwareApplication',
        position: 1,
        name: 'slow',
        image: 'graphium/busybox:lab',
        targetHost: 'host1',
        command: ['sh', '-c', "sleep 3; touch /tmp/ready; trap 'exit 0' TERM; while :; do sleep 1; done"],
        healthCheck: { type: 'command', command: ['test', '-f', '/tmp/ready'], interval: 1, retries: 10 },
      },
    ]);
    const first = await graphium.request('POST', '/deployments', stack);
    expect(first.status).toBe(202);
    const second = await graphium.request('POST', '/deployments', stack);
    expect(second.status).toBe(409);
    expect(second.body.error.message).toContain(first.body.deploymentId);

    await waitForStatus(graphium, first.body.deploymentId, ['running']);
    await teardown(name);
  });

  it('rolls back a stack whose last service never turns healthy', async () => {
    const name = `never-healthy-${randomUUID().slice(0, 6)}`;
    const stack = busyboxStack(name, [
      {
        '@type': 'SoftwareApplication',
        position: 1,
        name: 'first',
        image: 'graphium/busybox:lab',
        targetHost: 'host1',
        command: ['sh', '-c', "trap 'exit 0' TERM; while :; do sleep 1; done"],
        ports: [{ containerPort: 8080, hostPort: 18080 }],
        healthCheck: { type: 'command', command: ['true'] },
      },
      {
        '@type': 'SoftwareApplication',
        position: 2,
        name: 'second',
        image: 'graphium/busybox:lab',
        targetHost: 'host2',
        command: ['sh', '-c', "trap 'exit 0' TERM; while :; do sleep 1; done"],
        requirements: ['first'],
      },
      {
        '@type': 'SoftwareApplication',
        position: 3,
        name: 'last',
        image: 'graphium/busybox:lab',
        targetHost: 'host3',
        command: ['sh', '-c', "trap 'exit 0' TERM; while :; do sleep 1; done"],
        requirements: ['second'],
        healthCheck: {
          type: 'command',
          command: ['sh', '-c', 'echo not ready yet; exit 1'],
          interval: 1,
          timeout: 1,
          retries: 1,
          startPeriod: 1,
        },
      },
    ]);
    const accepted = await graphium.request('POST', '/deployments', stack);
    expect(accepted.status).toBe(202);

    const ended = await waitForStatus(graphium, accepted.body.deploymentId, ['rolled_back', 'running']);
    expect(ended.status).toBe('rolled_back');
    expect(ended.failure.join(' ')).toContain('service last on host host3 did not turn healthy');
    expect(ended.failure.join(' ')).toContain('not ready yet');
    expect(ended.compensation.failed).toEqual([]);
    expect(ended.compensation.removed.map((r: any) => r.service)).toEqual(['last', 'second', 'first']);
    expect(await stackContainers(name)).toEqual([]);
  });

  it('waits on every health check kind', async () => {
    const name = `health-kinds-${randomUUID().slice(0, 6)}`;
    const item = (position: number, service: string, host: string, extra: object) => ({
      '@type': 'SoftwareApplication',
      position,
      name: service,
      image: 'graphium/busybox:lab',
      targetHost: host,
      ...extra,
    });
    const slowHttpd = 'sleep 1; mkdir -p /www; echo ok > /www/health; exec httpd -f -p 8080 -h /www';
    const stack = busyboxStack(name, [
      item(1, 'web', 'host1', {
        command: ['sh', '-c', slowHttpd],
        ports: [{ containerPort: 8080 }],
        healthCheck: { type: 'http', path: '/health', interval: 1 },
      }),
      item(2, 'socket', 'host2', {
        command: ['sh', '-c', 'sleep 1; exec httpd -f -p 9000'],
        ports: [{ containerPort: 9000, hostPort: 19000 }],
        healthCheck: { type: 'tcp', interval: 1 },
      }),
      item(3, 'docker-check', 'host3', {
        command: ['sh', '-c', "sleep 1; touch /tmp/up; trap 'exit 0' TERM; while :; do sleep 1; done"],
        healthCheck: { command: ['CMD-SHELL', 'test -f /tmp/up'], interval: 1, retries: 5, startPeriod: 10 },
      }),
      item(4, 'plain', 'host3', {
        command: ['sh', '-c', 'sleep 1; exec httpd -f -p 7000'],
        ports: [{ containerPort: 7000, hostPort: 17000 }],
        requirements: ['web', 'socket', 'docker-check'],
      }),
    ]);
    const accepted = await graphium.request('POST', '/deployments', stack);
    expect(accepted.status).toBe(202);

    const ended = await waitForStatus(graphium, accepted.body.deploymentId, ['running', 'rolled_back']);
    expect(ended.failure).toBeNull();
    const health = Object.fromEntries(ended.containers.map((c: any) => [c.service, c.health]));
    expect(health).toEqual({
      web: 'healthy',
      socket: 'healthy',
      'docker-check': 'healthy',
      plain: 'running',
    });
    const web = ended.containers.find((c: any) => c.service === 'web');
    expect(web.ports[0].hostPort).toBeGreaterThan(0);
    const plain = ended.containers.find((c: any) => c.service === 'plain');
    expect(plain.connections).toContainEqual({
      name: 'web',
      address: '10.213.0.11',
      port: web.ports[0].hostPort,
    });
    await teardown(name);
  });

  it('finishes a deployment after its worker is killed', async () => {
    const name = `crash-${randomUUID().slice(0, 6)}`;
    const slow = (position: number, host: string, extra: object = {}) => ({
      '@type': 'SoftwareApplication',
      position,
      name: `svc${position}`,
      image: 'graphium/busybox:lab',
      targetHost: host,
      command: ['sh', '-c', "sleep 4; touch /tmp/ready; trap 'exit 0' TERM; while :; do sleep 1; done"],
      healthCheck: { type: 'command', command: ['test', '-f', '/tmp/ready'], interval: 1, retries: 20 },
      ...extra,
    });
    const stack = busyboxStack(name, [
      slow(1, 'host1'),
      slow(2, 'host2', { requirements: ['svc1'] }),
      slow(3, 'host3'),
    ]);
    const accepted = await graphium.request('POST', '/deployments', stack);
    expect(accepted.status).toBe(202);

    await waitForStep(accepted.body.deploymentId, 'svc1', 'waiting for health');
    await graphium.killWorker();
    await graphium.startWorker();

    const running = await waitForStatus(graphium, accepted.body.deploymentId, ['running', 'rolled_back']);
    expect(running.status).toBe('running');
    const found = await stackContainers(name);
    const services = found.map((f) => f.container.Labels[LABELS.service]).sort();
    expect(services).toEqual(['svc1', 'svc2', 'svc3']);
    await teardown(name);
  });
});

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
