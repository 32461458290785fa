/**
 * `GET /metrics`: the deployment, rollback and host figures read from the database, the HTTP
 * request counts of the process, the token it needs, and text that parses as the Prometheus
 * exposition format.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiToken } from '../../api/auth';
import { DAEMON_CHECK_WAIT_MS } from '../../api/metrics';
import type { DatabaseHandle } from '../../db/client';
import {
  createHost,
  insertDeployment,
  updateDeployment,
  type Database,
  type DeploymentPatch,
} from '../../db/repository';
import { deployments, type DeploymentStatus } from '../../db/schema';
import { CANCELLED_ON_REQUEST } from '../../workflows/contract';
import { PGLITE_START_TIMEOUT_MS, hostFacts, openTestDatabase, resetApi, type TestApi } from './api-helpers';

const READ = 'r'.repeat(32);
const TOKENS: ApiToken[] = [{ name: 'prometheus', role: 'read', secret: READ }];
const AUTH = { authorization: `Bearer ${READ}` };

let handle: DatabaseHandle;

beforeAll(async () => {
  handle = await openTestDatabase();
}, PGLITE_START_TIMEOUT_MS);

afterAll(async () => {
  await handle?.close();
});

/** Inserts a deployment, applies `patch`, and sets its creation and finish times `seconds` apart. */
async function addDeployment(
  db: Database,
  id: string,
  patch: DeploymentPatch & { status: DeploymentStatus },
  seconds?: number,
): Promise<void> {
  await insertDeployment(db, {
    id,
    stackName: id,
    stackSlug: id,
    workflowId: `graphium-deploy-${id}`,
    strategy: 'manual',
    spec: { name: id, placement: 'manual', volumes: [], services: [] },
  });
  await updateDeployment(db, id, patch);
  const createdAt = new Date('2025-01-01T00:00:00Z');
  const finishedAt = seconds === undefined ? null : new Date(createdAt.getTime() + seconds * 1000);
  await db.update(deployments).set({ createdAt, finishedAt }).where(eq(deployments.id, id));
}

async function addHost(db: Database, name: string): Promise<void> {
  await createHost(db, {
    name,
    docker: { protocol: 'unix', socketPath: '/run/graphium-test/absent.sock' },
    address: '10.0.0.1',
  });
}

async function scrape(api: TestApi): Promise<string> {
  const response = await api.app.request('/metrics', { headers: AUTH });
  expect(response.status).toBe(200);
  return response.text();
}

