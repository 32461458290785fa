/**
 * Container side effects on one host, each idempotent: a retried create adopts
 * the container it made before, and removing a missing container succeeds.
 * Containers are found by their labels, never by a name prefix.
 */
import { Context, log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type Docker from 'dockerode';
import type { HealthCheck, HostRecord, ResourceSpec, RestartPolicy } from '../core/model';
import { LABELS } from '../core/names';
import type { ContainerMount, PublishRequest } from '../core/wiring';
import type { PublishedPort } from '../workflows/contract';
import { ERROR_TYPES, imageKey } from '../workflows/contract';
import { dockerFor, dockerMessage, dockerStatus, withTimeout } from './docker';

export interface EnsureImageInput {
  /** For log lines; absent in deployments started before it was passed. */
  deploymentId?: string;
  host: HostRecord;
  image: string;
  service: string;
}

/** Make sure the image is on the host, pulling it when the host allows pulls. */
export async function ensureImage({ host, image, service }: EnsureImageInput): Promise<{ pulled: boolean }> {
  const docker = dockerFor(host);
  try {
    await docker.getImage(image).inspect();
    return { pulled: false };
  } catch (error) {
    if (dockerStatus(error) !== 404) throw error;
  }
  if (host.imagePull === 'never') {
    throw ApplicationFailure.nonRetryable(
      `image ${image} for service ${service} is not on host ${host.name}, and the host does not pull images; ` +
        `load it there with "docker load" or register the host with imagePull "missing"`,
      ERROR_TYPES.imageNotFound,
    );
  }
  log.info('pulling image', { host: host.name, image, service });
  await pullImage(docker, host, image, service);
  return { pulled: true };
}

async function pullImage(docker: Docker, host: HostRecord, image: string, service: string): Promise<void> {
  let stream: NodeJS.ReadableStream;
  try {
    stream = await docker.pull(image);
  } catch (error) {
    throw imagePullFailure(host, image, service, error);
  }
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (error) => (error ? reject(imagePullFailure(host, image, service, error)) : resolve()),
      (event: { status?: string; progress?: string }) =>
        Context.current().heartbeat(event.status ?? 'pulling'),
    );
  });
}

function imagePullFailure(host: HostRecord, image: string, service: string, error: unknown): Error {
  const status = dockerStatus(error);
  const message =
    `image ${image} for service ${service} is not on host ${host.name} and pulling it failed: ` +
    dockerMessage(error);
  // 404 and 403 come from the registry and will not change on retry; transport errors may.
  if (status === 404 || status === 403 || status === 400) {
    return ApplicationFailure.nonRetryable(message, ERROR_TYPES.imageNotFound);
  }
  return ApplicationFailure.retryable(message, 'ImagePullFailed');
}

/** Maximum wait for one image lookup. An image not confirmed in time gets its image step in the deploy. */
const IMAGE_LOOKUP_TIMEOUT_MS = 2_000;

/**
 * Returns the `imageKey`s of the images already on their hosts, among the pairs given. The plan
 * reports them, so the deployment skips their image step. A host that does not respond in time
 * counts as not having the image, and the deployment's own image step then reports the failure.
 */
export async function imagesPresent(pairs: { host: HostRecord; image: string }[]): Promise<string[]> {
  const found = await Promise.all(
    pairs.map(async ({ host, image }) => {
      try {
        await withTimeout(dockerFor(host).getImage(image).inspect(), IMAGE_LOOKUP_TIMEOUT_MS, 'image lookup');
        return imageKey(host.name, image);
      } catch {
        return undefined;
      }
    }),
  );
  return found.filter((key): key is string => key !== undefined);
}

