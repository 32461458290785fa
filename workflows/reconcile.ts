/**
 * Reconciliation of a rolled back deployment: removes, by label, what its rollback could not
 * reach, retrying each host until it responds again. Workflow code:
 * deterministic, no I/O.
 */
import { log, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { LeftoversRemoved } from '../activities/leftovers';
import type { HostRecord } from '../core/model';
import { causeChain } from './compensation';
import { DEFAULT_DEADLINES, ERROR_TYPES } from './contract';

export interface ReconcileInput {
  deploymentId: string;
  /** The hosts the rollback could not clean, as registered when the deployment ran. */
  hosts: HostRecord[];
  /** Maximum pause between attempts on a host that does not respond. Default: 60. */
  retrySeconds?: number;
}

export function reconcileWorkflowId(deploymentId: string): string {
  return `graphium-reconcile-${deploymentId}`;
}

const records = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '30s' },
});

/**
 * Removes the deployment's leftovers on each host, retrying a host until it responds. Hosts run
 * in parallel, so a host that stays down delays none of the others. A host removed from the
 * registry meanwhile ends its part with an error. The result, with what could not be removed and
 * why, is stored in the deployment's rollback report.
 */
export async function reconcileDeployment(input: ReconcileInput): Promise<LeftoversRemoved[]> {
  const retrySeconds = input.retrySeconds ?? DEFAULT_DEADLINES.reconcileRetrySeconds;
  const leftovers = proxyActivities<Activities>({
    startToCloseTimeout: '2m',
    heartbeatTimeout: '30s',
    retry: {
      initialInterval: '1s',
      backoffCoefficient: 2,
      maximumInterval: `${retrySeconds}s`,
      nonRetryableErrorTypes: [ERROR_TYPES.hostNotFound],
    },
  });
  const workflowId = reconcileWorkflowId(input.deploymentId);
  const failed: { host: string; error: string }[] = [];
  const removed = await Promise.all(
    input.hosts.map(async (host): Promise<LeftoversRemoved> => {
      try {
        return await leftovers.removeDeploymentLeftovers({ host, deploymentId: input.deploymentId });
      } catch (error) {
        const message = causeChain(error).join(': ');
        log.error('reconciliation failed on a host', { host: host.name, error: message });
        failed.push({ host: host.name, error: message });
        return { host: host.name, containers: [], resources: [] };
      }
    }),
  );
  const complete = failed.length === 0 && removed.every((r) => !r.left || r.left.length === 0);
  await records.recordReconciliation({
    deploymentId: input.deploymentId,
    reconciliation: {
      status: complete ? 'done' : 'incomplete',
      workflowId,
      hosts: input.hosts.map((h) => h.name),
      removed,
      ...(failed.length > 0 ? { failed } : {}),
      finishedAt: new Date().toISOString(),
    },
  });
  return removed;
}
