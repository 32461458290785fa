/**
 * The orphan audit: `/orphans`. An orphan is a container that carries Graphium's labels on a
 * registered host but belongs to no running or starting deployment. Rollbacks and teardowns that
 * could not reach a host leave orphans, and so do deployments whose record was lost.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { removeById } from '../activities/containers';
import { dockerFor, dockerMessage, hostErrorMessage, withTimeout } from '../activities/docker';
import type { HostRecord } from '../core/model';
import { LABELS } from '../core/names';
import { deploymentStatuses, listHosts, toHostRecord } from '../db/repository';
import type { DeploymentStatus } from '../db/schema';
import type { AppDeps, AppEnv } from './context';
import { readJson, validate } from './validation';

/** Statuses whose containers are meant to exist. */
const LIVE_STATUSES: readonly DeploymentStatus[] = ['accepted', 'deploying', 'running'];

/** Time limit for listing one host's containers, so a dead host delays the audit by this much at most. */
const LIST_TIMEOUT_MS = 5_000;

export interface Orphan {
  host: string;
  containerId: string;
  containerName: string;
  /** Docker's state, such as `running` or `exited`. */
  state: string;
  stack: string;
  service: string;
  deploymentId: string;
  /** Status of the deployment the container belongs to; null when no such deployment is recorded. */
  deploymentStatus: DeploymentStatus | null;
}

export interface OrphanAudit {
  orphans: Orphan[];
  /** Hosts whose containers could not be listed, which the audit therefore does not cover. */
  unreachable: { host: string; error: string }[];
  hostsChecked: number;
}

/** Lists the orphans on every registered host, hosts in parallel. */
export async function auditOrphans(deps: Pick<AppDeps, 'db'>): Promise<OrphanAudit> {
  const hosts = (await listHosts(deps.db)).map(toHostRecord);
  const found: Omit<Orphan, 'deploymentStatus'>[] = [];
  const unreachable: OrphanAudit['unreachable'] = [];
  await Promise.all(
    hosts.map(async (host) => {
      try {
        found.push(...(await managedContainers(host)));
      } catch (error) {
        unreachable.push({ host: host.name, error: hostErrorMessage(host, error) });
      }
    }),
  );
  const statuses = await deploymentStatuses(deps.db, [...new Set(found.map((c) => c.deploymentId))]);
  const orphans = found
    .map((container) => ({ ...container, deploymentStatus: statuses.get(container.deploymentId) ?? null }))
    .filter((container) => !container.deploymentStatus || !LIVE_STATUSES.includes(container.deploymentStatus))
    .sort((a, b) => a.host.localeCompare(b.host) || a.containerName.localeCompare(b.containerName));
  unreachable.sort((a, b) => a.host.localeCompare(b.host));
  return { orphans, unreachable, hostsChecked: hosts.length };
}

async function managedContainers(host: HostRecord): Promise<Omit<Orphan, 'deploymentStatus'>[]> {
  const listed = await withTimeout(
    dockerFor(host).listContainers({ all: true, filters: { label: [`${LABELS.managed}=true`] } }),
    LIST_TIMEOUT_MS,
    `listing the containers of host ${host.name}`,
  );
  return listed.map((container) => ({
    host: host.name,
    containerId: container.Id,
    containerName: container.Names[0]?.replace(/^\//, '') ?? container.Id,
    state: container.State,
    stack: container.Labels[LABELS.stack] ?? '',
    service: container.Labels[LABELS.service] ?? '',
    deploymentId: container.Labels[LABELS.deployment] ?? '',
  }));
}

export const orphanRemoveSchema = z
  .object({
    containerIds: z
      .array(
        z
          .string()
          .regex(
            /^([0-9a-f]{12}|[0-9a-f]{64})$/,
            'must be a 12 or 64 character container id from GET /orphans',
          ),
      )
      .min(1, 'must list at least one container id')
      .max(1000, 'must list at most 1000 container ids')
      .optional(),
    all: z.literal(true, { error: 'must be true, or left out' }).optional(),
  })
  .strict()
  .refine((body) => (body.containerIds === undefined) !== (body.all === undefined), {
    message: 'give either "containerIds" (ids from GET /orphans) or "all": true',
  });

/** Creates the `/orphans` sub-app. */
export function orphanRoutes(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get('/', async (c) => c.json(await auditOrphans(deps)));

  // Audits again before removing, so a container whose deployment started running since the
  // operator's listing is never removed. Ids that are no longer orphans are reported as skipped.
  app.post('/remove', async (c) => {
    const body = validate(orphanRemoveSchema, await readJson(c), 'orphan removal');
    const audit = await auditOrphans(deps);
    const hosts = new Map((await listHosts(deps.db)).map((host) => [host.name, toHostRecord(host)]));
    const requested = body.all ? undefined : new Set(body.containerIds);
    const chosen = audit.orphans.filter(
      (orphan) =>
        !requested || requested.has(orphan.containerId) || requested.has(orphan.containerId.slice(0, 12)),
    );
    const matched = new Set(
      chosen.flatMap((orphan) => [orphan.containerId, orphan.containerId.slice(0, 12)]),
    );
    const skipped = [...(requested ?? [])]
      .filter((id) => !matched.has(id))
      .map((containerId) => ({ containerId, reason: 'not an orphan on any host the audit reached' }));

    const removed: Orphan[] = [];
    const failed: (Orphan & { error: string })[] = [];
    await Promise.all(
      chosen.map(async (orphan) => {
        try {
          await removeById(dockerFor(hosts.get(orphan.host)!), orphan.containerId);
          removed.push(orphan);
        } catch (error) {
          deps.logger.warn(
            { host: orphan.host, containerId: orphan.containerId, err: error },
            'orphan removal failed',
          );
          failed.push({ ...orphan, error: dockerMessage(error) });
        }
      }),
    );
    deps.logger.info(
      { removed: removed.map((o) => `${o.host}/${o.containerName}`), failed: failed.length },
      'orphans removed',
    );
    return c.json({ removed, failed, skipped, unreachable: audit.unreachable });
  });

  return app;
}