export interface StartContainerInput {
  host: HostRecord;
  deploymentId: string;
  stackName: string;
  stackSlug: string;
  service: string;
  containerName: string;
  image: string;
  command?: string[];
  environment: Record<string, string>;
  /** Ports to publish; hostPort 0 lets Docker choose a free port unless a preferred port is free. */
  publish: PublishRequest[];
  extraHosts: string[];
  labels: Record<string, string>;
  healthCheck?: HealthCheck;
  // The fields below are optional because inputs of deployments started before they existed lack them.
  mounts?: ContainerMount[];
  resources?: ResourceSpec;
  restartPolicy?: RestartPolicy;
  user?: string;
  workingDir?: string;
  /** The stack network to join on this host, and the service's DNS alias there. */
  endpoint?: { network: string; alias: string };
}

export interface StartedContainer {
  containerId: string;
  containerName: string;
  /** Published ports with the host port Docker actually bound. */
  ports: PublishedPort[];
  /** Docker's State.StartedAt of the run this deployment started. */
  startedAt: string;
  adopted: boolean;
}

/** Labels that tie a container to its stack, service and deployment. */
export function graphiumLabels(
  input: Pick<StartContainerInput, 'stackSlug' | 'stackName' | 'service' | 'deploymentId'>,
) {
  return {
    [LABELS.managed]: 'true',
    [LABELS.stack]: input.stackSlug,
    [LABELS.stackName]: input.stackName,
    [LABELS.service]: input.service,
    [LABELS.deployment]: input.deploymentId,
  };
}

/**
 * Create and start the service's container, or adopt the one an earlier
 * attempt of this same deployment created. A container with the same name left by
 * an earlier deployment of this stack is replaced. Any other container with that
 * name is a conflict the user must resolve.
 *
 * A port with a preferred host port is first bound to that port. When Docker reports it
 * allocated, the container is removed and created again with Docker choosing a free port.
 */
export async function startContainer(input: StartContainerInput): Promise<StartedContainer> {
  const docker = dockerFor(input.host);
  // A first attempt has made no container yet, so it creates one at once. It looks up the name's
  // owner only when Docker reports the name taken, which saves two container listings.
  const attempt = activityContext()?.info.attempt ?? 1;
  const existing =
    attempt > 1 ? await findServiceContainer(docker, input.deploymentId, input.service) : undefined;
  if (existing) {
    const info = await docker.getContainer(existing.Id).inspect();
    const conflict = info.State.Running ? undefined : await startOrConflict(docker, existing.Id);
    if (conflict === undefined) {
      log.info('adopted container from an earlier attempt', logFields(input, existing.Id));
      return describeStarted(docker, existing.Id, true);
    }
    if (!input.publish.some((port) => port.preferredHostPort !== undefined)) {
      throw portAllocated(input, input.publish, conflict);
    }
    // The earlier attempt may have bound a preferred port that is taken now: start over.
    await removeById(docker, existing.Id);
  }
  return createAndStart(docker, input);
}

/** Create and start the container, dropping preferred host ports Docker reports allocated. */
async function createAndStart(docker: Docker, input: StartContainerInput): Promise<StartedContainer> {
  let publish = input.publish;
  for (;;) {
    const created = await createContainer(docker, input, publish);
    Context.current().heartbeat('created');
    const conflict = await startOrConflict(docker, created.id);
    if (conflict === undefined) {
      log.info('container started', logFields(input, created.id));
      return describeStarted(docker, created.id, false);
    }
    // Each round drops at least one preference, so the loop ends.
    const fallback = dropPreferences(publish, conflict);
    if (!fallback) throw portAllocated(input, publish, conflict);
    log.warn('preferred host port is allocated, letting Docker choose one', {
      ...logFields(input, created.id),
      error: conflict,
    });
    await removeById(docker, created.id);
    publish = fallback;
  }
}

