import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { StackBusyError } from '../../api/errors';
import type { DatabaseHandle } from '../../db/client';
import {
  getDeployment,
  insertDeployment,
  listDeployments,
  replaceDeploymentContainers,
  type NewDeployment,
} from '../../db/repository';
import type { DeploymentStatus } from '../../db/schema';
import {
  PGLITE_START_TIMEOUT_MS,
  hostBody,
  openTestDatabase,
  resetApi,
  stackDocument,
  type TestApi,
} from './api-helpers';

let handle: DatabaseHandle;
let api: TestApi;

beforeAll(async () => {
  handle = await openTestDatabase();
}, PGLITE_START_TIMEOUT_MS);

afterAll(async () => {
  await handle.close();
});

beforeEach(async () => {
  api = await resetApi(handle.db);
});

/** Posts the two-service "Web App" stack pinned to host1 and host2. */
function postWebApp() {
  return api.send('POST', '/deployments', stackDocument('Web App', ['host1', 'host2']));
}

/** Returns the deployment ids of a list response, in order. */
function deploymentIds(body: { items: { deploymentId: string }[] }): string[] {
  return body.items.map((item) => item.deploymentId);
}

async function registerHosts(...names: string[]): Promise<void> {
  for (const name of names) {
    const response = await api.send('POST', '/hosts', hostBody(name));
    expect(response.status).toBe(201);
  }
}

/** Inserts a deployment row directly, as the workflow side would leave it. */
async function seedDeployment(id: string, status: DeploymentStatus, stackName = 'Web App'): Promise<void> {
  const slug = stackName.toLowerCase().replace(/ /g, '-');
  const deployment: NewDeployment = {
    id,
    stackName,
    stackSlug: slug,
    workflowId: `graphium-deploy-${slug}`,
    strategy: 'manual',
    spec: { name: stackName, placement: 'manual', volumes: [], services: [] },
    status,
    runId: `run-${id}`,
  };
  await insertDeployment(api.db, deployment);
}

