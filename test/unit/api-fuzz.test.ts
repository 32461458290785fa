/**
 * Fuzz test of the API's write routes, in process, on an in-memory PGlite. Generated and mutated
 * bodies go to POST /deployments, /stacks/validate, /stacks/plan, /hosts and /orphans/remove.
 * Every response must be below 500 and every 4xx must have the error shape. A deploy may start
 * only for a document that /stacks/validate accepts, and no body may add members to
 * Object.prototype.
 *
 * No request leaves the process: the Deployer, the daemon check and the host facts are test
 * doubles. The orphan routes call Docker on every registered host, so that phase runs with no
 * host registered.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DaemonCheck } from '../../api/context';
import type { Deployer, WorkflowRef } from '../../api/deployer';
import { MAX_BODY_BYTES } from '../../api/app';
import { MAX_SOCKET_PATH_BYTES } from '../../api/host-schema';
import { REQUEST_FIELDS, readDeploymentRequest, type DeploymentRequest } from '../../api/stack-request';
import { parseStack } from '../../core/parse';
import type { DatabaseHandle } from '../../db/client';
import { listHosts } from '../../db/repository';
import { deployWorkflowId } from '../../workflows/contract';
import { PGLITE_START_TIMEOUT_MS, hostBody, openTestDatabase, resetApi, type TestApi } from './api-helpers';
import { createCa, issueCertificate } from '../support/pki';
import {
  PLACEMENT_MEMBERS,
  SEED_HOSTS,
  contentType,
  defineMember,
  fragmentsOf,
  mutatedText,
  mutationArbitrary,
  nastyKey,
  nastyString,
  nastyValue,
  nonJsonBody,
  seedHostBodies,
  seedOrphanBodies,
  seedStackBodies,
  toJsonText,
  type FuzzBody,
} from './api-fuzz-inputs';

/**
 * Runs per property, about 10,300 bodies in all. Cases of `stackRoutesAgree` send three
 * requests and the others one; the totals are printed when the file ends. On the project's
 * 2-core machine the file took 42 to 50 s alone and 49 to 54 s within
 * `npx vitest run --project unit`, most of it in PGlite queries.
 */
const RUNS = {
  stackMutations: 4_000,
  stackRoutesAgree: 300,
  stackRandom: 500,
  rawBodies: 1_000,
  hosts: 3_000,
  orphans: 1_500,
};

/** Time limit of each fuzz test, far above its usual run time, for a slow shared machine. */
const FUZZ_TIMEOUT_MS = 180_000;

const STACK_ROUTES = ['/deployments', '/stacks/validate', '/stacks/plan'] as const;
type StackRoute = (typeof STACK_ROUTES)[number];
const WRITE_ROUTES = [...STACK_ROUTES, '/hosts', '/orphans/remove'];

/** A `Deployer` that starts every deploy and teardown at once and counts the calls. */
class CountingDeployer implements Deployer {
  starts = 0;
  teardowns = 0;

  async start(input: Parameters<Deployer['start']>[0]): Promise<WorkflowRef> {
    this.starts++;
    return { workflowId: deployWorkflowId(input.stack.name), runId: `run-${this.starts}` };
  }

  async progress(): Promise<undefined> {
    return undefined;
  }

  async describe(): Promise<string> {
    return 'RUNNING';
  }

  async cancel(): Promise<void> {}

  async teardown(stackName: string): Promise<WorkflowRef> {
    this.teardowns++;
    return { workflowId: `graphium-teardown-${stackName}`, runId: `run-teardown-${this.teardowns}` };
  }
}

/** A response read once: its status and its body parsed as JSON. */
interface Reply {
  status: number;
  body: any;
  text: string;
}

let handle: DatabaseHandle;
const totals = { inputs: 0, requests: 0 };
/** Responses by status code, printed with the totals to show what the bodies reached. */
const statusCounts = new Map<number, number>();
const errorLogLines: string[] = [];
const unhandled: unknown[] = [];
const recordUnhandled = (reason: unknown) => unhandled.push(reason);
let prototypeBefore: Record<string, PropertyDescriptor>;
let started = 0;

