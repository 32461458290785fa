/**
 * Placement: which host runs each service. A strategy first filters the hosts
 * (every rejected host gets a reason), then picks among the feasible ones.
 * Everything here is pure so that it can be tested without Docker.
 */
import type { HostFacts, HostRecord, PlacementStrategyName, ServiceSpec, StackSpec } from '../model';

export interface RejectedHost {
  host: string;
  reason: string;
}

export interface ServicePlacement {
  service: string;
  host: string;
  /** Score parts by label, when the strategy ranked hosts. */
  score?: Record<string, number>;
  /** Reason this host was chosen, as a sentence. */
  reason: string;
  rejected: RejectedHost[];
}

export interface PlacementPlan {
  strategy: PlacementStrategyName;
  /** Service name to host name. */
  assignments: Record<string, string>;
  services: ServicePlacement[];
}

export interface UnplacedService {
  service: string;
  reasons: RejectedHost[];
}

/** Raised when some service fits on no host; lists every such service with a reason per host. */
export class PlacementError extends Error {
  constructor(readonly unplaced: UnplacedService[]) {
    super(describeUnplaced(unplaced));
    this.name = 'PlacementError';
  }
}

export interface PlacementInput {
  stack: StackSpec;
  hosts: HostRecord[];
  /** Live facts per host name; a host without facts counts as unreachable. */
  facts: Record<string, HostFacts>;
  /** Seed for deterministic tie breaks, normally the deployment id. */
  seed: string;
}

export type PlacementStrategy = (input: PlacementInput) => PlacementPlan;

const strategies: Partial<Record<PlacementStrategyName, PlacementStrategy>> = {
  manual: placeManually,
  single: placeOnSingleHost,
};

/** Strategy names this version can place with. */
export function supportedStrategies(): PlacementStrategyName[] {
  return Object.keys(strategies) as PlacementStrategyName[];
}

/** Place every service of the stack with its strategy; throws PlacementError when a service fits nowhere. */
export function planPlacement(input: PlacementInput): PlacementPlan {
  const strategy = strategies[input.stack.placement];
  if (!strategy) {
    throw new Error(
      `placement "${input.stack.placement}" is not supported by this version; ` +
        `use one of: ${supportedStrategies().join(', ')}`,
    );
  }
  return strategy(input);
}

/** Returns the reason a host cannot take any service, or undefined when it can. */
export function hostUnavailableReason(host: HostRecord, facts: HostFacts | undefined): string | undefined {
  if (host.status !== 'active') return `host ${host.name} is ${host.status}`;
  if (!facts) return `host ${host.name} was not checked`;
  if (!facts.reachable) return `host ${host.name} is unreachable: ${facts.error ?? 'no answer'}`;
  return undefined;
}

/**
 * Returns the reason `host` cannot run `service` of `stack`, or undefined when it can: the host
 * must be among the request's candidate hosts, in the stack's datacenter, and meet the service's
 * constraints (datacenter, labels, and total CPUs and memory).
 */
export function constraintReason(
  host: HostRecord,
  facts: HostFacts | undefined,
  stack: StackSpec,
  service: ServiceSpec,
): string | undefined {
  if (stack.candidateHosts && !stack.candidateHosts.includes(host.name)) {
    return `host ${host.name} is not among the request's targetHosts`;
  }
  const datacenter = service.constraints?.datacenter ?? stack.datacenter;
  if (datacenter !== undefined && host.datacenter !== datacenter) {
    return `host ${host.name} is in datacenter ${host.datacenter}, not ${datacenter}`;
  }
  for (const [key, value] of Object.entries(service.constraints?.labels ?? {})) {
    const found = host.labels[key];
    if (found !== value) {
      const has = found === undefined ? 'has no label ' + key : `has ${key}=${found}`;
      return `host ${host.name} ${has}, but ${service.name} needs ${key}=${value}`;
    }
  }
  const minCpus = service.constraints?.minCpus;
  if (minCpus !== undefined && facts && facts.cpus < minCpus) {
    return `host ${host.name} has ${facts.cpus} CPUs, but ${service.name} needs at least ${minCpus}`;
  }
  const minMemory = service.constraints?.minMemoryBytes;
  if (minMemory !== undefined && facts && facts.memoryBytes < minMemory) {
    return `host ${host.name} has ${facts.memoryBytes} bytes of memory, but ${service.name} needs at least ${minMemory}`;
  }
  return undefined;
}

