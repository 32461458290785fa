/**
 * The deploy workflow's branches on the real Temporal dev server, with the
 * activities replaced by recording doubles: success, rollback in reverse order,
 * retries of a transient error, a non-retryable error and cancellation.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { Client, Connection, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Activities } from '../../activities';
import type { RunActionInput } from '../../activities/actions';
import type { StartContainerInput } from '../../activities/containers';
import type { EnsureNetworkInput, EnsureVolumeInput, RemoveResourceInput } from '../../activities/resources';
import type { HostRecord, PostStartAction, ServiceSpec, StackSpec } from '../../core/model';
import { LABELS, resourceName } from '../../core/names';
import { MAX_SERVICES } from '../../core/validate';
import { installRuntime, workflowBundle } from '../../lib/worker';
import {
  ERROR_TYPES,
  HOST_UNREACHABLE,
  progressQuery,
  type DeployInput,
  type ServiceProgress,
  type StepDeadlines,
} from '../../workflows/contract';

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
  outcomes: { status: string; failure?: string[]; compensation?: any; services?: ServiceProgress[] }[];
  /** Inputs of removeResource, in call order. */
  resourceRemovals: RemoveResourceInput[];
  /** Inputs of runAction, in call order. */
  actions: RunActionInput[];
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
    async ensureNetwork({ host, dockerName }: EnsureNetworkInput) {
      recorder.calls.push(`network:${host.name}`);
      return { name: dockerName, created: true };
    },
    async ensureVolume({ host, dockerName }: EnsureVolumeInput) {
      recorder.calls.push(`volume:${host.name}:${dockerName}`);
      return { name: dockerName, created: true };
    },
    async removeResource(input: RemoveResourceInput) {
      recorder.calls.push(`unresource:${input.kind}:${input.host.name}`);
      recorder.resourceRemovals.push(input);
      return { removed: true };
    },
    async runAction(input: RunActionInput) {
      recorder.calls.push(`action:${input.action.name}`);
      recorder.actions.push(input);
      return { exitCode: 0, output: `${input.action.name} done` };
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
  deadlines?: StepDeadlines,
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
    const input: DeployInput = { deploymentId: `dep_${randomUUID()}`, stack, deadlines };
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
  return { calls: [], started: [], outcomes: [], resourceRemovals: [], actions: [] };
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
    // db publishes container port 1001 on host port 2001, so `db:1001` would not reach it by name.
    expect(app.extraHosts).toEqual([]);
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
    const stack: StackSpec = {
      name: `Wide ${randomUUID().slice(0, 8)}`,
      placement: 'manual',
      volumes: [],
      services,
    };
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

  it('names the host that stops answering and leaves what it holds to reconciliation', async () => {
    const stack = threeTierStack();
    const recorder = newRecorder();
    const unreachable = (what: string) =>
      ApplicationFailure.create({
        type: HOST_UNREACHABLE,
        message: `host host-2 at unix:///run/host-2.sock did not answer: connect ECONNREFUSED (${what})`,
      });
    let cacheRemovals = 0;
    let leftoverAttempts = 0;
    const reconciled: any[] = [];
    const overrides: Overrides = {
      async startContainer(input: StartContainerInput) {
        recorder.calls.push(`start:${input.service}`);
        // The container is created, then the host stops responding before the reply arrives.
        if (input.service === 'cache') throw unreachable('start');
        return {
          containerId: `id-${input.service}`,
          containerName: input.containerName,
          ports: input.publish.map((p) => ({ ...p, hostPort: p.hostPort || 40000 })),
          startedAt: new Date().toISOString(),
          adopted: false,
        };
      },
      async removeServiceContainer({ service }: { service: string }) {
        recorder.calls.push(`remove:${service}`);
        if (service !== 'cache') return { removed: `container-${service}` };
        cacheRemovals++;
        throw unreachable('remove');
      },
      async removeDeploymentLeftovers({ host }: { host: HostRecord }) {
        leftoverAttempts++;
        if (leftoverAttempts < 3) throw unreachable('reconcile');
        return { host: host.name, containers: ['three-tier-cache'], resources: [] };
      },
      async recordReconciliation(input: unknown) {
        reconciled.push(input);
      },
    };
    // The dev server retries about once a second here, so the third failure comes at 2 s and the
    // next attempt would not fit: the step then fails with that failure as its cause. With a
    // deadline a whole number of retries away, it can time out between attempts and lose it.
    const deadlines = { hostSeconds: 2.5, undoSeconds: 30, reconcileRetrySeconds: 1 };
    const error = await runWithWorker(
      stack,
      recorder,
      overrides,
      async (handle) => {
        const failure = await failureOf(handle.result());
        await waitFor(async () => reconciled.length > 0);
        return failure;
      },
      undefined,
      deadlines,
    );

    const outcome = recorder.outcomes.at(-1)!;
    expect(outcome.status).toBe('rolled_back');
    expect(outcome.failure!.at(-2)).toMatch(/^host host-2 failed while starting service cache: /);
    expect(chain(error).join(' | ')).toContain('did not answer');
    expect(recorder.calls).not.toContain('start:app');
    // The failed host gets one removal attempt; the healthy host's container is removed as usual.
    expect(cacheRemovals).toBe(1);
    expect(recorder.calls).toContain('remove:db');
    expect(outcome.compensation.failed).toEqual([
      expect.objectContaining({ service: 'cache', host: 'host-2' }),
    ]);
    expect(outcome.compensation.reconciliation).toMatchObject({ status: 'pending', hosts: ['host-2'] });
    expect(leftoverAttempts).toBe(3);
    expect(reconciled[0].reconciliation).toMatchObject({
      status: 'done',
      hosts: ['host-2'],
      removed: [{ host: 'host-2', containers: ['three-tier-cache'], resources: [] }],
    });
  });

  it('fails at once on a TLS failure and leaves the host to reconciliation', async () => {
    const stack = threeTierStack();
    const recorder = newRecorder();
    const tlsFailure = () =>
      ApplicationFailure.create({
        type: ERROR_TYPES.hostTlsFailed,
        message:
          'TLS handshake with host-2 at tcp://10.213.0.12:2376 failed: the daemon rejected the client ' +
          'certificate in /tls/cert.pem (ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE); give a client certificate ' +
          'signed by the CA that the daemon trusts (its --tlscacert)',
      });
    let cacheStartAttempts = 0;
    let cacheRemovals = 0;
    let leftoverAttempts = 0;
    const reconciled: any[] = [];
    const overrides: Overrides = {
      async startContainer(input: StartContainerInput) {
        if (input.service === 'cache') {
          cacheStartAttempts++;
          throw tlsFailure();
        }
        recorder.calls.push(`start:${input.service}`);
        return {
          containerId: `id-${input.service}`,
          containerName: input.containerName,
          ports: input.publish.map((p) => ({ ...p, hostPort: p.hostPort || 40000 })),
          startedAt: new Date().toISOString(),
          adopted: false,
        };
      },
      async removeServiceContainer({ service }: { service: string }) {
        recorder.calls.push(`remove:${service}`);
        if (service !== 'cache') return { removed: `container-${service}` };
        cacheRemovals++;
        throw tlsFailure();
      },
      async removeDeploymentLeftovers({ host }: { host: HostRecord }) {
        leftoverAttempts++;
        // The operator fixes the certificate while the reconciliation retries.
        if (leftoverAttempts < 2) throw tlsFailure();
        return { host: host.name, containers: [], resources: [] };
      },
      async recordReconciliation(input: unknown) {
        reconciled.push(input);
      },
    };
    // A host deadline far longer than the test runs, so only the failure type can stop the retries.
    const deadlines = { hostSeconds: 600, undoSeconds: 600, reconcileRetrySeconds: 1 };
    const error = await runWithWorker(
      stack,
      recorder,
      overrides,
      async (handle) => {
        const failure = await failureOf(handle.result());
        await waitFor(async () => reconciled.length > 0);
        return failure;
      },
      undefined,
      deadlines,
    );

    expect(cacheStartAttempts).toBe(1);
    const outcome = recorder.outcomes.at(-1)!;
    expect(outcome.status).toBe('rolled_back');
    expect(outcome.failure!.at(-2)).toMatch(
      /^host host-2 failed while starting service cache: TLS handshake with host-2 /,
    );
    expect(chain(error).join(' | ')).toContain('the daemon rejected the client certificate in /tls/cert.pem');
    expect(recorder.calls).not.toContain('start:cache');
    expect(recorder.calls).not.toContain('start:app');
    expect(cacheRemovals).toBe(1);
    expect(recorder.calls).toContain('remove:db');
    expect(outcome.compensation.reconciliation).toMatchObject({ status: 'pending', hosts: ['host-2'] });
    expect(leftoverAttempts).toBe(2);
    expect(reconciled[0].reconciliation).toMatchObject({ status: 'done', hosts: ['host-2'] });
  });

  it('prepares missing images before dependencies are healthy', async () => {
    const stack = threeTierStack();
    stack.services[2]!.image = 'graphium/app:lab';
    const recorder = newRecorder();
    const overrides: Overrides = {
      async planPlacement() {
        recorder.calls.push('plan');
        const assignments = Object.fromEntries(stack.services.map((s) => [s.name, s.targetHost!]));
        const hosts = Object.fromEntries(['host-1', 'host-2', 'host-3'].map((name) => [name, host(name)]));
        // db's image is on host-1 already; cache's and app's are not on their hosts.
        return {
          plan: { strategy: 'manual', assignments, services: [] },
          hosts,
          imagesPresent: ['host-1 graphium/busybox:lab', 'host-3 graphium/busybox:lab'],
        };
      },
      async awaitHealthy({ service }: { service: string }) {
        // db turns healthy only once app's image step has run. A deployment that prepares each
        // image in its service's turn would wait here for ever, so the wait stops after 5 s.
        const deadline = Date.now() + 5_000;
        while (service === 'db' && !recorder.calls.includes('image:app')) {
          if (Date.now() > deadline) {
            throw ApplicationFailure.nonRetryable('app image was not prepared while db started');
          }
          Context.current().heartbeat();
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        recorder.calls.push(`healthy:${service}`);
        return { healthy: true, output: 'ok' };
      },
    };

    await runWithWorker(stack, recorder, overrides, (handle) => handle.result());

    const images = recorder.calls.filter((call) => call.startsWith('image:'));
    expect(images.sort()).toEqual(['image:app', 'image:cache']);
    expect(recorder.calls.indexOf('image:app')).toBeLessThan(recorder.calls.indexOf('healthy:db'));
    expect(recorder.outcomes.at(-1)!.status).toBe('running');
  });

  it('ends cancelled when the watched container stops before the cancellation reaches it', async () => {
    const stack = threeTierStack();
    const recorder = newRecorder();
    let cancelRequested = false;
    let waitFailed = false;
    const overrides: Overrides = {
      async awaitHealthy({ service }: { service: string }) {
        recorder.calls.push(`healthy:${service}`);
        if (service !== 'db') return { healthy: true, output: 'ok' };
        // A teardown stops the container, so the wait fails on its own instead of seeing the
        // cancellation: it fails once the workflow has handled the cancellation, and never
        // heartbeats, so the cancellation cannot reach it first.
        while (!cancelRequested) await new Promise((resolve) => setTimeout(resolve, 50));
        waitFailed = true;
        throw ApplicationFailure.nonRetryable(
          'service db on host host-1 stopped with exit code 0 before turning healthy',
          'ContainerExited',
        );
      },
    };
    const error = await runWithWorker(
      stack,
      recorder,
      overrides,
      async (handle) => {
        await waitFor(
          async () => (await handle.query(progressQuery)).services[0]!.step === 'waiting for health',
        );
        await handle.cancel();
        // The workflow has handled the cancellation once it requests the health wait's cancellation.
        await waitFor(async () =>
          ((await handle.fetchHistory()).events ?? []).some(
            (e) => e.activityTaskCancelRequestedEventAttributes,
          ),
        );
        cancelRequested = true;
        return failureOf(handle.result());
      },
      'deploy-cancel-race',
    );

    expect(error.cause).toBeInstanceOf(CancelledFailure);
    expect(recorder.calls).toContain('remove:db');
    expect(recorder.calls).not.toContain('start:app');
    expect(recorder.calls.at(-1)).toBe('record:cancelled');
    const failure = recorder.outcomes.at(-1)!.failure!;
    expect(failure[0]).toBe('the deployment was cancelled on request');
    // The chain's last cause is the wait's failure or the cancellation, whichever the workflow saw first.
    expect(waitFailed).toBe(true);
  });
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function action(name: string, target: string): PostStartAction {
  return { name, command: ['sh', '-c', `echo ${name}`], timeoutMs: 30_000, target };
}

/**
 * Builds a stack with a network on three hosts, the volume "data" mounted by db and worker on
 * host-1, and the external volume "shared" mounted by cache on host-2. db has two actions:
 * "migrate" runs in db itself and "seed" in cache. app waits for db to be healthy, but worker
 * needs db only running.
 */
function resourceStack(): StackSpec {
  return {
    name: `Resources ${randomUUID().slice(0, 8)}`,
    placement: 'manual',
    network: { name: 'backend', options: {}, labels: {}, external: false },
    volumes: [
      { name: 'data', options: {}, labels: {}, external: false },
      { name: 'shared', options: {}, labels: {}, external: true },
    ],
    services: [
      service('db', 1, {
        targetHost: 'host-1',
        mounts: [
          { type: 'volume', source: 'data', target: '/var/lib/data', readOnly: false },
          { type: 'volume', target: '/scratch', readOnly: false },
          { type: 'tmpfs', target: '/tmp', readOnly: false },
        ],
        actions: [action('migrate', 'db'), action('seed', 'cache')],
      }),
      service('cache', 2, {
        targetHost: 'host-2',
        mounts: [{ type: 'volume', source: 'shared', target: '/shared', readOnly: true }],
      }),
      service('worker', 3, {
        targetHost: 'host-1',
        dependencies: [{ name: 'db', waitForHealthy: false }],
        mounts: [{ type: 'volume', source: 'data', target: '/data', readOnly: true }],
      }),
      service('app', 4, { targetHost: 'host-3', dependencies: [{ name: 'db', waitForHealthy: true }] }),
    ],
  };
}

describe('deployStack networks and volumes', () => {
  it('ensures the network once per host', async () => {
    const stack = resourceStack();
    const recorder = newRecorder();
    await runWithWorker(stack, recorder, {}, (h) => h.result(), 'deploy-resources');

    const calls = recorder.calls;
    const networks = calls.filter((c) => c.startsWith('network:'));
    expect([...networks].sort()).toEqual(['network:host-1', 'network:host-2', 'network:host-3']);
    expect(calls.indexOf('network:host-1')).toBeLessThan(calls.indexOf('start:db'));
    expect(calls.indexOf('network:host-2')).toBeLessThan(calls.indexOf('start:cache'));
    expect(calls.indexOf('network:host-3')).toBeLessThan(calls.indexOf('start:app'));
    const db = recorder.started.find((s) => s.service === 'db')!;
    expect(db.endpoint).toEqual({ network: resourceName(stack.name, 'backend'), alias: 'db' });
    expect(calls.at(-1)).toBe('record:running');
    expect(recorder.resourceRemovals).toEqual([]);
  });

  it('ensures each named volume once per host', async () => {
    const stack = resourceStack();
    const recorder = newRecorder();
    await runWithWorker(stack, recorder, {}, (h) => h.result());

    const data = resourceName(stack.name, 'data');
    const volumes = recorder.calls.filter((c) => c.startsWith('volume:'));
    expect([...volumes].sort()).toEqual([`volume:host-1:${data}`, 'volume:host-2:shared']);
    expect(recorder.calls.indexOf(`volume:host-1:${data}`)).toBeLessThan(recorder.calls.indexOf('start:db'));

    const mountsOf = (name: string) => recorder.started.find((s) => s.service === name)!.mounts;
    expect(mountsOf('db')).toEqual([
      { type: 'volume', source: data, target: '/var/lib/data', readOnly: false },
      { type: 'volume', target: '/scratch', readOnly: false },
      { type: 'tmpfs', target: '/tmp', readOnly: false },
    ]);
    expect(mountsOf('worker')).toEqual([{ type: 'volume', source: data, target: '/data', readOnly: true }]);
    expect(mountsOf('cache')).toEqual([
      { type: 'volume', source: 'shared', target: '/shared', readOnly: true },
    ]);
  });

  it('removes resources after their containers on rollback', async () => {
    const stack = resourceStack();
    const recorder = newRecorder();
    const overrides: Overrides = {
      async startContainer(input: StartContainerInput) {
        if (input.service !== 'app') return fakeActivities(stack, recorder).startContainer(input);
        recorder.calls.push('start:app');
        throw ApplicationFailure.nonRetryable('app exploded on purpose', 'InvalidSpec');
      },
      // host-2's network exists from an earlier deployment, so its removal finds no label of this one.
      async removeResource(input: RemoveResourceInput) {
        recorder.calls.push(`unresource:${input.kind}:${input.host.name}`);
        recorder.resourceRemovals.push(input);
        return { removed: input.host.name !== 'host-2' };
      },
    };
    await runWithWorker(stack, recorder, overrides, (h) => failureOf(h.result()));

    const calls = recorder.calls;
    const after = (resource: string, containers: string[]) => {
      for (const container of containers)
        expect(calls.indexOf(resource)).toBeGreaterThan(calls.indexOf(container));
    };
    after('unresource:network:host-1', ['remove:db', 'remove:worker']);
    after('unresource:volume:host-1', ['remove:db', 'remove:worker']);
    after('unresource:network:host-2', ['remove:cache']);
    after('unresource:network:host-3', ['remove:app']);
    // The external volume on host-2 is never removed.
    expect(calls.filter((c) => c.startsWith('unresource:')).sort()).toEqual([
      'unresource:network:host-1',
      'unresource:network:host-2',
      'unresource:network:host-3',
      'unresource:volume:host-1',
    ]);
    const deploymentId = recorder.started[0]!.deploymentId;
    for (const removal of recorder.resourceRemovals) {
      expect(removal.labels[LABELS.deployment]).toBe(deploymentId);
    }
    const report = recorder.outcomes.at(-1)!.compensation;
    expect(report.removedResources.map((r: any) => `${r.kind}:${r.host}`).sort()).toEqual([
      'network:host-1',
      'network:host-3',
      'volume:host-1',
    ]);
    expect(report.failedResources).toEqual([]);
  });

  it('joins an external network without removing it', async () => {
    const stack: StackSpec = {
      ...threeTierStack(),
      network: { name: 'shared-net', options: {}, labels: {}, external: true },
    };
    const recorder = newRecorder();
    const overrides: Overrides = {
      async awaitHealthy({ service }: { service: string }) {
        if (service === 'app')
          throw ApplicationFailure.nonRetryable('app never turned healthy', 'HealthTimeout');
        return { healthy: true, output: 'ok' };
      },
    };
    await runWithWorker(stack, recorder, overrides, (h) => failureOf(h.result()));

    expect(recorder.calls.filter((c) => c.startsWith('network:'))).toHaveLength(3);
    for (const started of recorder.started) expect(started.endpoint?.network).toBe('shared-net');
    expect(recorder.calls.filter((c) => c.startsWith('remove:'))).toEqual([
      'remove:app',
      'remove:cache',
      'remove:db',
    ]);
    expect(recorder.resourceRemovals).toEqual([]);
  });
});

describe('deployStack post-start actions', () => {
  it('runs actions in order after health', async () => {
    const stack = resourceStack();
    const recorder = newRecorder();
    const result = await runWithWorker(stack, recorder, {}, (h) => h.result());

    const calls = recorder.calls;
    expect(recorder.actions.map((a) => a.action.name)).toEqual(['migrate', 'seed']);
    expect(calls.indexOf('healthy:db')).toBeLessThan(calls.indexOf('action:migrate'));
    expect(calls.indexOf('action:migrate')).toBeLessThan(calls.indexOf('action:seed'));
    const [migrate, seed] = recorder.actions;
    expect(migrate!.containerId).toBe('id-db');
    expect(migrate!.host.name).toBe('host-1');
    expect(migrate!.service).toBe('db');
    expect(seed!.containerId).toBe('id-cache');
    expect(seed!.host.name).toBe('host-2');
    expect(seed!.service).toBe('db');

    const db = result.services.find((s: ServiceProgress) => s.service === 'db');
    expect(db.step).toBe('running');
    expect(db.actions).toEqual([
      { name: 'migrate', target: 'db', status: 'succeeded', exitCode: 0, output: 'migrate done' },
      { name: 'seed', target: 'cache', status: 'succeeded', exitCode: 0, output: 'seed done' },
    ]);
    const recorded = recorder.outcomes.at(-1)!.services!.find((s) => s.service === 'db')!;
    expect(recorded.actions?.map((a) => a.status)).toEqual(['succeeded', 'succeeded']);
    expect(result.services.find((s: ServiceProgress) => s.service === 'app').actions).toBeUndefined();
  });

  it('starts health dependents after actions', async () => {
    const stack = resourceStack();
    const recorder = newRecorder();
    const overrides: Overrides = {
      async runAction(input: RunActionInput) {
        recorder.calls.push(`action:${input.action.name}`);
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        recorder.calls.push(`action done:${input.action.name}`);
        return { exitCode: 0, output: '' };
      },
    };
    await runWithWorker(stack, recorder, overrides, (h) => h.result());

    const calls = recorder.calls;
    // app waits for db to be healthy, so for both actions, but worker needs db only running.
    expect(calls.indexOf('start:app')).toBeGreaterThan(calls.indexOf('action done:seed'));
    expect(calls.indexOf('start:worker')).toBeLessThan(calls.indexOf('action done:migrate'));
  });

  it('rolls back when an action fails', async () => {
    const stack = resourceStack();
    const recorder = newRecorder();
    let attempts = 0;
    const message =
      'action "migrate" of service db in container x-db on host host-1 exited with code 3; ' +
      'last output:\nERROR: relation "users" already exists';
    const overrides: Overrides = {
      async runAction(input: RunActionInput) {
        recorder.calls.push(`action:${input.action.name}`);
        attempts++;
        throw ApplicationFailure.nonRetryable(message, 'ActionFailed', {
          exitCode: 3,
          output: 'ERROR: relation "users" already exists',
        });
      },
    };
    const error = await runWithWorker(stack, recorder, overrides, (h) => failureOf(h.result()));

    expect(attempts).toBe(1);
    expect(recorder.calls).not.toContain('action:seed');
    expect(recorder.calls).not.toContain('start:app');
    expect(chain(error).at(-1)).toBe(message);
    const outcome = recorder.outcomes.at(-1)!;
    expect(outcome.status).toBe('rolled_back');
    expect(outcome.failure!.at(-1)).toContain('relation "users" already exists');
    const db = outcome.services!.find((s) => s.service === 'db')!;
    expect(db.actions).toEqual([
      {
        name: 'migrate',
        target: 'db',
        status: 'failed',
        exitCode: 3,
        output: 'ERROR: relation "users" already exists',
      },
      { name: 'seed', target: 'cache', status: 'pending' },
    ]);
    expect(recorder.calls).toContain('remove:db');
    expect(recorder.calls).toContain('remove:cache');
  });
});

describe('deployStack published ports', () => {
  it('prefers the container port for auto-published ports', async () => {
    const stack: StackSpec = {
      name: `Ports ${randomUUID().slice(0, 8)}`,
      placement: 'manual',
      volumes: [],
      services: [
        service('redis', 1, { targetHost: 'host-1', ports: [{ containerPort: 6379, protocol: 'tcp' }] }),
        service('db', 2, { targetHost: 'host-1', ports: [{ containerPort: 5432, protocol: 'tcp' }] }),
        // Publishes host port 5432 explicitly on db's host, so db must not prefer it.
        service('proxy', 3, {
          targetHost: 'host-1',
          ports: [{ containerPort: 8432, hostPort: 5432, protocol: 'tcp' }],
        }),
        service('app', 4, {
          targetHost: 'host-2',
          ports: [],
          dependencies: [
            { name: 'redis', waitForHealthy: false },
            { name: 'db', waitForHealthy: false },
          ],
        }),
      ],
    };
    const recorder = newRecorder();
    await runWithWorker(stack, recorder, {}, (h) => h.result());

    const publishOf = (name: string) => recorder.started.find((s) => s.service === name)!.publish;
    expect(publishOf('redis')).toEqual([
      { containerPort: 6379, hostPort: 0, protocol: 'tcp', preferredHostPort: 6379 },
    ]);
    expect(publishOf('db')).toEqual([{ containerPort: 5432, hostPort: 0, protocol: 'tcp' }]);
    expect(publishOf('proxy')).toEqual([{ containerPort: 8432, hostPort: 5432, protocol: 'tcp' }]);
  });
});
