/** Repository functions for the host map: the containers of each deployment. */
import { and, asc, eq, inArray } from 'drizzle-orm';
import type { Database } from './client';
import { deploymentContainers, deployments } from './schema';

/** One container of a deployment as stored. */
export type DeploymentContainer = typeof deploymentContainers.$inferSelect;

/** A container row without its deployment id, which the caller passes separately; `actions` defaults to none. */
export type NewDeploymentContainer = Omit<typeof deploymentContainers.$inferInsert, 'deploymentId'>;

/**
 * Replaces the container rows of a deployment with `containers`, in one transaction so
 * readers never see a partial host map.
 */
export async function replaceDeploymentContainers(
  db: Database,
  deploymentId: string,
  containers: NewDeploymentContainer[],
): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.delete(deploymentContainers).where(eq(deploymentContainers.deploymentId, deploymentId));
    if (containers.length === 0) return;
    const rows = containers.map((container) => ({ ...container, deploymentId }));
    await tx.insert(deploymentContainers).values(rows);
  });
}

/** Lists the containers of a deployment in service order. */
export async function listDeploymentContainers(
  db: Database,
  deploymentId: string,
): Promise<DeploymentContainer[]> {
  return db
    .select()
    .from(deploymentContainers)
    .where(eq(deploymentContainers.deploymentId, deploymentId))
    .orderBy(asc(deploymentContainers.position), asc(deploymentContainers.service));
}

/**
 * Lists the deployments that still run containers on a host, or may place some there
 * because they are still deploying, one row per deployment.
 */
export async function deploymentsUsingHost(
  db: Database,
  hostName: string,
): Promise<{ deploymentId: string; stackName: string; status: string }[]> {
  const withContainers = await db
    .selectDistinct({
      deploymentId: deployments.id,
      stackName: deployments.stackName,
      status: deployments.status,
    })
    .from(deploymentContainers)
    .innerJoin(deployments, eq(deployments.id, deploymentContainers.deploymentId))
    .where(
      and(eq(deploymentContainers.hostName, hostName), inArray(deployments.status, ['running', 'removing'])),
    );
  const deploying = await db
    .select({
      deploymentId: deployments.id,
      stackName: deployments.stackName,
      status: deployments.status,
      placement: deployments.placement,
    })
    .from(deployments)
    .where(inArray(deployments.status, ['accepted', 'deploying']));
  // A deployment still being planned may pick any host; a planned one uses only its assignments.
  const inFlight = deploying
    .filter(({ placement }) => {
      const assignments = (placement as { assignments?: Record<string, string> } | null)?.assignments;
      return !assignments || Object.values(assignments).includes(hostName);
    })
    .map(({ deploymentId, stackName, status }) => ({ deploymentId, stackName, status }));
  return [...withContainers, ...inFlight];
}
