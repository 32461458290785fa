/**
 * Database writes made by the workflows, through activities. Each is an upsert
 * or a plain update, so a retried activity writes the same row again.
 */
import { and, desc, eq, inArray, or, sql } from 'drizzle-orm';
import type { HostRecord } from '../core/model';
import type { PlacementPlan } from '../core/placement';
import type { Database } from '../db/client';
import { deploymentContainers, deployments, hosts, type DeploymentStatus } from '../db/schema';
import type { ServiceProgress } from '../workflows/contract';

export async function loadHosts(db: Database): Promise<HostRecord[]> {
  const rows = await db.select().from(hosts).orderBy(hosts.name);
  return rows.map((row) => ({
    name: row.name,
    docker: row.docker,
    address: row.address,
    datacenter: row.datacenter,
    labels: row.labels,
    imagePull: row.imagePull,
    status: row.status,
  }));
}

/**
 * Store the plan and mark the deployment as deploying, unless it has already ended: a
 * deployment cancelled while it was being planned records its outcome before this write.
 */
export async function savePlacement(db: Database, deploymentId: string, plan: PlacementPlan): Promise<void> {
  await db
    .update(deployments)
    .set({ placement: plan, status: 'deploying', updatedAt: new Date() })
    .where(and(eq(deployments.id, deploymentId), inArray(deployments.status, ['accepted', 'deploying'])));
}

export interface OutcomeInput {
  deploymentId: string;
  status: DeploymentStatus;
  services: ServiceProgress[];
  positions: Record<string, number>;
  images: Record<string, string>;
  /** Failure cause chain, outermost first. */
  failure?: string[];
  compensation?: unknown;
  /** The stack's networks and volumes per host; absent for stacks without them. */
  resources?: unknown[];
}

/** Statuses a teardown sets, which the outcome of a deploy it cancelled must not replace. */
const TEARDOWN_STATUSES: DeploymentStatus[] = ['removing', 'removed'];

/**
 * Store the final state of a deployment and its host map in one transaction. A deployment that a
 * teardown already marked `removing` or `removed` keeps that status, because the teardown
 * cancelled this deploy and a client polls for `removed`. The failure, the rollback report and
 * the host map are stored either way.
 */
export async function saveOutcome(db: Database, outcome: OutcomeInput): Promise<void> {
  const now = new Date();
  // One conditional UPDATE, so a teardown writing the row at the same time is either seen or
  // waited for, and never overwritten.
  const status = sql<DeploymentStatus>`case when ${inArray(deployments.status, TEARDOWN_STATUSES)}
    then ${deployments.status} else ${outcome.status}::text end`;
  await db.transaction(async (tx) => {
    await tx
      .update(deployments)
      .set({
        status,
        failure: outcome.failure ?? null,
        compensation: outcome.compensation ?? null,
        resources: outcome.resources ?? null,
        updatedAt: now,
        finishedAt: now,
      })
      .where(eq(deployments.id, outcome.deploymentId));
    await tx.delete(deploymentContainers).where(eq(deploymentContainers.deploymentId, outcome.deploymentId));
    const rows = outcome.services
      .filter((service) => service.containerId && service.host && service.hostAddress)
      .map((service) => ({
        deploymentId: outcome.deploymentId,
        service: service.service,
        hostName: service.host!,
        hostAddress: service.hostAddress!,
        containerId: service.containerId!,
        containerName: service.containerName ?? service.service,
        image: outcome.images[service.service] ?? '',
        ports: service.ports,
        connections: service.connections,
        health: service.step,
        position: outcome.positions[service.service] ?? 0,
        actions: service.actions ?? [],
      }));
    if (rows.length > 0) await tx.insert(deploymentContainers).values(rows);
  });
}

/** Mark the running deployments of a stack as being removed, so the API shows the teardown. */
export async function markStackRemoving(db: Database, stackSlug: string): Promise<void> {
  await db
    .update(deployments)
    .set({ status: 'removing', failure: null, updatedAt: new Date() })
    .where(and(eq(deployments.stackSlug, stackSlug), inArray(deployments.status, ['running', 'removing'])));
}

/** Keep the deployments being removed in that state, with why the teardown could not finish. */
export async function recordTeardownFailure(
  db: Database,
  stackSlug: string,
  failure: string[],
): Promise<void> {
  await db
    .update(deployments)
    .set({ failure, updatedAt: new Date() })
    .where(and(eq(deployments.stackSlug, stackSlug), eq(deployments.status, 'removing')));
}

