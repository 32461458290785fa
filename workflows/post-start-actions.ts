/**
 * Running a service's post-start actions once it is healthy. Workflow code: deterministic, no I/O.
 */
import { ActivityCancellationType, ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ActionFailureDetails } from '../activities/actions';
import type { HostRecord, PostStartAction, ServiceSpec } from '../core/model';
import { causeChain } from './compensation';
import { ERROR_TYPES, type ActionProgress, type ServiceProgress } from './contract';

/** Time an action's activity gets beyond the action's own timeout, for Docker calls around the command. */
const ACTION_MARGIN_MS = 60_000;

/**
 * Returns the activities of one action, whose start-to-close timeout follows the action's own.
 * The command heartbeats every few seconds, so a lost worker is noticed within 30 s. Transient
 * failures retry up to 5 attempts in all, and each attempt runs the command again.
 */
function actionActivities(action: PostStartAction) {
  return proxyActivities<Activities>({
    startToCloseTimeout: action.timeoutMs + ACTION_MARGIN_MS,
    heartbeatTimeout: '30s',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: {
      initialInterval: '1s',
      maximumInterval: '10s',
      maximumAttempts: 5,
      nonRetryableErrorTypes: Object.values(ERROR_TYPES),
    },
  });
}

/** The container an action runs in, known once its service runs. */
export interface ActionTarget {
  host: HostRecord;
  containerId: string;
  containerName: string;
}

/** Returns the pending progress records of a service's actions, or undefined when it has none. */
export function pendingActions(service: ServiceSpec): ActionProgress[] | undefined {
  if (service.actions.length === 0) return undefined;
  return service.actions.map((action) => ({ name: action.name, target: action.target, status: 'pending' }));
}

/**
 * Run the service's actions one after another, each in the container of its target once that
 * container runs, and record each result in `state.actions`. The first failure ends the run and
 * is rethrown, so the deployment rolls back with the action's output in its failure.
 */
export async function runPostStartActions(
  deploymentId: string,
  service: ServiceSpec,
  state: ServiceProgress,
  awaitTarget: (target: string) => Promise<ActionTarget>,
): Promise<void> {
  for (const [index, action] of service.actions.entries()) {
    const record = state.actions![index]!;
    const target = await awaitTarget(action.target);
    record.status = 'running';
    try {
      const result = await actionActivities(action).runAction({
        host: target.host,
        deploymentId,
        service: service.name,
        action,
        containerId: target.containerId,
        containerName: target.containerName,
      });
      Object.assign(record, { status: 'succeeded', exitCode: result.exitCode, output: result.output });
    } catch (error) {
      record.status = 'failed';
      const details = failureDetails(error);
      if (details?.exitCode !== undefined) record.exitCode = details.exitCode;
      record.output = details?.output ?? causeChain(error).at(-1);
      throw error;
    }
  }
}

/** Reads the details an ActionFailed or ActionTimedOut failure carries, from the activity failure's cause. */
function failureDetails(error: unknown): ActionFailureDetails | undefined {
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    if (current instanceof ApplicationFailure && current.details?.length) {
      return current.details[0] as ActionFailureDetails;
    }
  }
  return undefined;
}
