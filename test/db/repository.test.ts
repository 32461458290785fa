/**
 * The repository functions against both drivers: an in-memory PGlite and a real PostgreSQL
 * server started for this file. The PostgreSQL half is skipped, with a message, only when
 * the server binaries are not installed.
 */
import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type Database, type DatabaseHandle } from '../../db/client';
import {
  DeploymentNotFoundError,
  HostExistsError,
  HostNotFoundError,
  createHost,
  deleteDeployment,
  deleteHost,
  getDeployment,
  getHost,
  insertDeployment,
  listDeploymentContainers,
  listDeployments,
  listHosts,
  listStacks,
  newestDeployment,
  recordCompensation,
  recordFailure,
  recordPlacement,
  replaceDeploymentContainers,
  setDeploymentRunId,
  toHostRecord,
  updateDeployment,
  updateDeploymentStatus,
  updateHostStatus,
  type NewDeploymentContainer,
} from '../../db/repository';
import { findPostgresBinaries, startTestPostgres, type TestPostgres } from './postgres-server';

const POSTGRES_BIN_DIR = findPostgresBinaries();
if (!POSTGRES_BIN_DIR) {
  console.warn(
    'Skipping the PostgreSQL half of test/db/repository.test.ts: initdb and pg_ctl were not ' +
      'found in /usr/lib/postgresql/15/bin, /usr/local/bin or /usr/bin. Install postgresql-15.',
  );
}

const UNIX_DOCKER = { protocol: 'unix', socketPath: '/var/run/docker.sock' } as const;
const host1 = { name: 'host1', docker: UNIX_DOCKER, address: '10.0.0.1' };

function newDeployment(id: string, stackSlug = 'web-app') {
  return {
    id,
    stackName: stackSlug,
    stackSlug,
    workflowId: `graphium-deploy-${stackSlug}`,
    strategy: 'auto',
    spec: { name: stackSlug, placement: 'auto' as const, volumes: [], services: [] },
  };
}

function container(service: string, hostName: string, position: number): NewDeploymentContainer {
  return {
    service,
    hostName,
    hostAddress: '10.0.0.1',
    containerId: `id-${service}`,
    containerName: `web-app-${service}`,
    image: 'nginx:1.27',
    ports: [{ containerPort: 80, hostPort: 8080 + position, protocol: 'tcp' }],
    connections: [{ name: 'db', address: '10.0.0.2', port: 5432 }],
    health: 'healthy',
    position,
  };
}

