/**
 * Removing what a rolled back deployment left on a host that could not be reached during the
 * rollback. Everything is found by the deployment's label, never by a recorded id, so a container
 * created by an attempt whose reply was lost is found too.
 */
import { log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { HostRecord } from '../core/model';
import { LABELS } from '../core/names';
import { ERROR_TYPES, type StackResource } from '../workflows/contract';
import { removeById, ROLLBACK_STOP_SECONDS } from './containers';
import { dockerFor } from './docker';
import { removeResource } from './resources';

export interface LeftoversInput {
  host: HostRecord;
  deploymentId: string;
  /**
   * A newer deployment of the same stack that is starting or running. It may use the networks and
   * volumes this deployment created, so those stay.
   */
  newerDeploymentId?: string;
}

export interface LeftoversRemoved {
  host: string;
  containers: string[];
  resources: StackResource[];
  /** Networks and volumes left in place, each with the reason. */
  left?: (StackResource & { reason: string })[];
}

/**
 * Removes every container of the deployment on the host, then the networks and volumes the
 * deployment created there. Running it again after a success removes nothing and succeeds.
 */
export async function removeDeploymentLeftovers({
  host,
  deploymentId,
  newerDeploymentId,
}: LeftoversInput): Promise<LeftoversRemoved> {
  const docker = dockerFor(host);
  const label = [`${LABELS.deployment}=${deploymentId}`, `${LABELS.managed}=true`];
  const removed: LeftoversRemoved = { host: host.name, containers: [], resources: [] };

  for (const container of await docker.listContainers({ all: true, filters: { label } })) {
    await removeById(docker, container.Id, ROLLBACK_STOP_SECONDS);
    removed.containers.push(container.Names[0]?.replace(/^\//, '') ?? container.Id);
  }

  const labels = { [LABELS.deployment]: deploymentId, [LABELS.managed]: 'true' };
  const networks = await docker.listNetworks({ filters: { label } });
  const volumes = (await docker.listVolumes({ filters: { label } })).Volumes ?? [];
  const resources: StackResource[] = [
    ...networks.map((n): StackResource => ({ kind: 'network', host: host.name, name: n.Name })),
    ...volumes.map((v): StackResource => ({ kind: 'volume', host: host.name, name: v.Name })),
  ];
  const left: (StackResource & { reason: string })[] = [];
  for (const resource of resources) {
    if (newerDeploymentId) {
      left.push({ ...resource, reason: `deployment ${newerDeploymentId} of the same stack may use it` });
      continue;
    }
    try {
      const result = await removeResource({ host, kind: resource.kind, name: resource.name, labels });
      if (result.removed) removed.resources.push(resource);
    } catch (error) {
      if (!(error instanceof ApplicationFailure) || error.type !== ERROR_TYPES.resourceInUse) throw error;
      left.push({ ...resource, reason: error.message });
    }
  }
  if (left.length > 0) removed.left = left;

  if (removed.containers.length > 0 || removed.resources.length > 0) {
    log.info('removed leftovers of a rolled back deployment', {
      deploymentId,
      host: host.name,
      containers: removed.containers,
      resources: removed.resources.map((r) => `${r.kind} ${r.name}`),
    });
  }
  return removed;
}
