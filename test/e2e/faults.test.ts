/**
 * Faults on real components: the lab's Docker hosts, the Temporal dev server, PostgreSQL and a
 * worker process. Each test injects one fault and checks that the deployment ends as promised,
 * that its failure names what broke, and that no container of it is left anywhere. Hosts are
 * killed or cut off last, and always brought back.
 */
import { randomUUID } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { awaitHealthy } from '../../activities/health';
import type { HostRecord } from '../../core/model';
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
import { cutLink, holdPort, killDaemon, restartLab, restoreLink } from '../support/lab-faults';

const RUN = randomUUID().slice(0, 6);
const IDLE = ['sh', '-c', 'trap "exit 0" TERM; while :; do sleep 1; done'];
/** Short deadlines, so a dead host fails a step in seconds instead of minutes. */
const DEADLINES = { hostSeconds: 8, undoSeconds: 8, reconcileRetrySeconds: 2 };

let lab: LabHost[];
let postgres: TestPostgres;
let graphium: TestGraphium;
const slugs = new Set<string>();

function stack(name: string, services: object[]) {
  slugs.add(stackSlug(name));
  return {
    '@context': 'https://schema.org',
    '@type': 'ItemList',
    name,
    placement: 'manual',
    itemListElement: services.map((service, index) => ({
      '@type': 'SoftwareApplication',
      position: index + 1,
      image: 'graphium/busybox:lab',
      command: IDLE,
      ...service,
    })),
  };
}

async function stackContainers(slug: string, hosts: LabHost[] = lab) {
  const found = await Promise.all(hosts.map((host) => containersWithLabel(host, `${LABELS.stack}=${slug}`)));
  return found.flat();
}

