/**
 * The workflow store writes of a teardown racing the deploy it cancelled, in either order,
 * against an in-memory PGlite and a real PostgreSQL started for this file. Either way the stack
 * must end `removed`, and the deploy's failure and rollback report must be kept.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  markStackRemoved,
  markStackRemoving,
  newerLiveDeployment,
  saveOutcome,
  savePlacement,
  saveReconciliation,
  type OutcomeInput,
} from '../../activities/store';
import type { PlacementPlan } from '../../core/placement';
import { openDatabase, type Database, type DatabaseHandle } from '../../db/client';
import {
  getDeployment,
  insertDeployment,
  listDeploymentContainers,
  newestDeployment,
  type NewDeployment,
} from '../../db/repository';
import type { DeploymentStatus } from '../../db/schema';
import { findPostgresBinaries, startTestPostgres, type TestPostgres } from './postgres-server';

const POSTGRES_BIN_DIR = findPostgresBinaries();
const SLUG = 'web-app';

function newDeployment(id: string, status: DeploymentStatus): NewDeployment {
  return {
    id,
    stackName: SLUG,
    stackSlug: SLUG,
    workflowId: `graphium-deploy-${SLUG}`,
    strategy: 'manual',
    spec: { name: SLUG, placement: 'manual', volumes: [], services: [] },
    status,
  };
}

const COMPENSATION = {
  removed: [{ service: 'web', host: 'host1', container: 'web-app-web' }],
  failed: [],
  removedResources: [],
  failedResources: [],
};

/** Returns the outcome a deploy cancelled by a teardown records once its rollback is done. */
function cancelledOutcome(deploymentId: string): OutcomeInput {
  return {
    deploymentId,
    status: 'cancelled',
    services: [
      {
        service: 'web',
        step: 'removed',
        host: 'host1',
        hostAddress: '10.0.0.1',
        containerId: 'id-web',
        containerName: 'web-app-web',
        ports: [],
        connections: [],
      },
    ],
    positions: { web: 1 },
    images: { web: 'nginx:1.27' },
    failure: ['the deployment was cancelled on request', 'Workflow cancelled'],
    compensation: COMPENSATION,
  };
}

function storeSuite(open: () => Promise<DatabaseHandle>) {
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

  it('outcome keeps removed after teardown', async () => {
    await insertDeployment(db, newDeployment('dep_1', 'deploying'));
    await markStackRemoving(db, SLUG);
    await markStackRemoved(db, SLUG);

    await saveOutcome(db, cancelledOutcome('dep_1'));
    const row = await getDeployment(db, 'dep_1');

    expect(row?.status).toBe('removed');
    expect(row?.failure).toEqual(['the deployment was cancelled on request', 'Workflow cancelled']);
    expect(row?.compensation).toEqual(COMPENSATION);
    expect(row?.finishedAt).toBeInstanceOf(Date);
    expect((await listDeploymentContainers(db, 'dep_1')).map((c) => c.service)).toEqual(['web']);
  });

  it('outcome keeps removing during teardown', async () => {
    await insertDeployment(db, newDeployment('dep_1', 'removing'));

    await saveOutcome(db, cancelledOutcome('dep_1'));
    const during = await getDeployment(db, 'dep_1');
    await markStackRemoved(db, SLUG);
    const after = await getDeployment(db, 'dep_1');

    expect(during?.status).toBe('removing');
    expect(during?.compensation).toEqual(COMPENSATION);
    expect(after?.status).toBe('removed');
    expect(after?.failure).toEqual(['the deployment was cancelled on request', 'Workflow cancelled']);
  });

  it('teardown after outcome marks newest removed', async () => {
    await insertDeployment(db, newDeployment('dep_a', 'rolled_back'));
    await insertDeployment(db, newDeployment('dep_b', 'deploying'));
    await saveOutcome(db, cancelledOutcome('dep_b'));

    await markStackRemoving(db, SLUG);
    await markStackRemoved(db, SLUG);
    const newest = await newestDeployment(db, SLUG);

    expect(newest?.id).toBe('dep_b');
    expect(newest?.status).toBe('removed');
    expect(newest?.compensation).toEqual(COMPENSATION);
    expect((await listDeploymentContainers(db, 'dep_b')).map((c) => c.health)).toEqual(['removed']);
    expect((await getDeployment(db, 'dep_a'))?.status).toBe('rolled_back');
  });

  it('outcome without teardown sets its status', async () => {
    await insertDeployment(db, newDeployment('dep_1', 'deploying'));

    await saveOutcome(db, cancelledOutcome('dep_1'));
    const row = await getDeployment(db, 'dep_1');

    expect(row?.status).toBe('cancelled');
    expect(row?.compensation).toEqual(COMPENSATION);
  });

  it('teardown leaves other stacks alone', async () => {
    await insertDeployment(db, newDeployment('dep_1', 'running'));
    await insertDeployment(db, { ...newDeployment('dep_other', 'rolled_back'), stackSlug: 'other' });

    await markStackRemoved(db, SLUG);

    expect((await getDeployment(db, 'dep_1'))?.status).toBe('removed');
    expect((await getDeployment(db, 'dep_other'))?.status).toBe('rolled_back');
  });

  it('placement leaves an ended deployment alone', async () => {
    const plan = { assignments: { web: 'host1' } } as unknown as PlacementPlan;
    await insertDeployment(db, newDeployment('dep_1', 'accepted'));
    await insertDeployment(db, newDeployment('dep_2', 'removed'));

    await savePlacement(db, 'dep_1', plan);
    await savePlacement(db, 'dep_2', plan);

    expect((await getDeployment(db, 'dep_1'))?.status).toBe('deploying');
    expect((await getDeployment(db, 'dep_2'))?.status).toBe('removed');
  });

  it('finds a newer live deployment of the stack', async () => {
    await insertDeployment(db, newDeployment('dep_old', 'rolled_back'));
    expect(await newerLiveDeployment(db, 'dep_old')).toBeUndefined();

    await insertDeployment(db, { ...newDeployment('dep_other', 'running'), stackSlug: 'other' });
    expect(await newerLiveDeployment(db, 'dep_old')).toBeUndefined();

    await insertDeployment(db, newDeployment('dep_new', 'deploying'));
    expect(await newerLiveDeployment(db, 'dep_old')).toBe('dep_new');
    expect(await newerLiveDeployment(db, 'dep_new')).toBeUndefined();
  });

  it('reconciliation record survives in the report', async () => {
    await insertDeployment(db, newDeployment('dep_1', 'deploying'));
    await saveOutcome(db, { ...cancelledOutcome('dep_1'), status: 'rolled_back' });
    await saveReconciliation(db, 'dep_1', {
      status: 'done',
      workflowId: 'graphium-reconcile-dep_1',
      hosts: ['host2'],
      removed: [{ host: 'host2', containers: ['web-app-web'], resources: [] }],
    });

    const row = await getDeployment(db, 'dep_1');
    expect(row?.compensation).toMatchObject({
      ...COMPENSATION,
      reconciliation: { status: 'done', hosts: ['host2'] },
    });
  });
}

describe('store on PGlite', () => {
  storeSuite(() => openDatabase({ inMemory: true }));
});

describe.skipIf(!POSTGRES_BIN_DIR)('store on PostgreSQL 15', () => {
  let server: TestPostgres;

  beforeAll(async () => {
    server = await startTestPostgres(POSTGRES_BIN_DIR as string);
  });

  afterAll(async () => {
    await server?.stop();
  });

  storeSuite(() => openDatabase({ url: server.url }));
});
