import {
  ActivityCancellationType,
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  log,
  proxyActivities,
  setHandler,
} from '@temporalio/workflow';
import type { Activities, PlanResult } from '../activities';
import { dependencyWaves } from '../core/graph';
import { healthDeadlineMs } from '../core/health';
import type { HostRecord, ServiceSpec } from '../core/model';
import { containerName, stackSlug } from '../core/names';
import { publishRequests, wireEnvironment, type ResolvedDependency } from '../core/wiring';
import {
  ERROR_TYPES,
  progressQuery,
  type DeployInput,
  type DeploymentProgress,
  type ServiceProgress,
} from './contract';

const NON_RETRYABLE = Object.values(ERROR_TYPES);

// Docker calls on a healthy daemon take well under a second. Retries back off
// to 5 s and stop after two minutes, when the host counts as failed.
const docker = proxyActivities<Activities>({
  startToCloseTimeout: '60s',
  heartbeatTimeout: '15s',
  scheduleToCloseTimeout: '2m',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: {
    initialInterval: '200ms',
    backoffCoefficient: 2,
    maximumInterval: '5s',
    nonRetryableErrorTypes: NON_RETRYABLE,
  },
});

// Pulls can take minutes, so they heartbeat on every progress event.
const images = proxyActivities<Activities>({
  startToCloseTimeout: '30m',
  heartbeatTimeout: '30s',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: {
    initialInterval: '1s',
    maximumInterval: '30s',
    maximumAttempts: 5,
    nonRetryableErrorTypes: NON_RETRYABLE,
  },
});

// Health waits heartbeat on every probe, so a dead worker is noticed within
// the heartbeat timeout. The wait itself ends at the service's deadline.
const health = proxyActivities<Activities>({
  startToCloseTimeout: '2h',
  heartbeatTimeout: '10s',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { initialInterval: '500ms', maximumInterval: '5s', nonRetryableErrorTypes: NON_RETRYABLE },
});

// Undo and bookkeeping must finish even when the host or database hiccups, so
// they retry for longer than forward steps.
const undo = proxyActivities<Activities>({
  startToCloseTimeout: '60s',
  scheduleToCloseTimeout: '10m',
  retry: {
    initialInterval: '1s',
    maximumInterval: '30s',
    nonRetryableErrorTypes: [ERROR_TYPES.hostNotFound],
  },
});

const records = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  scheduleToCloseTimeout: '10m',
  retry: { initialInterval: '500ms', maximumInterval: '10s', nonRetryableErrorTypes: NON_RETRYABLE },
});

interface Compensation {
  service: string;
  host: HostRecord;
}

export interface CompensationReport {
  removed: { service: string; host: string; container: string }[];
  failed: { service: string; host: string; error: string }[];
}

export interface DeployResult {
  deploymentId: string;
  services: ServiceProgress[];
}

/**
 * Deploy a stack: place its services, then start each one as soon as what it
 * needs is running (or healthy, when it sets waitForHealthy), wired to the address
 * and published port of each dependency. If any step fails for good, or the
 * workflow is cancelled, every container already created is removed in
 * reverse order and the deployment ends rolled back with the original cause.
 */
export async function deployStack(input: DeployInput): Promise<DeployResult> {
  const { deploymentId, stack } = input;
  const progress: DeploymentProgress = {
    deploymentId,
    phase: 'planning',
    wave: 0,
    waves: dependencyWaves(stack.services),
    services: stack.services.map((s) => ({ service: s.name, step: 'pending', ports: [], connections: [] })),
  };
  setHandler(progressQuery, () => progress);
  const compensations: Compensation[] = [];

  try {
    const planned = await records.planPlacement({ deploymentId, stack });
    progress.phase = 'deploying';
    await deployServices(input, planned, progress, compensations);
    progress.phase = 'running';
    await records.recordOutcome(outcome(input, progress, 'running'));
    return { deploymentId, services: progress.services };
  } catch (error) {
    const cancelled = isCancellation(error);
    progress.phase = 'rolling back';
    const report = await CancellationScope.nonCancellable(() =>
      compensate(deploymentId, compensations, progress),
    );
    progress.phase = cancelled ? 'cancelled' : 'rolled back';
    const failure = cancelled
      ? ['the deployment was cancelled on request', ...causeChain(error)]
      : causeChain(error);
    await CancellationScope.nonCancellable(() =>
      records.recordOutcome({
        ...outcome(input, progress, cancelled ? 'cancelled' : 'rolled_back'),
        failure,
        compensation: report,
      }),
    );
    if (cancelled) throw error;
    throw ApplicationFailure.create({
      type: ERROR_TYPES.deploymentFailed,
      message: `deployment ${deploymentId} of stack "${stack.name}" rolled back: ${failure.at(-1)}`,
      nonRetryable: true,
      cause: error instanceof Error ? error : undefined,
      details: [report],
    });
  }
}

/**
 * Start every service once its dependencies are ready. On the first failure
 * the remaining work is cancelled and awaited, so no container is created
 * after the rollback has looked for it.
 */
