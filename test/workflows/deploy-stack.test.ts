/**
 * The deploy workflow's branches on the real Temporal dev server, with the
 * activities replaced by recording doubles: success, rollback in reverse order,
 * retries of a transient error, a non-retryable error and cancellation.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { Client, Connection, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Activities } from '../../activities';
import type { StartContainerInput } from '../../activities/containers';
import type { HostRecord, ServiceSpec, StackSpec } from '../../core/model';
import { MAX_SERVICES } from '../../core/validate';
import { installRuntime, workflowBundle } from '../../lib/worker';
import { progressQuery, type DeployInput } from '../../workflows/contract';

const HISTORY_DIR = new URL('../fixtures/histories/', import.meta.url);

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

function host(name: string): HostRecord {
  const index = Number(name.replace(/\D/g, '')) || 1;
  return {
    name,
    docker: { protocol: 'unix', socketPath: `/run/${name}.sock` },
    address: `10.213.0.${10 + index}`,
    datacenter: 'lab-a',
    labels: {},
    imagePull: 'never',
    status: 'active',
  };
}

function service(name: string, position: number, extra: Partial<ServiceSpec> = {}): ServiceSpec {
  return {
    name,
    position,
    image: 'graphium/busybox:lab',
    environment: {},
    ports: [{ containerPort: 1000 + position, hostPort: 2000 + position, protocol: 'tcp' }],
    dependencies: [],
    labels: {},
    resources: {},
    mounts: [],
    actions: [],
    sourcePath: `$.itemListElement[${position - 1}]`,
    ...extra,
  };
}

/** db (host-1) <- cache (host-2) <- app (host-3, waits for both to be healthy). */
function threeTierStack(): StackSpec {
  return {
    name: `Three Tier ${randomUUID().slice(0, 8)}`,
    placement: 'manual',
    volumes: [],
    services: [
      service('db', 1, { targetHost: 'host-1' }),
      service('cache', 2, { targetHost: 'host-2', dependencies: [{ name: 'db', waitForHealthy: false }] }),
      service('app', 3, {
        targetHost: 'host-3',
        dependencies: [
          { name: 'db', waitForHealthy: true, connectionString: 'postgres://{host}:{port}/app' },
          { name: 'cache', waitForHealthy: true },
        ],
      }),
    ],
  };
}

interface Recorder {
  calls: string[];
  started: StartContainerInput[];
  outcomes: { status: string; failure?: string[]; compensation?: unknown }[];
}

type Overrides = Partial<Record<keyof Activities, (...args: any[]) => Promise<unknown>>>;

/** Activity doubles that record every call; `overrides` replaces single activities. */
function fakeActivities(stack: StackSpec, recorder: Recorder, overrides: Overrides = {}) {
  const hosts = Object.fromEntries(['host-1', 'host-2', 'host-3'].map((name) => [name, host(name)]));
  const base = {
    async planPlacement() {
      recorder.calls.push('plan');
      const assignments = Object.fromEntries(stack.services.map((s) => [s.name, s.targetHost!]));
      return { plan: { strategy: 'manual', assignments, services: [] }, hosts };
    },
    async ensureImage({ service }: { service: string }) {
      recorder.calls.push(`image:${service}`);
      return { pulled: false };
    },
    async startContainer(input: StartContainerInput) {
      recorder.calls.push(`start:${input.service}`);
      recorder.started.push(input);
      return {
        containerId: `id-${input.service}`,
        containerName: input.containerName,
        ports: input.publish.map((p) => ({ ...p, hostPort: p.hostPort || 40000 })),
        startedAt: new Date().toISOString(),
        adopted: false,
      };
    },
    async awaitHealthy({ service }: { service: string }) {
      recorder.calls.push(`healthy:${service}`);
      return { healthy: true, output: 'ok' };
    },
    async removeServiceContainer({ service }: { service: string }) {
      recorder.calls.push(`remove:${service}`);
      return { removed: `container-${service}` };
    },
    async recordOutcome(outcome: Recorder['outcomes'][number]) {
      recorder.calls.push(`record:${outcome.status}`);
      recorder.outcomes.push(outcome);
    },
  };
  return { ...base, ...overrides };
}

