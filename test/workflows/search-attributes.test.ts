/**
 * The GraphiumStack and GraphiumOutcome search attributes on the real Temporal dev server. The
 * API's deployer sets them when it starts a workflow, the workflows update the outcome, and a
 * visibility query finds each workflow by stack and outcome. Activities are recording doubles.
 * The last tests start a second dev server of their own to check how the launcher registers the
 * attributes on a database file created without them.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Client, Connection, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, SearchAttributeType } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import type { StartContainerInput } from '../../activities/containers';
import { TemporalDeployer } from '../../api/deployer';
import { SearchAttributeNotRegisteredError } from '../../api/errors';
import type { HostRecord, StackSpec } from '../../core/model';
import { stackSlug } from '../../core/names';
import { waitForPort } from '../../lib/net';
import { startTemporalDevServer, temporalCliPath, type DevServer } from '../../lib/temporal-dev';
import { installRuntime, workflowBundle } from '../../lib/worker';
import { OUTCOME_ATTRIBUTE, OUTCOME_PATCH, STACK_ATTRIBUTE } from '../../workflows/search-attributes';

const HISTORY_DIR = new URL('../fixtures/histories/', import.meta.url);
const exec = promisify(execFile);

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

const HOST: HostRecord = {
  name: 'host-1',
  docker: { protocol: 'unix', socketPath: '/run/host-1.sock' },
  address: '10.213.0.11',
  datacenter: 'lab-a',
  labels: {},
  imagePull: 'never',
  status: 'active',
};

function oneServiceStack(): StackSpec {
  return {
    name: `Shop ${randomUUID().slice(0, 8)}`,
    placement: 'manual',
    volumes: [],
    services: [
      {
        name: 'web',
        position: 1,
        image: 'graphium/busybox:lab',
        environment: {},
        ports: [{ containerPort: 80, hostPort: 8080, protocol: 'tcp' }],
        dependencies: [],
        targetHost: HOST.name,
        labels: {},
        resources: {},
        mounts: [],
        actions: [],
        sourcePath: '$.itemListElement[0]',
      },
    ],
  };
}

type Overrides = Record<string, (...args: any[]) => Promise<unknown>>;

/** Doubles of the activities both workflows call, for a stack with one container on HOST. */
function fakeActivities(overrides: Overrides = {}) {
  const base = {
    async planPlacement({ stack }: { stack: StackSpec }) {
      const assignments = Object.fromEntries(stack.services.map((s) => [s.name, HOST.name]));
      return { plan: { strategy: 'manual', assignments, services: [] }, hosts: { [HOST.name]: HOST } };
    },
    async ensureImage() {
      return { pulled: false };
    },
    async ensureNetwork({ dockerName }: { dockerName: string }) {
      return { name: dockerName, created: true };
    },
    async startContainer(input: StartContainerInput) {
      return {
        containerId: `id-${input.service}`,
        containerName: input.containerName,
        ports: input.publish.map((p) => ({ ...p, hostPort: p.hostPort || 40000 })),
        startedAt: new Date().toISOString(),
        adopted: false,
      };
    },
    async awaitHealthy() {
      return { healthy: true, output: 'ok' };
    },
    async removeServiceContainer({ service }: { service: string }) {
      return { removed: `container-${service}` };
    },
    async removeResource() {
      return { removed: true };
    },
    async recordOutcome() {},
    async recordStackRemoving() {},
    async listStackContainers() {
      const container = {
        host: HOST.name,
        containerId: 'c1',
        containerName: 'shop-web',
        deploymentId: 'dep_1',
      };
      return { containers: [container], unreachable: [] };
    },
    async removeContainerById() {},
    async listStackResources() {
      return { resources: [], unreachable: [] };
    },
    async removeStackResource() {
      return { removed: true };
    },
    async recordTeardownFailure() {},
    async recordStackRemoved() {},
  };
  return { ...base, ...overrides };
}

/** Runs `body` while a worker with the activity doubles polls a task queue of its own. */
async function withWorker<T>(
  overrides: Overrides,
  body: (deployer: TemporalDeployer, taskQueue: string) => Promise<T>,
  deployerOptions: { searchAttributes?: boolean } = {},
): Promise<T> {
  const taskQueue = `test-${randomUUID()}`;
  const worker = await Worker.create({
    connection: nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities: fakeActivities(overrides),
  });
  const deployer = new TemporalDeployer(client, { taskQueue, ...deployerOptions });
  return worker.runUntil(body(deployer, taskQueue));
}

/**
 * Returns the ids of the workflows that match a visibility query, polling for up to 10 s until
 * there are `expected` of them, because visibility is updated shortly after the history.
 */
async function listWorkflowIds(query: string, expected: number): Promise<string[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ids: string[] = [];
    for await (const execution of client.workflow.list({ query })) ids.push(execution.workflowId);
    if (ids.length >= expected || Date.now() > deadline) return ids;
    await sleep(200);
  }
}

