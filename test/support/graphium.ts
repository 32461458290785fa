/**
 * Graphium as the end-to-end tests run it: the API in the test process and
 * the worker in a child process of its own, so a test can kill the worker
 * while the API and the database stay up. Both share a real PostgreSQL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import Docker from 'dockerode';
import type { HostRecord } from '../../core/model';
import { inject } from 'vitest';
import { createApp } from '../../api/app';
import { createTemporalDeployer } from '../../api/deployer';
import { startApiServer, type ApiServer } from '../../api/server';
import { openDatabase, type DatabaseHandle } from '../../db/client';
import { AesGcmPayloadCodec, parseCodecKeys } from '../../lib/codec';
import { silentLogger } from '../../lib/logger';
import { labDockerEndpoint, type LabHost } from '../../lib/lab';
import type { StepDeadlines } from '../../workflows/contract';

const REPO_ROOT = new URL('../../', import.meta.url).pathname;

export interface TestGraphium {
  apiUrl: string;
  /** Secret of the admin token the API accepts, for clients other than `request`. */
  apiToken: string;
  /** Start a worker process, with `env` added to its environment, and resolve once it polls. */
  startWorker(env?: Record<string, string>): Promise<void>;
  /** Process id of the running worker; the SDK's worker identity starts with `<pid>@`. */
  workerPid(): number | undefined;
  /** SIGKILL the worker process, as a crash would. */
  killWorker(): Promise<void>;
  stop(): Promise<void>;
  request(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: any; headers: Headers }>;
}

/** Returns the data converter of the test run's payload keys, which the worker processes get too. */
export function testDataConverter(): DataConverter & { payloadCodecs: [AesGcmPayloadCodec] } {
  return { payloadCodecs: [new AesGcmPayloadCodec(parseCodecKeys(inject('codecKeys')))] };
}

export async function startTestGraphium(options: {
  temporalAddress: string;
  databaseUrl: string;
  /** Step deadlines of the deploys; default: the product's defaults. */
  deadlines?: StepDeadlines;
}): Promise<TestGraphium> {
  const database: DatabaseHandle = await openDatabase({ url: options.databaseUrl });
  const apiToken = randomBytes(24).toString('hex');
  const connection = await Connection.connect({ address: options.temporalAddress });
  const dataConverter = testDataConverter();
  const client = new Client({ connection, dataConverter });
  const app = createApp({
    db: database.db,
    logger: silentLogger(),
    deployer: createTemporalDeployer(client, { deadlines: options.deadlines }),
    temporalUiUrl: 'http://127.0.0.1:8343',
    apiTokens: [{ name: 'test', role: 'admin', secret: apiToken }],
    // A key for this run only, so a browser can log in with the token through the login page.
    sessions: { key: randomBytes(32) },
    namespace: 'default',
    payloadCodec: dataConverter.payloadCodecs[0],
  });
  const api: ApiServer = await startApiServer(app, { host: '127.0.0.1', port: 0 });
  let worker: ChildProcess | undefined;
  let workerLog = '';

  const startWorker = async (env: Record<string, string> = {}) => {
    // Node runs the worker itself with tsx as a loader. The tsx command would start it as a child
    // of its own, which a SIGKILL of the command leaves running to take tasks from later tests.
    worker = spawn(process.execPath, ['--import', 'tsx', 'scripts/serve.ts', '--worker'], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        DATABASE_URL: options.databaseUrl,
        TEMPORAL_ADDRESS: options.temporalAddress,
        GRAPHIUM_CODEC_KEYS: inject('codecKeys'),
        LOG_LEVEL: 'info',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const child = worker;
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        workerLog += chunk.toString();
        if (workerLog.includes('worker running')) resolve();
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', (chunk: Buffer) => (workerLog += chunk.toString()));
      child.once('exit', (code) => reject(new Error(`worker exited with code ${code}:\n${workerLog}`)));
    });
  };

  const killWorker = async () => {
    if (!worker || worker.exitCode !== null || worker.signalCode !== null) return;
    const exited = once(worker, 'exit');
    worker.kill('SIGKILL');
    await exited;
    workerLog = '';
  };

  const request = async (method: string, path: string, body?: unknown) => {
    const headers: Record<string, string> = { authorization: `Bearer ${apiToken}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${api.url}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined, headers: response.headers };
  };

  return {
    apiUrl: api.url,
    apiToken,
    startWorker,
    workerPid: () =>
      worker && worker.exitCode === null && worker.signalCode === null ? worker.pid : undefined,
    killWorker,
    request,
    stop: async () => {
      await killWorker();
      await api.close();
      await connection.close();
      await database.close();
    },
  };
}

/** Register lab hosts through the API, reaching each daemon over its TCP address with mutual TLS. */
export async function registerLabHosts(graphium: TestGraphium, hosts: LabHost[]): Promise<void> {
  for (const host of hosts) {
    const response = await graphium.request('POST', '/hosts', {
      name: host.name,
      docker: labDockerEndpoint(host),
      address: host.address,
      datacenter: host.datacenter,
      labels: host.labels,
      imagePull: 'never',
    });
    if (response.status !== 201 || response.body.daemon?.reachable !== true) {
      throw new Error(
        `registering ${host.name} returned ${response.status}: ${JSON.stringify(response.body)}`,
      );
    }
  }
}

/** Returns the record of a lab host reached through its unix socket, which pulls no images. */
export function labSocketHost(host: LabHost): HostRecord {
  return {
    name: host.name,
    docker: { protocol: 'unix', socketPath: host.socket },
    address: host.address,
    datacenter: host.datacenter,
    labels: host.labels,
    imagePull: 'never',
    status: 'active',
  };
}

export function labDocker(host: LabHost): Docker {
  return new Docker({ socketPath: host.socket });
}

/** Containers on a lab host carrying the given label filter, running or not. */
export async function containersWithLabel(host: LabHost, label: string): Promise<Docker.ContainerInfo[]> {
  return labDocker(host).listContainers({ all: true, filters: { label: [label] } });
}

/** Poll a deployment until its status is one of `statuses`, failing with the last body after the timeout. */
export async function waitForStatus(
  graphium: TestGraphium,
  deploymentId: string,
  statuses: string[],
  timeoutMs = 180_000,
): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  let last: any;
  while (Date.now() < deadline) {
    last = (await graphium.request('GET', `/deployments/${deploymentId}`)).body;
    if (statuses.includes(last?.status)) return last;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`deployment ${deploymentId} did not reach ${statuses.join('/')}: ${JSON.stringify(last)}`);
}
