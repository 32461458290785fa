import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { stackSlug } from '../core/names';
import { ERROR_TYPES, type TeardownInput, type TeardownResult } from './contract';

const hosts = proxyActivities<Activities>({
  startToCloseTimeout: '60s',
  scheduleToCloseTimeout: '5m',
  retry: {
    initialInterval: '500ms',
    maximumInterval: '15s',
    nonRetryableErrorTypes: [ERROR_TYPES.hostNotFound],
  },
});

/**
 * Remove every container of a stack from every registered host. Containers are
 * found by the stack label alone, so containers left by any earlier deployment
 * of the stack go too, and a stack whose name merely starts the same is untouched.
 */
export async function teardownStack(input: TeardownInput): Promise<TeardownResult> {
  const slug = stackSlug(input.stackName);
  await hosts.recordStackRemoving({ stackSlug: slug });
  const { containers, unreachable } = await hosts.listStackContainers({ stackSlug: slug });
  const result: TeardownResult = { removed: [], failed: [] };
  await Promise.all(
    containers.map(async (container) => {
      try {
        await hosts.removeContainerById({ host: container.host, containerId: container.containerId });
        result.removed.push({ host: container.host, containerName: container.containerName });
      } catch (error) {
        const message =
          error instanceof Error
            ? ((error.cause as Error | undefined)?.message ?? error.message)
            : String(error);
        result.failed.push({ host: container.host, containerName: container.containerName, error: message });
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
  if (result.failed.length > 0) {
    const message =
      `teardown of stack "${input.stackName}" left ${result.failed.length} container(s) or host(s) unchecked; ` +
      'run the teardown again once the hosts are reachable';
    const reasons = result.failed.map((f) => `${f.host}/${f.containerName}: ${f.error}`);
    await hosts.recordTeardownFailure({ stackSlug: slug, failure: [message, ...reasons] });
    throw ApplicationFailure.nonRetryable(message, 'TeardownIncomplete', result);
  }
  await hosts.recordStackRemoved({ stackSlug: slug });
  return result;
}
