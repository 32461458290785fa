/** Response bodies built from database rows, shared by the deployment and stack routes. */
import {
  isActiveStatus,
  listDeploymentContainers,
  type Deployment,
  type DeploymentContainer,
} from '../db/repository';
import type { AppDeps } from './context';

/** Link to a workflow run in the Temporal web UI; without a run id it opens the latest run. */
export function temporalUiLink(deps: AppDeps, workflowId: string, runId?: string | null): string {
  const workflow =
    `${deps.temporalUiUrl}/namespaces/${encodeURIComponent(deps.namespace)}` +
    `/workflows/${encodeURIComponent(workflowId)}`;
  return runId ? `${workflow}/${encodeURIComponent(runId)}/history` : workflow;
}

export function deploymentPath(id: string): string {
  return `/deployments/${encodeURIComponent(id)}`;
}

export function stackPath(slug: string): string {
  return `/stacks/${encodeURIComponent(slug)}`;
}

function deploymentLinks(deps: AppDeps, row: Deployment) {
  return {
    self: deploymentPath(row.id),
    stack: stackPath(row.stackSlug),
    temporalUi: temporalUiLink(deps, row.workflowId, row.runId),
  };
}

/** Builds the fields of a deployment shown in lists. */
export function deploymentSummary(deps: AppDeps, row: Deployment) {
  return {
    deploymentId: row.id,
    stackName: row.stackName,
    stackSlug: row.stackSlug,
    status: row.status,
    strategy: row.strategy,
    workflowId: row.workflowId,
    runId: row.runId,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    finishedAt: row.finishedAt,
    links: deploymentLinks(deps, row),
  };
}

function containerView(container: DeploymentContainer) {
  const { deploymentId: _deploymentId, ...fields } = container;
  return fields;
}

async function queryProgress(deps: AppDeps, row: Deployment) {
  try {
    return await deps.deployer.progress(row.workflowId, row.runId ?? undefined);
  } catch (error) {
    deps.logger.warn({ err: error, deploymentId: row.id }, 'progress query failed');
    return undefined;
  }
}

/**
 * Builds the full view of one deployment: the row, its containers and, while the deploy workflow
 * may still run, the live progress from Temporal. A failed or timed-out progress query is
 * not an error, so `progress` is then left out.
 */
export async function deploymentDetail(deps: AppDeps, row: Deployment) {
  const containers = await listDeploymentContainers(deps.db, row.id);
  const progress = isActiveStatus(row.status) ? await queryProgress(deps, row) : undefined;

  return {
    ...deploymentSummary(deps, row),
    spec: row.spec,
    warnings: row.warnings,
    placement: row.placement,
    failure: row.failure,
    compensation: row.compensation,
    ...(progress ? { progress } : {}),
    containers: containers.map(containerView),
  };
}
