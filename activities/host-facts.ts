/**
 * Live facts about each host for placement: CPUs and memory, what the running containers reserve
 * through their limits, how many run and which host ports they publish. Hosts are read in
 * parallel, each within a time limit. Three things keep a burst of plans from flooding the
 * daemons: results are kept for a few seconds, a plan that starts while a host is being read
 * shares that read, and each container's limits are inspected once, not on every read.
 */
import type Docker from 'dockerode';
import type { HostFacts, HostRecord } from '../core/model';
import { dockerFor, dockerMessage, withTimeout } from './docker';
import { classifyTlsError, tlsFailureMessage } from './docker-tls';

/** Reading one host's facts waits at most this long, so one dead host cannot stall a plan. */
export const HOST_FACTS_TIMEOUT_MS = 3_000;

/** Facts younger than this are reused. */
export const HOST_FACTS_MAX_AGE_MS = 2_000;

/** Containers inspected at once per host, to read their limits. */
const INSPECT_CONCURRENCY = 16;

const cache = new Map<string, { key: string; at: number; facts: HostFacts }>();

/** Reads under way, by host name, so plans that start together share one read of each host. */
const inFlight = new Map<string, { key: string; read: Promise<HostFacts> }>();

interface Limits {
  cpus: number;
  memoryBytes: number;
}

/**
 * The limits of each running container, by host name and container id. A container's limits
 * are fixed when it is created, so one inspection serves every later read.
 * NOTE: `docker update` can change the limits of a running container; such a change is seen only
 * once the container is recreated or the worker restarts.
 */
const limitsByHost = new Map<string, Map<string, Limits>>();

export interface FactsOptions {
  /** Reuse facts read at most this many milliseconds ago; 0 always reads again. */
  maxAgeMs?: number;
  timeoutMs?: number;
}

/**
 * Reads the facts of every host in parallel. A host that cannot be read gets `reachable: false`
 * and the error, with `errorKind: 'tls'` when a TLS failure is the reason.
 */
export async function gatherFacts(
  hosts: readonly HostRecord[],
  options: FactsOptions = {},
): Promise<Record<string, HostFacts>> {
  const maxAge = options.maxAgeMs ?? HOST_FACTS_MAX_AGE_MS;
  const timeout = options.timeoutMs ?? HOST_FACTS_TIMEOUT_MS;
  const entries = await Promise.all(
    hosts.map(async (host): Promise<[string, HostFacts]> => {
      const key = JSON.stringify(host.docker);
      const cached = cache.get(host.name);
      if (maxAge > 0 && cached && cached.key === key && Date.now() - cached.at <= maxAge) {
        return [host.name, cached.facts];
      }
      // A read under way began at most one read's time ago, which is as fresh as a new one.
      const pending = inFlight.get(host.name);
      if (pending && pending.key === key) return [host.name, await pending.read];
      const read = readFacts(host, timeout).finally(() => {
        if (inFlight.get(host.name)?.read === read) inFlight.delete(host.name);
      });
      inFlight.set(host.name, { key, read });
      const facts = await read;
      cache.set(host.name, { key, at: Date.now(), facts });
      return [host.name, facts];
    }),
  );
  return Object.fromEntries(entries);
}

/** Clears the cached facts and limits of every host, so the next read queries the daemons. */
export function clearFactsCache(): void {
  cache.clear();
  limitsByHost.clear();
}

async function readFacts(host: HostRecord, timeoutMs: number): Promise<HostFacts> {
  try {
    // Inside the try, because building the client reads the host's TLS files.
    const docker = dockerFor(host);
    return await withTimeout(describeHost(docker, host.name), timeoutMs, `reading the facts of ${host.name}`);
  } catch (error) {
    const tls = classifyTlsError(error, host.docker);
    return {
      name: host.name,
      reachable: false,
      error: tls ? tlsFailureMessage(host.name, host.docker, tls) : dockerMessage(error),
      errorKind: tls ? 'tls' : 'unreachable',
      cpus: 0,
      memoryBytes: 0,
      runningContainers: 0,
    };
  }
}

async function describeHost(docker: Docker, name: string): Promise<HostFacts> {
  const [info, running] = await Promise.all([
    docker.info(),
    docker.listContainers({ filters: { status: ['running'] } }),
  ]);
  const publishedPorts = new Set<string>();
  for (const container of running) {
    for (const port of container.Ports ?? []) {
      if (port.PublicPort) publishedPorts.add(`${port.PublicPort}/${port.Type}`);
    }
  }
  const limits = await containerLimits(docker, name, running);
  let cpusReserved = 0;
  let memoryReservedBytes = 0;
  for (const container of running) {
    cpusReserved += limits.get(container.Id)?.cpus ?? 0;
    memoryReservedBytes += limits.get(container.Id)?.memoryBytes ?? 0;
  }
  return {
    name,
    reachable: true,
    cpus: info.NCPU,
    memoryBytes: info.MemTotal,
    runningContainers: running.length,
    cpusReserved,
    memoryReservedBytes,
    publishedPorts: [...publishedPorts].sort(),
  };
}

/**
 * Returns the limits of the running containers, inspecting only those not seen before. Limits of
 * containers that no longer run are forgotten. A container that vanishes before its inspection
 * counts as reserving nothing and is inspected again if a later read still lists it.
 */
async function containerLimits(
  docker: Docker,
  hostName: string,
  running: Docker.ContainerInfo[],
): Promise<Map<string, Limits>> {
  const known = limitsByHost.get(hostName) ?? new Map<string, Limits>();
  const current = new Map<string, Limits>();
  const unseen: string[] = [];
  for (const container of running) {
    const limits = known.get(container.Id);
    if (limits) current.set(container.Id, limits);
    else unseen.push(container.Id);
  }
  for (let start = 0; start < unseen.length; start += INSPECT_CONCURRENCY) {
    const batch = unseen.slice(start, start + INSPECT_CONCURRENCY);
    const inspected = await Promise.all(
      batch.map((id) =>
        docker
          .getContainer(id)
          .inspect()
          .catch(() => undefined),
      ),
    );
    for (const details of inspected) {
      if (!details) continue;
      current.set(details.Id, {
        cpus: (details.HostConfig.NanoCpus ?? 0) / 1e9,
        memoryBytes: details.HostConfig.Memory ?? 0,
      });
    }
  }
  limitsByHost.set(hostName, current);
  return current;
}
