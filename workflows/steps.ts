/**
 * The activity options of a deployment's steps on its hosts, built from the deployment's
 * deadlines, and the rule that turns a host that stopped responding into one clear failure.
 * Workflow code: deterministic, no I/O.
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  TimeoutFailure,
  proxyActivities,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  DEFAULT_DEADLINES,
  ERROR_TYPES,
  HOST_FAILED,
  HOST_UNREACHABLE,
  type StepDeadlines,
} from './contract';

const NON_RETRYABLE = [...Object.values(ERROR_TYPES), HOST_FAILED];

/** Fills the defaults of a deployment's deadlines. */
export function resolveDeadlines(deadlines: StepDeadlines | undefined): Required<StepDeadlines> {
  return { ...DEFAULT_DEADLINES, ...deadlines };
}

/**
 * Docker calls on a healthy daemon take well under a second. Retries back off to 5 s and stop at
 * the host deadline, when the host counts as failed.
 */
export function dockerSteps(deadlines: Required<StepDeadlines>) {
  return proxyActivities<Activities>({
    startToCloseTimeout: '60s',
    heartbeatTimeout: '15s',
    scheduleToCloseTimeout: `${deadlines.hostSeconds}s`,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: {
      initialInterval: '200ms',
      backoffCoefficient: 2,
      maximumInterval: '5s',
      nonRetryableErrorTypes: NON_RETRYABLE,
    },
  });
}

/**
 * Pulls can take minutes, so they heartbeat on every progress event and get five attempts. A
 * host that does not respond at all still fails within those attempts.
 */
export function imageSteps(deadlines: Required<StepDeadlines>) {
  return proxyActivities<Activities>({
    startToCloseTimeout: '30m',
    heartbeatTimeout: '30s',
    scheduleToCloseTimeout: `${Math.max(deadlines.hostSeconds, 30 * 60)}s`,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: {
      initialInterval: '1s',
      maximumInterval: '30s',
      maximumAttempts: 5,
      nonRetryableErrorTypes: NON_RETRYABLE,
    },
  });
}

/**
 * Returns the health wait's activities. The wait heartbeats on every probe, so a dead worker is
 * noticed within the heartbeat timeout. The wait ends at the service's deadline. A host that
 * stops responding during it keeps the wait retrying for at most the host deadline past that.
 */
export function healthSteps(deadlines: Required<StepDeadlines>, waitMs: number) {
  return proxyActivities<Activities>({
    startToCloseTimeout: '2h',
    heartbeatTimeout: '10s',
    scheduleToCloseTimeout: Math.max(0, waitMs) + deadlines.hostSeconds * 1000,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { initialInterval: '500ms', maximumInterval: '5s', nonRetryableErrorTypes: NON_RETRYABLE },
  });
}

/**
 * Undo steps must finish even when a host or the database hiccups, so they retry for longer. A
 * TLS failure is not retried: what the rollback cannot remove goes to the reconciliation, which
 * retries until the host's certificates are fixed.
 */
export function undoSteps(deadlines: Required<StepDeadlines>) {
  return proxyActivities<Activities>({
    startToCloseTimeout: '60s',
    // Removals heartbeat while a container stops, so a killed worker is noticed within seconds.
    heartbeatTimeout: '15s',
    scheduleToCloseTimeout: `${deadlines.undoSeconds}s`,
    retry: {
      initialInterval: '1s',
      maximumInterval: '30s',
      nonRetryableErrorTypes: [
        ERROR_TYPES.hostNotFound,
        ERROR_TYPES.resourceInUse,
        ERROR_TYPES.hostTlsFailed,
      ],
    },
  });
}

/**
 * Makes one attempt at an undo on a host that already failed during this deployment, so the
 * rollback does not wait out the undo deadline there. Reconciliation removes what remains.
 */
export function failedHostUndoSteps() {
  return proxyActivities<Activities>({
    startToCloseTimeout: '20s',
    retry: { maximumAttempts: 1 },
  });
}

/** Failure types raised by activities about the host itself rather than the request. */
const HOST_FAILURE_TYPES: readonly string[] = [HOST_UNREACHABLE, ERROR_TYPES.hostTlsFailed];

/**
 * Reports whether an activity failure is about its host: the host did not respond before the
 * step's deadline, or the TLS handshake with its daemon failed.
 */
export function isHostFailure(error: unknown): boolean {
  if (error instanceof ApplicationFailure && error.type === HOST_FAILED) return true;
  if (!(error instanceof ActivityFailure)) return false;
  let current: unknown = error.cause;
  while (current instanceof Error) {
    if (current instanceof ApplicationFailure && HOST_FAILURE_TYPES.includes(current.type ?? '')) return true;
    // A step that timed out without any response, such as a call hanging on a cut link.
    if (current instanceof TimeoutFailure) return true;
    current = current.cause;
  }
  return false;
}

/**
 * Runs a step on a host. When the host did not respond before the step's deadline, or its TLS
 * handshake failed, the step fails with one non-retryable HostFailed failure naming the host,
 * the step and the last error. The host is then added to `failedHosts`, so the rollback does not
 * wait for it again.
 */
export async function onHostStep<T>(
  host: string,
  step: string,
  failedHosts: Set<string>,
  run: () => Promise<T>,
): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (!isHostFailure(error) || (error instanceof ApplicationFailure && error.type === HOST_FAILED)) {
      throw error;
    }
    failedHosts.add(host);
    throw ApplicationFailure.create({
      type: HOST_FAILED,
      nonRetryable: true,
      message: `host ${host} failed while ${step}: ${lastMessage(error)}`,
      details: [{ host }],
      cause: error as Error,
    });
  }
}

/** Temporal's own messages around a failure, which contain nothing about the host. */
const SDK_MESSAGES = /^(Activity task (failed|timed out)|Not enough time to schedule next retry)/;

/** Returns the host's own error when the chain has one, else the deepest meaningful message. */
function lastMessage(error: unknown): string {
  let message = 'no reply before the step deadline';
  let current: unknown = error;
  while (current instanceof Error) {
    if (current instanceof ApplicationFailure && HOST_FAILURE_TYPES.includes(current.type ?? '')) {
      return current.message;
    }
    if (current.message && !SDK_MESSAGES.test(current.message)) message = current.message;
    current = current.cause;
  }
  return message;
}
