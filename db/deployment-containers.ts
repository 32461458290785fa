/** Repository functions for the host map: the containers of each deployment. */
import { asc, eq } from 'drizzle-orm';
import type { Database } from './client';
import { deploymentContainers } from './schema';

/** One container of a deployment as stored. */
export type DeploymentContainer = typeof deploymentContainers.$inferSelect;

/** A container row without its deployment id, which the caller passes separately. */
export type NewDeploymentContainer = Omit<DeploymentContainer, 'deploymentId'>;

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
