import { ApplicationFailure, patched, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { stackSlug } from '../core/names';
import { ERROR_TYPES, type StackResource, type TeardownInput, type TeardownResult } from './contract';
import { upsertOutcome } from './search-attributes';

const hosts = proxyActivities<Activities>({
  startToCloseTimeout: '60s',
  scheduleToCloseTimeout: '5m',
  retry: {
    initialInterval: '500ms',
    maximumInterval: '15s',
    nonRetryableErrorTypes: [ERROR_TYPES.hostNotFound, ERROR_TYPES.resourceInUse],
  },
});

// Removing a container first waits up to 10 s for it to stop, heartbeating every 2 s, so a
// worker that dies mid-stop is noticed within the heartbeat timeout, not the 60 s start-to-close.
const removals = proxyActivities<Activities>({
  startToCloseTimeout: '60s',
  heartbeatTimeout: '15s',
  scheduleToCloseTimeout: '5m',
  retry: {
    initialInterval: '500ms',
    maximumInterval: '15s',
    nonRetryableErrorTypes: [ERROR_TYPES.hostNotFound, ERROR_TYPES.resourceInUse],
  },
});

/** Marks the change that made teardowns remove networks and volumes, so older teardowns still replay. */
const REMOVE_RESOURCES_PATCH = 'teardown-removes-networks-and-volumes';

/**
 * Stop and remove every container of a stack on the hosts its deployments used, then
 * its networks and, unless `keepVolumes` is set, its volumes. Everything is
 * found by the stack's labels alone, so what any earlier deployment of the
 * stack left goes too, and a stack whose name merely starts the same is untouched.
 */
export async function teardownStack(input: TeardownInput): Promise<TeardownResult> {
  const slug = stackSlug(input.stackName);
  await hosts.recordStackRemoving({ stackSlug: slug });
  const { containers, unreachable } = await hosts.listStackContainers({ stackSlug: slug });
  const result: TeardownResult = { removed: [], failed: [] };
  await Promise.all(
    containers.map(async (container) => {
      try {
        await removals.removeContainerById({ host: container.host, containerId: container.containerId });
        result.removed.push({ host: container.host, containerName: container.containerName });
      } catch (error) {
        result.failed.push({
          host: container.host,
          containerName: container.containerName,
          error: reason(error),
        });
      }
    }),
  );
  for (const host of unreachable) {
    result.failed.push({
      host: host.host,
      containerName: '(unknown)',
      error: `host unreachable: ${host.error}`,
    });
  }
  if (patched(REMOVE_RESOURCES_PATCH)) await removeResources(input, slug, result);

  const failures = result.failed.length + (result.failedResources?.length ?? 0);
  if (failures > 0) {
    const message =
      `teardown of stack "${input.stackName}" left ${failures} container(s), resource(s) or host(s) unchecked; ` +
      'run the teardown again once the hosts are reachable';
    const reasons = [
      ...result.failed.map((f) => `${f.host}/${f.containerName}: ${f.error}`),
      ...(result.failedResources ?? []).map((f) => `${f.host}/${f.kind} ${f.name}: ${f.error}`),
    ];
    upsertOutcome('teardown_failed');
    await hosts.recordTeardownFailure({ stackSlug: slug, failure: [message, ...reasons] });
    throw ApplicationFailure.nonRetryable(message, 'TeardownIncomplete', result);
  }
  upsertOutcome('removed');
  await hosts.recordStackRemoved({ stackSlug: slug });
  return result;
}

/**
 * Remove the stack's networks and volumes after its containers. A host where a container
 * could not be removed keeps its resources, because they would still be in use there.
 */
async function removeResources(input: TeardownInput, slug: string, result: TeardownResult): Promise<void> {
  result.removedResources = [];
  result.failedResources = [];
  result.keptVolumes = [];
  const blocked = new Set(result.failed.map((f) => f.host));
  const { resources, unreachable } = await hosts.listStackResources({ stackSlug: slug });
  for (const host of unreachable) {
    if (blocked.has(host.host)) continue;
    result.failed.push({
      host: host.host,
      containerName: '(unknown)',
      error: `host unreachable: ${host.error}`,
    });
  }
  const removable: StackResource[] = [];
  for (const resource of resources) {
    if (resource.kind === 'volume' && input.keepVolumes) result.keptVolumes.push(resource);
    else if (!blocked.has(resource.host)) removable.push(resource);
  }
  await Promise.all(
    removable.map(async (resource) => {
      try {
        const { removed } = await hosts.removeStackResource({ resource, stackSlug: slug });
        if (removed) result.removedResources!.push(resource);
      } catch (error) {
        result.failedResources!.push({ ...resource, error: reason(error) });
      }
    }),
  );
}

/** The cause of an activity failure, without the SDK's wrapper message. */
function reason(error: unknown): string {
  return error instanceof Error
    ? ((error.cause as Error | undefined)?.message ?? error.message)
    : String(error);
}
