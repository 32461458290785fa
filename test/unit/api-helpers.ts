/**
 * Shared setup for the API unit tests: an in-memory PGlite, a quiet logger and a `Deployer`
 * test double. The double never reaches Temporal: it throws the error a test configures
 * or, when none is configured, reports an unexpected call, so a test that drifts onto a
 * Temporal path fails loudly.
 */
import { Writable } from 'node:stream';
import { sql } from 'drizzle-orm';
import { pino } from 'pino';
import { createApp, type AppDeps } from '../../api/app';
import { allResponses, findRoute } from '../../api/openapi';
import type { Deployer, WorkflowRef } from '../../api/deployer';
import type { DeploymentProgress } from '../../workflows/contract';
import type { HostFacts } from '../../core/model';
import { openDatabase, type Database, type DatabaseHandle } from '../../db/client';
import { contextLogFields, type Logger } from '../../lib/logger';

export const TEMPORAL_UI_URL = 'http://127.0.0.1:8233';

/**
 * Hook timeout for opening PGlite: its WebAssembly start and the migrations take a few
 * seconds alone, and much longer when other test files compete for the two CPU cores.
 */
export const PGLITE_START_TIMEOUT_MS = 60_000;

/** A `Deployer` whose every call is recorded and none of which talks to Temporal. */
export class DeployerDouble implements Deployer {
  readonly calls: { method: string; args: unknown[] }[] = [];
  /** Thrown by `start`; unset means `start` must not be reached. */
  startError?: Error;
  /** Thrown by `teardown`; unset means `teardown` must not be reached. */
  teardownError?: Error;
  /** Returned by `describe`; unset means `describe` must not be reached. */
  workflowStatus?: string;

  private record(method: string, args: unknown[]): void {
    this.calls.push({ method, args });
  }

  private unexpected(method: string): never {
    throw new Error(`DeployerDouble.${method} was called but the test did not expect it`);
  }

  callsOf(method: string): unknown[][] {
    return this.calls.filter((call) => call.method === method).map((call) => call.args);
  }

  async start(input: Parameters<Deployer['start']>[0]): Promise<WorkflowRef> {
    this.record('start', [input]);
    throw this.startError ?? this.unexpected('start');
  }

  async progress(workflowId: string, runId?: string): Promise<DeploymentProgress | undefined> {
    this.record('progress', [workflowId, runId]);
    return undefined;
  }

  async describe(workflowId: string, runId?: string): Promise<string> {
    this.record('describe', [workflowId, runId]);
    return this.workflowStatus ?? this.unexpected('describe');
  }

  async cancel(workflowId: string, runId?: string): Promise<void> {
    this.record('cancel', [workflowId, runId]);
    this.unexpected('cancel');
  }

  async teardown(stackName: string, teardownId: string, options?: object): Promise<WorkflowRef> {
    this.record('teardown', [stackName, teardownId, options]);
    throw this.teardownError ?? this.unexpected('teardown');
  }
}

/** Collects pino's JSON lines so a test can assert what was logged. */
export function capturingLogger(): { logger: Logger; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  const logger = pino({ level: 'info', mixin: contextLogFields }, stream);
  const lines = () =>
    chunks
      .join('')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { logger, lines };
}

/** A response whose JSON body tests read without declaring its type first. */
export interface TestResponse extends Omit<Response, 'json' | 'clone'> {
  json(): Promise<any>;
  clone(): TestResponse;
}

/** Figures every host reports in unit tests: 4 CPUs and 8 GiB, nothing running. */
export function hostFacts(name: string): HostFacts {
  return {
    name,
    reachable: true,
    cpus: 4,
    memoryBytes: 8 * 1024 ** 3,
    runningContainers: 0,
    publishedPorts: [],
  };
}

export interface TestApi {
  db: Database;
  deployer: DeployerDouble;
  app: ReturnType<typeof createApp>;
  logLines: () => Record<string, unknown>[];
  /** Sends a JSON body, or a raw string as is. */
  send(method: string, path: string, body?: unknown): Promise<TestResponse>;
}

/** Opens an in-memory PGlite, once per test file because starting it takes seconds. */
export async function openTestDatabase(): Promise<DatabaseHandle> {
  return openDatabase({ inMemory: true });
}

/** Empties every table and builds a fresh app, double and log capture for one test. */
export async function resetApi(db: Database, overrides: Partial<AppDeps> = {}): Promise<TestApi> {
  await db.execute(sql`truncate table deployment_containers, deployments, hosts`);
  const deployer = new DeployerDouble();
  const { logger, lines } = capturingLogger();
  const app = createApp({
    db,
    logger,
    deployer,
    temporalUiUrl: TEMPORAL_UI_URL,
    namespace: 'default',
    // Host bodies here name addresses outside this machine, so no request may reach them.
    checkDaemon: async () => ({ reachable: false, error: 'not checked in unit tests' }),
    gatherFacts: async (hosts) => Object.fromEntries(hosts.map((host) => [host.name, hostFacts(host.name)])),
    ...overrides,
  });
  const send = (method: string, path: string, body?: unknown) => {
    const init: RequestInit = { method };
    if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
      init.headers = { 'Content-Type': 'application/json' };
    }
    return Promise.resolve(app.request(path, init)).then(async (response) => {
      await expectDocumented(method, path, response);
      return response;
    }) as Promise<TestResponse>;
  };
  return { db, deployer, app, logLines: lines, send };
}

/**
 * Fails the test when a response's status or JSON body is not the one the OpenAPI document
 * lists for its route, so the document cannot drift from the routes. A request that matches no
 * route must get the 404 of an unknown path.
 */
export async function expectDocumented(method: string, path: string, response: Response): Promise<void> {
  const pathname = new URL(path, 'http://api.test').pathname;
  const route = findRoute(method, pathname);
  if (!route) {
    if (response.status === 404 || response.status === 405) return;
    throw new Error(`${method} ${pathname} answered ${response.status} but is not in the OpenAPI document`);
  }
  const documented = allResponses(route)[response.status];
  if (!documented) {
    const listed = Object.keys(allResponses(route)).join(', ');
    throw new Error(
      `${method} ${route.path} answered ${response.status}, which its document does not list (${listed})`,
    );
  }
  if (!documented.schema || !(response.headers.get('content-type') ?? '').includes('json')) return;
  const parsed = documented.schema.safeParse(await response.clone().json());
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new Error(
      `${method} ${route.path} ${response.status} body differs from its document: ${issues.join('; ')}`,
    );
  }
}

function serviceItem(position: number, name: string, image: string, targetHost: string) {
  return { '@type': 'SoftwareApplication', position, name, image, targetHost };
}

/** Builds a two-service ItemList stack document whose services are pinned to `hosts`. */
export function stackDocument(name: string, hosts: [string, string]): Record<string, unknown> {
  return {
    '@context': 'https://schema.org',
    '@type': 'ItemList',
    name,
    placement: 'manual',
    itemListElement: [
      serviceItem(1, 'web', 'nginx:1.27', hosts[0]),
      serviceItem(2, 'db', 'postgres:16', hosts[1]),
    ],
  };
}

/** Body of a valid `POST /hosts` request. */
export function hostBody(name: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, docker: 'unix:///run/graphium-test/absent.sock', address: '10.0.0.1', ...overrides };
}
