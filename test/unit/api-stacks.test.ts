import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { WorkflowRef } from '../../api/deployer';
import { StackBusyError } from '../../api/errors';
import type { StackSpec } from '../../core/model';
import { parseStack } from '../../core/parse';
import type { DatabaseHandle } from '../../db/client';
import {
  getDeployment,
  insertDeployment,
  listDeployments,
  replaceDeploymentContainers,
  type NewDeploymentContainer,
} from '../../db/repository';
import { deployments, type DeploymentStatus } from '../../db/schema';
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

async function seedDeployment(id: string, stackName: string, status: DeploymentStatus): Promise<void> {
  const slug = stackName.toLowerCase().replace(/ /g, '-');
  await insertDeployment(api.db, {
    id,
    stackName,
    stackSlug: slug,
    workflowId: `graphium-deploy-${slug}`,
    strategy: 'spread',
    spec: { name: stackName, placement: 'spread', volumes: [], services: [] },
    status,
  });
}

function container(service: string, hostName: string, position: number): NewDeploymentContainer {
  return {
    service,
    hostName,
    hostAddress: '10.0.0.1',
    containerId: `id-${service}`,
    containerName: `stack-${service}`,
    image: 'nginx:1.27',
    ports: [],
    connections: [],
    health: 'healthy',
    position,
  };
}

describe('GET /stacks', () => {
  it('lists each stack with its newest deployment and host count', async () => {
    await seedDeployment('dep_1', 'Web App', 'rolled_back');
    await seedDeployment('dep_2', 'Web App', 'running');
    await seedDeployment('dep_3', 'Batch', 'deploying');
    await replaceDeploymentContainers(api.db, 'dep_2', [
      container('web', 'host1', 1),
      container('api', 'host1', 2),
      container('db', 'host2', 3),
    ]);
    const response = await api.send('GET', '/stacks');

    expect(response.status).toBe(200);
    const { items } = await response.json();
    expect(items).toHaveLength(2);
    expect(items[0]).toMatchObject({
      stackSlug: 'batch',
      deploymentId: 'dep_3',
      status: 'deploying',
      hostCount: 0,
    });
    expect(items[1]).toMatchObject({
      stackSlug: 'web-app',
      stackName: 'Web App',
      deploymentId: 'dep_2',
      status: 'running',
      strategy: 'spread',
      hostCount: 2,
    });
    expect(typeof items[1].updatedAt).toBe('string');
    expect(items[1].links).toEqual({ self: '/stacks/web-app', deployment: '/deployments/dep_2' });
  });

  it('pages stacks by slug, each once however many deployments it has', async () => {
    await seedDeployment('dep_1', 'Web App', 'rolled_back');
    await seedDeployment('dep_2', 'Web App', 'running');
    await seedDeployment('dep_3', 'Batch', 'running');
    await seedDeployment('dep_4', 'Cache', 'running');
    const slugs = (body: { items: { stackSlug: string }[] }) => body.items.map((item) => item.stackSlug);

    const first = await (await api.send('GET', '/stacks?limit=2')).json();
    const second = await (await api.send('GET', first.links.next)).json();

    expect(slugs(first)).toEqual(['batch', 'cache']);
    expect(first.links.next).toBe('/stacks?limit=2&cursor=cache');
    expect(slugs(second)).toEqual(['web-app']);
    expect(second.items[0].deploymentId).toBe('dep_2');
    expect(second.nextCursor).toBeUndefined();
  });

  it('returns an empty list when nothing was deployed', async () => {
    const body = await (await api.send('GET', '/stacks')).json();

    expect(body).toEqual({ items: [], links: {} });
  });
});

describe('GET /stacks/:name', () => {
  it('returns the newest deployment by slug or by name', async () => {
    await seedDeployment('dep_1', 'Web App', 'rolled_back');
    await seedDeployment('dep_2', 'Web App', 'running');
    const bySlug = await (await api.send('GET', '/stacks/web-app')).json();
    const byName = await (await api.send('GET', '/stacks/Web%20App')).json();

    expect(bySlug.deploymentId).toBe('dep_2');
    expect(bySlug.status).toBe('running');
    expect(bySlug.containers).toEqual([]);
    expect(byName.deploymentId).toBe('dep_2');
  });

  it('returns 404 for a stack without deployments', async () => {
    const response = await api.send('GET', '/stacks/nothing');

    expect(response.status).toBe(404);
    expect((await response.json()).error.message).toContain('"nothing"');
  });
});