async function deploy(document: object): Promise<string> {
  const accepted = await graphium.request('POST', '/deployments', document);
  expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
  return accepted.body.deploymentId as string;
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

async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  let last = await read();
  while (!done(last)) {
    if (Date.now() > deadline) throw new Error(`condition not met; last value: ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
    last = await read();
  }
  return last;
}

function failureText(detail: any): string {
  return (detail.failure ?? []).join(' | ');
}

describe.skipIf(!labAvailable())('faults on the lab hosts', () => {
  beforeAll(async () => {
    lab = await ensureLab(3);
    const binDir = findPostgresBinaries();
    if (!binDir) throw new Error('PostgreSQL server binaries are missing; run npm run setup');
    postgres = await startTestPostgres(binDir);
    graphium = await startTestGraphium({
      temporalAddress: inject('temporalAddress'),
      databaseUrl: postgres.url,
      deadlines: DEADLINES,
    });
    await graphium.startWorker();
    await registerLabHosts(graphium, lab);
  });

  afterAll(async () => {
    for (const host of lab ?? []) await restoreLink(host).catch(() => undefined);
    lab = await restartLab(3);
    for (const host of lab) {
      for (const slug of slugs) {
        for (const container of await containersWithLabel(host, `${LABELS.stack}=${slug}`)) {
          await labDocker(host).getContainer(container.Id).remove({ force: true });
        }
      }
    }
    await graphium?.stop();
    await postgres?.stop();
  });

  it('names a never-healthy service and its output', async () => {
    const name = `never-healthy-${RUN}`;
    const id = await deploy(
      stack(name, [
        { name: 'base', targetHost: 'host1' },
        {
          name: 'sulky',
          targetHost: 'host2',
          dependsOn: ['base'],
          healthCheck: {
            type: 'command',
            command: ['sh', '-c', 'echo warming up, 3 of 5 shards; exit 1'],
            interval: 1,
            timeout: 1,
            retries: 2,
          },
        },
      ]),
    );
    const ended = await waitForStatus(graphium, id, ['running', 'rolled_back']);

    expect(ended.status).toBe('rolled_back');
    expect(failureText(ended)).toMatch(
      /service sulky on host host2 did not turn healthy before its deadline/,
    );
    expect(failureText(ended)).toContain('warming up, 3 of 5 shards');
    expect(ended.compensation.removed.map((r: any) => r.service).sort()).toEqual(['base', 'sulky']);
    expect(await stackContainers(stackSlug(name))).toEqual([]);
  });

  it('trusts no health result from before a container restart', async () => {
    const docker = labDocker(lab[0]!);
    // Healthy on its first run only: the second run removes the file the check looks for.
    const script =
      'if [ -f /seen ]; then rm -f /tmp/ok; else touch /seen /tmp/ok; fi; ' +
      'trap "exit 0" TERM; while :; do sleep 1; done';
    const container = await docker.createContainer({
      name: `restart-health-${RUN}`,
      Image: 'graphium/busybox:lab',
      Cmd: ['sh', '-c', script],
      Labels: { 'io.graphium.test': RUN },
      Healthcheck: { Test: ['CMD', 'test', '-f', '/tmp/ok'], Interval: 500_000_000, Retries: 1 },
    });
    try {
      await container.start();
      await waitFor(
        () => container.inspect(),
        (info) => info.State.Health?.Status === 'healthy',
      );
      await container.restart({ t: 1 });
      const restarted = await container.inspect();
      // Docker keeps the health log of the previous run, whose entries all passed.
      expect(restarted.State.Health?.Log?.some((entry) => entry.ExitCode === 0)).toBe(true);

      const host: HostRecord = {
        name: lab[0]!.name,
        docker: { protocol: 'unix', socketPath: lab[0]!.socket },
        address: lab[0]!.address,
        datacenter: lab[0]!.datacenter,
        labels: {},
        imagePull: 'never',
        status: 'active',
      };
      const wait = new MockActivityEnvironment().run(awaitHealthy, {
        host,
        service: 'restarted',
        containerId: restarted.Id,
        containerName: restarted.Name.slice(1),
        healthCheck: {
          kind: 'docker',
          intervalMs: 500,
          timeoutMs: 1000,
          retries: 1,
          startPeriodMs: 0,
        } as any,
        ports: [],
        startedAt: restarted.State.StartedAt,
        deadlineAt: Date.now() + 5_000,
      });
      await expect(wait).rejects.toThrow(/did not turn healthy before its deadline/);
    } finally {
      await container.remove({ force: true });
    }
  });

  it('fails on a host port taken outside Docker, naming host and port', async () => {
    const name = `port-taken-${RUN}`;
    const release = await holdPort(lab[1]!, 18_081);
    try {
      const id = await deploy(
        stack(name, [
          { name: 'base', targetHost: 'host1' },
          {
            name: 'web',
            targetHost: 'host2',
            dependsOn: ['base'],
            ports: [{ containerPort: 80, hostPort: 18_081 }],
          },
        ]),
      );
      const ended = await waitForStatus(graphium, id, ['running', 'rolled_back']);

      expect(ended.status).toBe('rolled_back');
      expect(failureText(ended)).toMatch(/host host2/);
      expect(failureText(ended)).toMatch(/18081/);
      expect(failureText(ended)).toMatch(/already allocated|address already in use/);
      expect(ended.compensation.removed.map((r: any) => r.service)).toContain('base');
      expect(await stackContainers(stackSlug(name))).toEqual([]);
    } finally {
      await release();
    }
  });

  it('fails on an image the chosen host lacks, naming image and host', async () => {
    const name = `image-missing-${RUN}`;
    const image = `graphium/only-on-host1-${RUN}`;
    await labDocker(lab[0]!).getImage('graphium/busybox:lab').tag({ repo: image, tag: 'lab' });
    try {
      const id = await deploy(
        stack(name, [
          { name: 'base', targetHost: 'host1', image: `${image}:lab` },
          { name: 'stray', targetHost: 'host2', image: `${image}:lab`, dependsOn: ['base'] },
        ]),
      );
      const ended = await waitForStatus(graphium, id, ['running', 'rolled_back']);

      expect(ended.status).toBe('rolled_back');
      expect(failureText(ended)).toContain(`image ${image}:lab for service stray is not on host host2`);
      expect(ended.compensation.removed.map((r: any) => r.service)).toEqual(['base']);
      expect(await stackContainers(stackSlug(name))).toEqual([]);
    } finally {
      await labDocker(lab[0]!).getImage(`${image}:lab`).remove();
    }
  });

  it('cancels a deploy through the API and reports it cancelled', async () => {
    const name = `cancelled-${RUN}`;
    const id = await deploy(
      stack(name, [
        { name: 'base', targetHost: 'host1' },
        {
          name: 'slow',
          targetHost: 'host3',
          dependsOn: ['base'],
          healthCheck: { type: 'command', command: ['false'], interval: 1, retries: 100, startPeriod: 60 },
        },
      ]),
    );
    await waitForStep(id, 'slow', 'waiting for health');

    const cancel = await graphium.request('POST', `/deployments/${id}/cancel`);
    expect(cancel.status).toBe(202);
    expect(cancel.body.cancelRequested).toBe(true);
    const ended = await waitForStatus(graphium, id, ['cancelled', 'rolled_back', 'running']);

    expect(ended.status).toBe('cancelled');
    expect(ended.failure[0]).toBe('the deployment was cancelled on request');
    expect(ended.compensation.removed.map((r: any) => r.service).sort()).toEqual(['base', 'slow']);
    expect(await stackContainers(stackSlug(name))).toEqual([]);
    const again = await graphium.request('POST', `/deployments/${id}/cancel`);
    expect(again.status).toBe(409);
  });

  it('runs one of ten concurrent deploys', async () => {
    const name = `ten-at-once-${RUN}`;
    const document = stack(name, [
      {
        name: 'only',
        targetHost: 'host2',
        healthCheck: { type: 'command', command: ['true'], interval: 1, startPeriod: 2 },
      },
    ]);
    const responses = await Promise.all(
      Array.from({ length: 10 }, () => graphium.request('POST', '/deployments', document)),
    );
    const accepted = responses.filter((r) => r.status === 202);
    const refused = responses.filter((r) => r.status === 409);

    expect(accepted).toHaveLength(1);
    expect(refused).toHaveLength(9);
    const winner = accepted[0]!.body.deploymentId as string;
    for (const response of refused) {
      expect(response.body.error.code).toMatch(/^stack_(busy|running)$/);
      expect(response.body.error.message).toContain(winner);
    }
    const ended = await waitForStatus(graphium, winner, ['running', 'rolled_back']);
    expect(ended.status).toBe('running');
    const listed = await graphium.request('GET', `/deployments?stack=${encodeURIComponent(name)}`);
    expect(listed.body.items.map((d: any) => d.deploymentId)).toEqual([winner]);
    expect(await stackContainers(stackSlug(name))).toHaveLength(1);
  });

  it('lists orphans on every host and removes the ones asked for', async () => {
    const running = `orphan-owner-${RUN}`;
    const runningId = await deploy(stack(running, [{ name: 'kept', targetHost: 'host1' }]));
    expect((await waitForStatus(graphium, runningId, ['running', 'rolled_back'])).status).toBe('running');

    // A container left by a deployment Graphium has no record of, and one of the running stack
    // that a lost older deployment left.
    const slug = stackSlug(`orphaned-${RUN}`);
    slugs.add(slug);
    const orphans = [];
    for (const [index, deploymentId] of [`dep_lost${RUN}`, `dep_older${RUN}`].entries()) {
      const host = lab[index + 1]!;
      const container = await labDocker(host).createContainer({
        name: `orphan-${index}-${RUN}`,
        Image: 'graphium/busybox:lab',
        Cmd: IDLE,
        Labels: {
          [LABELS.managed]: 'true',
          [LABELS.stack]: index === 0 ? slug : stackSlug(running),
          [LABELS.service]: 'leftover',
          [LABELS.deployment]: deploymentId,
        },
      });
      await container.start();
      orphans.push({ host: host.name, id: container.id });
    }

    const audit = await graphium.request('GET', '/orphans');
    expect(audit.status).toBe(200);
    expect(audit.body.hostsChecked).toBe(3);
    expect(audit.body.unreachable).toEqual([]);
    const listed = audit.body.orphans.filter((o: any) => o.containerName.endsWith(RUN));
    expect(listed.map((o: any) => [o.host, o.containerId, o.deploymentStatus])).toEqual(
      orphans.map((o) => [o.host, o.id, null]),
    );
    expect(audit.body.orphans.some((o: any) => o.deploymentId === runningId)).toBe(false);

    const invalid = await graphium.request('POST', '/orphans/remove', {});
    expect(invalid.status).toBe(400);
    expect(JSON.stringify(invalid.body.error)).toContain('containerIds');

    const removal = await graphium.request('POST', '/orphans/remove', {
      containerIds: [orphans[0]!.id, orphans[1]!.id.slice(0, 12), 'abcdef123456'],
    });
    expect(removal.status).toBe(200);
    expect(removal.body.removed.map((o: any) => o.containerId).sort()).toEqual(
      orphans.map((o) => o.id).sort(),
    );
    expect(removal.body.failed).toEqual([]);
    expect(removal.body.skipped).toEqual([
      { containerId: 'abcdef123456', reason: 'not an orphan on any host the audit reached' },
    ]);
    const after = await graphium.request('GET', '/orphans');
    expect(after.body.orphans.filter((o: any) => o.containerName.endsWith(RUN))).toEqual([]);
    expect(await stackContainers(stackSlug(running))).toHaveLength(1);
  });

  it('reconciles a rollback on a cut-off host', async () => {
    const name = `cut-off-${RUN}`;
    const slug = stackSlug(name);
    const id = await deploy(
      stack(name, [
        { name: 'remote', targetHost: 'host2' },
        {
          name: 'doomed',
          targetHost: 'host1',
          dependsOn: ['remote'],
          healthCheck: { type: 'command', command: ['false'], interval: 1, timeout: 1, retries: 3 },
        },
      ]),
    );
    await waitForStep(id, 'doomed', 'waiting for health');
    await cutLink(lab[1]!);
    let ended: any;
    try {
      ended = await waitForStatus(graphium, id, ['running', 'rolled_back']);
      expect(ended.status).toBe('rolled_back');
      expect(failureText(ended)).toContain('service doomed on host host1 did not turn healthy');
      expect(ended.compensation.removed.map((r: any) => r.service)).toEqual(['doomed']);
      expect(ended.compensation.failed).toEqual([
        expect.objectContaining({ service: 'remote', host: 'host2', error: expect.any(String) }),
      ]);
      expect(ended.compensation.reconciliation).toMatchObject({ status: 'pending', hosts: ['host2'] });
      expect(await stackContainers(slug, [lab[0]!])).toEqual([]);
    } finally {
      await restoreLink(lab[1]!);
    }

    const reconciled = await waitFor(
      async () => (await graphium.request('GET', `/deployments/${id}`)).body,
      (detail) => detail.compensation?.reconciliation?.status === 'done',
    );
    const removed = reconciled.compensation.reconciliation.removed;
    expect(removed).toEqual([{ host: 'host2', containers: [expect.any(String)], resources: [] }]);
    expect(await stackContainers(slug)).toEqual([]);
  });

  it('rolls back and reconciles a dead host', async () => {
    const name = `dead-host-${RUN}`;
    const slug = stackSlug(name);
    const id = await deploy(
      stack(name, [
        { name: 'early', targetHost: 'host3' },
        {
          name: 'gate',
          targetHost: 'host1',
          command: ['sh', '-c', 'sleep 4; touch /tmp/ok; trap "exit 0" TERM; while :; do sleep 1; done'],
          healthCheck: { type: 'command', command: ['test', '-f', '/tmp/ok'], interval: 1, retries: 30 },
        },
        { name: 'late', targetHost: 'host3', dependsOn: [{ name: 'gate', waitForHealthy: true }] },
      ]),
    );
    await waitForStep(id, 'early', 'running');
    const started = Date.now();
    await killDaemon(lab[2]!);
    let ended: any;
    try {
      ended = await waitForStatus(graphium, id, ['running', 'rolled_back']);
      const seconds = (Date.now() - started) / 1000;
      console.log(`dead host: rolled back ${seconds.toFixed(1)} s after the daemon died`);

      expect(ended.status).toBe('rolled_back');
      expect(failureText(ended)).toMatch(
        /host host3 failed while (preparing image graphium\/busybox:lab for|starting) service late/,
      );
      expect(failureText(ended)).toMatch(/did not answer/);
      expect(ended.compensation.removed.map((r: any) => r.service)).toEqual(['gate']);
      expect(ended.compensation.failed.map((f: any) => `${f.host}/${f.service}`).sort()).toEqual([
        'host3/early',
        'host3/late',
      ]);
      expect(ended.compensation.reconciliation).toMatchObject({ status: 'pending', hosts: ['host3'] });
    } finally {
      lab = await restartLab(3);
    }

    const reconciled = await waitFor(
      async () => (await graphium.request('GET', `/deployments/${id}`)).body,
      (detail) => detail.compensation?.reconciliation?.status === 'done',
    );
    const removed = reconciled.compensation.reconciliation.removed;
    expect(removed).toHaveLength(1);
    expect(removed[0].host).toBe('host3');
    // The container of `early`, and of `late` when its create reached the daemon before the crash.
    expect(removed[0].containers).toContain(`${slug}-early`);
    expect(await stackContainers(slug)).toEqual([]);
  });
});
