/**
 * Live facts about each host for placement: CPUs and memory, what the running containers reserve
 * through their limits, how many run and which host ports they publish. Hosts are read in
 * parallel, each within a time limit, and the results are kept for a few seconds so a burst of
 * plans does not query every daemon again.
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
      if (cached && cached.key === key && Date.now() - cached.at <= maxAge) return [host.name, cached.facts];
      const facts = await readFacts(host, timeout);
      cache.set(host.name, { key, at: Date.now(), facts });
      return [host.name, facts];
    }),
  );
  return Object.fromEntries(entries);
}

/** Clears the cached facts of every host, so the next read queries the daemons. */
export function clearFactsCache(): void {
  cache.clear();
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
  let cpusReserved = 0;
  let memoryReservedBytes = 0;
  for (let start = 0; start < running.length; start += INSPECT_CONCURRENCY) {
    const batch = running.slice(start, start + INSPECT_CONCURRENCY);
    const inspected = await Promise.all(
      batch.map((container) =>
        docker
          .getContainer(container.Id)
          .inspect()
          .catch(() => undefined),
      ),
    );
    for (const details of inspected) {
      cpusReserved += (details?.HostConfig.NanoCpus ?? 0) / 1e9;
      memoryReservedBytes += details?.HostConfig.Memory ?? 0;
    }
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