beforeEach(() => {
  errorLogLines.length = 0;
  unhandled.length = 0;
});

beforeAll(async () => {
  started = performance.now();
  prototypeBefore = Object.getOwnPropertyDescriptors(Object.prototype);
  process.on('unhandledRejection', recordUnhandled);
  process.on('uncaughtException', recordUnhandled);
  handle = await openTestDatabase();
}, PGLITE_START_TIMEOUT_MS);

afterAll(async () => {
  process.off('unhandledRejection', recordUnhandled);
  process.off('uncaughtException', recordUnhandled);
  await handle?.close();
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const statuses = [...statusCounts.entries()]
    .sort(([a], [b]) => a - b)
    .map(([status, count]) => `${status}: ${count}`)
    .join(', ');
  console.log(
    `API fuzz: ${totals.inputs} generated bodies, ${totals.requests} requests to ` +
      `${WRITE_ROUTES.join(', ')} in ${seconds} s; responses by status: ${statuses}`,
  );
});

/** Builds a fresh app over emptied tables whose logger keeps only error lines. */
async function freshApi(extra: Parameters<typeof resetApi>[1] = {}) {
  const deployer = new CountingDeployer();
  const stream = new Writable({
    write(chunk, _encoding, done) {
      errorLogLines.push(String(chunk));
      done();
    },
  });
  const api = await resetApi(handle.db, { deployer, logger: pino({ level: 'error' }, stream), ...extra });
  return { api, deployer };
}

async function post(api: TestApi, path: string, input: FuzzBody): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (input.contentType !== undefined) headers['content-type'] = input.contentType;
  const response = await api.app.request(path, { method: 'POST', body: input.body, headers });
  totals.requests++;
  statusCounts.set(response.status, (statusCounts.get(response.status) ?? 0) + 1);
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, body, text };
}

/** Shortens a body for an assertion message; a failing case can be 1 MiB long. */
function excerpt(text: string | Uint8Array): string {
  const printable = typeof text === 'string' ? text : Buffer.from(text).toString('latin1');
  if (printable.length <= 300) return printable;
  return `${printable.slice(0, 300)}... (${printable.length} characters)`;
}

/** A path of a problem: a JSON path into the body, or a request field. */
const ISSUE_PATH = /^(\$|request\b)/;

function expectIssues(issues: unknown, where: string): void {
  expect(Array.isArray(issues), `${where}: issues must be an array`).toBe(true);
  for (const issue of issues as { path: unknown; message: unknown }[]) {
    expect(
      typeof issue.path === 'string' && ISSUE_PATH.test(issue.path),
      `${where}: path of ${JSON.stringify(issue)}`,
    ).toBe(true);
    expect(
      typeof issue.message === 'string' && issue.message !== '',
      `${where}: message of ${JSON.stringify(issue)}`,
    ).toBe(true);
  }
}

/** Asserts no 5xx, and the error shape with located details for every 4xx. */
function expectSound(reply: Reply, where: string): void {
  const logged = errorLogLines.at(-1)?.slice(0, 2_000) ?? 'nothing logged';
  expect(
    reply.status,
    `${where} answered ${reply.status}: ${excerpt(reply.text)}; log: ${logged}`,
  ).toBeLessThan(500);
  expect(Object.keys(Object.prototype), `${where}: Object.prototype gained members`).toEqual([]);
  if (reply.status < 400) return;

  const error = reply.body?.error;
  expect(typeof error?.code, `${where}: error code in ${excerpt(reply.text)}`).toBe('string');
  expect(typeof error?.message, `${where}: error message in ${excerpt(reply.text)}`).toBe('string');
  expect(error.message, `${where}: empty error message`).not.toBe('');
  if (error.details !== undefined) expectIssues(error.details, where);
  if (error.code === 'validation_failed') {
    expect(reply.status, `${where}: status of validation_failed`).toBe(400);
    expect(error.details?.length, `${where}: validation_failed without details`).toBeGreaterThan(0);
  }
}

