/**
 * The mutable state of one placement run: each host's free CPU and memory, its containers and
 * published ports, and what this plan has put there so far. Arrays indexed by host keep the
 * inner loop free of allocations, because a plan may weigh a thousand services against ten
 * thousand hosts.
 */
import type { HostFacts, HostRecord, ServiceSpec, StackSpec } from '../model';
import { tieBreak } from './tie-break';

/** Verdict on whether a host can take a service: `ok`, or the first reason it cannot. */
export enum Verdict {
  ok,
  unavailable,
  notCandidate,
  datacenter,
  label,
  minCpus,
  minMemory,
  cpu,
  memory,
  port,
  antiAffinity,
  maxPerHost,
}

/** Demand of a service on its host, computed once per run. */
export interface Demand {
  service: ServiceSpec;
  cpus: number;
  memoryBytes: number;
  /** Host ports it publishes explicitly, as `8080/tcp`. */
  ports: string[];
  /** Names of the services it must not share a host with, in both directions. */
  conflicts: Set<string>;
  /** Host indexes that pass the static checks (candidates, datacenter, labels, minimum sizes), or undefined for all. */
  allowed?: Int32Array;
  /** Whether the service or the stack sets any static constraint. */
  constrained: boolean;
  /** The service's constraints as text, so services that place alike sort next to each other. */
  shape: string;
}

/** Weights of the score parts; each part is between 0 and 1 before weighting. */
export interface PlacementWeights {
  /** Weight of the fraction of the host's CPUs still free after the service. */
  cpu: number;
  /** Weight of the fraction of the host's memory still free after the service. */
  memory: number;
  /** Weight of 1 / (1 + containers on the host), so emptier hosts score higher. */
  containers: number;
}

export const DEFAULT_WEIGHTS: PlacementWeights = { cpu: 1, memory: 1, containers: 1 };

/** A scan's result kept for the next service: the best hosts and the rejections it counted. */
export interface SavedScan {
  key: string;
  /** The value of `commits` right after the scan's service was placed. */
  commits: number;
  /** The host that took the scan's service, the only one changed since. */
  host: number;
  top: { host: number; total: number }[];
  /** The scan's rejections, opaque here; the engine clones them before use. */
  rejections: { clone(demand: Demand): unknown };
}

/** A score broken into its weighted parts. */
export interface ScoreParts {
  cpu: number;
  memory: number;
  containers: number;
  total: number;
}

export class PlacementState {
  readonly count: number;
  readonly usable: Uint8Array;
  readonly cpusTotal: Float64Array;
  readonly memoryTotal: Float64Array;
  readonly cpusFree: Float64Array;
  readonly memoryFree: Float64Array;
  readonly containers: Int32Array;
  /** Services of this stack the plan has put on each host. */
  readonly stackCount: Int32Array;
  readonly tieRank: Float64Array;
  /**
   * Score of each host for a service that requests nothing, and what each requested CPU and byte
   * of memory takes off it, so the scan scores a host with two multiplications.
   */
  readonly baseScore: Float64Array;
  readonly cpuFactor: Float64Array;
  readonly memoryFactor: Float64Array;
  /** Ports published on each host, by running containers and by this plan, with who publishes them. */
  readonly ports = new Map<number, Map<string, string>>();
  /** Services this plan has put on each host. */
  readonly placed = new Map<number, string[]>();
  /** Whether the engine may reuse the last scan; see PlacementInput.reuseScans. */
  reuseScans = true;
  /** Services committed so far, so a saved scan can tell whether anything changed since. */
  commits = 0;
  /** The last scan of a large host set, which the next service with the same demand may reuse. */
  lastScan?: SavedScan;
  /** Host index that only the services of a `datacenter` run may use, or -1 for any. */
  datacenter = -1;
  readonly datacenterOf: Int32Array;
  readonly datacenters: string[];
  /** The stack's maxServicesPerHost, or Infinity. */
  readonly maxPerHost: number;
  /** Hosts the static checks allow, by constraint signature, shared by services with equal constraints. */
  private readonly allowedCache = new Map<string, Int32Array>();