function outcomeQuery(stackName: string, outcome: string): string {
  return `GraphiumStack = "${stackSlug(stackName)}" AND GraphiumOutcome = "${outcome}"`;
}

/**
 * Counts the upserts of GraphiumOutcome. `patched` upserts TemporalChangeVersion as well, so
 * upserts of other attributes are left out.
 */
async function countOutcomeUpserts(handle: WorkflowHandle): Promise<number> {
  const events = (await handle.fetchHistory()).events ?? [];
  const upserts = events.map(
    (event) => event.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes,
  );
  return upserts.filter((attributes) => attributes?.indexedFields?.[OUTCOME_ATTRIBUTE.name]).length;
}

/** Counts the patch markers of `upsertOutcome`, whose patch id is in the marker's JSON payload. */
async function countOutcomePatchMarkers(handle: WorkflowHandle): Promise<number> {
  const events = (await handle.fetchHistory()).events ?? [];
  const payloads = events.map(
    (event) => event.markerRecordedEventAttributes?.details?.['patch-data']?.payloads?.[0],
  );
  const texts = payloads.map((payload) => (payload?.data ? Buffer.from(payload.data).toString('utf8') : ''));
  return texts.filter((text) => text.includes(OUTCOME_PATCH)).length;
}

async function saveHistory(handle: WorkflowHandle, name: string): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  const history = await handle.fetchHistory();
  mkdirSync(HISTORY_DIR, { recursive: true });
  writeFileSync(new URL(`${name}.json`, HISTORY_DIR), historyToJSON(history));
}

async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe('search attributes of deploys', () => {
  it('finds a running deploy by stack and outcome', async () => {
    const stack = oneServiceStack();
    const ref = await withWorker({}, async (deployer) => {
      const started = await deployer.start({ deploymentId: `dep_${randomUUID()}`, stack });
      const handle = client.workflow.getHandle(started.workflowId, started.runId);
      await handle.result();
      await saveHistory(handle, 'deploy-outcome-running');
      return started;
    });

    expect(await listWorkflowIds(outcomeQuery(stack.name, 'running'), 1)).toEqual([ref.workflowId]);
    expect(await listWorkflowIds(outcomeQuery(stack.name, 'deploying'), 0)).toEqual([]);
    const description = await client.workflow.getHandle(ref.workflowId, ref.runId).describe();
    expect(description.typedSearchAttributes.get(STACK_ATTRIBUTE)).toBe(stackSlug(stack.name));
    expect(description.typedSearchAttributes.get(OUTCOME_ATTRIBUTE)).toBe('running');
    const handle = client.workflow.getHandle(ref.workflowId, ref.runId);
    expect(await countOutcomeUpserts(handle)).toBe(1);
    expect(await countOutcomePatchMarkers(handle)).toBe(1);
  });

  it('finds a rolled back deploy by stack and outcome', async () => {
    const stack = oneServiceStack();
    const overrides: Overrides = {
      async startContainer() {
        throw ApplicationFailure.nonRetryable('web exploded on purpose', 'InvalidSpec');
      },
    };
    const ref = await withWorker(overrides, async (deployer) => {
      const started = await deployer.start({ deploymentId: `dep_${randomUUID()}`, stack });
      const handle = client.workflow.getHandle(started.workflowId, started.runId);
      expect(await failureOf(handle.result())).toBeInstanceOf(WorkflowFailedError);
      await saveHistory(handle, 'deploy-outcome-rolled-back');
      return started;
    });

    expect(await listWorkflowIds(outcomeQuery(stack.name, 'rolled_back'), 1)).toEqual([ref.workflowId]);
    expect(await listWorkflowIds(outcomeQuery(stack.name, 'running'), 0)).toEqual([]);
  });

  it('leaves a deploy started without them unchanged', async () => {
    const stack = oneServiceStack();
    const ref = await withWorker(
      {},
      async (deployer) => {
        const started = await deployer.start({ deploymentId: `dep_${randomUUID()}`, stack });
        await client.workflow.getHandle(started.workflowId, started.runId).result();
        return started;
      },
      { searchAttributes: false },
    );

    const handle = client.workflow.getHandle(ref.workflowId, ref.runId);
    const description = await handle.describe();
    expect(description.typedSearchAttributes.get(STACK_ATTRIBUTE)).toBeUndefined();
    expect(description.typedSearchAttributes.get(OUTCOME_ATTRIBUTE)).toBeUndefined();
    expect(await countOutcomeUpserts(handle)).toBe(0);
    expect(await countOutcomePatchMarkers(handle)).toBe(0);
  });
});