/** Returns whether the core parser accepts the stack request in `text`, on the seed hosts. */
function parsesAsValidStack(text: string | Uint8Array): boolean {
  let body: unknown;
  try {
    body = JSON.parse(typeof text === 'string' ? text : Buffer.from(text).toString('utf8'));
  } catch {
    return false;
  }
  let request: DeploymentRequest;
  try {
    request = readDeploymentRequest(body);
  } catch {
    return false;
  }
  // Passes on every request field the way parseRequestStack does, including fields added later.
  const { document, placement, ...fields } = request;
  const result = parseStack(document, { ...fields, request: placement, knownHosts: SEED_HOSTS });
  return result.stack !== undefined && result.errors.length === 0;
}

/**
 * Sends one stack body to one route. A deploy starts exactly when the route responds with 202, and
 * never for a body the core parser rejects.
 */
async function checkStackRoute(
  api: TestApi,
  deployer: CountingDeployer,
  route: StackRoute,
  input: FuzzBody,
): Promise<Reply> {
  const where = `${route} with ${excerpt(input.body)} (${input.contentType ?? 'no content type'})`;
  const startsBefore = deployer.starts;
  const reply = await post(api, route, input);
  expectSound(reply, where);

  const deploysStarted = deployer.starts - startsBefore;
  expect(deploysStarted, `deploys started by ${where}`).toBe(reply.status === 202 ? 1 : 0);
  expect(deployer.teardowns, 'teardowns started').toBe(0);
  if (reply.status === 202) {
    expect(parsesAsValidStack(input.body), `deployed although invalid: ${where}`).toBe(true);
  }
  if (route === '/stacks/validate' && reply.status === 200) {
    expect(typeof reply.body.valid, `valid of ${where}`).toBe('boolean');
    expectIssues(reply.body.errors, `errors of ${where}`);
    expectIssues(reply.body.warnings, `warnings of ${where}`);
    expect(reply.body.valid, `valid beside errors of ${where}`).toBe(reply.body.errors.length === 0);
  }
  return reply;
}

/**
 * Sends one stack body to validate, plan and deploy, and checks that the three agree: a body
 * that validate accepts plans and deploys, and any other body starts no deploy.
 */
async function checkStackRoutesAgree(
  api: TestApi,
  deployer: CountingDeployer,
  input: FuzzBody,
): Promise<Reply> {
  const where = `body ${excerpt(input.body)} (${input.contentType ?? 'no content type'})`;
  const validated = await checkStackRoute(api, deployer, '/stacks/validate', input);
  const planned = await checkStackRoute(api, deployer, '/stacks/plan', input);
  const deployed = (await checkStackRoute(api, deployer, '/deployments', input)).status === 202;

  if (validated.status !== 200) {
    expect(planned.status, `plan status beside validate's for ${where}`).toBe(validated.status);
    expect(deployed, `deployed although validate answered ${validated.status}: ${where}`).toBe(false);
  } else if (validated.body.valid) {
    expect(planned.status, `plan of a valid ${where}: ${excerpt(planned.text)}`).toBe(200);
    expect(deployed, `not deployed although valid: ${where}`).toBe(true);
  } else {
    expect([400, 422], `plan of an invalid ${where}: ${excerpt(planned.text)}`).toContain(planned.status);
    expect(deployed, `deployed although invalid: ${where}`).toBe(false);
  }
  return validated;
}

function expectPrototypesIntact(): void {
  expect(Object.getOwnPropertyDescriptors(Object.prototype)).toEqual(prototypeBefore);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(errorLogLines, 'error lines logged by the app').toEqual([]);
  expect(unhandled, 'unhandled rejections and uncaught exceptions').toEqual([]);
}

