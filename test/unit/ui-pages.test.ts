/**
 * The dashboard pages rendered by the app on PGlite: each page shows the data it is for, escapes
 * what users typed, gives every form control a label, and sends a browser without credentials
 * to the login page.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { HostFacts } from '../../core/model';
import { stackSlug } from '../../core/names';
import type { PlacementPlan } from '../../core/placement';
import type { DatabaseHandle } from '../../db/client';
import {
  insertDeployment,
  replaceDeploymentContainers,
  updateDeployment,
  type NewDeploymentContainer,
} from '../../db/repository';
import type { DeploymentStatus } from '../../db/schema';
import type { DeploymentProgress } from '../../workflows/contract';
import {
  PGLITE_START_TIMEOUT_MS,
  hostBody,
  hostFacts,
  openTestDatabase,
  resetApi,
  type TestApi,
} from './api-helpers';
import {
  attribute,
  byId,
  byTag,
  documentMode,
  findAll,
  parsePage,
  textOf,
  unlabelledControls,
  type Element,
} from './html';

const GIB = 1024 ** 3;
const HOSTILE = '<script>alert("x")</script> & <img src=x onerror=alert(1)>';

let handle: DatabaseHandle;
let api: TestApi;

/** TLS error that the API reports for host4, as checkDaemon words it. */
const TLS_ERROR =
  'TLS handshake with host4 at tcp://10.0.0.4:2376 failed: the daemon rejected the client certificate';

/**
 * host1 has 1.5 of its 4 CPUs and 2 of its 8 GiB reserved; host3's daemon does not respond, and
 * host4's rejects the TLS handshake.
 */
function labFacts(name: string): HostFacts {
  if (name === 'host1') return { ...hostFacts(name), cpusReserved: 1.5, memoryReservedBytes: 2 * GIB };
  if (name === 'host3') {
    return { ...hostFacts(name), reachable: false, error: 'connect ECONNREFUSED', errorKind: 'unreachable' };
  }
  if (name === 'host4') return { ...hostFacts(name), reachable: false, error: TLS_ERROR, errorKind: 'tls' };
  return { ...hostFacts(name), runningContainers: 3 };
}

beforeAll(async () => {
  handle = await openTestDatabase();
}, PGLITE_START_TIMEOUT_MS);

afterAll(async () => {
  await handle?.close();
});

beforeEach(async () => {
  api = await resetApi(handle.db, {
    gatherFacts: async (hosts) => Object.fromEntries(hosts.map((host) => [host.name, labFacts(host.name)])),
  });
});

/** Read token and session key of the apps that serve the login page. */
const TOKEN = { name: 'ui', role: 'read' as const, secret: 'a-secret-of-sixteen-or-more' };
const SESSIONS = { key: Buffer.alloc(32, 7) };

async function page(path: string, status = 200, from: TestApi = api): Promise<Element> {
  const response = await from.send('GET', path);
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toContain('text/html');
  return parsePage(await response.text());
}

async function registerHost(name: string, fields: Record<string, unknown> = {}): Promise<void> {
  const response = await api.send('POST', '/hosts', hostBody(name, fields));
  expect(response.status).toBe(201);
}

async function seedDeployment(
  id: string,
  stackName: string,
  status: DeploymentStatus,
  services: { name: string; secretEnvironment?: string[] }[] = [],
): Promise<void> {
  const slug = stackSlug(stackName);
  await insertDeployment(api.db, {
    id,
    stackName,
    stackSlug: slug,
    workflowId: `graphium-deploy-${slug}`,
    strategy: 'manual',
    spec: {
      name: stackName,
      placement: 'manual',
      volumes: [],
      services: services.map((service, index) => ({
        name: service.name,
        position: index + 1,
        image: 'graphium/services:lab',
        environment: {},
        secretEnvironment: service.secretEnvironment,
        ports: [],
        dependencies: [],
        labels: {},
        resources: {},
        mounts: [],
        actions: [],
        sourcePath: `$.itemListElement[${index}]`,
      })),
    },
    status,
    runId: `run-${id}`,
  });
}