/** The shared suite; `open` returns a database whose tables the suite may empty. */
function repositorySuite(open: () => Promise<DatabaseHandle>) {
  let handle: DatabaseHandle;
  let db: Database;

  beforeAll(async () => {
    handle = await open();
    db = handle.db;
  });

  afterAll(async () => {
    await handle?.close();
  });

  beforeEach(async () => {
    await db.execute(sql`truncate table deployment_containers, deployments, hosts`);
  });

  describe('hosts', () => {
    it('creates a host with the column defaults', async () => {
      const host = await createHost(db, host1);

      expect(host.datacenter).toBe('default');
      expect(host.labels).toEqual({});
      expect(host.imagePull).toBe('missing');
      expect(host.status).toBe('active');
      expect(host.createdAt).toBeInstanceOf(Date);
      expect(await getHost(db, 'host1')).toEqual(host);
    });

    it('raises HostExistsError for a taken name', async () => {
      await createHost(db, host1);
      const again = createHost(db, { name: 'host1', docker: UNIX_DOCKER, address: '10.0.0.2' });

      await expect(again).rejects.toBeInstanceOf(HostExistsError);
      await expect(again).rejects.toMatchObject({ hostName: 'host1' });
      expect((await getHost(db, 'host1'))?.address).toBe('10.0.0.1');
    });

    it('lists hosts by name and keeps the endpoint JSON', async () => {
      const tls = { ca: '/a', cert: '/b', key: '/c' };
      const tcp = { protocol: 'tcp' as const, host: '10.0.0.2', port: 2376, tls };
      const labels = { gpu: 'yes' };
      await createHost(db, { name: 'host2', docker: tcp, address: '10.0.0.2', labels });
      await createHost(db, host1);
      const hosts = await listHosts(db);

      expect(hosts.map((host) => host.name)).toEqual(['host1', 'host2']);
      expect(hosts[1].docker).toEqual(tcp);
      expect(hosts[1].labels).toEqual({ gpu: 'yes' });
    });

    it('returns undefined for an unknown host', async () => {
      expect(await getHost(db, 'nowhere')).toBeUndefined();
    });

    it('deletes a host and reports whether it existed', async () => {
      await createHost(db, host1);

      expect(await deleteHost(db, 'host1')).toBe(true);
      expect(await deleteHost(db, 'host1')).toBe(false);
      expect(await listHosts(db)).toEqual([]);
    });

    it('updates the status and updatedAt', async () => {
      const created = await createHost(db, host1);
      const updated = await updateHostStatus(db, 'host1', 'inactive');

      expect(updated.status).toBe('inactive');
      expect(updated.updatedAt.getTime()).toBeGreaterThanOrEqual(created.updatedAt.getTime());
      const unknown = updateHostStatus(db, 'nowhere', 'active');
      await expect(unknown).rejects.toBeInstanceOf(HostNotFoundError);
    });

    it('converts a row to the model record', async () => {
      const host = await createHost(db, host1);

      expect(toHostRecord(host)).toEqual({
        name: 'host1',
        docker: UNIX_DOCKER,
        address: '10.0.0.1',
        datacenter: 'default',
        labels: {},
        imagePull: 'missing',
        status: 'active',
      });
    });
  });

  describe('deployments', () => {
    it('inserts in status accepted with no warnings', async () => {
      const row = await insertDeployment(db, newDeployment('dep_1'));

      expect(row.status).toBe('accepted');
      expect(row.warnings).toEqual([]);
      expect(row.runId).toBeNull();
      expect(row.finishedAt).toBeNull();
      expect(await getDeployment(db, 'dep_1')).toEqual(row);
    });

    it('returns undefined for an unknown id', async () => {
      expect(await getDeployment(db, 'dep_missing')).toBeUndefined();
    });

    it('pages newest first by id', async () => {
      for (const id of ['dep_a', 'dep_b', 'dep_c', 'dep_d', 'dep_e']) {
        await insertDeployment(db, newDeployment(id));
      }
      const first = await listDeployments(db, { limit: 2 });
      const second = await listDeployments(db, { limit: 2, cursor: first.nextCursor });
      const third = await listDeployments(db, { limit: 2, cursor: second.nextCursor });

      expect(first.items.map((row) => row.id)).toEqual(['dep_e', 'dep_d']);
      expect(second.items.map((row) => row.id)).toEqual(['dep_c', 'dep_b']);
      expect(third.items.map((row) => row.id)).toEqual(['dep_a']);
      expect(third.nextCursor).toBeUndefined();
    });

    it('has no next page when the last page is exactly full', async () => {
      await insertDeployment(db, newDeployment('dep_a'));
      await insertDeployment(db, newDeployment('dep_b'));

      expect((await listDeployments(db, { limit: 2 })).nextCursor).toBeUndefined();
    });

    it('filters the list by stack slug', async () => {
      await insertDeployment(db, newDeployment('dep_a', 'web-app'));
      await insertDeployment(db, newDeployment('dep_b', 'batch'));
      const page = await listDeployments(db, { stackSlug: 'batch' });

      expect(page.items.map((row) => row.id)).toEqual(['dep_b']);
    });

    it('finds the newest deployment of a stack, optionally by status', async () => {
      await insertDeployment(db, newDeployment('dep_a'));
      await insertDeployment(db, { ...newDeployment('dep_b'), status: 'deploying' });
      await insertDeployment(db, { ...newDeployment('dep_c'), status: 'rolled_back' });

      expect((await newestDeployment(db, 'web-app'))?.id).toBe('dep_c');
      expect((await newestDeployment(db, 'web-app', ['accepted', 'deploying']))?.id).toBe('dep_b');
      expect(await newestDeployment(db, 'other')).toBeUndefined();
    });

    it('updates only the given fields and sets updatedAt', async () => {
      const inserted = await insertDeployment(db, newDeployment('dep_1'));
      await setDeploymentRunId(db, 'dep_1', 'run-1');
      await recordPlacement(db, 'dep_1', { web: { host: 'host1', score: 3 } });
      await recordFailure(db, 'dep_1', ['deploy failed', 'image not found']);
      const updated = await recordCompensation(db, 'dep_1', { removed: ['web'], failed: [] });

      expect(updated.runId).toBe('run-1');
      expect(updated.placement).toEqual({ web: { host: 'host1', score: 3 } });
      expect(updated.failure).toEqual(['deploy failed', 'image not found']);
      expect(updated.compensation).toEqual({ removed: ['web'], failed: [] });
      expect(updated.status).toBe('accepted');
      expect(updated.finishedAt).toBeNull();
      expect(updated.updatedAt.getTime()).toBeGreaterThanOrEqual(inserted.updatedAt.getTime());
    });

    it('sets finishedAt when the deploy workflow ends', async () => {
      await insertDeployment(db, newDeployment('dep_1'));
      const deploying = await updateDeploymentStatus(db, 'dep_1', 'deploying');
      const running = await updateDeploymentStatus(db, 'dep_1', 'running');

      expect(deploying.finishedAt).toBeNull();
      expect(running.status).toBe('running');
      expect(running.finishedAt).toBeInstanceOf(Date);
    });

    it('keeps finishedAt while a teardown changes the status', async () => {
      await insertDeployment(db, newDeployment('dep_1'));
      const running = await updateDeploymentStatus(db, 'dep_1', 'running');
      const removing = await updateDeploymentStatus(db, 'dep_1', 'removing');

      expect(removing.finishedAt).toEqual(running.finishedAt);
    });

    it('raises DeploymentNotFoundError when updating an unknown id', async () => {
      const update = updateDeployment(db, 'dep_missing', { status: 'running' });

      await expect(update).rejects.toBeInstanceOf(DeploymentNotFoundError);
      await expect(update).rejects.toMatchObject({ deploymentId: 'dep_missing' });
    });

    it('deletes a deployment with its containers', async () => {
      await insertDeployment(db, newDeployment('dep_1'));
      await replaceDeploymentContainers(db, 'dep_1', [container('web', 'host1', 1)]);

      expect(await deleteDeployment(db, 'dep_1')).toBe(true);
      expect(await deleteDeployment(db, 'dep_1')).toBe(false);
      expect(await listDeploymentContainers(db, 'dep_1')).toEqual([]);
    });

    it('lists each stack with its newest deployment and distinct hosts', async () => {
      await insertDeployment(db, newDeployment('dep_a', 'web-app'));
      await insertDeployment(db, { ...newDeployment('dep_b', 'web-app'), status: 'running' });
      await insertDeployment(db, newDeployment('dep_c', 'batch'));
      await replaceDeploymentContainers(db, 'dep_a', [container('web', 'host9', 1)]);
      await replaceDeploymentContainers(db, 'dep_b', [
        container('web', 'host1', 1),
        container('api', 'host1', 2),
        container('db', 'host2', 3),
      ]);
      const stacks = await listStacks(db);

      expect(stacks.map((stack) => [stack.stackSlug, stack.deploymentId])).toEqual([
        ['batch', 'dep_c'],
        ['web-app', 'dep_b'],
      ]);
      expect(stacks[0].hostCount).toBe(0);
      expect(stacks[1].hostCount).toBe(2);
      expect(stacks[1].status).toBe('running');
      expect(stacks[1].updatedAt).toBeInstanceOf(Date);
    });
  });

  describe('deployment containers', () => {
    it('replaces the set and lists it by position', async () => {
      await insertDeployment(db, newDeployment('dep_1'));
      await replaceDeploymentContainers(db, 'dep_1', [container('old', 'host1', 1)]);
      const replacement = [container('db', 'host2', 2), container('web', 'host1', 1)];
      await replaceDeploymentContainers(db, 'dep_1', replacement);
      const rows = await listDeploymentContainers(db, 'dep_1');

      expect(rows.map((row) => row.service)).toEqual(['web', 'db']);
      expect(rows[0]).toEqual({ ...container('web', 'host1', 1), actions: [], deploymentId: 'dep_1' });
    });

    it('clears the set with an empty list', async () => {
      await insertDeployment(db, newDeployment('dep_1'));
      await replaceDeploymentContainers(db, 'dep_1', [container('web', 'host1', 1)]);
      await replaceDeploymentContainers(db, 'dep_1', []);

      expect(await listDeploymentContainers(db, 'dep_1')).toEqual([]);
    });

    it('keeps the previous set when the new one is rejected', async () => {
      await insertDeployment(db, newDeployment('dep_1'));
      await replaceDeploymentContainers(db, 'dep_1', [container('web', 'host1', 1)]);
      // Two rows for one service violate the primary key, so the whole replacement rolls back.
      const duplicate = [container('db', 'host1', 1), container('db', 'host2', 2)];

      await expect(replaceDeploymentContainers(db, 'dep_1', duplicate)).rejects.toThrow();
      const rows = await listDeploymentContainers(db, 'dep_1');
      expect(rows.map((row) => row.service)).toEqual(['web']);
    });

    it('rejects containers of an unknown deployment', async () => {
      const orphan = replaceDeploymentContainers(db, 'dep_missing', [container('web', 'host1', 1)]);

      await expect(orphan).rejects.toThrow();
    });
  });
}