  constructor(
    readonly hosts: readonly HostRecord[],
    readonly facts: Readonly<Record<string, HostFacts>>,
    readonly stack: StackSpec,
    readonly seed: string,
    readonly weights: PlacementWeights,
  ) {
    const n = hosts.length;
    this.count = n;
    this.usable = new Uint8Array(n);
    this.cpusTotal = new Float64Array(n);
    this.memoryTotal = new Float64Array(n);
    this.cpusFree = new Float64Array(n);
    this.memoryFree = new Float64Array(n);
    this.containers = new Int32Array(n);
    this.stackCount = new Int32Array(n);
    this.tieRank = new Float64Array(n);
    this.baseScore = new Float64Array(n);
    this.cpuFactor = new Float64Array(n);
    this.memoryFactor = new Float64Array(n);
    this.datacenterOf = new Int32Array(n);
    const datacenterIndex = new Map<string, number>();
    hosts.forEach((host, index) => {
      const hostFacts = facts[host.name];
      const usable = host.status === 'active' && hostFacts?.reachable === true;
      this.usable[index] = usable ? 1 : 0;
      if (!datacenterIndex.has(host.datacenter)) datacenterIndex.set(host.datacenter, datacenterIndex.size);
      this.datacenterOf[index] = datacenterIndex.get(host.datacenter)!;
      this.tieRank[index] = tieBreak(seed, host.name);
      if (!hostFacts) return;
      this.cpusTotal[index] = hostFacts.cpus;
      this.memoryTotal[index] = hostFacts.memoryBytes;
      this.cpusFree[index] = hostFacts.cpus - (hostFacts.cpusReserved ?? 0);
      this.memoryFree[index] = hostFacts.memoryBytes - (hostFacts.memoryReservedBytes ?? 0);
      this.containers[index] = hostFacts.runningContainers;
      if (hostFacts.publishedPorts && hostFacts.publishedPorts.length > 0) {
        this.ports.set(index, new Map(hostFacts.publishedPorts.map((port) => [port, ''])));
      }
    });
    this.datacenters = [...datacenterIndex.keys()];
    this.maxPerHost = stack.maxServicesPerHost ?? Number.POSITIVE_INFINITY;
    for (let host = 0; host < n; host++) {
      this.cpuFactor[host] = this.cpusTotal[host] > 0 ? weights.cpu / this.cpusTotal[host] : 0;
      this.memoryFactor[host] = this.memoryTotal[host] > 0 ? weights.memory / this.memoryTotal[host] : 0;
      this.refreshScore(host);
    }
  }

  /** Recomputes the base score of `host` after its free capacity or container count changed. */
  private refreshScore(host: number): void {
    this.baseScore[host] =
      this.cpuFactor[host] * Math.max(0, this.cpusFree[host]) +
      this.memoryFactor[host] * Math.max(0, this.memoryFree[host]) +
      this.weights.containers / (1 + this.containers[host]);
  }

  /** Returns an independent copy, so a strategy can try a plan and throw it away. */
  clone(): PlacementState {
    const copy = Object.create(PlacementState.prototype) as PlacementState;
    Object.assign(copy, this, {
      cpusFree: this.cpusFree.slice(),
      memoryFree: this.memoryFree.slice(),
      containers: this.containers.slice(),
      stackCount: this.stackCount.slice(),
      baseScore: this.baseScore.slice(),
      ports: new Map([...this.ports].map(([host, ports]) => [host, new Map(ports)])),
      placed: new Map([...this.placed].map(([host, names]) => [host, [...names]])),
    });
    return copy;
  }

  indexOf(name: string): number {
    return this.hosts.findIndex((host) => host.name === name);
  }

  /** Builds the demand of a service, with the hosts its static constraints allow. */
  demand(service: ServiceSpec, conflicts: Set<string>): Demand {
    const ports = service.ports
      .filter((port) => port.hostPort !== undefined)
      .map((port) => `${port.hostPort}/${port.protocol}`);
    const demand: Demand = {
      service,
      cpus: service.resources.cpus ?? 0,
      memoryBytes: service.resources.memoryBytes ?? 0,
      ports,
      conflicts,
      constrained: this.hasStaticConstraints(service),
      shape: JSON.stringify([service.constraints ?? {}, service.antiAffinity ?? [], ports]),
    };
    if (demand.constrained) {
      const signature = JSON.stringify(service.constraints ?? {});
      let allowed = this.allowedCache.get(signature);
      if (!allowed) {
        const hosts: number[] = [];
        for (let host = 0; host < this.count; host++) {
          if (this.staticVerdict(host, service) === Verdict.ok) hosts.push(host);
        }
        allowed = Int32Array.from(hosts);
        this.allowedCache.set(signature, allowed);
      }
      demand.allowed = allowed;
    }
    return demand;
  }

