/**
 * The rollback of a deployment: every side effect registers its undo before it runs, and the
 * undo steps run newest first. Workflow code: deterministic, no I/O.
 */
import { log } from '@temporalio/workflow';
import type { HostRecord } from '../core/model';
import { LABELS } from '../core/names';
import type { DeploymentProgress, ResolvedDeadlines, StackResource } from './contract';
import { failedHostUndoSteps, undoSteps } from './steps';

/** The undo of one side effect: a service's container, or a network or volume on one host. */
export type Compensation =
  | { kind: 'container'; service: string; host: HostRecord }
  | { kind: StackResource['kind']; host: HostRecord; name: string };

export interface CompensationReport {
  removed: { service: string; host: string; container: string }[];
  failed: { service: string; host: string; error: string }[];
  /** Networks and volumes this deployment created and the rollback removed. */
  removedResources: StackResource[];
  failedResources: (StackResource & { error: string })[];
  /**
   * The reconciliation that removes what the rollback could not, once the hosts respond. Absent when nothing was left. Its status turns `done` in the stored report when it ends.
   */
  reconciliation?: { status: 'pending' | 'done' | 'incomplete'; workflowId: string; hosts: string[] };
}

/** Retry settings of a rollback: its deadlines, and the hosts that already failed during the deploy. */
export interface UndoOptions {
  deadlines: ResolvedDeadlines;
  failedHosts: ReadonlySet<string>;
}

/**
 * Undo in reverse order, going on past an undo that fails and reporting it. A network or volume
 * is removed only when it carries this deployment's label, so one this deployment reused, or
 * never got to create, stays.
 */
export async function compensate(
  deploymentId: string,
  compensations: Compensation[],
  progress: DeploymentProgress,
  options: UndoOptions,
): Promise<CompensationReport> {
  const report: CompensationReport = { removed: [], failed: [], removedResources: [], failedResources: [] };
  const steady = undoSteps(options.deadlines);
  const once = failedHostUndoSteps();
  for (const compensation of [...compensations].reverse()) {
    const undo = options.failedHosts.has(compensation.host.name) ? once : steady;
    if (compensation.kind === 'container') {
      await removeContainer(undo, deploymentId, compensation, progress, report);
    } else {
      await removeResource(undo, deploymentId, compensation, report);
    }
  }
  return report;
}

type UndoActivities = ReturnType<typeof undoSteps>;

async function removeContainer(
  undo: UndoActivities,
  deploymentId: string,
  { service, host }: { service: string; host: HostRecord },
  progress: DeploymentProgress,
  report: CompensationReport,
): Promise<void> {
  const state = progress.services.find((s) => s.service === service)!;
  state.step = 'removing';
  try {
    const { removed } = await undo.removeServiceContainer({ host, deploymentId, service });
    if (removed) report.removed.push({ service, host: host.name, container: removed });
    state.step = 'removed';
  } catch (error) {
    const message = causeChain(error).join(': ');
    report.failed.push({ service, host: host.name, error: message });
    state.step = 'failed';
    state.detail = `could not be removed: ${message}`;
    log.error('compensation failed', { deploymentId, service, host: host.name, error: message });
  }
}

async function removeResource(
  undo: UndoActivities,
  deploymentId: string,
  { kind, host, name }: { kind: StackResource['kind']; host: HostRecord; name: string },
  report: CompensationReport,
): Promise<void> {
  const resource: StackResource = { kind, host: host.name, name };
  try {
    const labels = { [LABELS.deployment]: deploymentId, [LABELS.managed]: 'true' };
    const { removed } = await undo.removeResource({ host, kind, name, labels });
    if (removed) report.removedResources.push(resource);
  } catch (error) {
    const message = causeChain(error).join(': ');
    report.failedResources.push({ ...resource, error: message });
    log.error('compensation failed', { deploymentId, kind, name, host: host.name, error: message });
  }
}

/** Wrapper messages the SDK puts around every activity failure; they carry nothing of the cause. */
const WRAPPER_MESSAGES = new Set(['Activity task failed', 'Activity task timed out']);

/** Messages of an error and its causes, outermost first, skipping repeats and SDK wrappers. */
export function causeChain(error: unknown): string[] {
  const chain: string[] = [];
  let current: unknown = error;
  while (current instanceof Error) {
    const message = current.message;
    if (message && chain.at(-1) !== message && !WRAPPER_MESSAGES.has(message)) chain.push(message);
    current = current.cause;
  }
  if (chain.length === 0) chain.push(String(error));
  return chain;
}