describe('repository on PGlite', () => {
  repositorySuite(() => openDatabase({ inMemory: true }));
});

describe.skipIf(!POSTGRES_BIN_DIR)('repository on PostgreSQL 15', () => {
  let server: TestPostgres;

  beforeAll(async () => {
    server = await startTestPostgres(POSTGRES_BIN_DIR as string);
  });

  afterAll(async () => {
    await server?.stop();
  });

  repositorySuite(() => openDatabase({ url: server.url }));

  it('applies migrations once when opened twice', async () => {
    const second = await openDatabase({ url: server.url });
    try {
      const applied = await second.db
        .select({ count: sql<number>`count(*)::int` })
        .from(sql`drizzle.__drizzle_migrations`);
      const migrations = readdirSync(new URL('../../db/migrations/', import.meta.url)).filter((name) =>
        name.endsWith('.sql'),
      );
      expect(applied).toEqual([{ count: migrations.length }]);
    } finally {
      await second.close();
    }
  });
});

describe('PGlite on disk', () => {
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'graphium-pglite-'));
  });

  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps rows across a reopen of the data directory', async () => {
    const first = await openDatabase({ dataDir });
    await createHost(first.db, { name: 'host1', docker: UNIX_DOCKER, address: '10.0.0.1' });
    await first.close();

    const second = await openDatabase({ dataDir });
    try {
      expect((await getHost(second.db, 'host1'))?.address).toBe('10.0.0.1');
    } finally {
      await second.close();
    }
  });
});