function placeManually(input: PlacementInput): PlacementPlan {
  const byName = new Map(input.hosts.map((host) => [host.name, host]));
  const services: ServicePlacement[] = [];
  const unplaced: UnplacedService[] = [];
  for (const service of input.stack.services) {
    const target = service.targetHost;
    const host = target === undefined ? undefined : byName.get(target);
    const reason = !target
      ? 'manual placement needs a targetHost on every item'
      : !host
        ? `host ${target} is not registered`
        : (hostUnavailableReason(host, input.facts[host.name]) ??
          constraintReason(host, input.facts[host.name], input.stack, service));
    if (reason) {
      unplaced.push({ service: service.name, reasons: [{ host: target ?? '(none)', reason }] });
      continue;
    }
    services.push({ service: service.name, host: target!, reason: 'pinned by targetHost', rejected: [] });
  }
  if (unplaced.length > 0) throw new PlacementError(unplaced);
  return toPlan('manual', services);
}

/**
 * Put the whole stack on one host. A pinned service fixes the host. Otherwise
 * the host with the fewest running containers wins, then the one with more
 * memory, then a hash of the seed and host name. Equal hosts are therefore
 * chosen the same way every time for one deployment.
 */
function placeOnSingleHost(input: PlacementInput): PlacementPlan {
  const pins = new Set(input.stack.services.flatMap((service) => service.targetHost ?? []));
  const rejected: RejectedHost[] = [];
  const candidates: { host: HostRecord; facts: HostFacts }[] = [];
  for (const host of input.hosts) {
    const unavailable = hostUnavailableReason(host, input.facts[host.name]);
    const unmet = input.stack.services
      .map((service) => constraintReason(host, input.facts[host.name], input.stack, service))
      .find((reason) => reason !== undefined);
    if (unavailable) rejected.push({ host: host.name, reason: unavailable });
    else if (unmet) rejected.push({ host: host.name, reason: unmet });
    else if (pins.size > 0 && !pins.has(host.name)) {
      rejected.push({ host: host.name, reason: `the stack pins its services to ${[...pins].join(', ')}` });
    } else candidates.push({ host, facts: input.facts[host.name]! });
  }

  if (candidates.length === 0 || pins.size > 1) {
    const reasons =
      pins.size > 1
        ? [{ host: [...pins].join(', '), reason: 'single placement with several targetHosts' }]
        : rejected;
    throw new PlacementError(input.stack.services.map((service) => ({ service: service.name, reasons })));
  }

  candidates.sort(
    (a, b) =>
      a.facts.runningContainers - b.facts.runningContainers ||
      b.facts.memoryBytes - a.facts.memoryBytes ||
      tieBreak(input.seed, a.host.name) - tieBreak(input.seed, b.host.name),
  );
  const chosen = candidates[0]!;

  const score = {
    runningContainers: chosen.facts.runningContainers,
    memoryBytes: chosen.facts.memoryBytes,
  };
  const losers = candidates.slice(1).map(({ host, facts }) => ({
    host: host.name,
    reason: `ranked lower: ${facts.runningContainers} running containers, ${facts.memoryBytes} bytes of memory`,
  }));
  const reason =
    pins.size === 1 ? 'the stack pins a service to this host' : 'fewest running containers, then most memory';

  const services = input.stack.services.map((service) => ({
    service: service.name,
    host: chosen.host.name,
    score,
    reason,
    rejected: [...rejected, ...losers],
  }));
  return toPlan('single', services);
}

function toPlan(strategy: PlacementStrategyName, services: ServicePlacement[]): PlacementPlan {
  const assignments = Object.fromEntries(services.map((entry) => [entry.service, entry.host]));
  return { strategy, assignments, services };
}

/** FNV-1a over seed and host name: stable across runs and processes, unlike Math.random. */
export function tieBreak(seed: string, hostName: string): number {
  let hash = 0x811c9dc5;
  for (const char of `${seed}\u0000${hostName}`) {
    hash ^= char.codePointAt(0)!;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

function describeUnplaced(unplaced: UnplacedService[]): string {
  const lines = unplaced.map(
    (entry) =>
      `${entry.service}: ${entry.reasons.map((r) => `${r.host}: ${r.reason}`).join('; ') || 'no hosts registered'}`,
  );
  return `cannot place ${unplaced.length} service(s): ${lines.join(' | ')}`;
}