/**
 * Mark the deployments of a stack that may still own containers as removed, and its newest
 * deployment whatever its status, so the stack reads `removed` once its teardown is done. A deploy
 * the teardown cancelled may have recorded `cancelled` or `rolled_back` before this write. Older
 * deployments that ended without containers keep their status.
 */
export async function markStackRemoved(db: Database, stackSlug: string): Promise<void> {
  const live: DeploymentStatus[] = ['accepted', 'deploying', 'running', 'failed', 'removing'];
  const newest = db
    .select({ id: deployments.id })
    .from(deployments)
    .where(eq(deployments.stackSlug, stackSlug))
    .orderBy(desc(deployments.createdAt), desc(deployments.id))
    .limit(1);
  await db.transaction(async (tx) => {
    const removed = await tx
      .update(deployments)
      .set({ status: 'removed', updatedAt: new Date() })
      .where(
        and(
          eq(deployments.stackSlug, stackSlug),
          or(inArray(deployments.status, live), eq(deployments.id, sql`(${newest})`)),
        ),
      )
      .returning({ id: deployments.id });
    if (removed.length === 0) return;
    const ids = removed.map((row) => row.id);
    await tx
      .update(deploymentContainers)
      .set({ health: 'removed' })
      .where(inArray(deploymentContainers.deploymentId, ids));
  });
}

/**
 * Returns the hosts any deployment of the stack was placed on or ran a container on.
 * Teardown lists only these, so a dead host the stack never used cannot block it.
 */
export async function stackHostNames(db: Database, stackSlug: string): Promise<string[]> {
  const rows = await db
    .select({ placement: deployments.placement, hostName: deploymentContainers.hostName })
    .from(deployments)
    .leftJoin(deploymentContainers, eq(deploymentContainers.deploymentId, deployments.id))
    .where(eq(deployments.stackSlug, stackSlug));
  const names = new Set<string>();
  for (const row of rows) {
    if (row.hostName) names.add(row.hostName);
    const assignments = (row.placement as PlacementPlan | null)?.assignments ?? {};
    for (const host of Object.values(assignments)) names.add(host);
  }
  return [...names].sort();
}

/** The state of the removal of what a rollback could not reach, kept in the rollback report. */
export interface ReconciliationRecord {
  /** `incomplete`: the reconciliation ended but left something, listed in `removed[].left` or `failed`. */
  status: 'pending' | 'done' | 'incomplete';
  workflowId: string;
  /** Hosts the reconciliation waits for or waited for. */
  hosts: string[];
  /** Containers and resources the reconciliation removed per host, once done. */
  removed?: {
    host: string;
    containers: string[];
    resources: { kind: string; name: string }[];
    left?: { kind: string; name: string; reason: string }[];
  }[];
  /** Hosts the reconciliation could not clean, with the error. */
  failed?: { host: string; error: string }[];
  finishedAt?: string;
}

/** Stores the reconciliation state under `reconciliation` in the deployment's rollback report. */
export async function saveReconciliation(
  db: Database,
  deploymentId: string,
  reconciliation: ReconciliationRecord,
): Promise<void> {
  const patch = JSON.stringify({ reconciliation });
  await db
    .update(deployments)
    .set({
      compensation: sql`coalesce(${deployments.compensation}, '{}'::jsonb) || ${patch}::jsonb`,
      updatedAt: new Date(),
    })
    .where(eq(deployments.id, deploymentId));
}

/**
 * Returns the id of a deployment of the same stack, newer than `deploymentId`, that is starting
 * or running, if there is one. Its containers may use the network and volumes the older one created.
 */
export async function newerLiveDeployment(db: Database, deploymentId: string): Promise<string | undefined> {
  // Compared inside the database, because timestamps there are finer than JavaScript dates.
  const older = db
    .select({ stackSlug: deployments.stackSlug, createdAt: deployments.createdAt })
    .from(deployments)
    .where(eq(deployments.id, deploymentId))
    .as('older');
  const [newer] = await db
    .select({ id: deployments.id })
    .from(deployments)
    .innerJoin(older, eq(deployments.stackSlug, older.stackSlug))
    .where(
      and(
        sql`${deployments.createdAt} > ${older.createdAt}`,
        inArray(deployments.status, ['accepted', 'deploying', 'running']),
      ),
    )
    .limit(1);
  return newer?.id;
}