describe('search attributes of teardowns', () => {
  it('finds a finished teardown by stack and outcome', async () => {
    const stackName = `Shop ${randomUUID().slice(0, 8)}`;
    const ref = await withWorker({}, async (deployer) => {
      const started = await deployer.teardown(stackName, `td_${randomUUID()}`);
      await deployer.waitTeardown(started.workflowId, started.runId);
      return started;
    });

    expect(await listWorkflowIds(outcomeQuery(stackName, 'removed'), 1)).toEqual([ref.workflowId]);
  });

  it('finds a failed teardown by stack and outcome', async () => {
    const stackName = `Shop ${randomUUID().slice(0, 8)}`;
    const overrides: Overrides = {
      async removeContainerById() {
        throw ApplicationFailure.nonRetryable('host-1 is gone', 'HostNotFound');
      },
    };
    const ref = await withWorker(overrides, async (deployer) => {
      const started = await deployer.teardown(stackName, `td_${randomUUID()}`);
      const error = await failureOf(deployer.waitTeardown(started.workflowId, started.runId));
      expect(error).toBeInstanceOf(WorkflowFailedError);
      return started;
    });

    expect(await listWorkflowIds(outcomeQuery(stackName, 'teardown_failed'), 1)).toEqual([ref.workflowId]);
    expect(await listWorkflowIds(outcomeQuery(stackName, 'removing'), 0)).toEqual([]);
  });
});

// A port pair of its own, so neither the shared test server nor a demo is touched.
const SPARE_PORT = Number(process.env.GRAPHIUM_TEST_SEARCH_ATTRIBUTE_PORT ?? 7373);
const SPARE_ADDRESS = `127.0.0.1:${SPARE_PORT}`;

describe('search attributes on a database created without them', () => {
  let dataDir: string;
  const children: ChildProcess[] = [];
  const servers: DevServer[] = [];

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'graphium-search-attributes-'));
  });

  afterEach(async () => {
    for (const server of servers.splice(0)) await server.stop();
    for (const child of children.splice(0)) await stop(child);
    rmSync(dataDir, { recursive: true, force: true });
    mkdirSync(dataDir);
  });

  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  /** Starts the CLI's dev server without `--search-attribute` on the file the launcher uses. */
  async function startPlainServer(): Promise<ChildProcess> {
    const args = ['server', 'start-dev', '--headless', '--ip', '127.0.0.1', '--port', String(SPARE_PORT)];
    args.push('--db-filename', join(dataDir, 'temporal.sqlite'), '--log-level', 'error');
    const child = spawn(temporalCliPath(), args, { stdio: 'ignore' });
    children.push(child);
    await waitForPort('127.0.0.1', SPARE_PORT, 60, child);
    return child;
  }

  async function stop(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  }

  async function registeredTypes(): Promise<Record<string, unknown>> {
    const spare = await Connection.connect({ address: SPARE_ADDRESS });
    try {
      const response = await spare.operatorService.listSearchAttributes({ namespace: 'default' });
      const custom = response.customAttributes ?? {};
      return { GraphiumStack: custom.GraphiumStack, GraphiumOutcome: custom.GraphiumOutcome };
    } finally {
      await spare.close();
    }
  }

  it('rejects a start with the command that registers them', async () => {
    await startPlainServer();
    const spare = await Connection.connect({ address: SPARE_ADDRESS });
    try {
      const deployer = new TemporalDeployer(new Client({ connection: spare }), { taskQueue: 'nobody' });
      const start = () => deployer.start({ deploymentId: `dep_${randomUUID()}`, stack: oneServiceStack() });

      const error = await failureOf(start());
      expect(error).toBeInstanceOf(SearchAttributeNotRegisteredError);
      const rejection = error as SearchAttributeNotRegisteredError;
      expect(rejection.status).toBe(503);
      expect(['GraphiumStack', 'GraphiumOutcome']).toContain(rejection.rejection.attribute);
      const commands = [
        ...rejection.message.matchAll(/"(temporal operator search-attribute create [^"]+)"/g),
      ];
      expect(commands.map((match) => match[1])).toEqual([
        'temporal operator search-attribute create --namespace default --name GraphiumStack --type Keyword',
        'temporal operator search-attribute create --namespace default --name GraphiumOutcome --type Keyword',
      ]);
      expect(rejection.message).toContain('GRAPHIUM_SEARCH_ATTRIBUTES=off');

      // The commands from the message, run as they stand, make the same start succeed.
      for (const [, command] of commands) {
        const [, ...args] = command!.split(' ');
        await exec(temporalCliPath(), [...args, '--address', SPARE_ADDRESS]);
      }
      await expect(start()).resolves.toMatchObject({ workflowId: expect.any(String) });
    } finally {
      await spare.close();
    }
  });

  it('registers them when the launcher restarts the server', async () => {
    const plain = await startPlainServer();
    expect(await registeredTypes()).toEqual({ GraphiumStack: undefined, GraphiumOutcome: undefined });
    await stop(plain);

    const keyword = encodeSearchAttributeIndexedValueType(SearchAttributeType.KEYWORD);
    // The second start finds the attributes already registered.
    for (let round = 1; round <= 2; round++) {
      const server = await startTemporalDevServer({ dataDir, port: SPARE_PORT, uiPort: SPARE_PORT + 1000 });
      servers.push(server);
      expect(await registeredTypes()).toEqual({ GraphiumStack: keyword, GraphiumOutcome: keyword });
      await servers.pop()!.stop();
    }
  });
});