async function runWithWorker<T>(
  stack: StackSpec,
  recorder: Recorder,
  overrides: Overrides,
  body: (handle: WorkflowHandle) => Promise<T>,
  historyName?: string,
): Promise<T> {
  const taskQueue = `test-${randomUUID()}`;
  const worker = await Worker.create({
    connection: nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities: fakeActivities(stack, recorder, overrides),
    maxHeartbeatThrottleInterval: '1s',
  });
  return worker.runUntil(async () => {
    const input: DeployInput = { deploymentId: `dep_${randomUUID()}`, stack };
    const handle = await client.workflow.start('deployStack', {
      taskQueue,
      workflowId: `test-deploy-${randomUUID()}`,
      args: [input],
    });
    try {
      return await body(handle);
    } finally {
      if (historyName && process.env.RECORD_HISTORIES === '1') await saveHistory(handle, historyName);
    }
  });
}

async function saveHistory(handle: WorkflowHandle, name: string): Promise<void> {
  const history = await handle.fetchHistory();
  mkdirSync(HISTORY_DIR, { recursive: true });
  writeFileSync(new URL(`${name}.json`, HISTORY_DIR), historyToJSON(history));
}

function newRecorder(): Recorder {
  return { calls: [], started: [], outcomes: [] };
}

async function failureOf(promise: Promise<unknown>): Promise<WorkflowFailedError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WorkflowFailedError);
  return error as WorkflowFailedError;
}

/** Messages of a failure and its causes, outermost first. */
function chain(error: unknown): string[] {
  const messages: string[] = [];
  for (let current = error as Error | undefined; current; current = current.cause as Error | undefined) {
    messages.push(current.message);
  }
  return messages;
}

