/** Routes of deployments: `/deployments`. */
import { Hono } from 'hono';
import { z } from 'zod';
import type { StackIssue, StackSpec } from '../core/model';
import { stackSlug } from '../core/names';
import { redactStack } from '../core/secrets';
import {
  ACTIVE_DEPLOYMENT_STATUSES,
  deleteDeployment,
  getDeployment,
  insertDeployment,
  isActiveStatus,
  listDeployments,
  newestDeployment,
  setDeploymentRunId,
  type Deployment,
} from '../db/repository';
import { deployWorkflowId } from '../workflows/contract';
import type { AppDeps, AppEnv } from './context';
import type { WorkflowRef } from './deployer';
import {
  DeploymentFinishedError,
  NotFoundError,
  StackBusyError,
  StackRunningError,
  WorkflowClosedError,
} from './errors';
import { newDeploymentId } from './ids';
import { pageCursor, pageFields, pageLimit } from './pagination';
import { planStack } from './placement';
import { parseDeploymentStack, readDeploymentRequest } from './stack-request';
import { readJson, validate } from './validation';
import { deploymentDetail, deploymentPath, deploymentSummary, temporalUiLink } from './views';

/** Query of `GET /deployments`; cursors are deployment ids, newest first. */
export const listQuerySchema = z.object({
  limit: pageLimit,
  cursor: pageCursor(/^[a-z]+_[0-9a-z]+$/),
  stack: z
    .string()
    .min(1, 'must not be empty')
    .optional()
    .describe('Only deployments of the stack with this name or slug.'),
});

function deploymentNotFound(id: string): NotFoundError {
  return new NotFoundError(`deployment "${id}" was not found; GET /deployments lists deployments`);
}

/**
 * Starts the deploy workflow. When it cannot start, the row is deleted so no deployment
 * stays `accepted` without a workflow, and a busy stack is reported with the deployment
 * whose workflow is running.
 */
async function startWorkflow(deps: AppDeps, row: Deployment, stack: StackSpec): Promise<WorkflowRef> {
  try {
    return await deps.deployer.start({ deploymentId: row.id, stack });
  } catch (error) {
    await deleteDeployment(deps.db, row.id);
    if (!(error instanceof StackBusyError)) throw error;

    // The running workflow's memo names its deployment; a workflow started before deployments
    // carried one is matched to the newest active row instead.
    if (error.info.runningDeploymentId) throw error;
    const running = await newestDeployment(deps.db, row.stackSlug, ACTIVE_DEPLOYMENT_STATUSES);
    const info = { ...error.info, runningDeploymentId: running?.id };
    throw new StackBusyError(info, { cause: error.cause ?? error });
  }
}

async function checkNotRunning(deps: AppDeps, stack: StackSpec): Promise<void> {
  const slug = stackSlug(stack.name);
  const running = await newestDeployment(deps.db, slug, ['running']);
  if (running) throw new StackRunningError(stack.name, slug, running.id);
}

/**
 * Records a deployment of a parsed stack and starts its deploy workflow. Returns the body of the
 * 202 response.
 *
 * @throws StackRunningError while the stack runs, UnplaceableError when some service fits on
 *   no host now, and StackBusyError while a workflow of the stack runs.
 */
export async function acceptDeployment(deps: AppDeps, stack: StackSpec, warnings: StackIssue[]) {
  await checkNotRunning(deps, stack);
  // The workflow plans again with fresh figures; this check only rejects a stack that fits nowhere now.
  const id = newDeploymentId();
  await planStack(deps, stack, id);

  const row = await insertDeployment(deps.db, {
    id,
    stackName: stack.name,
    stackSlug: stackSlug(stack.name),
    workflowId: deployWorkflowId(stack.name),
    strategy: stack.placement,
    // The workflow gets the real values; the row keeps secret ones redacted.
    spec: redactStack(stack),
    warnings,
  });
  const log = deps.logger.child({ deploymentId: row.id, stack: row.stackSlug });
  const ref = await startWorkflow(deps, row, stack);
  const updated = await setDeploymentRunId(deps.db, row.id, ref.runId);
  log.info({ workflowId: ref.workflowId, runId: ref.runId }, 'deployment accepted');

  return {
    deploymentId: row.id,
    workflowId: ref.workflowId,
    runId: ref.runId,
    status: updated.status,
    warnings,
    links: {
      self: deploymentPath(row.id),
      temporalUi: temporalUiLink(deps, ref.workflowId, ref.runId),
    },
  };
}

/** Creates the `/deployments` sub-app. */
export function deploymentRoutes(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.post('/', async (c) => {
    const request = readDeploymentRequest(await readJson(c));
    const { stack, warnings } = await parseDeploymentStack(deps.db, request);
    const accepted = await acceptDeployment(deps, stack, warnings);
    c.header('Location', accepted.links.self);
    return c.json(accepted, 202);
  });

  app.get('/', async (c) => {
    const query = validate(listQuerySchema, c.req.query(), 'query', 'query');
    const page = await listDeployments(deps.db, {
      limit: query.limit,
      cursor: query.cursor,
      stackSlug: query.stack === undefined ? undefined : stackSlug(query.stack),
    });
    return c.json({
      items: page.items.map((row) => deploymentSummary(deps, row)),
      ...pageFields('/deployments', page.nextCursor, query),
    });
  });

  app.get('/:id', async (c) => {
    const id = c.req.param('id');
    const row = await getDeployment(deps.db, id);
    if (!row) throw deploymentNotFound(id);
    return c.json(await deploymentDetail(deps, row));
  });

  app.post('/:id/cancel', async (c) => {
    const id = c.req.param('id');
    const row = await getDeployment(deps.db, id);
    if (!row) throw deploymentNotFound(id);
    if (!isActiveStatus(row.status)) throw new DeploymentFinishedError(row.id, row.status);

    await cancelWorkflow(deps, row);
    const fields = { deploymentId: row.id, workflowId: row.workflowId };
    deps.logger.info(fields, 'cancellation requested');
    return c.json(
      {
        deploymentId: row.id,
        status: row.status,
        cancelRequested: true,
        links: { self: deploymentPath(row.id) },
      },
      202,
    );
  });

  return app;
}

async function cancelWorkflow(deps: AppDeps, row: Deployment): Promise<void> {
  try {
    await deps.deployer.cancel(row.workflowId, row.runId ?? undefined);
  } catch (error) {
    // The row may lag behind a workflow that has just closed; the workflow records the outcome.
    if (error instanceof WorkflowClosedError) throw new DeploymentFinishedError(row.id);
    throw error;
  }
}