describe('stack routes under fuzz', () => {
  const seeds = seedStackBodies();
  const mutation = mutationArbitrary(seeds.flatMap(fragmentsOf), PLACEMENT_MEMBERS);
  let api: TestApi;
  let deployer: CountingDeployer;

  beforeAll(async () => {
    ({ api, deployer } = await freshApi());
    for (const name of SEED_HOSTS) {
      expect((await api.send('POST', '/hosts', hostBody(name))).status).toBe(201);
    }
  }, PGLITE_START_TIMEOUT_MS);

  it('accepts and deploys every seed as it is', async () => {
    for (const seed of seeds) {
      const input = { body: JSON.stringify(seed), contentType: 'application/json' };
      const startsBefore = deployer.starts;
      totals.inputs++;
      const validated = await checkStackRoutesAgree(api, deployer, input);

      expect(validated.body.errors).toEqual([]);
      expect(validated.body.valid).toBe(true);
      expect(parsesAsValidStack(input.body)).toBe(true);
      expect(deployer.starts).toBe(startsBefore + 1);
    }
  });

  const stackCase = fc.record({
    route: fc.constantFrom(...STACK_ROUTES),
    seed: fc.nat({ max: seeds.length - 1 }),
    mutations: fc.array(mutation, { maxLength: 5 }),
    contentType,
  });

  it(
    'answers mutated stacks with 2xx or a located 4xx',
    async () => {
      await fc.assert(
        fc.asyncProperty(stackCase, async ({ route, seed, mutations, contentType: type }) => {
          totals.inputs++;
          const body = mutatedText(seeds[seed], mutations);
          await checkStackRoute(api, deployer, route, { body, contentType: type });
        }),
        { numRuns: RUNS.stackMutations },
      );
      expectPrototypesIntact();
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'validates, plans and deploys mutated stacks alike',
    async () => {
      await fc.assert(
        fc.asyncProperty(stackCase, async ({ seed, mutations, contentType: type }) => {
          totals.inputs++;
          const body = mutatedText(seeds[seed], mutations);
          await checkStackRoutesAgree(api, deployer, { body, contentType: type });
        }),
        { numRuns: RUNS.stackRoutesAgree },
      );
      expectPrototypesIntact();
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'answers random JSON and wrapper objects',
    async () => {
      const requestField = fc.constantFrom(...REQUEST_FIELDS);
      const wrapped = fc
        .tuple(nastyValue, fc.dictionary(requestField, nastyValue))
        .map(([stack, fields]) => ({ stack, ...fields }));
      const randomCase = fc.record({
        route: fc.constantFrom(...STACK_ROUTES),
        value: fc.oneof(nastyValue, wrapped, fc.jsonValue({ stringUnit: 'binary' })),
      });
      await fc.assert(
        fc.asyncProperty(randomCase, async ({ route, value }) => {
          totals.inputs++;
          const input = { body: toJsonText(value), contentType: 'application/json' };
          await checkStackRoute(api, deployer, route, input);
        }),
        { numRuns: RUNS.stackRandom },
      );
      expectPrototypesIntact();
    },
    FUZZ_TIMEOUT_MS,
  );
});

describe('raw bodies under fuzz', () => {
  it(
    'answers bodies that are not JSON, or not declared as JSON, with a 4xx',
    async () => {
      const { api, deployer } = await freshApi();
      const input = fc.record({
        route: fc.constantFrom(...WRITE_ROUTES),
        body: fc.oneof(nonJsonBody, fc.constant(JSON.stringify(seedOrphanBodies()[0]))),
        contentType,
      });
      await fc.assert(
        fc.asyncProperty(input, async ({ route, body, contentType: type }) => {
          totals.inputs++;
          const reply = await post(api, route, { body, contentType: type });
          expectSound(reply, `${route} with ${excerpt(body)} (${type})`);
        }),
        { numRuns: RUNS.rawBodies },
      );
      expect(deployer.starts).toBe(0);
      expect(await listHosts(handle.db)).toEqual([]);
      expectPrototypesIntact();
    },
    FUZZ_TIMEOUT_MS,
  );

  it('answers bodies over 1 MiB with 413 on every route', async () => {
    const { api } = await freshApi();
    const oversized = `{"name": "${'x'.repeat(MAX_BODY_BYTES)}"}`;
    for (const route of WRITE_ROUTES) {
      totals.inputs++;
      const reply = await post(api, route, { body: oversized, contentType: 'application/json' });

      expect(reply.status, route).toBe(413);
      expect(reply.body.error.code, route).toBe('payload_too_large');
    }
  });
});

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const DNS_LABEL = '[a-zA-Z0-9](?:[-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?';
const HOST_NAME = new RegExp(`^(?=.{1,253}\\.?$)${DNS_LABEL}(?:\\.${DNS_LABEL})*\\.?$`);

/** Returns whether `value` is an IPv4 address, an IPv6 address or a host name that is not a mistyped IPv4. */
function isNetworkAddress(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  if (IPV4.test(value)) return true;
  if (value.includes(':')) return URL.canParse(`http://[${value}]/`);
  return HOST_NAME.test(value) && !/(^|\.)\d+\.?$/.test(value);
}

/** Asserts what a registered host must satisfy, whatever body registered it. */
function expectUsableHost(host: any, where: string): void {
  const docker = host.docker;
  expect(['unix', 'tcp'], `${where}: protocol`).toContain(docker.protocol);
  if (docker.protocol === 'unix') {
    expect(docker.socketPath, `${where}: socket path`).toMatch(/^\/[^\u0000-\u001f]*$/);
    expect(docker.socketPath.split('/'), `${where}: socket path`).not.toContain('..');
    expect(Buffer.byteLength(docker.socketPath), `${where}: socket path bytes`).toBeLessThanOrEqual(
      MAX_SOCKET_PATH_BYTES,
    );
  } else {
    expect(Number.isInteger(docker.port), `${where}: port`).toBe(true);
    expect(docker.port, `${where}: port`).toBeGreaterThanOrEqual(1);
    expect(docker.port, `${where}: port`).toBeLessThanOrEqual(65535);
    expect(isNetworkAddress(docker.host), `${where}: docker host ${docker.host}`).toBe(true);
  }
  expect(isNetworkAddress(host.address), `${where}: address ${host.address}`).toBe(true);
}

describe('POST /hosts under fuzz', () => {
  it(
    'registers only usable hosts and rejects the rest with a located 4xx',
    async () => {
      let daemonChecks = 0;
      const checkDaemon = async (): Promise<DaemonCheck> => {
        daemonChecks++;
        return { reachable: false, error: 'not checked in the fuzz test' };
      };
      const { api } = await freshApi({ checkDaemon });
      const pkiDir = mkdtempSync(join(tmpdir(), 'graphium-fuzz-tls-'));
      const ca = createCa(pkiDir, 'ca');
      const client = issueCertificate(pkiDir, ca, { name: 'client', usage: 'clientAuth' });
      const seeds = seedHostBodies({ ca: ca.cert, cert: client.cert, key: client.key });
      const endpointText = fc
        .tuple(
          fc.constantFrom(
            'unix',
            'tcp',
            'ssh',
            'http',
            'https',
            'npipe',
            'fd',
            'TCP',
            'Unix',
            '',
            'tcp:',
            'unix:/',
          ),
          fc.constantFrom('//', '///', '/', ''),
          fc.oneof(
            nastyString,
            fc.constantFrom(
              '10.0.0.5',
              '[fd00::5]',
              'fd00::5',
              'docker.lab',
              'a b',
              'user@h',
              '999.1.1.1',
              '1.2.3',
              'run/docker.sock',
              'var/run/x.sock',
              '',
            ),
          ),
          fc.constantFrom(
            '',
            ':2375',
            ':0',
            ':65535',
            ':65536',
            ':-1',
            ':99999999999999999999',
            ':abc',
            ':2375/',
            ':2375/path',
            '?x=1',
            '#frag',
          ),
        )
        .map((parts) => parts.join(''));
      const endpointObject = fc.record(
        {
          protocol: fc.constantFrom('unix', 'tcp', 'ssh', 'TCP', '', 'http'),
          host: fc.oneof(nastyValue, fc.constantFrom('10.0.0.5', 'fd00::5', 'docker.lab', 'a b')),
          port: fc.oneof(nastyValue, fc.integer({ min: -10, max: 70_000 })),
          socketPath: fc.oneof(
            nastyValue,
            fc.constantFrom('/run/x.sock', 'run/x.sock', '', '/' + 'a'.repeat(200)),
          ),
          tls: fc.oneof(nastyValue, fc.constant({ ca: '/ca.pem', cert: '/cert.pem', key: '/key.pem' })),
        },
        { requiredKeys: ['protocol'] },
      );
      const mutation = mutationArbitrary([...seeds.flatMap(fragmentsOf), 'unix:///run/docker.sock']);
      const hostCase = fc.record({
        seed: fc.nat({ max: seeds.length - 1 }),
        name: fc.oneof(fc.constantFrom('seed-unix', 'h1', 'h2'), fc.stringMatching(/^[a-z0-9-]{1,20}$/)),
        // Half the cases keep the seed's valid endpoint or address, so some bodies register.
        docker: fc.option(fc.oneof(endpointText, endpointObject), { freq: 2 }),
        address: fc.option(
          fc.oneof(
            nastyValue,
            fc.constantFrom('10.0.0.300', '1.2.3', 'a b', 'host_1', '::', 'fd00::1', 'docker.lab'),
          ),
          { freq: 2 },
        ),
        mutations: fc.array(mutation, { maxLength: 4 }),
        contentType,
      });

      let registered = 0;
      let registeredWithTls = 0;
      try {
        await fc.assert(
          fc.asyncProperty(hostCase, async (generated) => {
            totals.inputs++;
            const body = structuredClone(seeds[generated.seed]) as Record<string, unknown>;
            body.name = generated.name;
            if (generated.docker !== null) defineMember(body, 'docker', generated.docker);
            if (generated.address !== null) defineMember(body, 'address', generated.address);
            const text = mutatedText(body, generated.mutations);
            const reply = await post(api, '/hosts', { body: text, contentType: generated.contentType });
            const where = `host ${excerpt(text)} (${generated.contentType})`;
            expectSound(reply, where);
            if (reply.status === 201) {
              registered++;
              if (reply.body.docker.tls) registeredWithTls++;
              expectUsableHost(reply.body, where);
            }
          }),
          { numRuns: RUNS.hosts },
        );
      } finally {
        rmSync(pkiDir, { recursive: true, force: true });
      }
      expect(daemonChecks).toBe(registered);
      expect(registered).toBeGreaterThan(0);
      expect(registeredWithTls).toBeGreaterThan(0);
      expectPrototypesIntact();
    },
    FUZZ_TIMEOUT_MS,
  );
});

describe('POST /orphans/remove under fuzz', () => {
  it(
    'answers every body with a 2xx or a located 4xx and removes nothing',
    async () => {
      // With no host registered, the audit behind this route calls no Docker daemon.
      const { api } = await freshApi();
      expect(await listHosts(handle.db)).toEqual([]);
      const seeds = seedOrphanBodies();
      const mutation = mutationArbitrary([...seeds.flatMap(fragmentsOf), 'a'.repeat(12), 'A'.repeat(64)]);
      const containerId = fc.oneof(fc.stringMatching(/^[0-9a-f]{12,64}$/), nastyValue);
      const orphanCase = fc.record({
        base: fc.oneof(
          fc.nat({ max: seeds.length - 1 }).map((index) => seeds[index]),
          fc.record({ containerIds: fc.array(containerId, { maxLength: 5 }) }),
          fc.dictionary(nastyKey, nastyValue, { maxKeys: 3 }),
        ),
        mutations: fc.array(mutation, { maxLength: 4 }),
        contentType,
      });
      await fc.assert(
        fc.asyncProperty(orphanCase, async ({ base, mutations, contentType: type }) => {
          totals.inputs++;
          const text = mutatedText(base, mutations);
          const reply = await post(api, '/orphans/remove', { body: text, contentType: type });
          const where = `orphan removal ${excerpt(text)} (${type})`;
          expectSound(reply, where);
          if (reply.status === 200) {
            expect(reply.body.removed, where).toEqual([]);
            expect(reply.body.failed, where).toEqual([]);
          }
        }),
        { numRuns: RUNS.orphans },
      );
      expectPrototypesIntact();
    },
    FUZZ_TIMEOUT_MS,
  );
});
