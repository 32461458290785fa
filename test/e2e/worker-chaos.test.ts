/**
 * Twenty deployments on the lab hosts while the worker process is SIGKILLed again and again:
 * once while a stack is placed, once while a container starts, once during a health wait,
 * then at random moments. Fresh workers finish every deployment, each ends as its stack
 * dictates, and no container is duplicated or left behind.
 *
 * The worker holds back the replies of those three activities for a moment after their work is
 * done, so that a kill reliably lands inside them, at the worst point: the work happened, the
 * reply did not.
 */
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { LABELS, stackSlug } from '../../core/names';
import { ensureLab, labAvailable, type LabHost } from '../../lib/lab';
import { deployWorkflowId } from '../../workflows/contract';
import { findPostgresBinaries, startTestPostgres, type TestPostgres } from '../db/postgres-server';
import {
  containersWithLabel,
  labDocker,
  registerLabHosts,
  startTestGraphium,
  testDataConverter,
  waitForStatus,
  type TestGraphium,
} from '../support/graphium';

const RUN = randomUUID().slice(0, 6);
const STACKS = 20;
const IDLE = 'trap "exit 0" TERM; while :; do sleep 1; done';
const REPLY_DELAYS = 'planPlacement=1500,startContainer=1500,awaitHealthy=800';
/** Temporal's PENDING_ACTIVITY_STATE_STARTED: a worker took the task and has not replied. */
const STARTED = 2;

let lab: LabHost[];
let postgres: TestPostgres;
let graphium: TestGraphium;
let connection: Connection;
let client: Client;

/** Every fifth stack has a last service that exits at once, so that stack must roll back. */
function failing(index: number): boolean {
  return index % 5 === 4;
}

function chaosStack(index: number) {
  const hosts = ['host1', 'host2', 'host3'];
  const on = (offset: number) => hosts[(index + offset) % 3];
  return {
    '@context': 'https://schema.org',
    '@type': 'ItemList',
    name: `chaos-${RUN}-${index}`,
    placement: 'manual',
    itemListElement: [
      {
        '@type': 'SoftwareApplication',
        position: 1,
        name: 'store',
        image: 'graphium/busybox:lab',
        targetHost: on(0),
        command: ['sh', '-c', `sleep 2; touch /tmp/ok; ${IDLE}`],
        healthCheck: { type: 'command', command: ['test', '-f', '/tmp/ok'], interval: 1, retries: 30 },
      },
      {
        '@type': 'SoftwareApplication',
        position: 2,
        name: 'queue',
        image: 'graphium/busybox:lab',
        targetHost: on(1),
        command: ['sh', '-c', IDLE],
        dependsOn: [{ name: 'store', waitForHealthy: true }],
      },
      {
        '@type': 'SoftwareApplication',
        position: 3,
        name: 'api',
        image: 'graphium/busybox:lab',
        targetHost: on(2),
        command: ['sh', '-c', failing(index) ? 'exit 3' : IDLE],
        dependsOn: ['queue'],
        healthCheck: { type: 'command', command: ['true'], interval: 1, retries: 3 },
      },
    ],
  };
}

/** Activity types the current worker process has started and not yet completed, per workflow. */
async function activitiesInFlight(workflowIds: string[]): Promise<string[]> {
  const pid = graphium.workerPid();
  if (pid === undefined) return [];
  const found: string[] = [];
  await Promise.all(
    workflowIds.map(async (id) => {
      try {
        const description = await client.workflow.getHandle(id).describe();
        if (description.status.name !== 'RUNNING') return;
        for (const activity of description.raw.pendingActivities ?? []) {
          const ours = activity.lastWorkerIdentity?.startsWith(`${pid}@`);
          if (activity.state === STARTED && ours) found.push(activity.activityType?.name ?? '');
        }
      } catch {
        // A workflow that closed between the list and the describe has nothing in flight.
      }
    }),
  );
  return found;
}