function mapContainer(
  service: string,
  host: { name: string; address: string },
  fields: Partial<NewDeploymentContainer> = {},
): NewDeploymentContainer {
  return {
    service,
    hostName: host.name,
    hostAddress: host.address,
    containerId: `id-${service}`,
    containerName: `distributed-app-${service}`,
    image: 'graphium/services:lab',
    ports: [],
    connections: [],
    health: 'healthy',
    position: 1,
    ...fields,
  };
}

const HOST1 = { name: 'host1', address: '10.213.0.11' };
const HOST2 = { name: 'host2', address: '10.213.0.12' };
const HOST3 = { name: 'host3', address: '10.213.0.13' };

/** Seeds the example stack as the workflow records it: one service per host, the app wired to both. */
async function seedRunningExample(): Promise<void> {
  await seedDeployment('dep_1', 'Distributed App', 'running', [
    { name: 'postgres' },
    { name: 'cache' },
    { name: 'app' },
  ]);
  await replaceDeploymentContainers(api.db, 'dep_1', [
    mapContainer('postgres', HOST1, { ports: [{ containerPort: 5432, hostPort: 5432, protocol: 'tcp' }] }),
    mapContainer('cache', HOST2, {
      position: 2,
      ports: [{ containerPort: 6379, hostPort: 6379, protocol: 'tcp' }],
    }),
    mapContainer('app', HOST3, {
      position: 3,
      connections: [
        { name: 'postgres', address: '10.213.0.11', port: 5432 },
        { name: 'cache', address: '10.213.0.12', port: 6379 },
      ],
    }),
  ]);
}

/** Returns the map card of a host on a stack page. */
function hostCard(root: Element, host: string): Element {
  const [card] = findAll(root, (element) => attribute(element, 'data-host') === host);
  if (!card) throw new Error(`the map has no card for ${host}`);
  return card;
}

describe('stacks page', () => {
  it('lists every stack with status, strategy, hosts and last change', async () => {
    await seedRunningExample();
    await seedDeployment('dep_2', 'Batch', 'rolled_back');

    for (const path of ['/ui', '/ui/stacks']) {
      const root = await page(path);
      const rows = byTag(byTag(root, 'tbody')[0]!, 'tr');

      expect(rows.map((row) => attribute(row, 'data-stack'))).toEqual(['batch', 'distributed-app']);
      expect(byTag(rows[1]!, 'td').map(textOf).slice(0, 3)).toEqual(['running', 'manual', '3']);
      expect(textOf(byTag(rows[0]!, 'td')[0]!)).toBe('rolled back');
      expect(attribute(byTag(rows[1]!, 'a')[0]!, 'href')).toBe('/ui/stacks/distributed-app');
      expect(attribute(byTag(rows[1]!, 'time')[0]!, 'datetime')).toMatch(/^\d{4}-\d\d-\d\dT/);
    }
  });

  it('links the next page when there are more stacks', async () => {
    await seedDeployment('dep_1', 'Alpha', 'running');
    await seedDeployment('dep_2', 'Beta', 'running');

    const root = await page('/ui/stacks?limit=1');
    const next = findAll(root, (element) => textOf(element) === 'Next page' && element.tagName === 'a');

    expect(next.map((link) => attribute(link, 'href'))).toEqual(['/ui/stacks?limit=1&cursor=alpha']);
  });

  it('escapes a hostile stack name', async () => {
    await seedDeployment('dep_1', HOSTILE, 'running');

    const response = await api.send('GET', '/ui/stacks');
    const html = await response.text();
    const root = parsePage(html);

    expect(html).not.toContain('<script>alert');
    expect(byTag(root, 'img')).toEqual([]);
    expect(byTag(root, 'script').every((script) => attribute(script, 'src'))).toBe(true);
    expect(textOf(byTag(byTag(root, 'tbody')[0]!, 'th')[0]!)).toBe(HOSTILE);
  });
});

