/**
 * A stack's network and named volumes on one host. Labels decide what Graphium may reuse and
 * remove: a resource belongs to the stack when it carries the stack's label, and to a deployment
 * when it also carries that deployment's label. Resources are never found by a name prefix.
 */
import { log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type Docker from 'dockerode';
import type { HostRecord, NetworkSpec, VolumeSpec } from '../core/model';
import { LABELS } from '../core/names';
import { ERROR_TYPES, type StackResource } from '../workflows/contract';
import { dockerFor, dockerMessage, dockerStatus } from './docker';

/** Docker label with the network's or volume's name as the stack writes it. */
export const RESOURCE_LABEL = 'io.graphium.resource';

export interface EnsureResourceInput {
  host: HostRecord;
  deploymentId: string;
  stackName: string;
  stackSlug: string;
  /** Docker's name of the resource: derived by `resourceName`, or as written when external. */
  dockerName: string;
}

export interface EnsureNetworkInput extends EnsureResourceInput {
  network: NetworkSpec;
}

export interface EnsureVolumeInput extends EnsureResourceInput {
  volume: VolumeSpec;
}

export interface EnsuredResource {
  name: string;
  /** True when this deployment created the resource, so its rollback removes it. */
  created: boolean;
}

/** Labels of a network or volume Graphium creates. Graphium's labels win over the stack's. */
export function resourceLabels(
  input: EnsureResourceInput,
  spec: { name: string; labels: Record<string, string> },
) {
  return {
    ...spec.labels,
    [LABELS.managed]: 'true',
    [LABELS.stack]: input.stackSlug,
    [LABELS.stackName]: input.stackName,
    [LABELS.deployment]: input.deploymentId,
    [RESOURCE_LABEL]: spec.name,
  };
}

/**
 * Create the stack's network on the host, or reuse the one an earlier deployment of the stack
 * created. An external network must exist already and is used as it is.
 */
export async function ensureNetwork(input: EnsureNetworkInput): Promise<EnsuredResource> {
  const docker = dockerFor(input.host);
  const existing = await findNetwork(docker, input.dockerName);
  if (input.network.external) {
    if (!existing) {
      throw missingExternal(
        'network',
        input,
        `create it there with "docker network create ${input.dockerName}" or stop declaring it external`,
      );
    }
    return { name: input.dockerName, created: false };
  }
  if (existing) return adopt('network', input, existing.Labels ?? {});

  try {
    await docker.createNetwork(networkOptions(input));
  } catch (error) {
    // 409: a network with this name appeared since the lookup, so judge it like one found then.
    const raced = dockerStatus(error) === 409 ? await findNetwork(docker, input.dockerName) : undefined;
    if (raced) return adopt('network', input, raced.Labels ?? {});
    throw createFailure('network', input, error);
  }
  log.info('network created', logFields(input));
  return { name: input.dockerName, created: true };
}

function networkOptions(input: EnsureNetworkInput): Docker.NetworkCreateOptions {
  const { network } = input;
  const pool: { Subnet?: string; Gateway?: string; IPRange?: string } = {};
  if (network.subnet !== undefined) pool.Subnet = network.subnet;
  if (network.gateway !== undefined) pool.Gateway = network.gateway;
  if (network.ipRange !== undefined) pool.IPRange = network.ipRange;
  return {
    Name: input.dockerName,
    Driver: network.driver ?? 'bridge',
    IPAM: Object.keys(pool).length > 0 ? { Driver: 'default', Config: [pool] } : undefined,
    Options: network.options,
    Labels: resourceLabels(input, network),
  };
}

/**
 * Finds a network by its exact name. Docker resolves a name given to inspect as an id prefix
 * too, and its name filter matches substrings, so the list is filtered again here.
 */
async function findNetwork(docker: Docker, name: string): Promise<Docker.NetworkInspectInfo | undefined> {
  const found = await docker.listNetworks({ filters: { name: [name] } });
  return found.find((network) => network.Name === name);
}

/**
 * Create a named volume on the host, or reuse the one an earlier deployment of the stack
 * created. An external volume must exist already and is used as it is.
 */
export async function ensureVolume(input: EnsureVolumeInput): Promise<EnsuredResource> {
  const docker = dockerFor(input.host);
  const existing = await findVolume(docker, input.dockerName);
  if (input.volume.external) {
    if (!existing) {
      throw missingExternal(
        'volume',
        input,
        `create it there with "docker volume create ${input.dockerName}" or stop declaring it external`,
      );
    }
    return { name: input.dockerName, created: false };
  }
  if (existing) return adopt('volume', input, existing.Labels ?? {});

  try {
    await docker.createVolume({
      Name: input.dockerName,
      Driver: input.volume.driver ?? 'local',
      DriverOpts: input.volume.options,
      Labels: resourceLabels(input, input.volume),
    });
  } catch (error) {
    throw createFailure('volume', input, error);
  }
  // Docker returns an existing volume of that name instead of failing, so check whose it is.
  const labels = (await findVolume(docker, input.dockerName))?.Labels ?? {};
  if (labels[LABELS.deployment] !== input.deploymentId) return adopt('volume', input, labels);
  log.info('volume created', logFields(input));
  return { name: input.dockerName, created: true };
}

async function findVolume(docker: Docker, name: string): Promise<Docker.VolumeInspectInfo | undefined> {
  try {
    return await docker.getVolume(name).inspect();
  } catch (error) {
    if (dockerStatus(error) === 404) return undefined;
    throw error;
  }
}

/**
 * Judges a network or volume that exists already: the stack's own is reused, and it counts as
 * created by this deployment when an earlier attempt of this deployment made it. Anything else
 * is a conflict the user must resolve.
 */
function adopt(kind: StackResource['kind'], input: EnsureResourceInput, labels: Record<string, string>) {
  if (labels[LABELS.stack] !== input.stackSlug || labels[LABELS.managed] !== 'true') {
    throw ApplicationFailure.nonRetryable(
      `${kind} ${input.dockerName} exists on host ${input.host.name} but does not belong to stack ` +
        `"${input.stackName}" (it lacks the label ${LABELS.stack}=${input.stackSlug}); remove or rename ` +
        `that ${kind} on the host, or declare the ${kind} external to use it as it is`,
      ERROR_TYPES.resourceConflict,
    );
  }
  const created = labels[LABELS.deployment] === input.deploymentId;
  log.info(`reusing the stack's ${kind}`, { ...logFields(input), created });
  return { name: input.dockerName, created };
}

function missingExternal(kind: StackResource['kind'], input: EnsureResourceInput, fix: string): Error {
  return ApplicationFailure.nonRetryable(
    `external ${kind} ${input.dockerName} of stack "${input.stackName}" does not exist on host ` +
      `${input.host.name}; ${fix}`,
    ERROR_TYPES.resourceNotFound,
  );
}

/** Invalid options (400), overlapping address pools (403) and unknown drivers (404) stay wrong on retry. */
function createFailure(kind: StackResource['kind'], input: EnsureResourceInput, error: unknown): Error {
  const status = dockerStatus(error);
  if (status !== 400 && status !== 403 && status !== 404) return error as Error;
  return ApplicationFailure.nonRetryable(
    `creating ${kind} ${input.dockerName} on host ${input.host.name} failed: ${dockerMessage(error)}; ` +
      `fix the ${kind}'s driver and options in the stack`,
    ERROR_TYPES.invalidSpec,
  );
}

function logFields(input: EnsureResourceInput) {
  return { deploymentId: input.deploymentId, host: input.host.name, name: input.dockerName };
}

export interface RemoveResourceInput {
  host: HostRecord;
  kind: StackResource['kind'];
  name: string;
  /** Labels the resource must carry to be removed. A resource without them is left alone. */
  labels: Record<string, string>;
}

/**
 * Remove a network or volume when it carries every label of `labels`. Removing one that is gone,
 * or that lacks a label, succeeds with `removed` false. A resource still in use fails without
 * retry, because by then every container of the deployment is gone and something else uses it.
 */
export async function removeResource(input: RemoveResourceInput): Promise<{ removed: boolean }> {
  const docker = dockerFor(input.host);
  const labels =
    input.kind === 'network'
      ? (await findNetwork(docker, input.name))?.Labels
      : (await findVolume(docker, input.name))?.Labels;
  if (!labels || !Object.entries(input.labels).every(([key, value]) => labels[key] === value)) {
    return { removed: false };
  }
  try {
    if (input.kind === 'network') await docker.getNetwork(input.name).remove();
    else await docker.getVolume(input.name).remove();
  } catch (error) {
    const status = dockerStatus(error);
    if (status === 404) return { removed: false };
    // Docker returns 409 for a volume in use, and 403 or 409 for a network with endpoints.
    if (status === 409 || status === 403) {
      throw ApplicationFailure.nonRetryable(
        `${input.kind} ${input.name} on host ${input.host.name} is still in use: ${dockerMessage(error)}; ` +
          `remove what uses it, then remove the ${input.kind} with "docker ${input.kind} rm ${input.name}"`,
        ERROR_TYPES.resourceInUse,
      );
    }
    throw error;
  }
  log.info(`${input.kind} removed`, { host: input.host.name, name: input.name });
  return { removed: true };
}

/** Lists the networks and volumes on a host that carry the stack's labels. */
export async function listStackResources(host: HostRecord, stackSlug: string): Promise<StackResource[]> {
  const docker = dockerFor(host);
  const label = [`${LABELS.stack}=${stackSlug}`, `${LABELS.managed}=true`];
  const networks = await docker.listNetworks({ filters: { label } });
  const volumes = (await docker.listVolumes({ filters: { label } })).Volumes ?? [];
  return [
    ...networks.map((network): StackResource => ({ kind: 'network', host: host.name, name: network.Name })),
    ...volumes.map((volume): StackResource => ({ kind: 'volume', host: host.name, name: volume.Name })),
  ];
}