async function createContainer(
  docker: Docker,
  input: StartContainerInput,
  publish: PublishRequest[],
  nameCleared = false,
): Promise<Docker.Container> {
  try {
    return await docker.createContainer(createOptions(input, publish));
  } catch (error) {
    if (dockerStatus(error) === 409 && !nameCleared) {
      // The name is taken: replace an earlier deployment's container, or reject a foreign one.
      await clearNameForStack(docker, input);
      return createContainer(docker, input, publish, true);
    }
    if (dockerStatus(error) === 404) {
      throw ApplicationFailure.nonRetryable(
        `image ${input.image} for service ${input.service} is no longer on host ${input.host.name}: ` +
          `it was there when the deployment was planned and has been removed since; deploy again`,
        ERROR_TYPES.imageNotFound,
      );
    }
    // 400 means Docker rejects the options themselves, such as a bind source that does not exist.
    if (dockerStatus(error) !== 400) throw error;
    throw ApplicationFailure.nonRetryable(
      `Docker on host ${input.host.name} rejected the container options of service ${input.service}: ` +
        `${dockerMessage(error)}; fix the service's mounts, resources or ports in the stack`,
      ERROR_TYPES.invalidSpec,
    );
  }
}

/**
 * Returns the publish requests without the preferred host port that `conflict` names, or
 * without every preference when the message names no port. Returns undefined when no
 * preference is left to drop, which means an explicit port is taken.
 */
export function dropPreferences(publish: PublishRequest[], conflict: string): PublishRequest[] | undefined {
  const port = allocatedPort(conflict);
  let dropped = false;
  const next = publish.map((request) => {
    const preferred = request.preferredHostPort;
    if (request.hostPort !== 0 || preferred === undefined) return request;
    if (port !== undefined && preferred !== port) return request;
    dropped = true;
    const { preferredHostPort: _, ...withoutPreference } = request;
    return withoutPreference;
  });
  return dropped ? next : undefined;
}

/**
 * Reads the host port from Docker's allocation errors, such as "Bind for 0.0.0.0:6379 failed:
 * port is already allocated" or "listen tcp4 0.0.0.0:6379: bind: address already in use".
 */
function allocatedPort(message: string): number | undefined {
  const match = /:(\d+)(?: failed|: bind)/.exec(message);
  return match ? Number(match[1]) : undefined;
}

function logFields(input: StartContainerInput, containerId: string) {
  const { deploymentId, service, containerName } = input;
  return {
    deploymentId,
    service,
    host: input.host.name,
    containerName,
    containerId: containerId.slice(0, 12),
  };
}

function createOptions(input: StartContainerInput, publish: PublishRequest[]): Docker.ContainerCreateOptions {
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp?: string; HostPort: string }[]> = {};
  for (const port of publish) {
    const key = `${port.containerPort}/${port.protocol}`;
    const hostPort = port.hostPort > 0 ? port.hostPort : (port.preferredHostPort ?? 0);
    const binding: { HostIp?: string; HostPort: string } = { HostPort: hostPort > 0 ? String(hostPort) : '' };
    if (port.hostIp !== undefined) binding.HostIp = port.hostIp;
    exposed[key] = {};
    bindings[key] = [binding];
  }
  const endpoint = input.endpoint;
  return {
    name: input.containerName,
    Image: input.image,
    Cmd: input.command,
    Env: Object.entries(input.environment).map(([key, value]) => `${key}=${value}`),
    Labels: { ...input.labels, ...graphiumLabels(input) },
    ExposedPorts: exposed,
    Healthcheck: dockerHealthcheck(input.healthCheck),
    User: input.user,
    WorkingDir: input.workingDir,
    HostConfig: {
      PortBindings: bindings,
      ExtraHosts: input.extraHosts,
      Mounts: input.mounts?.map(dockerMount),
      RestartPolicy: dockerRestartPolicy(input.restartPolicy),
      NetworkMode: endpoint?.network,
      ...resourceLimits(input.resources),
    },
    NetworkingConfig: endpoint
      ? { EndpointsConfig: { [endpoint.network]: { Aliases: [endpoint.alias] } } }
      : undefined,
  };
}

function dockerMount(mount: ContainerMount): Docker.MountSettings {
  // The dockerode types require Source, but Docker takes none for tmpfs and anonymous volumes.
  const settings: Partial<Docker.MountSettings> = {
    Type: mount.type,
    Target: mount.target,
    ReadOnly: mount.readOnly,
  };
  if (mount.source !== undefined) settings.Source = mount.source;
  return settings as Docker.MountSettings;
}

