/** Repository functions for deployments, one row per deploy request. */
import { and, desc, eq, gt, inArray, lt, sql, type SQL } from 'drizzle-orm';
import type { StackIssue, StackSpec } from '../core/model';
import type { Database } from './client';
import { DeploymentNotFoundError } from './errors';
import type { Page } from './hosts';
import { deploymentContainers, deployments, type DeploymentStatus } from './schema';

/** A deployment row as stored. */
export type Deployment = typeof deployments.$inferSelect;

/** Statuses in which the deploy workflow may still be running. */
export const ACTIVE_DEPLOYMENT_STATUSES: readonly DeploymentStatus[] = ['accepted', 'deploying'];

/** Statuses that end the deploy workflow; entering one sets `finishedAt`. */
export const FINISHED_DEPLOYMENT_STATUSES: readonly DeploymentStatus[] = [
  'running',
  'rolled_back',
  'cancelled',
  'failed',
];

/** Returns true while the deploy workflow of a deployment in `status` may still be running. */
export function isActiveStatus(status: DeploymentStatus): boolean {
  return ACTIVE_DEPLOYMENT_STATUSES.includes(status);
}

export interface NewDeployment {
  id: string;
  stackName: string;
  stackSlug: string;
  workflowId: string;
  strategy: string;
  spec: StackSpec;
  /** Default: `[]`. */
  warnings?: StackIssue[];
  /** Default: `accepted`. */
  status?: DeploymentStatus;
  runId?: string;
}

/** Inserts a deployment, by default in status `accepted`. */
export async function insertDeployment(db: Database, deployment: NewDeployment): Promise<Deployment> {
  const rows = await db
    .insert(deployments)
    .values({ status: 'accepted', ...deployment })
    .returning();
  return rows[0];
}

/** Returns the deployment with `id`, or undefined when there is none. */
export async function getDeployment(db: Database, id: string): Promise<Deployment | undefined> {
  const rows = await db.select().from(deployments).where(eq(deployments.id, id));
  return rows[0];
}

/** Deletes a deployment and its container rows. Returns false when there was none. */
export async function deleteDeployment(db: Database, id: string): Promise<boolean> {
  const rows = await db.delete(deployments).where(eq(deployments.id, id)).returning({ id: deployments.id });
  return rows.length > 0;
}

export interface ListDeploymentsOptions {
  /** Page size. Default: 50. */
  limit?: number;
  /** The `nextCursor` of the previous page; absent starts at the newest deployment. */
  cursor?: string;
  /** Only deployments of this stack slug. Default: every stack. */
  stackSlug?: string;
}

export interface DeploymentPage {
  items: Deployment[];
  /** Pass as `cursor` for the next page; absent on the last page. */
  nextCursor?: string;
}

/**
 * Lists deployments newest first. Pages are keyed by id, which starts with the creation
 * time, so rows inserted while a client pages through do not shift later pages.
 */
export async function listDeployments(
  db: Database,
  options: ListDeploymentsOptions = {},
): Promise<DeploymentPage> {
  const limit = options.limit ?? 50;
  const filters: SQL[] = [];
  if (options.cursor) filters.push(lt(deployments.id, options.cursor));
  if (options.stackSlug) filters.push(eq(deployments.stackSlug, options.stackSlug));

  // One extra row shows whether another page exists, so no count query is needed.
  const rows = await db
    .select()
    .from(deployments)
    .where(and(...filters))
    .orderBy(desc(deployments.id))
    .limit(limit + 1);
  const items = rows.slice(0, limit);
  const nextCursor = rows.length > limit ? items[items.length - 1].id : undefined;
  return { items, nextCursor };
}

/**
 * Returns the newest deployment of a stack, or undefined when it has none.
 *
 * @param statuses - Only consider deployments in one of these statuses. Default: any status.
 */
export async function newestDeployment(
  db: Database,
  stackSlug: string,
  statuses?: readonly DeploymentStatus[],
): Promise<Deployment | undefined> {
  const filters: SQL[] = [eq(deployments.stackSlug, stackSlug)];
  if (statuses) filters.push(inArray(deployments.status, [...statuses]));
  const rows = await db
    .select()
    .from(deployments)
    .where(and(...filters))
    .orderBy(desc(deployments.createdAt), desc(deployments.id))
    .limit(1);
  return rows[0];
}