describe('stack page', () => {
  it('groups the containers by host with health, ports and connections', async () => {
    await seedRunningExample();

    const root = await page('/ui/stacks/distributed-app');

    expect(textOf(byTag(hostCard(root, 'host1'), 'h3')[0]!)).toBe('host1 (10.213.0.11)');
    expect(textOf(byTag(hostCard(root, 'host2'), 'h3')[0]!)).toBe('host2 (10.213.0.12)');
    expect(textOf(byTag(hostCard(root, 'host3'), 'h3')[0]!)).toBe('host3 (10.213.0.13)');
    expect(textOf(hostCard(root, 'host1'))).toContain('postgres health: healthy');
    expect(textOf(hostCard(root, 'host1'))).toContain('5432->5432/tcp');
    expect(textOf(hostCard(root, 'host2'))).toContain('6379->6379/tcp');
    const connections = byTag(hostCard(root, 'host3'), 'ul').find(
      (list) => attribute(list, 'class') === 'connections',
    )!;
    expect(byTag(connections, 'li').map(textOf)).toEqual([
      'postgres @ 10.213.0.11:5432',
      'cache @ 10.213.0.12:6379',
    ]);
  });

  it('shows the controls of a running stack', async () => {
    await seedRunningExample();

    const root = await page('/ui/stacks/Distributed%20App');

    expect(textOf(byId(root, 'stack-status'))).toBe('running');
    expect(attribute(byId(root, 'stack-view'), 'data-status')).toBe('running');
    expect(attribute(byId(root, 'temporal-link'), 'href')).toBe(
      'http://127.0.0.1:8233/namespaces/default/workflows/graphium-deploy-distributed-app/run-dep_1/history',
    );
    expect(findAll(root, (element) => attribute(element, 'id') === 'teardown-button')).toHaveLength(1);
    expect(findAll(root, (element) => attribute(element, 'id') === 'redeploy-button')).toEqual([]);
  });

  it('explains where each container runs and why', async () => {
    await seedRunningExample();
    const plan: PlacementPlan = {
      strategy: 'manual',
      weights: { cpu: 1, memory: 1, containers: 1 },
      assignments: { postgres: 'host1' },
      services: [
        {
          service: 'postgres',
          host: 'host1',
          pinned: true,
          reason: 'pinned to host1 by the stack',
          rejected: [{ host: 'host2', reason: 'not the pinned host' }],
        },
      ],
    };
    await updateDeployment(api.db, 'dep_1', { placement: plan });

    const root = await page('/ui/stacks/distributed-app');
    const row = byTag(byId(root, 'placement'), 'tr')[1]!;

    expect(byTag(row, 'td').map(textOf)).toEqual([
      'host1',
      'pinned',
      'pinned to host1 by the stack',
      'host2: not the pinned host',
    ]);
  });

  it('shows the live progress of each service while deploying', async () => {
    await seedDeployment('dep_1', 'Distributed App', 'deploying', [{ name: 'postgres' }, { name: 'app' }]);
    const progress: DeploymentProgress = {
      deploymentId: 'dep_1',
      phase: 'deploying',
      wave: 0,
      waves: [['postgres'], ['app']],
      services: [
        {
          service: 'postgres',
          step: 'waiting for health',
          host: 'host1',
          ports: [],
          connections: [],
          detail: 'pg_isready: no response',
        },
        { service: 'app', step: 'pending', ports: [], connections: [] },
      ],
    };
    api.deployer.progress = async () => progress;

    const root = await page('/ui/stacks/distributed-app');
    const rows = byTag(byId(root, 'progress-rows'), 'tr');

    expect(attribute(byId(root, 'stack-view'), 'data-status')).toBe('deploying');
    expect(textOf(byId(root, 'progress-phase'))).toBe('Phase: deploying.');
    expect(rows.map((row) => byTag(row, 'td').map(textOf))).toEqual([
      ['host1', 'waiting for health', 'pg_isready: no response'],
      ['not placed yet', 'pending', ''],
    ]);
  });

  it('shows the failure cause and the rollback outcome', async () => {
    await seedDeployment('dep_1', 'Broken', 'rolled_back', [{ name: 'web' }]);
    await updateDeployment(api.db, 'dep_1', {
      failure: ['service web failed', 'web was not healthy within 12 s: exit status 1'],
      compensation: {
        removed: [{ service: 'web', host: 'host1', container: 'broken-web' }],
        failed: [],
        removedResources: [],
        failedResources: [],
      },
    });

    const root = await page('/ui/stacks/broken');
    const causes = byTag(byId(root, 'failure'), 'li').map(textOf);

    expect(textOf(byId(root, 'stack-status'))).toBe('rolled back');
    expect(causes).toEqual(['service web failed', 'web was not healthy within 12 s: exit status 1']);
    expect(textOf(byId(root, 'rollback'))).toContain('rollback: succeeded');
    expect(textOf(byId(root, 'rollback'))).toContain('web on host1 (broken-web)');
    expect(findAll(root, (element) => attribute(element, 'id') === 'redeploy-button')).toHaveLength(1);
  });

  it('names what the rollback could not remove', async () => {
    await seedDeployment('dep_1', 'Broken', 'rolled_back', [{ name: 'web' }]);
    await updateDeployment(api.db, 'dep_1', {
      failure: ['host host2 failed'],
      compensation: {
        removed: [],
        failed: [{ service: 'web', host: 'host2', error: 'connect ECONNREFUSED' }],
        removedResources: [],
        failedResources: [],
        reconciliation: { status: 'pending', workflowId: 'graphium-reconcile-dep_1', hosts: ['host2'] },
      },
    });

    const root = await page('/ui/stacks/broken');
    const rollback = textOf(byId(root, 'rollback'));

    expect(rollback).toContain('rollback: failed');
    expect(rollback).toContain('web on host2: connect ECONNREFUSED');
    expect(rollback).toContain('graphium-reconcile-dep_1 on host2: pending');
  });

  it('offers no redeploy for a stack with secret values', async () => {
    await seedDeployment('dep_1', 'Vault', 'removed', [{ name: 'db', secretEnvironment: ['PASSWORD'] }]);

    const root = await page('/ui/stacks/vault');

    expect(findAll(root, (element) => attribute(element, 'id') === 'redeploy-button')).toEqual([]);
    expect(textOf(root)).toContain('This stack has secret values');
  });

  it('escapes hostile names of stacks, services, hosts and failures', async () => {
    await seedDeployment('dep_1', HOSTILE, 'rolled_back', [{ name: HOSTILE }]);
    await updateDeployment(api.db, 'dep_1', { failure: [HOSTILE] });
    const slug = stackSlug(HOSTILE);
    await replaceDeploymentContainers(api.db, 'dep_1', [
      mapContainer(
        HOSTILE,
        { name: 'host1', address: HOSTILE },
        { connections: [{ name: HOSTILE, address: HOSTILE }] },
      ),
    ]);

    const response = await api.send('GET', `/ui/stacks/${encodeURIComponent(slug)}`);
    const html = await response.text();
    const root = parsePage(html);

    expect(response.status).toBe(200);
    expect(html).not.toContain('<script>alert');
    expect(byTag(root, 'img')).toEqual([]);
    expect(textOf(byTag(root, 'h1')[0]!)).toBe(`${HOSTILE} rolled back`);
    expect(byTag(byId(root, 'failure'), 'li').map(textOf)).toEqual([HOSTILE]);
    expect(textOf(byTag(hostCard(root, 'host1'), 'h3')[0]!)).toBe(`host1 (${HOSTILE})`);
  });

  it('answers an unknown stack with a page that says so', async () => {
    const root = await page(`/ui/stacks/${encodeURIComponent(HOSTILE)}`, 404);

    expect(textOf(byTag(root, 'h1')[0]!)).toBe('Stack not found');
    expect(textOf(byTag(root, 'main')[0]!)).toContain(HOSTILE);
    expect(byTag(root, 'img')).toEqual([]);
  });
});

