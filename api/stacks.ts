/** Routes of stacks, each seen through its newest deployment: `/stacks`. */
import { Hono } from 'hono';
import { z } from 'zod';
import { stackSlug } from '../core/names';
import { redactStack } from '../core/secrets';
import {
  isActiveStatus,
  listStacksPage,
  newestDeployment,
  type Deployment,
  type StackSummary,
} from '../db/repository';
import type { AppDeps, AppEnv } from './context';
import { acceptDeployment } from './deployments';
import { ApiError, NotFoundError, WorkflowClosedError } from './errors';
import { newTeardownId } from './ids';
import type { PlacementPlan } from '../core/placement';
import { planStack, UnplaceableError } from './placement';
import { parseDeploymentStack, parseRequestStack, readDeploymentRequest } from './stack-request';
import { readJson, validate } from './validation';

import { deploymentDetail, deploymentPath, stackPath, temporalUiLink } from './views';
import { pageFields, pageQuerySchema } from './pagination';

/** Query of `DELETE /stacks/{name}`. */
export const teardownQuerySchema = z.object({
  keepVolumes: z
    .enum(['true', 'false'], { error: 'must be true or false' })
    .optional()
    .transform((value) => value === 'true')
    .describe('`true` keeps the named volumes of the stack and their data; networks are removed either way.'),
});

/** Query of `GET /stacks`; cursors are stack slugs, in slug order. */
export const stackListQuerySchema = pageQuerySchema(/^[a-z0-9][a-z0-9_.-]{0,127}$/);

function stackView(summary: StackSummary) {
  return {
    ...summary,
    links: { self: stackPath(summary.stackSlug), deployment: deploymentPath(summary.deploymentId) },
  };
}

async function findStack(deps: AppDeps, name: string): Promise<Deployment> {
  const newest = await newestDeployment(deps.db, stackSlug(name));
  if (newest) return newest;
  throw new NotFoundError(`stack "${name}" has no deployment; GET /stacks lists the known stacks`);
}

/**
 * Requests cancellation of a deploy that may still be running, so it stops creating
 * containers and rolls back. Returns whether a cancellation was requested.
 *
 * The teardown does not wait for the rollback. A container the cancelled deploy creates
 * after the teardown listed the hosts is still removed, by that deploy's own rollback,
 * which waits for its in-flight activities before it looks for their containers. Both
 * may remove one container at once, which is safe because removal is idempotent.
 */
async function cancelActiveDeploy(deps: AppDeps, row: Deployment): Promise<boolean> {
  if (!isActiveStatus(row.status)) return false;
  try {
    await deps.deployer.cancel(row.workflowId, row.runId ?? undefined);
    return true;
  } catch (error) {
    if (!(error instanceof WorkflowClosedError)) throw error;
    const fields = { deploymentId: row.id, workflowId: row.workflowId };
    deps.logger.info(fields, 'deploy workflow had already closed, so only the teardown starts');
    return false;
  }
}

/** Creates the `/stacks` sub-app. The `:name` parameter is a stack name or its slug. */
export function stackRoutes(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  // Reads a stack exactly as a deploy would, against the registered hosts, and deploys nothing.
  app.post('/validate', async (c) => {
    const request = readDeploymentRequest(await readJson(c));
    const result = await parseRequestStack(deps.db, request);
    let plan: PlacementPlan | null = null;
    if (result.stack) {
      try {
        plan = await planStack(deps, result.stack, stackSlug(result.stack.name));
      } catch (error) {
        if (!(error instanceof UnplaceableError)) throw error;
        result.errors.push(...(error.details ?? []));
      }
    }
    const valid = result.errors.length === 0;
    return c.json({
      valid,
      stack: valid && result.stack ? redactStack(result.stack) : null,
      plan,
      errors: result.errors,
      warnings: result.warnings,
    });
  });

  // Plans a stack on the registered hosts with their live figures, and deploys nothing. Ties
  // break by the stack's slug here, and by the deployment id in a real deploy.
  app.post('/plan', async (c) => {
    const request = readDeploymentRequest(await readJson(c));
    const { stack, warnings } = await parseDeploymentStack(deps.db, request);
    const plan = await planStack(deps, stack, stackSlug(stack.name));
    return c.json({ stackName: stack.name, strategy: stack.placement, plan, warnings });
  });

  app.get('/', async (c) => {
    const query = validate(stackListQuerySchema, c.req.query(), 'query', 'query');
    const page = await listStacksPage(deps.db, { limit: query.limit, after: query.cursor });
    return c.json({ items: page.items.map(stackView), ...pageFields('/stacks', page.nextCursor, query) });
  });

  app.get('/:name', async (c) => {
    const row = await findStack(deps, c.req.param('name'));
    return c.json(await deploymentDetail(deps, row));
  });

  // Deploys the stack again from the spec its newest deployment stored. Secret values are stored
  // redacted, so a stack that has any must be deployed from its document with the variables.
  app.post('/:name/redeploy', async (c) => {
    const row = await findStack(deps, c.req.param('name'));
    const withSecrets = row.spec.services.filter((service) => (service.secretEnvironment ?? []).length > 0);
    if (withSecrets.length > 0) {
      const names = withSecrets.map((service) => service.name).join(', ');
      throw new ApiError(
        409,
        'secrets_not_stored',
        `stack "${row.stackName}" has secret values in ${names}, which are stored only redacted; ` +
          'deploy its document again with POST /deployments and secretVariables',
      );
    }
    // NOTE: the spec is the normalized form that the version which wrote the row stored. A row
    // written by an older version lacks the fields added since, and the workflow reads them as absent.
    const accepted = await acceptDeployment(deps, row.spec, row.warnings);
    c.header('Location', accepted.links.self);
    return c.json(accepted, 202);
  });

  app.delete('/:name', async (c) => {
    const { keepVolumes } = validate(teardownQuerySchema, c.req.query(), 'query', 'query');
    const row = await findStack(deps, c.req.param('name'));
    const cancelled = await cancelActiveDeploy(deps, row);
    const teardownId = newTeardownId();
    const ref = await deps.deployer.teardown(row.stackName, teardownId, { keepVolumes });
    const cancelledDeploymentId = cancelled ? row.id : undefined;
    const fields = { stack: row.stackSlug, teardownId, workflowId: ref.workflowId };
    deps.logger.info({ ...fields, cancelledDeploymentId }, 'teardown started');

    c.header('Location', stackPath(row.stackSlug));
    return c.json(
      {
        teardownId,
        stackName: row.stackName,
        workflowId: ref.workflowId,
        runId: ref.runId,
        cancelledDeploymentId,
        links: {
          self: stackPath(row.stackSlug),
          temporalUi: temporalUiLink(deps, ref.workflowId, ref.runId),
        },
      },
      202,
    );
  });

  return app;
}