describe('POST /deployments validation', () => {
  it('reports every parse error by path and starts nothing', async () => {
    const document = stackDocument('Web App', ['host1', 'host2']);
    const items = document.itemListElement as Record<string, unknown>[];
    delete items[0].image;
    items[1].ports = [{ containerPort: 'x' }];
    const response = await api.send('POST', '/deployments', document);

    expect(response.status).toBe(400);
    const body = await response.json();
    expect(body.error.code).toBe('validation_failed');
    const paths = body.error.details.map((detail: { path: string }) => detail.path);
    expect(paths).toContain('$.itemListElement[0].image');
    expect(paths).toContain('$.itemListElement[1].ports[0].containerPort');
    expect(api.deployer.calls).toEqual([]);
    expect((await listDeployments(api.db)).items).toEqual([]);
  });

  it('rejects a document of no known dialect', async () => {
    const response = await api.send('POST', '/deployments', { services: {} });

    expect(response.status).toBe(400);
    const body = await response.json();
    expect(body.error.details[0].path).toBe('$');
  });

  it('turns unknown keys into errors in strict mode', async () => {
    await registerHosts('host1', 'host2');
    const document = stackDocument('Web App', ['host1', 'host2']);
    (document.itemListElement as Record<string, unknown>[])[0].bogus = 1;
    const response = await api.send('POST', '/deployments', { stack: document, strict: true });

    expect(response.status).toBe(400);
    const body = await response.json();
    expect(body.error.details.map((detail: { path: string }) => detail.path)).toEqual([
      '$.itemListElement[0].bogus',
    ]);
    expect(api.deployer.calls).toEqual([]);
  });

  it('names unknown keys of the request wrapper', async () => {
    const document = stackDocument('Web App', ['host1', 'host2']);
    const response = await api.send('POST', '/deployments', { stack: document, dryRun: true });

    expect(response.status).toBe(400);
    const body = await response.json();
    expect(body.error.details).toEqual([
      {
        path: '$.dryRun',
        message:
          'unknown key "dryRun"; a deployment request has only "stack", "strict", "variables", ' +
          '"secretVariables", "strategy", "datacenter", "targetHosts", "hostConstraints"',
      },
    ]);
    expect(api.deployer.calls).toEqual([]);
  });

  it('rejects a non-boolean strict flag', async () => {
    const document = stackDocument('Web App', ['host1', 'host2']);
    const response = await api.send('POST', '/deployments', { stack: document, strict: 'yes' });

    expect(response.status).toBe(400);
    const body = await response.json();
    expect(body.error.details).toEqual([{ path: '$.strict', message: 'must be true or false' }]);
  });

  it('rejects an unknown targetHost with its path and the known hosts', async () => {
    await registerHosts('host1', 'host3');
    const response = await postWebApp();

    expect(response.status).toBe(400);
    const body = await response.json();
    expect(body.error.details).toHaveLength(1);
    expect(body.error.details[0].path).toBe('$.itemListElement[1].targetHost');
    expect(body.error.details[0].message).toBe(
      'host "host2" is not registered. Registered hosts: host1, host3.',
    );
    expect(api.deployer.calls).toEqual([]);
    expect((await listDeployments(api.db)).items).toEqual([]);
  });

  it('rejects a redeploy of a running stack', async () => {
    await registerHosts('host1', 'host2');
    await seedDeployment('dep_running', 'running');
    const response = await postWebApp();

    expect(response.status).toBe(409);
    const body = await response.json();
    expect(body.error.code).toBe('stack_running');
    expect(body.error.message).toContain('deployment dep_running');
    expect(body.error.message).toContain('DELETE /stacks/web-app');
    expect(api.deployer.calls).toEqual([]);
  });

  it('lets a rolled-back stack deploy again', async () => {
    await registerHosts('host1', 'host2');
    await seedDeployment('dep_failed', 'rolled_back');
    // The double cannot start a workflow; reaching it shows the running check passed.
    api.deployer.startError = new StackBusyError({
      stackName: 'Web App',
      workflowId: 'w',
      operation: 'deploy',
    });
    const response = await postWebApp();

    expect(api.deployer.calls.map((call) => call.method)).toEqual(['start']);
    expect((await response.json()).error.code).toBe('stack_busy');
  });

  it('says how to register a host when none is registered', async () => {
    const response = await postWebApp();

    const body = await response.json();
    expect(body.error.details).toHaveLength(2);
    expect(body.error.details[0].message).toMatch(/Registered hosts: none; register one with POST \/hosts/);
  });

  it('rejects invalid JSON', async () => {
    const response = await api.send('POST', '/deployments', '{"@type": "ItemList"');

    expect(response.status).toBe(400);
    expect((await response.json()).error.code).toBe('invalid_json');
  });
});

describe('POST /deployments when the stack is busy', () => {
  it('returns 409 naming the running deployment and drops the new row', async () => {
    await registerHosts('host1', 'host2');
    await seedDeployment('dep_000000001running', 'deploying');
    api.deployer.startError = new StackBusyError({
      stackName: 'Web App',
      workflowId: 'graphium-deploy-web-app',
      operation: 'deploy',
    });
    const response = await postWebApp();

    expect(response.status).toBe(409);
    const body = await response.json();
    expect(body.error).toEqual({
      code: 'stack_busy',
      message:
        'stack "Web App" is already deploying as workflow graphium-deploy-web-app; wait for it ' +
        'or cancel it with POST /deployments/dep_000000001running/cancel',
      requestId: expect.any(String),
    });
    const started = api.deployer.callsOf('start');
    expect(started).toHaveLength(1);
    const rows = (await listDeployments(api.db)).items.map((row) => row.id);
    expect(rows).toEqual(['dep_000000001running']);
  });

  it('names the workflow when no running deployment is recorded', async () => {
    await registerHosts('host1', 'host2');
    api.deployer.startError = new StackBusyError({
      stackName: 'Web App',
      workflowId: 'graphium-deploy-web-app',
      operation: 'deploy',
    });
    const response = await postWebApp();

    expect(response.status).toBe(409);
    const body = await response.json();
    expect(body.error.message).toMatch(/cancel workflow graphium-deploy-web-app in Temporal$/);
    expect((await listDeployments(api.db)).items).toEqual([]);
  });

  it('passes the new deployment id and parsed stack to the deployer', async () => {
    await registerHosts('host1', 'host2');
    api.deployer.startError = new StackBusyError({
      stackName: 'Web App',
      workflowId: 'graphium-deploy-web-app',
      operation: 'deploy',
    });
    await postWebApp();

    type StartInput = { deploymentId: string; stack: { name: string } };
    const [[input]] = api.deployer.callsOf('start') as [[StartInput]];
    expect(input.deploymentId).toMatch(/^dep_[0-9a-z]{9}[0-9a-f]{10}$/);
    expect(input.stack.name).toBe('Web App');
  });
});