describe('hosts page', () => {
  it('shows each host with datacenter, labels, status, CPUs, memory and containers', async () => {
    await registerHost('host1', { datacenter: 'lab-a', labels: { disk: 'ssd' } });
    await registerHost('host2', { datacenter: 'lab-b' });
    await registerHost('host3');

    const root = await page('/ui/hosts');
    const cells = (host: string) =>
      byTag(findAll(root, (element) => attribute(element, 'data-host') === host)[0]!, 'td').map(textOf);

    expect(cells('host1').slice(0, 6)).toEqual([
      'active daemon: healthy',
      'lab-a',
      'disk=ssd',
      '2.5 free of 4',
      '6.0 GiB free of 8.0 GiB',
      '0',
    ]);
    expect(cells('host2').slice(1, 6)).toEqual([
      'lab-b',
      'none',
      '4 free of 4',
      '8.0 GiB free of 8.0 GiB',
      '3',
    ]);
    expect(cells('host3')[0]).toContain('daemon: unreachable');
    expect(cells('host3')[0]).toContain('connect ECONNREFUSED');
    expect(cells('host3').slice(3, 6)).toEqual(['unknown', 'unknown', 'unknown']);
    expect(cells('host1')[6]).toContain('unix:///run/graphium-test/absent.sock');
    expect(cells('host1')[6]).toContain('reached at 10.0.0.1');
  });

  it('marks a host whose TLS fails', async () => {
    await registerHost('host3');
    await registerHost('host4');

    const root = await page('/ui/hosts');
    const status = (host: string) =>
      textOf(byTag(findAll(root, (element) => attribute(element, 'data-host') === host)[0]!, 'td')[0]!);

    expect(status('host4')).toContain('daemon: TLS failed');
    expect(status('host4')).toContain(TLS_ERROR);
    expect(status('host3')).toContain('daemon: unreachable');
  });

  it('has a remove button named after each host', async () => {
    await registerHost('host1');

    const root = await page('/ui/hosts');
    const buttons = findAll(root, (element) => attribute(element, 'data-remove-host') !== undefined);

    expect(buttons.map((button) => attribute(button, 'aria-label'))).toEqual(['Remove host host1']);
  });

  it('lists the stacks that use a host', async () => {
    await registerHost('host1');
    await seedRunningExample();

    const root = await page('/ui/hosts');
    const row = findAll(root, (element) => attribute(element, 'data-host') === 'host1')[0]!;

    expect(byTag(row, 'td').map(textOf)[7]).toBe('Distributed App (running)');
  });

  it('escapes hostile labels and datacenters', async () => {
    await registerHost('host1', { datacenter: '<img src=x onerror=alert(1)>', labels: { role: HOSTILE } });

    const html = await (await api.send('GET', '/ui/hosts')).text();
    const root = parsePage(html);

    expect(byTag(root, 'img')).toEqual([]);
    expect(html).not.toContain('<script>alert');
    expect(textOf(root)).toContain(`role=${HOSTILE}`);
  });

  it('has a form with every field of a host', async () => {
    const root = await page('/ui/hosts');
    const form = byId(root, 'add-host');
    const names = findAll(form, (element) => attribute(element, 'name') !== undefined).map((element) =>
      attribute(element, 'name'),
    );

    expect(names).toEqual([
      'name',
      'docker',
      'address',
      'datacenter',
      'labels',
      'imagePull',
      'tlsCa',
      'tlsCert',
      'tlsKey',
    ]);
  });
});