function dockerRestartPolicy(policy: RestartPolicy | undefined): Docker.HostRestartPolicy | undefined {
  if (!policy) return undefined;
  // Docker rejects a retry count with any policy but on-failure.
  if (policy.name !== 'on-failure' || policy.maximumRetryCount === undefined) return { Name: policy.name };
  return { Name: policy.name, MaximumRetryCount: policy.maximumRetryCount };
}

/** Docker's resource limits: CPUs in billionths, memory in bytes, -1 swap for unlimited. */
function resourceLimits(resources: ResourceSpec | undefined): Docker.HostConfig {
  const limits: Docker.HostConfig = {};
  if (!resources) return limits;
  if (resources.cpus !== undefined) limits.NanoCpus = Math.round(resources.cpus * 1e9);
  if (resources.memoryBytes !== undefined) limits.Memory = resources.memoryBytes;
  if (resources.memorySwapBytes !== undefined) limits.MemorySwap = resources.memorySwapBytes;
  if (resources.pids !== undefined) limits.PidsLimit = resources.pids;
  return limits;
}

/** Build the Docker HEALTHCHECK for checks Docker runs itself, with durations in nanoseconds. */
function dockerHealthcheck(check: HealthCheck | undefined): Docker.HealthConfig | undefined {
  if (!check || check.kind !== 'docker') return undefined;
  const nanos = (ms: number) => ms * 1_000_000;
  return {
    Test: check.test,
    Interval: nanos(check.intervalMs),
    Timeout: nanos(check.timeoutMs),
    Retries: check.retries,
    StartPeriod: nanos(check.startPeriodMs),
  };
}

/** Start a container. Returns Docker's message when a host port is already allocated. */
async function startOrConflict(docker: Docker, id: string): Promise<string | undefined> {
  try {
    await docker.getContainer(id).start();
    return undefined;
  } catch (error) {
    const message = dockerMessage(error);
    if (/port is already allocated|address already in use/i.test(message)) return message;
    if (dockerStatus(error) === 304) return undefined; // already started
    throw error;
  }
}

function portAllocated(input: StartContainerInput, publish: PublishRequest[], message: string): Error {
  const ports = publish.filter((p) => p.hostPort > 0).map((p) => p.hostPort);
  return ApplicationFailure.nonRetryable(
    `cannot start ${input.containerName} on host ${input.host.name}: a published port ` +
      `(${ports.join(', ') || 'auto'}) is already allocated there (${message}); ` +
      `free the port or choose another hostPort`,
    ERROR_TYPES.portAllocated,
  );
}

