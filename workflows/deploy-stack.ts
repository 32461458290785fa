import {
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  isCancellation,
  log,
  ParentClosePolicy,
  patched,
  proxyActivities,
  setHandler,
  startChild,
} from '@temporalio/workflow';
import type { Activities, PlanResult } from '../activities';
import { dependencyWaves } from '../core/graph';
import { healthDeadlineMs } from '../core/health';
import type { HostRecord, ServiceSpec, StackSpec } from '../core/model';
import { containerName, stackSlug } from '../core/names';
import {
  containerMounts,
  preferContainerPorts,
  publishRequests,
  serviceEndpoint,
  wireEnvironment,
  type PublishRequest,
  type ResolvedDependency,
} from '../core/wiring';
import { causeChain, compensate, type Compensation, type CompensationReport } from './compensation';
import {
  CANCELLED_ON_REQUEST,
  ERROR_TYPES,
  imageKey,
  progressQuery,
  type DeployInput,
  type DeploymentProgress,
  type ServiceProgress,
  type StepDeadlines,
} from './contract';
import { pendingActions, runPostStartActions, type ActionTarget } from './post-start-actions';
import { reconcileDeployment, reconcileWorkflowId } from './reconcile';
import { upsertOutcome } from './search-attributes';
import { StackResources } from './stack-resources';
import { dockerSteps, healthSteps, imageSteps, onHostStep, resolveDeadlines } from './steps';

const NON_RETRYABLE = Object.values(ERROR_TYPES);

const records = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  scheduleToCloseTimeout: '10m',
  retry: { initialInterval: '500ms', maximumInterval: '10s', nonRetryableErrorTypes: NON_RETRYABLE },
});

export { causeChain, type CompensationReport } from './compensation';

export interface DeployResult {
  deploymentId: string;
  services: ServiceProgress[];
}

/**
 * Deploy a stack: place its services, then start each one as soon as what it
 * needs is running (or healthy, when it sets waitForHealthy), wired to the address
 * and published port of each dependency. The stack's network and named volumes are
 * ensured on a host before its first container there, and a service's post-start
 * actions run once it is healthy. If any step fails for good, or the
 * workflow is cancelled, every container already created is removed in
 * reverse order, then the networks and volumes this deployment created, and the
 * deployment ends rolled back with the original cause.
 */