describe('deploy page', () => {
  it('lists each host with its free CPU and memory for manual placement', async () => {
    await registerHost('host1', { datacenter: 'lab-a' });
    await registerHost('host2', { datacenter: 'lab-a' });
    await registerHost('host3', { datacenter: 'lab-b' });
    await registerHost('host4', { datacenter: 'lab-b' });

    const root = await page('/ui/deploy');
    const template = byId(root, 'host-select-template');
    const options = byTag(template, 'option', true);
    const expected = [
      'host1 (lab-a): 2.5 of 4 CPUs free, 6.0 GiB of 8.0 GiB memory free',
      'host2 (lab-a): 4 of 4 CPUs free, 8.0 GiB of 8.0 GiB memory free',
      'host3 (lab-b): daemon unreachable, capacity unknown',
      'host4 (lab-b): TLS to the daemon failed, capacity unknown',
    ];

    expect(options.map((option) => attribute(option, 'value'))).toEqual([
      '',
      'host1',
      'host2',
      'host3',
      'host4',
    ]);
    expect(options.slice(1).map(textOf)).toEqual(expected);
    expect(options.slice(1).map((option) => attribute(option, 'data-capacity'))).toEqual(expected);
    expect(byTag(byId(root, 'host-capacity'), 'li').map(textOf)).toEqual(expected);
  });

  it('offers every placement strategy and each datacenter', async () => {
    await registerHost('host1', { datacenter: 'lab-b' });
    await registerHost('host2', { datacenter: 'lab-a' });

    const root = await page('/ui/deploy');
    const radios = findAll(root, (element) => attribute(element, 'name') === 'strategy');
    const datacenters = byTag(byId(root, 'placement-datacenter'), 'option').map((option) =>
      attribute(option, 'value'),
    );

    expect(radios.map((radio) => attribute(radio, 'value'))).toEqual([
      'auto',
      'manual',
      'datacenter',
      'spread',
      'single',
    ]);
    expect(
      radios
        .filter((radio) => attribute(radio, 'checked') !== undefined)
        .map((radio) => attribute(radio, 'value')),
    ).toEqual(['auto']);
    expect(datacenters).toEqual(['', 'lab-a', 'lab-b']);
  });

  it('escapes a hostile datacenter in the host lists', async () => {
    await registerHost('host1', { datacenter: HOSTILE });

    const html = await (await api.send('GET', '/ui/deploy')).text();
    const root = parsePage(html);

    expect(html).not.toContain('<script>alert');
    expect(byTag(root, 'img', true)).toEqual([]);
    expect(byTag(byId(root, 'host-capacity'), 'li').map(textOf)[0]).toContain(HOSTILE);
  });
});