describe('POST /deployments when the deployer fails', () => {
  it('answers a generic 500, logs the cause and drops the row', async () => {
    await registerHosts('host1', 'host2');
    api.deployer.startError = new Error('connection refused by 127.0.0.1:7233');
    const response = await postWebApp();

    expect(response.status).toBe(500);
    const body = await response.json();
    expect(body.error.code).toBe('internal_error');
    expect(body.error.message).not.toContain('connection refused');
    expect(body.error.message).toContain(response.headers.get('X-Request-Id'));
    const logged = api.logLines().find((line) => line.msg === 'request failed with an unexpected error');
    const cause = logged?.err as { message: string } | undefined;
    expect(cause?.message).toBe('connection refused by 127.0.0.1:7233');
    expect((await listDeployments(api.db)).items).toEqual([]);
  });
});

describe('POST /deployments when Temporal is down', () => {
  it('responds 503 and keeps no row', async () => {
    await registerHosts('host1', 'host2');
    const unavailable = Object.assign(new Error('14 UNAVAILABLE: No connection established'), {
      code: 14,
      metadata: {},
    });
    api.deployer.startError = new Error('Failed to start workflow', { cause: unavailable });

    const response = await postWebApp();
    const body = await response.json();

    expect(response.status).toBe(503);
    expect(body.error.code).toBe('temporal_unavailable');
    expect(body.error.message).toContain('nothing was started');
    expect((await listDeployments(api.db)).items).toEqual([]);
  });
});

describe('GET /deployments', () => {
  it('pages newest first with a cursor', async () => {
    for (const id of ['dep_a', 'dep_b', 'dep_c']) await seedDeployment(id, 'running');
    const first = await (await api.send('GET', '/deployments?limit=2')).json();
    const next = `/deployments?limit=2&cursor=${first.nextCursor}`;
    const second = await (await api.send('GET', next)).json();

    expect(deploymentIds(first)).toEqual(['dep_c', 'dep_b']);
    expect(first.nextCursor).toBe('dep_b');
    expect(first.links.next).toBe('/deployments?limit=2&cursor=dep_b');
    expect(deploymentIds(second)).toEqual(['dep_a']);
    expect(second.nextCursor).toBeUndefined();
  });

  it('filters by stack name', async () => {
    await seedDeployment('dep_a', 'running', 'Web App');
    await seedDeployment('dep_b', 'running', 'Other');
    const body = await (await api.send('GET', '/deployments?stack=Web%20App')).json();

    expect(deploymentIds(body)).toEqual(['dep_a']);
  });

  it('rejects an invalid limit', async () => {
    const response = await api.send('GET', '/deployments?limit=0');

    expect(response.status).toBe(400);
    const body = await response.json();
    expect(body.error.details).toEqual([{ path: 'query.limit', message: 'must be from 1 to 200' }]);
  });
});