async function killWhileRunning(workflowIds: string[], activityType: string): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if ((await activitiesInFlight(workflowIds)).includes(activityType)) {
      await graphium.killWorker();
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no ${activityType} activity was in flight within 90 s to kill the worker in`);
}

async function restartWorker(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 200 + Math.random() * 800));
  await graphium.startWorker({ GRAPHIUM_TEST_REPLY_DELAYS: REPLY_DELAYS });
}

describe.skipIf(!labAvailable())('a worker killed again and again', () => {
  beforeAll(async () => {
    lab = await ensureLab(3);
    const binDir = findPostgresBinaries();
    if (!binDir) throw new Error('PostgreSQL server binaries are missing; run npm run setup');
    postgres = await startTestPostgres(binDir);
    graphium = await startTestGraphium({
      temporalAddress: inject('temporalAddress'),
      databaseUrl: postgres.url,
    });
    connection = await Connection.connect({ address: inject('temporalAddress') });
    client = new Client({ connection, dataConverter: testDataConverter() });
    await graphium.startWorker({ GRAPHIUM_TEST_REPLY_DELAYS: REPLY_DELAYS });
    await registerLabHosts(graphium, lab);
  });

  afterAll(async () => {
    for (const host of lab ?? []) {
      for (let index = 0; index < STACKS; index++) {
        const label = `${LABELS.stack}=${stackSlug(`chaos-${RUN}-${index}`)}`;
        for (const container of await containersWithLabel(host, label)) {
          await labDocker(host).getContainer(container.Id).remove({ force: true });
        }
      }
    }
    await graphium?.stop();
    await connection?.close();
    await postgres?.stop();
  });

  it('finishes twenty deployments with nothing duplicated or orphaned', async () => {
    const accepted = await Promise.all(
      Array.from({ length: STACKS }, (_, index) =>
        graphium.request('POST', '/deployments', chaosStack(index)),
      ),
    );
    for (const response of accepted) expect(response.status, JSON.stringify(response.body)).toBe(202);
    const ids = accepted.map((response) => response.body.deploymentId as string);
    const workflowIds = Array.from({ length: STACKS }, (_, index) =>
      deployWorkflowId(`chaos-${RUN}-${index}`),
    );

    const kills: string[] = [];
    for (const activityType of ['planPlacement', 'startContainer', 'awaitHealthy']) {
      await killWhileRunning(workflowIds, activityType);
      kills.push(`inside ${activityType}`);
      await restartWorker();
    }
    for (let round = 0; round < 3; round++) {
      const wait = 500 + Math.random() * 2500;
      await new Promise((resolve) => setTimeout(resolve, wait));
      const inFlight = await activitiesInFlight(workflowIds);
      await graphium.killWorker();
      kills.push(`after ${Math.round(wait)} ms with ${inFlight.join(', ') || 'nothing'} in flight`);
      await restartWorker();
    }
    console.log(`worker killed ${kills.length} times:\n  ${kills.join('\n  ')}`);

    const ended = [];
    for (const id of ids) ended.push(await waitForStatus(graphium, id, ['running', 'rolled_back'], 600_000));

    for (const [index, detail] of ended.entries()) {
      const slug = stackSlug(`chaos-${RUN}-${index}`);
      const containers = (
        await Promise.all(
          lab.map(async (host) =>
            (await containersWithLabel(host, `${LABELS.stack}=${slug}`)).map((c) => ({ host: host.name, c })),
          ),
        )
      ).flat();
      if (failing(index)) {
        expect(detail.status, `${slug}: ${JSON.stringify(detail.failure)}`).toBe('rolled_back');
        expect(detail.failure.join(' ')).toContain('service api on host');
        expect(containers, `${slug} left containers`).toEqual([]);
      } else {
        expect(detail.status, `${slug}: ${JSON.stringify(detail.failure)}`).toBe('running');
        const placed = containers.map(({ host, c }) => `${c.Labels[LABELS.service]}@${host}`).sort();
        const hosts = ['host1', 'host2', 'host3'];
        const expected = ['store', 'queue', 'api'].map(
          (service, offset) => `${service}@${hosts[(index + offset) % 3]}`,
        );
        expect(placed, `${slug} has a duplicate or missing container`).toEqual(expected.sort());
        for (const { c } of containers) {
          expect(c.State).toBe('running');
          expect(c.Labels[LABELS.deployment]).toBe(ids[index]);
        }
      }
    }

    const audit = await graphium.request('GET', '/orphans');
    const ours = audit.body.orphans.filter((orphan: any) => orphan.stack.startsWith(`chaos-${RUN}-`));
    expect(ours).toEqual([]);
  });
});