/** Returns the value of the sample `name{labels}`, with labels written as in the exposition. */
function sample(text: string, name: string, labels = ''): number | undefined {
  const prefix = labels ? `${name}{${labels}} ` : `${name} `;
  const line = text.split('\n').find((candidate) => candidate.startsWith(prefix));
  return line === undefined ? undefined : Number(line.slice(prefix.length));
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"';
const VALUE = '(?:[+-]?(?:\\d+(?:\\.\\d+)?(?:[eE][+-]?\\d+)?|\\.\\d+)|NaN|[+-]Inf)';
const SAMPLE_LINE = new RegExp(`^(${NAME})(?:\\{${LABEL}(?:,${LABEL})*\\})? ${VALUE}$`);
const HELP_LINE = new RegExp(`^# HELP (${NAME}) .*$`);
const TYPE_LINE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`);

/**
 * Checks each line against the text format 0.0.4 and returns the problems: a line no rule
 * matches, a family declared twice, or a sample outside the family declared last. The format
 * allows empty lines, and prom-client writes one between families.
 */
function expositionProblems(text: string): string[] {
  const problems: string[] = [];
  const declared = new Map<string, string>();
  let current: { name: string; type: string } | undefined;
  for (const line of text.split('\n').slice(0, -1)) {
    const help = HELP_LINE.exec(line);
    const type = TYPE_LINE.exec(line);
    const sampleMatch = SAMPLE_LINE.exec(line);
    if (help || line === '') continue;
    if (type) {
      if (declared.has(type[1]!)) problems.push(`family declared twice: ${line}`);
      declared.set(type[1]!, type[2]!);
      current = { name: type[1]!, type: type[2]! };
    } else if (sampleMatch) {
      const suffixes = current?.type === 'histogram' ? ['_bucket', '_sum', '_count'] : [''];
      if (!current || !suffixes.some((suffix) => sampleMatch[1] === `${current!.name}${suffix}`)) {
        problems.push(`sample outside its family: ${line}`);
      }
    } else {
      problems.push(`invalid line: ${JSON.stringify(line)}`);
    }
  }
  if (!text.endsWith('\n')) problems.push('text does not end with a line feed');
  return problems;
}

describe('GET /metrics', () => {
  it('answers 401 without a token', async () => {
    const api = await resetApi(handle.db, { apiTokens: TOKENS });
    const response = await api.app.request('/metrics');
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="graphium"');
  });

  it('serves valid exposition text to a read token', async () => {
    const api = await resetApi(handle.db, { apiTokens: TOKENS });
    await addHost(api.db, 'host1');
    await addDeployment(api.db, 'dep-a', { status: 'running' }, 40);
    await api.app.request('/deployments', { headers: AUTH });
    const response = await api.app.request('/metrics', { headers: AUTH });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(expositionProblems(await response.text())).toEqual([]);
    expect(expositionProblems('graphium_x{host=host1} 1\n')).toEqual([
      'invalid line: "graphium_x{host=host1} 1"',
    ]);
  });

  it('counts deployments by status', async () => {
    const api = await resetApi(handle.db, { apiTokens: TOKENS });
    await addDeployment(api.db, 'dep-a', { status: 'running' }, 40);
    await addDeployment(api.db, 'dep-b', { status: 'running' }, 70);
    await addDeployment(api.db, 'dep-c', { status: 'deploying' });
    await addDeployment(api.db, 'dep-d', { status: 'rolled_back', compensation: { failed: [] } }, 100);
    const text = await scrape(api);
    expect(sample(text, 'graphium_deployments', 'status="running"')).toBe(2);
    expect(sample(text, 'graphium_deployments', 'status="deploying"')).toBe(1);
    expect(sample(text, 'graphium_deployments', 'status="rolled_back"')).toBe(1);
    expect(sample(text, 'graphium_deployments', 'status="accepted"')).toBe(0);
    expect(sample(text, 'graphium_deployments', 'status="removed"')).toBe(0);
  });

  it('buckets deploy durations by outcome', async () => {
    const api = await resetApi(handle.db, { apiTokens: TOKENS });
    await addDeployment(api.db, 'dep-a', { status: 'running' }, 40);
    await addDeployment(api.db, 'dep-b', { status: 'running' }, 70);
    await addDeployment(api.db, 'dep-c', { status: 'deploying' });
    await addDeployment(api.db, 'dep-d', { status: 'rolled_back', compensation: { failed: [] } }, 100);
    // Torn down after reaching running: it keeps the outcome running.
    await addDeployment(api.db, 'dep-e', { status: 'removed' }, 8);
    // Cancelled by a teardown: a rollback report whose failure chain starts with the cancellation.
    await addDeployment(
      api.db,
      'dep-f',
      { status: 'removed', failure: [CANCELLED_ON_REQUEST], compensation: { failed: [] } },
      20,
    );
    const text = await scrape(api);
    const running = (le: string) =>
      sample(text, 'graphium_deployment_duration_seconds_bucket', `outcome="running",le="${le}"`);

    // running: 8 s, 40 s and 70 s.
    expect(running('5')).toBe(0);
    expect(running('10')).toBe(1);
    expect(running('30')).toBe(1);
    expect(running('60')).toBe(2);
    expect(running('120')).toBe(3);
    expect(running('+Inf')).toBe(3);
    expect(sample(text, 'graphium_deployment_duration_seconds_sum', 'outcome="running"')).toBe(118);
    expect(sample(text, 'graphium_deployment_duration_seconds_count', 'outcome="running"')).toBe(3);
    expect(sample(text, 'graphium_deployment_duration_seconds_count', 'outcome="rolled_back"')).toBe(1);
    expect(sample(text, 'graphium_deployment_duration_seconds_sum', 'outcome="rolled_back"')).toBe(100);
    expect(sample(text, 'graphium_deployment_duration_seconds_count', 'outcome="cancelled"')).toBe(1);
    expect(sample(text, 'graphium_deployment_duration_seconds_count', 'outcome="failed"')).toBe(0);
  });

  it('counts rollbacks and those that left something', async () => {
    const api = await resetApi(handle.db, { apiTokens: TOKENS });
    const cleanReport = { removed: [], failed: [], removedResources: [], failedResources: [] };
    const leftContainer = {
      ...cleanReport,
      failed: [{ service: 'db', host: 'host2', error: 'host host2 did not answer' }],
    };
    await addDeployment(api.db, 'dep-a', { status: 'rolled_back', compensation: cleanReport }, 10);
    await addDeployment(
      api.db,
      'dep-b',
      {
        status: 'rolled_back',
        compensation: {
          ...leftContainer,
          reconciliation: { status: 'pending', workflowId: 'w', hosts: ['host2'] },
        },
      },
      10,
    );
    await addDeployment(
      api.db,
      'dep-c',
      {
        status: 'cancelled',
        failure: [CANCELLED_ON_REQUEST],
        compensation: {
          ...leftContainer,
          reconciliation: { status: 'done', workflowId: 'w', hosts: ['host2'] },
        },
      },
      10,
    );
    await addDeployment(
      api.db,
      'dep-d',
      {
        status: 'rolled_back',
        compensation: {
          ...cleanReport,
          failedResources: [{ kind: 'volume', host: 'host3', name: 'data', error: 'in use' }],
        },
      },
      10,
    );
    await addDeployment(api.db, 'dep-e', { status: 'running' }, 10);
    const text = await scrape(api);
    expect(sample(text, 'graphium_rollbacks', 'outcome="rolled_back"')).toBe(3);
    expect(sample(text, 'graphium_rollbacks', 'outcome="cancelled"')).toBe(1);
    expect(sample(text, 'graphium_rollbacks_incomplete', 'reconciliation="pending"')).toBe(1);
    expect(sample(text, 'graphium_rollbacks_incomplete', 'reconciliation="done"')).toBe(1);
    expect(sample(text, 'graphium_rollbacks_incomplete', 'reconciliation="none"')).toBe(1);
    expect(sample(text, 'graphium_rollbacks_incomplete', 'reconciliation="incomplete"')).toBe(0);
  });

  it('counts deployments that name each host in an error', async () => {
    const api = await resetApi(handle.db, { apiTokens: TOKENS });
    for (const name of ['host1', 'host2', 'host3', 'host30']) await addHost(api.db, name);
    await addDeployment(
      api.db,
      'dep-a',
      {
        status: 'rolled_back',
        failure: ['host host3 failed while starting service api: connect ECONNREFUSED'],
        compensation: { removed: [{ service: 'web', host: 'host1', container: 'c1' }], failed: [] },
      },
      10,
    );
    await addDeployment(
      api.db,
      'dep-b',
      {
        status: 'rolled_back',
        failure: ['service db on host host3 did not turn healthy before its deadline'],
        compensation: { failed: [{ service: 'db', host: 'host2', error: 'timed out' }] },
      },
      10,
    );
    await addDeployment(
      api.db,
      'dep-c',
      {
        status: 'rolled_back',
        failure: ['image x is not on host host1, and the host does not pull images'],
        compensation: {
          failed: [],
          reconciliation: { status: 'pending', workflowId: 'w', hosts: ['host2'] },
        },
      },
      10,
    );
    const text = await scrape(api);
    // host1: dep-c by its failure chain; dep-a only lists host1 among the removals, which is no error.
    expect(sample(text, 'graphium_host_deployment_errors', 'host="host1"')).toBe(1);
    // host2: dep-b by a failed removal and dep-c by its reconciliation.
    expect(sample(text, 'graphium_host_deployment_errors', 'host="host2"')).toBe(2);
    expect(sample(text, 'graphium_host_deployment_errors', 'host="host3"')).toBe(2);
    // "host host3" does not name host30.
    expect(sample(text, 'graphium_host_deployment_errors', 'host="host30"')).toBe(0);
  });

  it('reports whether each daemon responded', async () => {
    const api = await resetApi(handle.db, {
      apiTokens: TOKENS,
      gatherFacts: async (hosts) =>
        Object.fromEntries(
          hosts.map((host) => [
            host.name,
            host.name === 'host2'
              ? { ...hostFacts(host.name), reachable: false, error: 'connect ECONNREFUSED' }
              : hostFacts(host.name),
          ]),
        ),
    });
    await addHost(api.db, 'host1');
    await addHost(api.db, 'host2');
    const text = await scrape(api);
    expect(sample(text, 'graphium_host_daemon_up', 'host="host1"')).toBe(1);
    expect(sample(text, 'graphium_host_daemon_up', 'host="host2"')).toBe(0);
  });

  it('answers without waiting for a slow daemon read', async () => {
    let reads = 0;
    const api = await resetApi(handle.db, {
      apiTokens: TOKENS,
      gatherFacts: () => {
        reads += 1;
        return new Promise(() => {});
      },
    });
    await addHost(api.db, 'host1');
    const started = performance.now();
    const first = await scrape(api);
    const second = await scrape(api);
    expect(performance.now() - started).toBeLessThan(4 * DAEMON_CHECK_WAIT_MS + 2000);
    expect(sample(first, 'graphium_host_daemon_up', 'host="host1"')).toBeUndefined();
    expect(sample(second, 'graphium_host_daemon_up', 'host="host1"')).toBeUndefined();
    // The second scrape waits for the read the first one started instead of starting another.
    expect(reads).toBe(1);
  });

  it('counts requests by route pattern and status', async () => {
    const api = await resetApi(handle.db, { apiTokens: TOKENS });
    await addDeployment(api.db, 'dep-a', { status: 'running' }, 10);
    await api.app.request('/deployments', { headers: AUTH });
    await api.app.request('/deployments', { headers: AUTH });
    await api.app.request('/deployments/dep-a', { headers: AUTH });
    await api.app.request('/deployments/dep-a');
    await api.app.request('/no/such/path', { headers: AUTH });
    const text = await scrape(api);
    const requests = (labels: string) => sample(text, 'graphium_http_requests_total', labels);
    expect(requests('method="GET",route="/deployments",status="200"')).toBe(2);
    expect(requests('method="GET",route="/deployments/:id",status="200"')).toBe(1);
    expect(requests('method="GET",route="/deployments/:id",status="401"')).toBe(1);
    expect(requests('method="GET",route="unmatched",status="404"')).toBe(1);
    expect(text).not.toContain('/no/such/path');
    expect(
      sample(
        text,
        'graphium_http_request_duration_seconds_count',
        'method="GET",route="/deployments",status="200"',
      ),
    ).toBe(2);
    expect(
      sample(
        text,
        'graphium_http_request_duration_seconds_bucket',
        'le="+Inf",method="GET",route="/deployments",status="200"',
      ),
    ).toBe(2);
  });
});