describe('GET /deployments/:id', () => {
  it('answers 304 to a poll whose ETag still matches', async () => {
    await seedDeployment('dep_a', 'running');
    const first = await api.send('GET', '/deployments/dep_a');
    const tag = first.headers.get('etag');
    expect(tag).toMatch(/^W\/"[0-9a-f]+"$/);

    const unchanged = await api.app.request('/deployments/dep_a', { headers: { 'if-none-match': tag! } });
    expect(unchanged.status).toBe(304);
    expect(await unchanged.text()).toBe('');
    expect(unchanged.headers.get('x-request-id')).toBeTruthy();

    await seedDeployment('dep_b', 'running');
    const other = await api.app.request('/deployments/dep_b', { headers: { 'if-none-match': tag! } });
    expect(other.status).toBe(200);
  });

  it('returns a finished deployment with its containers and no progress query', async () => {
    await seedDeployment('dep_done', 'running');
    await replaceDeploymentContainers(api.db, 'dep_done', [
      {
        service: 'web',
        hostName: 'host1',
        hostAddress: '10.0.0.1',
        containerId: 'c1',
        containerName: 'web-app-web',
        image: 'nginx:1.27',
        ports: [{ containerPort: 80, hostPort: 8080, protocol: 'tcp' }],
        connections: [],
        health: 'healthy',
        position: 1,
      },
    ]);
    const response = await api.send('GET', '/deployments/dep_done');

    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body.deploymentId).toBe('dep_done');
    expect(body.status).toBe('running');
    expect(body.strategy).toBe('manual');
    expect(body.progress).toBeUndefined();
    expect(body.containers).toHaveLength(1);
    expect(body.containers[0].containerName).toBe('web-app-web');
    expect(body.containers[0].deploymentId).toBeUndefined();
    expect(body.links.self).toBe('/deployments/dep_done');
    expect(body.links.temporalUi).toBe(
      'http://127.0.0.1:8233/namespaces/default/workflows/graphium-deploy-web-app' + '/run-dep_done/history',
    );
    expect(api.deployer.callsOf('progress')).toEqual([]);
  });

  it('omits progress when the query yields nothing', async () => {
    await seedDeployment('dep_live', 'deploying');
    const body = await (await api.send('GET', '/deployments/dep_live')).json();

    expect(body.status).toBe('deploying');
    expect('progress' in body).toBe(false);
    expect(api.deployer.callsOf('progress')).toEqual([['graphium-deploy-web-app', 'run-dep_live']]);
  });

  it('marks a deployment whose workflow was terminated as failed', async () => {
    await seedDeployment('dep_gone', 'deploying');
    api.deployer.workflowStatus = 'TERMINATED';
    const body = await (await api.send('GET', '/deployments/dep_gone')).json();

    expect(body.status).toBe('failed');
    expect(body.failure[0]).toContain('ended as TERMINATED in Temporal');
    expect(body.failure[0]).toContain('DELETE /stacks/web-app');
    expect((await getDeployment(api.db, 'dep_gone'))!.status).toBe('failed');
  });

  it('leaves a deployment whose workflow still runs', async () => {
    await seedDeployment('dep_busy', 'deploying');
    api.deployer.workflowStatus = 'RUNNING';
    const body = await (await api.send('GET', '/deployments/dep_busy')).json();

    expect(body.status).toBe('deploying');
    expect(body.failure).toBeNull();
  });

  it('returns 404 for an unknown id', async () => {
    const response = await api.send('GET', '/deployments/dep_missing');

    expect(response.status).toBe(404);
    expect((await response.json()).error.message).toContain('"dep_missing"');
  });
});

describe('POST /deployments/:id/cancel', () => {
  it('returns 404 for an unknown id', async () => {
    const response = await api.send('POST', '/deployments/dep_missing/cancel');

    expect(response.status).toBe(404);
  });

  it('returns 409 when the deployment has finished', async () => {
    await seedDeployment('dep_done', 'rolled_back');
    const response = await api.send('POST', '/deployments/dep_done/cancel');

    expect(response.status).toBe(409);
    const body = await response.json();
    expect(body.error.code).toBe('deployment_finished');
    expect(body.error.message).toBe(
      'deployment "dep_done" has already finished with status rolled_back, ' +
        'so there is nothing to cancel',
    );
    expect(api.deployer.callsOf('cancel')).toEqual([]);
    expect((await getDeployment(api.db, 'dep_done'))?.status).toBe('rolled_back');
  });
});