describe('every page', () => {
  const PAGES = ['/ui', '/ui/stacks', '/ui/stacks/distributed-app', '/ui/hosts', '/ui/deploy', '/login'];
  /** App with the tokens and session key that the login page needs; it redirects /ui to /login. */
  let loginApi: TestApi;
  const render = (path: string) => page(path, 200, path === '/login' ? loginApi : api);

  beforeEach(async () => {
    // Created first, because creating a test app empties the tables.
    loginApi = await resetApi(handle.db, { apiTokens: [TOKEN], sessions: SESSIONS });
    await registerHost('host1');
    await seedRunningExample();
  });

  it('labels every input, select and text area', async () => {
    for (const path of PAGES) {
      const root = await render(path);

      expect({ path, unlabelled: unlabelledControls(root) }).toEqual({ path, unlabelled: [] });
    }
  });

  it('has the main landmark, one h1 and a language', async () => {
    for (const path of PAGES) {
      const root = await render(path);

      expect(attribute(root, 'lang'), path).toBe('en');
      expect(byTag(root, 'main'), path).toHaveLength(1);
      expect(byTag(root, 'h1'), path).toHaveLength(1);
      expect(byTag(root, 'header'), path).toHaveLength(1);
    }
  });

  it('writes every status as text beside its colour', async () => {
    for (const path of PAGES) {
      const root = await render(path);
      const badges = findAll(root, (element) => (attribute(element, 'class') ?? '').startsWith('status '));

      expect(
        badges.filter((badge) => textOf(badge) === '').map((badge) => attribute(badge, 'data-status')),
      ).toEqual([]);
    }
  });

  it('renders in standards mode', async () => {
    for (const path of [...PAGES, '/ui/stacks/no-such-stack']) {
      const response = await (path === '/login' ? loginApi : api).send('GET', path);
      const html = await response.text();

      expect(html.startsWith('<!DOCTYPE html>'), path).toBe(true);
      expect(documentMode(html), path).toBe('no-quirks');
    }
  });

  it('loads only scripts served by the API itself', async () => {
    for (const path of PAGES) {
      const root = await render(path);
      const sources = byTag(root, 'script').map((script) => attribute(script, 'src') ?? 'inline');

      expect(
        sources.every((source) => source.startsWith('/ui/assets/')),
        path,
      ).toBe(true);
      for (const source of sources) expect((await api.send('GET', source)).status).toBe(200);
    }
  });
});