export async function deployStack(rawInput: DeployInput): Promise<DeployResult> {
  const input = { ...rawInput, stack: withModelDefaults(rawInput.stack) };
  const { deploymentId, stack } = input;
  const progress: DeploymentProgress = {
    deploymentId,
    phase: 'planning',
    wave: 0,
    waves: dependencyWaves(stack.services),
    services: stack.services.map((s) => {
      const state: ServiceProgress = { service: s.name, step: 'pending', ports: [], connections: [] };
      const actions = pendingActions(s);
      if (actions) state.actions = actions;
      return state;
    }),
  };
  setHandler(progressQuery, () => progress);
  const compensations: Compensation[] = [];
  const deadlines = resolveDeadlines(input.deadlines);
  // Hosts that stopped responding during this deployment. The rollback tries them only once.
  const failedHosts = new Set<string>();

  try {
    const planned = await records.planPlacement({ deploymentId, stack });
    progress.phase = 'deploying';
    await deployServices({ input, planned, progress, compensations, deadlines, failedHosts });
    progress.phase = 'running';
    upsertOutcome('running');
    await records.recordOutcome(outcome(input, progress, 'running'));
    return { deploymentId, services: progress.services };
  } catch (error) {
    // A cancellation can arrive while an activity fails for a reason it caused itself (a teardown
    // stopping the container a health wait watches), so the request, not the error, decides.
    const cancelled = isCancellation(error) || CancellationScope.current().consideredCancelled;
    progress.phase = 'rolling back';
    const report = await CancellationScope.nonCancellable(() =>
      compensate(deploymentId, compensations, progress, { deadlines, failedHosts }),
    );
    const leftovers = leftoverHosts(compensations, report);
    const reconcile = leftovers.length > 0 && patched('reconcile-leftovers');
    if (reconcile) {
      const hosts = leftovers.map((h) => h.name);
      report.reconciliation = { status: 'pending', workflowId: reconcileWorkflowId(deploymentId), hosts };
    }
    progress.phase = cancelled ? 'cancelled' : 'rolled back';
    const failure = cancelled ? [CANCELLED_ON_REQUEST, ...causeChain(error)] : causeChain(error);
    upsertOutcome(cancelled ? 'cancelled' : 'rolled_back');
    await CancellationScope.nonCancellable(() =>
      records.recordOutcome({
        ...outcome(input, progress, cancelled ? 'cancelled' : 'rolled_back'),
        failure,
        compensation: report,
      }),
    );
    // Started after the outcome is stored, so its own `done` record cannot be overwritten by it.
    if (reconcile) {
      await CancellationScope.nonCancellable(() =>
        startReconciliation(deploymentId, leftovers, deadlines.reconcileRetrySeconds),
      );
    }
    if (cancelled) {
      throw isCancellation(error) ? error : new CancelledFailure(CANCELLED_ON_REQUEST);
    }
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
 * Fills the model fields that stacks of deployments started before those fields existed lack,
 * so replaying such a deployment gets empty lists instead of failing.
 */
function withModelDefaults(stack: StackSpec): StackSpec {
  return {
    ...stack,
    volumes: stack.volumes ?? [],
    services: stack.services.map((service) => ({
      ...service,
      resources: service.resources ?? {},
      mounts: service.mounts ?? [],
      actions: service.actions ?? [],
    })),
  };
}

/** State that the services of one deployment share while they deploy. */
interface DeployContext {
  input: DeployInput;
  planned: PlanResult;
  progress: DeploymentProgress;
  compensations: Compensation[];
  deadlines: Required<StepDeadlines>;
  failedHosts: Set<string>;
  docker: ReturnType<typeof dockerSteps>;
  images: ReturnType<typeof imageSteps>;
  gates: Map<string, Gate>;
  resources: StackResources;
  /**
   * The image step of each host and image (by `imageKey`), started for the whole stack at once
   * right after the plan. Absent in deployments started before images were prepared up front.
   * In those, each service prepares its own image when its turn comes.
   */
  preparedImages?: Map<string, Promise<void>>;
}

interface Gate {
  running: Deferred;
  healthy: Deferred;
}

/**
 * Start every service once its dependencies are ready. On the first failure
 * the remaining work is cancelled and awaited, so no container is created
 * after the rollback has looked for it.
 */
async function deployServices(options: {
  input: DeployInput;
  planned: PlanResult;
  progress: DeploymentProgress;
  compensations: Compensation[];
  deadlines: Required<StepDeadlines>;
  failedHosts: Set<string>;
}): Promise<void> {
  const { input, planned, progress, compensations, deadlines, failedHosts } = options;
  const docker = dockerSteps(deadlines);
  const context: DeployContext = {
    input,
    planned,
    progress,
    compensations,
    deadlines,
    failedHosts,
    docker,
    images: imageSteps(deadlines),
    gates: new Map(input.stack.services.map((s) => [s.name, { running: deferred(), healthy: deferred() }])),
    resources: new StackResources(
      input.deploymentId,
      input.stack,
      compensations,
      progress,
      docker,
      failedHosts,
    ),
  };
  const assignments = planned.plan.assignments;
  const publish = preferContainerPorts(publishRequests(input.stack, assignments), assignments);
  const runService = async (service: ServiceSpec) => {
    const gate = context.gates.get(service.name)!;
    try {
      await Promise.all(
        service.dependencies.map(
          (d) =>
            (d.waitForHealthy ? context.gates.get(d.name)!.healthy : context.gates.get(d.name)!.running)
              .promise,
        ),
      );
      await deployService(context, service, publish[service.name] ?? [], gate);
    } catch (error) {
      gate.running.reject(error);
      gate.healthy.reject(error);
      throw error;
    }
  };

  await CancellationScope.cancellable(async () => {
    if (patched('prepare-images-first')) context.preparedImages = prepareImages(context);
    const tasks = [
      ...orderedServices(input, progress).map(runService),
      ...(context.preparedImages?.values() ?? []),
    ];
    try {
      await Promise.all(tasks);
    } catch (error) {
      CancellationScope.current().cancel();
      await Promise.allSettled(tasks);
      throw error;
    }
  });
}

/**
 * Starts the image step of every host and image the stack needs, all at once, skipping those the
 * plan found present. A service then waits only for its own image, never for the images of the
 * services before it, and a missing image fails the deployment before any dependency is awaited.
 */
function prepareImages(context: DeployContext): Map<string, Promise<void>> {
  const { input, planned, progress, failedHosts } = context;
  const present = new Set(planned.imagesPresent ?? []);
  const prepared = new Map<string, Promise<void>>();
  for (const service of orderedServices(input, progress)) {
    const hostName = planned.plan.assignments[service.name]!;
    const key = imageKey(hostName, service.image);
    if (prepared.has(key)) continue;
    if (present.has(key)) {
      prepared.set(key, Promise.resolve());
      continue;
    }
    const step = onHostStep(
      hostName,
      `preparing image ${service.image} for service ${service.name}`,
      failedHosts,
      () =>
        context.images.ensureImage({
          deploymentId: input.deploymentId,
          host: planned.hosts[hostName]!,
          image: service.image,
          service: service.name,
        }),
    ).then(() => undefined);
    // deployServices and each service using the image await it. This handler only marks it handled.
    step.catch(() => undefined);
    prepared.set(key, step);
  }
  return prepared;
}

/** Services in wave order, positions breaking ties inside a wave. */
function orderedServices(input: DeployInput, progress: DeploymentProgress): ServiceSpec[] {
  const byName = new Map(input.stack.services.map((s) => [s.name, s]));
  return progress.waves.flat().map((name) => byName.get(name)!);
}

async function deployService(
  context: DeployContext,
  service: ServiceSpec,
  publish: PublishRequest[],
  gate: Gate,
): Promise<void> {
  const { input, planned, progress, compensations, failedHosts } = context;
  const { deploymentId, stack } = input;
  const hostName = planned.plan.assignments[service.name]!;
  const host = planned.hosts[hostName]!;
  const state = progress.services.find((s) => s.service === service.name)!;
  Object.assign(state, { host: hostName, hostAddress: host.address });
  progress.wave = Math.max(
    progress.wave,
    progress.waves.findIndex((wave) => wave.includes(service.name)),
  );

  // The network's and volumes' undo comes before the container's, so the rollback removes them after it.
  await context.resources.prepare(service, host);

  compensations.push({ kind: 'container', service: service.name, host });
  state.step = 'preparing image';
  const prepared = context.preparedImages?.get(imageKey(hostName, service.image));
  if (prepared) {
    await prepared;
  } else {
    await onHostStep(
      hostName,
      `preparing image ${service.image} for service ${service.name}`,
      failedHosts,
      () =>
        context.images.ensureImage({
          deploymentId: context.input.deploymentId,
          host,
          image: service.image,
          service: service.name,
        }),
    );
  }

  state.step = 'starting';
  const wiring = wireEnvironment(service, hostName, resolveDependencies(service, progress));
  const started = await onHostStep(hostName, `starting service ${service.name}`, failedHosts, () =>
    context.docker.startContainer({
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
      mounts: containerMounts(stack, service),
      resources: service.resources,
      restartPolicy: service.restartPolicy,
      user: service.user,
      workingDir: service.workingDir,
      endpoint: serviceEndpoint(stack, service),
    }),
  );
  Object.assign(state, {
    containerId: started.containerId,
    containerName: started.containerName,
    ports: orderPorts(service, started.ports),
    connections: wiring.connections,
  });
  state.step = 'waiting for health';
  gate.running.resolve();

  // Workflow time is deterministic, so a retried or replayed wait keeps the same deadline.
  const waitMs = healthDeadlineMs(service.healthCheck);
  const result = await onHostStep(
    hostName,
    `waiting for service ${service.name} to turn healthy`,
    failedHosts,
    () =>
      healthSteps(context.deadlines, waitMs).awaitHealthy({
        deploymentId: context.input.deploymentId,
        host,
        service: service.name,
        containerId: started.containerId,
        containerName: started.containerName,
        healthCheck: service.healthCheck,
        ports: started.ports,
        startedAt: started.startedAt,
        deadlineAt: Date.now() + waitMs,
      }),
  );
  state.detail = result.output;

  // Dependents that wait for health wait for the actions too, because the gate opens after them.
  if (service.actions.length > 0) {
    state.step = 'running actions';
    await runPostStartActions(deploymentId, service, state, (target) =>
      awaitTarget(context, service, target),
    );
  }
  state.step = service.healthCheck ? 'healthy' : 'running';
  gate.healthy.resolve();
  log.info('service ready', { deploymentId, service: service.name, host: hostName });
}

/**
 * Waits until the container of an action's target runs. Validation rejects a target that depends
 * on the action's service, directly or not, so the target cannot wait for this service's health.
 * NOTE: a cycle through the actions of several services, such as a target waiting for a third
 * service whose action targets a dependent of this one, is not rejected yet and would hang.
 */
async function awaitTarget(
  context: DeployContext,
  service: ServiceSpec,
  target: string,
): Promise<ActionTarget> {
  const gate = context.gates.get(target);
  if (!gate) {
    throw ApplicationFailure.nonRetryable(
      `an action of service ${service.name} targets "${target}", which is not a service of the stack`,
      ERROR_TYPES.invalidSpec,
    );
  }
  await gate.running.promise;
  const state = context.progress.services.find((s) => s.service === target)!;
  return {
    host: context.planned.hosts[state.host!]!,
    containerId: state.containerId!,
    containerName: state.containerName!,
  };
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
    const main = state.ports.find((p) => p.protocol === 'tcp') ?? state.ports[0];
    return {
      name: dependency.name,
      hostName: state.host!,
      address: state.hostAddress!,
      port: main?.hostPort,
      reachableByName: main !== undefined && main.hostPort === main.containerPort,
    };
  });
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
    ...(progress.resources ? { resources: progress.resources } : {}),
  };
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

/** Hosts where the rollback left a container, network or volume it could not remove. */
function leftoverHosts(compensations: Compensation[], report: CompensationReport): HostRecord[] {
  const names = new Set([...report.failed.map((f) => f.host), ...report.failedResources.map((f) => f.host)]);
  const hosts = new Map<string, HostRecord>();
  for (const compensation of compensations) {
    if (names.has(compensation.host.name)) hosts.set(compensation.host.name, compensation.host);
  }
  return [...hosts.values()];
}

/**
 * Starts the reconciliation that removes the leftovers once their hosts respond again. It runs
 * on after this deployment ends, so the deployment reports its outcome without waiting for a
 * host that may be down for hours.
 */
async function startReconciliation(
  deploymentId: string,
  hosts: HostRecord[],
  retrySeconds: number,
): Promise<void> {
  const workflowId = reconcileWorkflowId(deploymentId);
  await startChild(reconcileDeployment, {
    workflowId,
    args: [{ deploymentId, hosts, retrySeconds }],
    parentClosePolicy: ParentClosePolicy.ABANDON,
  });
  log.warn('rollback left containers behind; reconciliation started', {
    deploymentId,
    hosts: hosts.map((h) => h.name),
    workflowId,
  });
}