describe('deployStack workflow', () => {
  it('deploys in dependency order and records running', async () => {
    const stack = threeTierStack();
    const recorder = newRecorder();
    const result = await runWithWorker(stack, recorder, {}, (h) => h.result(), 'deploy-success');

    // None of these services has a health check, so each ends as running.
    expect(result.services.map((s: { step: string }) => s.step)).toEqual(['running', 'running', 'running']);
    const order = recorder.calls;
    expect(order.indexOf('start:db')).toBeLessThan(order.indexOf('start:cache'));
    expect(order.indexOf('healthy:db')).toBeLessThan(order.indexOf('start:app'));
    expect(order.indexOf('healthy:cache')).toBeLessThan(order.indexOf('start:app'));
    expect(order.at(-1)).toBe('record:running');
    expect(recorder.calls.filter((c) => c.startsWith('remove:'))).toEqual([]);
  });

  it('wires dependents to dependency addresses and ports', async () => {
    const stack = threeTierStack();
    const recorder = newRecorder();
    await runWithWorker(stack, recorder, {}, (h) => h.result());

    const app = recorder.started.find((s) => s.service === 'app')!;
    expect(app.environment.DB_HOST).toBe('10.213.0.11');
    expect(app.environment.DB_PORT).toBe('2001');
    expect(app.environment.DB_URL).toBe('postgres://10.213.0.11:2001/app');
    expect(app.environment.CACHE_HOST).toBe('10.213.0.12');
    expect(app.extraHosts).toContain('db:10.213.0.11');
    expect(app.labels).toEqual({});
    expect(app.containerName).toMatch(/^three-tier-[0-9a-f]{8}-app$/);
  });

  it('rolls back wave 1 in reverse when wave 2 fails', async () => {
    const stack = threeTierStack();
    const recorder = newRecorder();
    const overrides: Overrides = {
      async startContainer(input: StartContainerInput) {
        if (input.service === 'app') {
          recorder.calls.push('start:app');
          throw ApplicationFailure.nonRetryable('app exploded on purpose', 'InvalidSpec');
        }
        return fakeActivities(stack, recorder).startContainer(input);
      },
    };
    const error = await runWithWorker(
      stack,
      recorder,
      overrides,
      (h) => failureOf(h.result()),
      'deploy-rollback',
    );

    const removals = recorder.calls.filter((c) => c.startsWith('remove:'));
    expect(removals).toEqual(['remove:app', 'remove:cache', 'remove:db']);
    expect(recorder.calls.at(-1)).toBe('record:rolled_back');
    const messages = chain(error);
    expect(messages.some((m) => m.includes('rolled back: app exploded on purpose'))).toBe(true);
    expect(messages.at(-1)).toBe('app exploded on purpose');
    expect(recorder.outcomes.at(-1)!.failure!.at(-1)).toBe('app exploded on purpose');
  });

  it('retries a transient error until it passes', async () => {
    const stack = threeTierStack();
    const recorder = newRecorder();
    let attempts = 0;
    const overrides: Overrides = {
      async ensureImage({ service }: { service: string }) {
        if (service === 'cache' && ++attempts < 3) throw new Error('connection reset by docker');
        return { pulled: false };
      },
    };
    await runWithWorker(stack, recorder, overrides, (h) => h.result(), 'deploy-retry');

    expect(attempts).toBe(3);
    expect(recorder.calls.at(-1)).toBe('record:running');
  });

  it('does not retry a non-retryable error', async () => {
    const stack = threeTierStack();
    const recorder = newRecorder();
    let attempts = 0;
    const overrides: Overrides = {
      async ensureImage({ service }: { service: string }) {
        if (service !== 'db') return { pulled: false };
        attempts++;
        throw ApplicationFailure.nonRetryable(
          'image graphium/busybox:lab is not on host host-1',
          'ImageNotFound',
        );
      },
    };
    const error = await runWithWorker(
      stack,
      recorder,
      overrides,
      (h) => failureOf(h.result()),
      'deploy-non-retryable',
    );

    expect(attempts).toBe(1);
    expect(recorder.calls).not.toContain('start:db');
    expect(recorder.calls.filter((c) => c.startsWith('remove:'))).toEqual(['remove:db']);
    expect(chain(error).at(-1)).toContain('is not on host host-1');
  });

  it('deploys the largest stack the parser accepts', async () => {
    const services = Array.from({ length: MAX_SERVICES }, (_, i) =>
      service(`svc${i}`, i + 1, { targetHost: `host-${(i % 3) + 1}` }),
    );
    const stack: StackSpec = { name: `Wide ${randomUUID().slice(0, 8)}`, placement: 'manual', volumes: [], services };
    const recorder = newRecorder();
    const result = await runWithWorker(stack, recorder, {}, (h) => h.result());

    expect(result.services).toHaveLength(MAX_SERVICES);
    expect(recorder.calls.filter((c) => c.startsWith('start:'))).toHaveLength(MAX_SERVICES);
    expect(recorder.calls.at(-1)).toBe('record:running');
  });

  it('compensates when cancelled during a health wait', async () => {
    const stack = threeTierStack();
    const recorder = newRecorder();
    const overrides: Overrides = {
      async awaitHealthy({ service }: { service: string }) {
        recorder.calls.push(`healthy:${service}`);
        if (service !== 'db') return { healthy: true, output: 'ok' };
        for (;;) {
          Context.current().heartbeat();
          await Context.current().sleep(100);
        }
      },
    };
    await runWithWorker(
      stack,
      recorder,
      overrides,
      async (handle) => {
        await waitFor(
          async () => (await handle.query(progressQuery)).services[0]!.step === 'waiting for health',
        );
        await handle.cancel();
        await handle.result().catch(() => undefined);
      },
      'deploy-cancel',
    );

    expect(recorder.calls).toContain('remove:db');
    expect(recorder.calls).toContain('remove:cache');
    expect(recorder.calls).not.toContain('start:app');
    expect(recorder.calls.at(-1)).toBe('record:cancelled');
    expect(recorder.outcomes.at(-1)!.failure![0]).toBe('the deployment was cancelled on request');
  });
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
