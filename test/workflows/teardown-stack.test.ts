/**
 * The teardown workflow's branches on the real Temporal dev server, with the activities replaced
 * by recording doubles: containers first, then networks and volumes, volumes kept on request,
 * and resources left on a host whose containers could not all be removed.
 */
import { randomUUID } from 'node:crypto';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { stackSlug } from '../../core/names';
import { installRuntime, workflowBundle } from '../../lib/worker';
import type { StackResource, TeardownInput, TeardownResult } from '../../workflows/contract';

let connection: Connection;
let nativeConnection: NativeConnection;
let client: Client;

beforeAll(async () => {
  installRuntime();
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

const RESOURCES: StackResource[] = [
  { kind: 'network', host: 'host-1', name: 'shop_backend' },
  { kind: 'volume', host: 'host-1', name: 'shop_data' },
  { kind: 'network', host: 'host-2', name: 'shop_backend' },
];

interface Recorder {
  calls: string[];
  /** Stack slugs passed to removeStackResource. */
  slugs: string[];
}

type Overrides = Record<string, (...args: any[]) => Promise<unknown>>;

function fakeActivities(recorder: Recorder, overrides: Overrides = {}) {
  const base = {
    async recordStackRemoving() {
      recorder.calls.push('removing');
    },
    async listStackContainers() {
      return { containers: CONTAINERS, unreachable: [] };
    },
    async removeContainerById({ containerId }: { containerId: string }) {
      recorder.calls.push(`container:${containerId}`);
    },
    async listStackResources() {
      recorder.calls.push('list resources');
      return { resources: RESOURCES, unreachable: [] };
    },
    async removeStackResource({ resource, stackSlug }: { resource: StackResource; stackSlug: string }) {
      recorder.calls.push(`${resource.kind}:${resource.host}`);
      recorder.slugs.push(stackSlug);
      return { removed: true };
    },
    async recordTeardownFailure() {
      recorder.calls.push('record failure');
    },
    async recordStackRemoved() {
      recorder.calls.push('removed');
    },
  };
  return { ...base, ...overrides };
}

async function runTeardown(
  input: Omit<TeardownInput, 'teardownId'>,
  recorder: Recorder,
  overrides: Overrides = {},
): Promise<TeardownResult> {
  const taskQueue = `test-${randomUUID()}`;
  const worker = await Worker.create({
    connection: nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities: fakeActivities(recorder, overrides),
  });
  return worker.runUntil(
    client.workflow.execute('teardownStack', {
      taskQueue,
      workflowId: `test-teardown-${randomUUID()}`,
      args: [{ teardownId: `td_${randomUUID()}`, ...input }],
    }),
  );
}

describe('teardownStack workflow', () => {
  it('removes networks and volumes after containers', async () => {
    const recorder: Recorder = { calls: [], slugs: [] };
    const result = await runTeardown({ stackName: 'Shop' }, recorder);

    const calls = recorder.calls;
    const lastContainer = Math.max(calls.indexOf('container:c1'), calls.indexOf('container:c2'));
    expect(calls.indexOf('list resources')).toBeGreaterThan(lastContainer);
    expect(calls.filter((c) => /^(network|volume):/.test(c)).sort()).toEqual([
      'network:host-1',
      'network:host-2',
      'volume:host-1',
    ]);
    expect(recorder.slugs).toEqual([stackSlug('Shop'), stackSlug('Shop'), stackSlug('Shop')]);
    expect(calls.at(-1)).toBe('removed');
    expect(result.removedResources).toHaveLength(3);
    expect(result.removedResources).toEqual(expect.arrayContaining(RESOURCES));
    expect(result.keptVolumes).toEqual([]);
    expect(result.failedResources).toEqual([]);
  });

  it('keeps volumes when asked', async () => {
    const recorder: Recorder = { calls: [], slugs: [] };
    const result = await runTeardown({ stackName: 'Shop', keepVolumes: true }, recorder);

    expect(recorder.calls).not.toContain('volume:host-1');
    expect(recorder.calls).toContain('network:host-1');
    expect(result.keptVolumes).toEqual([{ kind: 'volume', host: 'host-1', name: 'shop_data' }]);
    expect(result.removedResources!.map((r) => `${r.kind}:${r.host}`).sort()).toEqual([
      'network:host-1',
      'network:host-2',
    ]);
  });

  it('keeps resources where a container remains', async () => {
    const recorder: Recorder = { calls: [], slugs: [] };
    const overrides: Overrides = {
      async removeContainerById({ containerId }: { containerId: string }) {
        recorder.calls.push(`container:${containerId}`);
        if (containerId === 'c2') throw ApplicationFailure.nonRetryable('host-2 is gone', 'HostNotFound');
      },
    };
    const error = await runTeardown({ stackName: 'Shop' }, recorder, overrides).then(
      () => undefined,
      (e: unknown) => e,
    );

    expect(error).toBeInstanceOf(WorkflowFailedError);
    expect(recorder.calls).not.toContain('network:host-2');
    expect(recorder.calls).toContain('network:host-1');
    expect(recorder.calls).toContain('volume:host-1');
    expect(recorder.calls.at(-1)).toBe('record failure');
    const details = ((error as WorkflowFailedError).cause as ApplicationFailure)
      .details![0] as TeardownResult;
    expect(details.failed.map((f) => f.containerName)).toEqual(['shop-app']);
  });

  it('reports a resource still in use', async () => {
    const recorder: Recorder = { calls: [], slugs: [] };
    const overrides: Overrides = {
      async removeStackResource({ resource }: { resource: StackResource }) {
        recorder.calls.push(`${resource.kind}:${resource.host}`);
        if (resource.kind === 'volume') {
          throw ApplicationFailure.nonRetryable(
            'volume shop_data on host host-1 is still in use',
            'ResourceInUse',
          );
        }
        return { removed: true };
      },
    };
    const error = await runTeardown({ stackName: 'Shop' }, recorder, overrides).then(
      () => undefined,
      (e: unknown) => e,
    );

    expect(error).toBeInstanceOf(WorkflowFailedError);
    const details = ((error as WorkflowFailedError).cause as ApplicationFailure)
      .details![0] as TeardownResult;
    expect(details.failedResources).toEqual([
      { ...RESOURCES[1], error: 'volume shop_data on host host-1 is still in use' },
    ]);
    expect(recorder.calls.filter((c) => c === 'volume:host-1')).toHaveLength(1);
  });
});