describe('DELETE /stacks/:name', () => {
  it('returns 404 for a stack without deployments', async () => {
    const response = await api.send('DELETE', '/stacks/nothing');

    expect(response.status).toBe(404);
    expect(api.deployer.calls).toEqual([]);
  });

  it('returns 409 while a teardown of the stack runs', async () => {
    await seedDeployment('dep_1', 'Web App', 'running');
    api.deployer.teardownError = new StackBusyError({
      stackName: 'Web App',
      workflowId: 'graphium-teardown-web-app',
      operation: 'teardown',
    });
    const response = await api.send('DELETE', '/stacks/web-app');

    expect(response.status).toBe(409);
    const body = await response.json();
    expect(body.error).toEqual({
      code: 'stack_busy',
      message:
        'stack "Web App" is already being torn down as workflow graphium-teardown-web-app; ' +
        'wait for it to finish',
      requestId: expect.any(String),
    });
    const [[stackName, teardownId]] = api.deployer.callsOf('teardown') as [[string, string]];
    expect(stackName).toBe('Web App');
    expect(teardownId).toMatch(/^td_/);
    expect(api.deployer.callsOf('cancel')).toEqual([]);
  });

  it('passes keepVolumes to the teardown', async () => {
    await seedDeployment('dep_1', 'Web App', 'running');
    api.deployer.teardownError = new Error('stop after recording the teardown');
    await api.send('DELETE', '/stacks/web-app?keepVolumes=true');
    await api.send('DELETE', '/stacks/web-app');
    const options = api.deployer.callsOf('teardown').map((call) => call[2]);
    expect(options).toEqual([{ keepVolumes: true }, { keepVolumes: false }]);
  });

  it('rejects a keepVolumes that is not a boolean', async () => {
    await seedDeployment('dep_1', 'Web App', 'running');
    const response = await api.send('DELETE', '/stacks/web-app?keepVolumes=yes');
    expect(response.status).toBe(400);
    const body = await response.json();
    expect(body.error.details).toEqual([{ path: 'query.keepVolumes', message: 'must be true or false' }]);
  });
});

describe('POST /stacks/:name/redeploy', () => {
  /** Seeds a finished deployment of the pinned "Web App" stack as a deploy would have stored it. */
  async function seedParsedStack(status: DeploymentStatus): Promise<StackSpec> {
    for (const name of ['host1', 'host2']) {
      expect((await api.send('POST', '/hosts', hostBody(name))).status).toBe(201);
    }
    const { stack } = parseStack(stackDocument('Web App', ['host1', 'host2']), {
      knownHosts: ['host1', 'host2'],
    });
    await insertDeployment(api.db, {
      id: 'dep_1',
      stackName: 'Web App',
      stackSlug: 'web-app',
      workflowId: 'graphium-deploy-web-app',
      strategy: 'manual',
      spec: stack!,
      status,
    });
    return stack!;
  }

  it('starts a new deployment from the stored spec', async () => {
    const spec = await seedParsedStack('removed');
    const started: StackSpec[] = [];
    api.deployer.start = async (input): Promise<WorkflowRef> => {
      started.push(input.stack);
      return { workflowId: 'graphium-deploy-web-app', runId: 'run-2' };
    };

    const response = await api.send('POST', '/stacks/web-app/redeploy');

    expect(response.status).toBe(202);
    const body = await response.json();
    expect(body.deploymentId).not.toBe('dep_1');
    expect(response.headers.get('location')).toBe(`/deployments/${body.deploymentId}`);
    expect(started).toEqual([spec]);
    const stored = await getDeployment(api.db, body.deploymentId);
    expect(stored?.spec).toEqual(spec);
    expect(stored?.runId).toBe('run-2');
  });

  it('returns 409 while the stack runs', async () => {
    await seedParsedStack('running');

    const response = await api.send('POST', '/stacks/web-app/redeploy');

    expect(response.status).toBe(409);
    expect((await response.json()).error.code).toBe('stack_running');
    expect(api.deployer.callsOf('start')).toEqual([]);
  });

  it('returns 409 for a stack with secret values', async () => {
    await seedDeployment('dep_1', 'Vault', 'removed');
    const row = await getDeployment(api.db, 'dep_1');
    const service = { name: 'db', secretEnvironment: ['PASSWORD'] };
    await handle.db
      .update(deployments)
      .set({ spec: { ...row!.spec, services: [service as StackSpec['services'][number]] } })
      .where(eq(deployments.id, 'dep_1'));

    const response = await api.send('POST', '/stacks/vault/redeploy');

    expect(response.status).toBe(409);
    const body = await response.json();
    expect(body.error.code).toBe('secrets_not_stored');
    expect(body.error.message).toContain('secret values in db');
    expect(api.deployer.callsOf('start')).toEqual([]);
  });

  it('returns 503 while Temporal is down', async () => {
    await seedParsedStack('removed');
    const unavailable = Object.assign(new Error('14 UNAVAILABLE: No connection established'), {
      code: 14,
      metadata: {},
    });
    api.deployer.startError = new Error('Failed to start workflow', { cause: unavailable });

    const response = await api.send('POST', '/stacks/web-app/redeploy');
    const body = await response.json();
    const stored = await listDeployments(api.db);

    expect(response.status).toBe(503);
    expect(body.error.code).toBe('temporal_unavailable');
    expect(stored.items.map((item) => item.id)).toEqual(['dep_1']);
  });

  it('returns 404 for a stack without deployments', async () => {
    const response = await api.send('POST', '/stacks/nothing/redeploy');

    expect(response.status).toBe(404);
  });
});