async function describeStarted(docker: Docker, id: string, adopted: boolean): Promise<StartedContainer> {
  const info = await docker.getContainer(id).inspect();
  const ports: PublishedPort[] = [];
  for (const [key, bound] of Object.entries(info.NetworkSettings.Ports ?? {})) {
    const [containerPort, protocol] = key.split('/');
    const first = bound?.find((binding) => binding.HostPort);
    if (!first) continue;
    ports.push({
      containerPort: Number(containerPort),
      hostPort: Number(first.HostPort),
      protocol: protocol === 'udp' ? 'udp' : 'tcp',
    });
  }
  return {
    containerId: info.Id,
    containerName: info.Name.replace(/^\//, ''),
    ports,
    startedAt: info.State.StartedAt,
    adopted,
  };
}

/** Find the container of one service of one deployment by its labels. */
export async function findServiceContainer(
  docker: Docker,
  deploymentId: string,
  service: string,
): Promise<Docker.ContainerInfo | undefined> {
  const found = await docker.listContainers({
    all: true,
    filters: { label: [`${LABELS.deployment}=${deploymentId}`, `${LABELS.service}=${service}`] },
  });
  return found[0];
}

/**
 * Free the container name when an earlier deployment of the same stack owns
 * it, which is how a redeploy replaces the previous containers.
 */
async function clearNameForStack(docker: Docker, input: StartContainerInput): Promise<void> {
  const found = await docker.listContainers({ all: true, filters: { name: [`^/${input.containerName}$`] } });
  for (const container of found) {
    const labels = container.Labels ?? {};
    if (labels[LABELS.stack] === input.stackSlug && labels[LABELS.service] === input.service) {
      await removeById(docker, container.Id);
      log.info('replaced container of an earlier deployment', {
        ...logFields(input, container.Id),
        previousDeploymentId: labels[LABELS.deployment],
      });
      continue;
    }
    throw ApplicationFailure.nonRetryable(
      `container name ${input.containerName} on host ${input.host.name} is taken by container ` +
        `${container.Id.slice(0, 12)}, which Graphium did not create for this stack; remove or rename it`,
      ERROR_TYPES.nameConflict,
    );
  }
}

export interface RemoveServiceInput {
  host: HostRecord;
  deploymentId: string;
  service: string;
}

/**
 * Seconds a teardown, or a redeploy replacing a container, gives a container between the stop
 * signal and SIGKILL. It matches Docker's own default for `docker stop`.
 */
export const TEARDOWN_STOP_SECONDS = 10;

/** Seconds a rollback gives a container to stop: shorter, because a rollback removes one at a time. */
export const ROLLBACK_STOP_SECONDS = 5;

/** Seconds between heartbeats while Docker waits for a container to stop. */
const STOP_HEARTBEAT_SECONDS = 2;

/**
 * Stop and remove the service's container of this deployment if there is one, giving it
 * ROLLBACK_STOP_SECONDS to stop. Removing nothing succeeds.
 */
export async function removeServiceContainer(input: RemoveServiceInput): Promise<{ removed: string | null }> {
  const docker = dockerFor(input.host);
  const container = await findServiceContainer(docker, input.deploymentId, input.service);
  if (!container) return { removed: null };
  await removeById(docker, container.Id, ROLLBACK_STOP_SECONDS);
  const name = container.Names[0]?.replace(/^\//, '') ?? container.Id;
  log.info('removed container', {
    deploymentId: input.deploymentId,
    service: input.service,
    host: input.host.name,
    name,
  });
  return { removed: name };
}

/**
 * Stop a container, giving its main process `stopSeconds` after the stop signal before Docker
 * kills it, then remove it with its anonymous volumes. A container that is not running or not
 * there counts as stopped, and one already gone counts as removed, so a retry succeeds.
 *
 * The Docker call returns only once the container has stopped, so it must stay below the
 * client's 30 s call timeout. The activity heartbeats meanwhile.
 */
export async function removeById(
  docker: Docker,
  id: string,
  stopSeconds = TEARDOWN_STOP_SECONDS,
): Promise<void> {
  const container = docker.getContainer(id);
  try {
    await heartbeatWhile('stopping container', () => container.stop({ t: stopSeconds }));
  } catch (error) {
    const status = dockerStatus(error);
    // 404: already gone. 304: not running. 409: a removal is in progress, so the remove below
    // ends the same way. Anything else, such as an unreachable host, is retried.
    if (status === 404) return;
    if (status !== 304 && status !== 409) throw error;
  }
  try {
    await container.remove({ force: true, v: true });
  } catch (error) {
    const status = dockerStatus(error);
    // 404: already gone. 409: removal already in progress, which ends the same way.
    if (status === 404 || status === 409) return;
    throw error;
  }
}

/** Run `work`, heartbeating every few seconds when called inside an activity. */
async function heartbeatWhile<T>(detail: string, work: () => Promise<T>): Promise<T> {
  const context = activityContext();
  if (!context) return work();
  context.heartbeat(detail);
  const timer = setInterval(() => context.heartbeat(detail), STOP_HEARTBEAT_SECONDS * 1000);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

/** Returns the current activity's context, or undefined outside an activity. */
function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}