/** The newest deployment of one stack, as listed by `listStacks`. */
export interface StackSummary {
  stackSlug: string;
  stackName: string;
  deploymentId: string;
  status: DeploymentStatus;
  strategy: string;
  /** Distinct hosts that run a container of the newest deployment. */
  hostCount: number;
  updatedAt: Date;
}

/**
 * Lists stacks that have a deployment, sorted by slug, each with its newest deployment.
 * Without `limit` every stack is listed; with it, `limit` stacks after the slug `after`.
 */
export async function listStacks(
  db: Database,
  options: { limit?: number; after?: string } = {},
): Promise<StackSummary[]> {
  const hostCount = sql<number>`(
    select count(distinct ${deploymentContainers.hostName})::int
    from ${deploymentContainers}
    where ${deploymentContainers.deploymentId} = ${deployments.id}
  )`.mapWith(Number);

  const query = db
    .selectDistinctOn([deployments.stackSlug], {
      stackSlug: deployments.stackSlug,
      stackName: deployments.stackName,
      deploymentId: deployments.id,
      status: deployments.status,
      strategy: deployments.strategy,
      hostCount,
      updatedAt: deployments.updatedAt,
    })
    .from(deployments)
    .where(options.after === undefined ? undefined : gt(deployments.stackSlug, options.after))
    .orderBy(deployments.stackSlug, desc(deployments.createdAt), desc(deployments.id));
  return options.limit === undefined ? query : query.limit(options.limit);
}

/** Lists stacks as `listStacks` does, one page of `limit` at a time after the slug `after`. */
export async function listStacksPage(
  db: Database,
  options: { limit: number; after?: string },
): Promise<Page<StackSummary>> {
  const rows = await listStacks(db, { limit: options.limit + 1, after: options.after });
  const items = rows.slice(0, options.limit);
  const nextCursor = rows.length > options.limit ? items[items.length - 1]!.stackSlug : undefined;
  return { items, nextCursor };
}

/** Fields a workflow or the API may change after the insert. */
export interface DeploymentPatch {
  status?: DeploymentStatus;
  runId?: string;
  placement?: unknown;
  failure?: string[];
  compensation?: unknown;
}

/**
 * Updates the given fields and `updatedAt`, and sets `finishedAt` when the status becomes
 * one of FINISHED_DEPLOYMENT_STATUSES. Fields absent from `patch` are left unchanged.
 *
 * @throws DeploymentNotFoundError when no deployment has that id.
 */
export async function updateDeployment(
  db: Database,
  id: string,
  patch: DeploymentPatch,
): Promise<Deployment> {
  const now = new Date();
  const finishes = patch.status !== undefined && FINISHED_DEPLOYMENT_STATUSES.includes(patch.status);
  const rows = await db
    .update(deployments)
    .set({ ...patch, updatedAt: now, ...(finishes ? { finishedAt: now } : {}) })
    .where(eq(deployments.id, id))
    .returning();
  if (rows.length === 0) throw new DeploymentNotFoundError(id);
  return rows[0];
}

/** Sets the status; see `updateDeployment`. */
export function updateDeploymentStatus(
  db: Database,
  id: string,
  status: DeploymentStatus,
): Promise<Deployment> {
  return updateDeployment(db, id, { status });
}

/** Records the Temporal run id of the deploy workflow. */
export function setDeploymentRunId(db: Database, id: string, runId: string): Promise<Deployment> {
  return updateDeployment(db, id, { runId });
}

/** Records the placement plan: the chosen host per service with the reasons. */
export function recordPlacement(db: Database, id: string, placement: unknown): Promise<Deployment> {
  return updateDeployment(db, id, { placement });
}

/** Records the failure cause chain, outermost first. */
export function recordFailure(db: Database, id: string, failure: string[]): Promise<Deployment> {
  return updateDeployment(db, id, { failure });
}

/** Records what the rollback removed and what it could not remove. */
export function recordCompensation(db: Database, id: string, compensation: unknown): Promise<Deployment> {
  return updateDeployment(db, id, { compensation });
}

/** Returns the status of each deployment in `ids` that exists, keyed by id. */
export async function deploymentStatuses(
  db: Database,
  ids: readonly string[],
): Promise<Map<string, DeploymentStatus>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .select({ id: deployments.id, status: deployments.status })
    .from(deployments)
    .where(inArray(deployments.id, [...ids]));
  return new Map(rows.map((row) => [row.id, row.status]));
}