describe('login page', () => {
  beforeEach(async () => {
    api = await resetApi(handle.db, { apiTokens: [TOKEN], sessions: SESSIONS });
  });

  it('posts a token field to /login', async () => {
    const root = await page('/login');
    const form = byTag(root, 'form')[0]!;
    const input = byId(form, 'login-token');

    expect(attribute(form, 'method')).toBe('post');
    expect(attribute(form, 'action')).toBe('/login');
    expect(attribute(input, 'name')).toBe('token');
    expect(attribute(input, 'type')).toBe('password');
  });

  it('shows an alert after a wrong token', async () => {
    const plain = await page('/login');
    const failed = await page('/login?error=invalid_token');
    const alerts = findAll(failed, (element) => attribute(element, 'role') === 'alert');

    expect(findAll(plain, (element) => attribute(element, 'role') === 'alert')).toEqual([]);
    expect(alerts.map(textOf)).toEqual([
      'The token matches no configured token. Check it for typos and log in again.',
    ]);
  });
});

describe('authentication of pages', () => {
  it('sends a browser without a token to the login page', async () => {
    api = await resetApi(handle.db, { apiTokens: [TOKEN], sessions: SESSIONS });

    for (const path of ['/ui', '/ui/stacks', '/ui/hosts', '/ui/deploy', '/ui/stacks/anything']) {
      const response = await api.send('GET', path);

      expect(response.status, path).toBe(302);
      expect(response.headers.get('location'), path).toBe('/login');
    }
  });

  it('form login opens the dashboard', async () => {
    api = await resetApi(handle.db, { apiTokens: [TOKEN], sessions: SESSIONS });

    const login = await api.app.request('/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: 'http://localhost' },
      body: new URLSearchParams({ token: TOKEN.secret }).toString(),
    });
    const cookie = login.headers.get('set-cookie')?.split(';')[0] ?? '';
    const dashboard = await api.app.request(login.headers.get('location') ?? '/missing', {
      headers: { Cookie: cookie },
    });

    expect(login.status).toBe(303);
    expect(login.headers.get('location')).toBe('/ui');
    expect(cookie).toMatch(/^graphium_session=/);
    expect(dashboard.status).toBe(200);
    expect(await dashboard.text()).toContain('<h1>Stacks</h1>');
  });

  it('deletes an invalid session cookie as it redirects', async () => {
    api = await resetApi(handle.db, { apiTokens: [TOKEN], sessions: SESSIONS });

    const response = await api.app.request('/ui/hosts', { headers: { Cookie: 'graphium_session=x.y' } });

    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe('/login');
    expect(response.headers.get('set-cookie')).toMatch(/^graphium_session=;.*Max-Age=0/);
  });

  it('keeps the 401 of pages without a session key', async () => {
    api = await resetApi(handle.db, { apiTokens: [TOKEN] });

    expect((await api.send('GET', '/ui/hosts')).status).toBe(401);
  });

  it('serves pages to a request with a valid token', async () => {
    api = await resetApi(handle.db, { apiTokens: [TOKEN] });

    const response = await api.app.request('/ui/hosts', {
      headers: { Authorization: `Bearer ${TOKEN.secret}` },
    });

    expect(response.status).toBe(200);
    expect(await response.text()).toContain('<h1>Hosts</h1>');
  });

  it('keeps the 401 for scripts and JSON routes', async () => {
    api = await resetApi(handle.db, { apiTokens: [TOKEN], sessions: SESSIONS });

    expect((await api.send('GET', '/ui/assets/stack.js')).status).toBe(401);
    expect((await api.send('GET', '/stacks')).status).toBe(401);
  });
});

describe('dashboard scripts', () => {
  it('serves each page script as JavaScript', async () => {
    for (const file of ['common.js', 'hosts.js', 'deploy.js', 'stack.js']) {
      const response = await api.send('GET', `/ui/assets/${file}`);

      expect(response.status, file).toBe(200);
      expect(response.headers.get('content-type'), file).toBe('text/javascript; charset=utf-8');
      expect(response.headers.get('etag'), file).toMatch(/^W\//);
    }
  });

  it('answers 404 for any other file', async () => {
    for (const file of ['missing.js', '..%2Froutes.tsx', 'constructor']) {
      const response = await api.send('GET', `/ui/assets/${file}`);

      expect(response.status, file).toBe(404);
      expect((await response.json()).error.code).toBe('not_found');
    }
  });
});