  private hasStaticConstraints(service: ServiceSpec): boolean {
    const constraints = service.constraints;
    return (
      this.stack.candidateHosts !== undefined ||
      this.stack.datacenter !== undefined ||
      constraints?.datacenter !== undefined ||
      constraints?.minCpus !== undefined ||
      constraints?.minMemoryBytes !== undefined ||
      Object.keys(constraints?.labels ?? {}).length > 0
    );
  }

  /** Checks what does not change while the plan grows: availability, candidates, datacenter, labels, sizes. */
  staticVerdict(host: number, service: ServiceSpec): Verdict {
    if (this.usable[host] === 0) return Verdict.unavailable;
    const record = this.hosts[host];
    if (this.stack.candidateHosts && !this.stack.candidateHosts.includes(record.name))
      return Verdict.notCandidate;
    const datacenter = service.constraints?.datacenter ?? this.stack.datacenter;
    if (datacenter !== undefined && record.datacenter !== datacenter) return Verdict.datacenter;
    for (const [key, value] of Object.entries(service.constraints?.labels ?? {})) {
      if (record.labels[key] !== value) return Verdict.label;
    }
    const { minCpus, minMemoryBytes } = service.constraints ?? {};
    if (minCpus !== undefined && this.cpusTotal[host] < minCpus) return Verdict.minCpus;
    if (minMemoryBytes !== undefined && this.memoryTotal[host] < minMemoryBytes) return Verdict.minMemory;
    return Verdict.ok;
  }

  /** Checks whether `host` can take `demand` now. The static checks are skipped for hosts in `demand.allowed`. */
  verdict(host: number, demand: Demand, staticChecked: boolean): Verdict {
    if (!staticChecked) {
      // A service without static constraints only needs a usable host, which is cheap to check.
      if (demand.allowed === undefined && !demand.constrained) {
        if (this.usable[host] === 0) return Verdict.unavailable;
      } else {
        const fixed = this.staticVerdict(host, demand.service);
        if (fixed !== Verdict.ok) return fixed;
      }
    }
    if (this.datacenter !== -1 && this.datacenterOf[host] !== this.datacenter) return Verdict.datacenter;
    if (demand.cpus > 0 && this.cpusFree[host] < demand.cpus - 1e-9) return Verdict.cpu;
    if (demand.memoryBytes > 0 && this.memoryFree[host] < demand.memoryBytes) return Verdict.memory;
    if (this.stackCount[host] >= this.maxPerHost) return Verdict.maxPerHost;
    if (demand.ports.length > 0) {
      const published = this.ports.get(host);
      if (published && demand.ports.some((port) => published.has(port))) return Verdict.port;
    }
    if (demand.conflicts.size > 0) {
      const names = this.placed.get(host);
      if (names && names.some((name) => demand.conflicts.has(name))) return Verdict.antiAffinity;
    }
    return Verdict.ok;
  }

  /** Returns the total score of a feasible `host` for `demand`, as `score` computes it, without allocating. */
  scoreTotal(host: number, demand: Demand): number {
    return (
      this.baseScore[host] - demand.cpus * this.cpuFactor[host] - demand.memoryBytes * this.memoryFactor[host]
    );
  }

  /** Scores `host` for `demand` as if the service were already there. */
  score(host: number, demand: Demand): ScoreParts {
    const weights = this.weights;
    const cpuTotal = this.cpusTotal[host];
    const memoryTotal = this.memoryTotal[host];
    const cpuLeft = Math.max(0, this.cpusFree[host] - demand.cpus);
    const memoryLeft = Math.max(0, this.memoryFree[host] - demand.memoryBytes);
    const cpu = weights.cpu * (cpuTotal > 0 ? cpuLeft / cpuTotal : 0);
    const memory = weights.memory * (memoryTotal > 0 ? memoryLeft / memoryTotal : 0);
    const containers = weights.containers / (1 + this.containers[host]);
    return { cpu, memory, containers, total: cpu + memory + containers };
  }

