/** Response bodies built from database rows, shared by the deployment and stack routes. */
import {
  getDeployment,
  isActiveStatus,
  updateDeployment,
  listDeploymentContainers,
  type Deployment,
  type DeploymentContainer,
} from '../db/repository';
import { redactStack } from '../core/secrets';
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
 * Marks a deployment as failed when its workflow has closed without recording an outcome,
 * which happens when it is terminated or times out in Temporal. Otherwise the row would
 * read `deploying` forever. Returns the row as it now is.
 */
async function reconcileClosedWorkflow(deps: AppDeps, row: Deployment): Promise<Deployment> {
  let status: string;
  try {
    status = await deps.deployer.describe(row.workflowId, row.runId ?? undefined);
  } catch (error) {
    deps.logger.warn({ err: error, deploymentId: row.id }, 'describing the deploy workflow failed');
    return row;
  }
  if (status === 'RUNNING') return row;
  // The workflow records its own outcome before it closes, so read the row again first.
  const current = (await getDeployment(deps.db, row.id)) ?? row;
  if (!isActiveStatus(current.status)) return current;
  const failure = [
    `the deploy workflow ended as ${status} in Temporal without recording an outcome; containers it ` +
      `created may remain, so remove the stack with DELETE /stacks/${row.stackSlug}`,
  ];
  deps.logger.warn(
    { deploymentId: row.id, workflowStatus: status },
    'deploy workflow closed without an outcome',
  );
  return updateDeployment(deps.db, row.id, { status: 'failed', failure });
}

/**
 * Builds the full view of one deployment: the row, its containers and, while the deploy workflow
 * may still run, the live progress from Temporal. A failed or timed-out progress query is
 * not an error, so `progress` is then left out.
 */
export async function deploymentDetail(deps: AppDeps, stored: Deployment) {
  let row = stored;
  let progress: Awaited<ReturnType<typeof queryProgress>>;
  if (isActiveStatus(row.status)) {
    progress = await queryProgress(deps, row);
    if (!progress) row = await reconcileClosedWorkflow(deps, row);
  }
  const containers = await listDeploymentContainers(deps.db, row.id);

  return {
    ...deploymentSummary(deps, row),
    // Rows are stored redacted; redacting again guards rows written by another path.
    spec: redactStack(row.spec),
    warnings: row.warnings,
    placement: row.placement,
    failure: row.failure,
    compensation: row.compensation,
    resources: row.resources ?? [],
    ...(progress ? { progress } : {}),
    containers: containers.map(containerView),
  };
}
