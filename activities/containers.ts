/**
 * Container side effects on one host, each idempotent: a retried create adopts
 * the container it made before, and removing a missing container succeeds.
 * Containers are found by their labels, never by a name prefix.
 */
import { Context, log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type Docker from 'dockerode';
import type { HealthCheck, HostRecord } from '../core/model';
import { LABELS } from '../core/names';
import type { PublishedPort } from '../workflows/contract';
import { ERROR_TYPES } from '../workflows/contract';
import { dockerFor, dockerMessage, dockerStatus } from './docker';

export interface EnsureImageInput {
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
  /** Ports to publish; hostPort 0 lets Docker choose a free port. */
  publish: PublishedPort[];
  extraHosts: string[];
  labels: Record<string, string>;
  healthCheck?: HealthCheck;
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
 */
export async function startContainer(input: StartContainerInput): Promise<StartedContainer> {
  const docker = dockerFor(input.host);
  const existing = await findServiceContainer(docker, input.deploymentId, input.service);
  if (existing) {
    const info = await docker.getContainer(existing.Id).inspect();
    if (!info.State.Running) await startOrExplain(docker, existing.Id, input);
    log.info('adopted container from an earlier attempt', logFields(input, existing.Id));
    return describeStarted(docker, existing.Id, true);
  }
  await clearNameForStack(docker, input);
  const created = await docker.createContainer(createOptions(input));
  Context.current().heartbeat('created');
  await startOrExplain(docker, created.id, input);
  log.info('container started', logFields(input, created.id));
  return describeStarted(docker, created.id, false);
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

function createOptions(input: StartContainerInput): Docker.ContainerCreateOptions {
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostPort: string }[]> = {};
  for (const port of input.publish) {
    const key = `${port.containerPort}/${port.protocol}`;
    exposed[key] = {};
    bindings[key] = [{ HostPort: port.hostPort > 0 ? String(port.hostPort) : '' }];
  }
  return {
    name: input.containerName,
    Image: input.image,
    Cmd: input.command,
    Env: Object.entries(input.environment).map(([key, value]) => `${key}=${value}`),
    Labels: { ...input.labels, ...graphiumLabels(input) },
    ExposedPorts: exposed,
    Healthcheck: dockerHealthcheck(input.healthCheck),
    HostConfig: {
      PortBindings: bindings,
      ExtraHosts: input.extraHosts,
    },
  };
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

async function startOrExplain(docker: Docker, id: string, input: StartContainerInput): Promise<void> {
  try {
    await docker.getContainer(id).start();
  } catch (error) {
    const message = dockerMessage(error);
    if (/port is already allocated|address already in use/i.test(message)) {
      const ports = input.publish.filter((p) => p.hostPort > 0).map((p) => p.hostPort);
      throw ApplicationFailure.nonRetryable(
        `cannot start ${input.containerName} on host ${input.host.name}: a published port ` +
          `(${ports.join(', ') || 'auto'}) is already allocated there (${message}); ` +
          `free the port or choose another hostPort`,
        ERROR_TYPES.portAllocated,
      );
    }
    if (dockerStatus(error) === 304) return; // already started
    throw error;
  }
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

/** Remove the service's container of this deployment if there is one. Removing nothing succeeds. */
export async function removeServiceContainer(input: RemoveServiceInput): Promise<{ removed: string | null }> {
  const docker = dockerFor(input.host);
  const container = await findServiceContainer(docker, input.deploymentId, input.service);
  if (!container) return { removed: null };
  await removeById(docker, container.Id);
  const name = container.Names[0]?.replace(/^\//, '') ?? container.Id;
  log.info('removed container', {
    deploymentId: input.deploymentId,
    service: input.service,
    host: input.host.name,
    name,
  });
  return { removed: name };
}

export async function removeById(docker: Docker, id: string): Promise<void> {
  try {
    await docker.getContainer(id).remove({ force: true, v: true });
  } catch (error) {
    const status = dockerStatus(error);
    // 404: already gone. 409: removal already in progress, which ends the same way.
    if (status === 404 || status === 409) return;
    throw error;
  }
}
