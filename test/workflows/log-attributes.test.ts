/**
 * Ids on log lines, through the real SDK on the Temporal dev server. The bundled workflow
 * interceptor adds the ids of the workflow's input to its lines, and the worker's activity
 * interceptor adds the ids of each activity's input to the activity's lines.
 */
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { log } from '@temporalio/activity';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { activityLogAttributes } from '../../activities/log-attributes';
import { installRuntime, workflowBundle } from '../../lib/worker';

const lines: Record<string, unknown>[] = [];
let connection: Connection;
let nativeConnection: NativeConnection;
let client: Client;

beforeAll(async () => {
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n'))
        if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  // Each test file runs in its own process, so this file's logger is the one the SDK gets.
  installRuntime(pino({ level: 'debug' }, stream));
  const address = inject('temporalAddress');
  connection = await Connection.connect({ address });
  nativeConnection = await NativeConnection.connect({ address });
  client = new Client({ connection });
});

afterAll(async () => {
  await connection?.close();
  await nativeConnection?.close();
});

const CONTAINERS = [
  { host: 'host-1', containerId: 'c1', containerName: 'shop-db', deploymentId: 'dep_1' },
  { host: 'host-2', containerId: 'c2', containerName: 'shop-app', deploymentId: 'dep_1' },
];

const activities = {
  async recordStackRemoving() {},
  async listStackContainers() {
    return { containers: CONTAINERS, unreachable: [] };
  },
  async removeContainerById({ containerId }: { containerId: string }) {
    log.info('test removal', { containerId });
  },
  async listStackResources() {
    return { resources: [], unreachable: [] };
  },
  async removeStackResource() {
    return { removed: true };
  },
  async recordTeardownFailure() {},
  async recordStackRemoved() {},
};

describe('log attributes', () => {
  it('add input ids to lines', async () => {
    const taskQueue = `test-${randomUUID()}`;
    const workflowId = `test-log-ids-${randomUUID()}`;
    const teardownId = `td_${randomUUID()}`;
    const worker = await Worker.create({
      connection: nativeConnection,
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities,
      interceptors: { activity: [activityLogAttributes] },
    });

    await worker.runUntil(
      client.workflow.execute('teardownStack', {
        taskQueue,
        workflowId,
        args: [{ teardownId, stackName: 'Shop' }],
      }),
    );

    const ours = lines.filter((line) => line.workflowId === workflowId);
    // The SDK writes "Workflow started" and "Activity started" before the interceptors see the input.
    const completed = ours.filter((line) => line.msg === 'Workflow completed');
    const removals = ours.filter((line) => line.msg === 'test removal');
    const removalsDone = ours.filter(
      (line) => line.msg === 'Activity completed' && line.activityType === 'removeContainerById',
    );
    expect(completed).toHaveLength(1);
    expect(completed[0]).toMatchObject({ teardownId, stack: 'Shop' });
    expect(removals).toHaveLength(2);
    const hostOf = Object.fromEntries(removals.map((line) => [line.containerId, line.host]));
    expect(hostOf).toEqual({ c1: 'host-1', c2: 'host-2' });
    expect(removalsDone.map((line) => line.host).sort()).toEqual(['host-1', 'host-2']);
  });
});