  /** Records `demand` on `host`. */
  commit(host: number, demand: Demand): void {
    this.cpusFree[host] -= demand.cpus;
    this.memoryFree[host] -= demand.memoryBytes;
    this.containers[host] += 1;
    this.stackCount[host] += 1;
    this.commits += 1;
    this.refreshScore(host);
    if (demand.ports.length > 0) {
      let taken = this.ports.get(host);
      if (!taken) {
        taken = new Map();
        this.ports.set(host, taken);
      }
      for (const port of demand.ports) taken.set(port, demand.service.name);
    }
    const names = this.placed.get(host);
    if (names) names.push(demand.service.name);
    else this.placed.set(host, [demand.service.name]);
  }

  /** Describes a verdict for `host` as a sentence fragment, such as "not enough memory: needs 1 GiB, free 512 MiB". */
  explain(verdict: Verdict, host: number, demand: Demand): string {
    const record = this.hosts[host];
    const service = demand.service;
    switch (verdict) {
      case Verdict.unavailable: {
        if (record.status !== 'active') return `host is ${record.status}`;
        const hostFacts = this.facts[record.name];
        if (!hostFacts) return 'host was not checked';
        if (hostFacts.errorKind === 'tls') return `host is unusable: ${hostFacts.error ?? 'TLS failed'}`;
        return `host is unreachable: ${hostFacts.error ?? 'no answer'}`;
      }
      case Verdict.notCandidate:
        return "not among the request's targetHosts";
      case Verdict.datacenter: {
        const required =
          this.datacenter !== -1
            ? this.datacenters[this.datacenter]
            : (service.constraints?.datacenter ?? this.stack.datacenter);
        return `in datacenter ${record.datacenter}, not ${required}`;
      }
      case Verdict.label: {
        for (const [key, value] of Object.entries(service.constraints?.labels ?? {})) {
          const found = record.labels[key];
          if (found === value) continue;
          return found === undefined
            ? `missing label ${key}=${value}`
            : `label ${key} is ${found}, not ${value}`;
        }
        return 'missing a required label';
      }
      case Verdict.minCpus:
        return `has ${formatCpus(this.cpusTotal[host])} CPUs, needs at least ${formatCpus(service.constraints?.minCpus ?? 0)}`;
      case Verdict.minMemory:
        return (
          `has ${formatBytes(this.memoryTotal[host])} of memory, ` +
          `needs at least ${formatBytes(service.constraints?.minMemoryBytes ?? 0)}`
        );
      case Verdict.cpu:
        return `not enough CPU: needs ${formatCpus(demand.cpus)}, free ${formatCpus(Math.max(0, this.cpusFree[host]))}`;
      case Verdict.memory:
        return (
          `not enough memory: needs ${formatBytes(demand.memoryBytes)}, ` +
          `free ${formatBytes(Math.max(0, this.memoryFree[host]))}`
        );
      case Verdict.port: {
        const taken = this.ports.get(host)!;
        const port = demand.ports.find((entry) => taken.has(entry))!;
        const owner = taken.get(port);
        return owner ? `port ${port} is taken by ${owner} of this stack` : `port ${port} is taken`;
      }
      case Verdict.antiAffinity: {
        const other = this.placed.get(host)!.find((name) => demand.conflicts.has(name));
        return `runs ${other}, which must not share a host with ${service.name}`;
      }
      case Verdict.maxPerHost:
        return `already runs ${this.stackCount[host]} services of this stack, the most maxInstancesPerHost allows`;
      default:
        return 'fits';
    }
  }
}

/** Formats a CPU count without float noise, such as 0.5 or 2. */
export function formatCpus(cpus: number): string {
  return String(Math.round(cpus * 1000) / 1000);
}

/** Formats bytes with a binary unit, such as "512 MiB" or "1.5 GiB". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${Math.round(value * 10) / 10} ${units[unit]}`;
}