async function deployServices(
  input: DeployInput,
  planned: PlanResult,
  progress: DeploymentProgress,
  compensations: Compensation[],
): Promise<void> {
  const gates = new Map(
    input.stack.services.map((s) => [s.name, { running: deferred(), healthy: deferred() }]),
  );
  const publish = publishRequests(input.stack, planned.plan.assignments);
  const runService = async (service: ServiceSpec) => {
    const gate = gates.get(service.name)!;
    try {
      await Promise.all(
        service.dependencies.map(
          (d) => (d.waitForHealthy ? gates.get(d.name)!.healthy : gates.get(d.name)!.running).promise,
        ),
      );
      await deployService(
        input,
        planned,
        service,
        publish[service.name] ?? [],
        progress,
        compensations,
        gate,
      );
    } catch (error) {
      gate.running.reject(error);
      gate.healthy.reject(error);
      throw error;
    }
  };

  await CancellationScope.cancellable(async () => {
    const tasks = orderedServices(input, progress).map(runService);
    try {
      await Promise.all(tasks);
    } catch (error) {
      CancellationScope.current().cancel();
      await Promise.allSettled(tasks);
      throw error;
    }
  });
}

/** Services in wave order, positions breaking ties inside a wave. */
function orderedServices(input: DeployInput, progress: DeploymentProgress): ServiceSpec[] {
  const byName = new Map(input.stack.services.map((s) => [s.name, s]));
  return progress.waves.flat().map((name) => byName.get(name)!);
}

async function deployService(
  input: DeployInput,
  planned: PlanResult,
  service: ServiceSpec,
  publish: { containerPort: number; hostPort: number; protocol: 'tcp' | 'udp' }[],
  progress: DeploymentProgress,
  compensations: Compensation[],
  gate: { running: Deferred; healthy: Deferred },
): Promise<void> {
  const { deploymentId, stack } = input;
  const hostName = planned.plan.assignments[service.name]!;
  const host = planned.hosts[hostName]!;
  const state = progress.services.find((s) => s.service === service.name)!;
  Object.assign(state, { host: hostName, hostAddress: host.address });
  progress.wave = Math.max(
    progress.wave,
    progress.waves.findIndex((wave) => wave.includes(service.name)),
  );

  compensations.push({ service: service.name, host });
  state.step = 'preparing image';
  await images.ensureImage({ host, image: service.image, service: service.name });

  state.step = 'starting';
  const wiring = wireEnvironment(service, hostName, resolveDependencies(service, progress));
  const started = await docker.startContainer({
    host,
    deploymentId,
    stackName: stack.name,
    stackSlug: stackSlug(stack.name),
    service: service.name,
    containerName: containerName(stack.name, service.name),
    image: service.image,
    command: service.command,
    environment: wiring.environment,
    publish,
    extraHosts: wiring.extraHosts,
    labels: service.labels,
    healthCheck: service.healthCheck,
  });
  Object.assign(state, {
    containerId: started.containerId,
    containerName: started.containerName,
    ports: orderPorts(service, started.ports),
    connections: wiring.connections,
  });
  state.step = 'waiting for health';
  gate.running.resolve();

  // Workflow time is deterministic, so a retried or replayed wait keeps the same deadline.
  const result = await health.awaitHealthy({
    host,
    service: service.name,
    containerId: started.containerId,
    containerName: started.containerName,
    healthCheck: service.healthCheck,
    ports: started.ports,
    startedAt: started.startedAt,
    deadlineAt: Date.now() + healthDeadlineMs(service.healthCheck),
  });
  state.detail = result.output;
  state.step = service.healthCheck ? 'healthy' : 'running';
  gate.healthy.resolve();
  log.info('service ready', { deploymentId, service: service.name, host: hostName });
}

/** Published ports in the order the stack lists them, so the first one is the service's main port. */
function orderPorts(service: ServiceSpec, ports: ServiceProgress['ports']): ServiceProgress['ports'] {
  const rank = (containerPort: number) => {
    const index = service.ports.findIndex((p) => p.containerPort === containerPort);
    return index === -1 ? Number.MAX_SAFE_INTEGER : index;
  };
  return [...ports].sort((a, b) => rank(a.containerPort) - rank(b.containerPort));
}

function resolveDependencies(service: ServiceSpec, progress: DeploymentProgress): ResolvedDependency[] {
  return service.dependencies.map((dependency) => {
    const state = progress.services.find((s) => s.service === dependency.name)!;
    return {
      name: dependency.name,
      hostName: state.host!,
      address: state.hostAddress!,
      port: state.ports.find((p) => p.protocol === 'tcp')?.hostPort ?? state.ports[0]?.hostPort,
    };
  });
}

/** Undo in reverse order, going on past an undo that fails and reporting it. */
async function compensate(
  deploymentId: string,
  compensations: Compensation[],
  progress: DeploymentProgress,
): Promise<CompensationReport> {
  const report: CompensationReport = { removed: [], failed: [] };
  for (const { service, host } of [...compensations].reverse()) {
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
  return report;
}

function outcome(
  input: DeployInput,
  progress: DeploymentProgress,
  status: 'running' | 'rolled_back' | 'cancelled',
) {
  return {
    deploymentId: input.deploymentId,
    status,
    services: progress.services,
    positions: Object.fromEntries(input.stack.services.map((s) => [s.name, s.position])),
    images: Object.fromEntries(input.stack.services.map((s) => [s.name, s.image])),
  };
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

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A gate with no waiting dependent must not count as an unhandled rejection.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}
