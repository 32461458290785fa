/**
 * Placement: which host runs each service, and why. Pinned services go to their host first.
 * The stack's strategy places the rest, each service on the feasible host that scores best. A
 * host is feasible when it meets the service's constraints and has the CPU, memory and ports the
 * service needs, counting what this plan has already put there. Every rejected host
 * gets a reason. Everything here is pure, so it is tested without Docker.
 */
import type { HostFacts, HostRecord, PlacementStrategyName, ServiceSpec, StackSpec } from '../model';
import {
  DEFAULT_WEIGHTS,
  PlacementState,
  Verdict,
  type Demand,
  type PlacementWeights,
  type ScoreParts,
} from './state';
import { tieBreak } from './tie-break';

export { DEFAULT_WEIGHTS, type PlacementWeights, type ScoreParts } from './state';
export { tieBreak } from './tie-break';

/**
 * Largest number of hosts for which a plan lists every rejected host with its reason. Above it, a
 * plan groups rejections by reason with a count and a few examples, so a plan onto thousands of
 * hosts stays small.
 */
export const EXPLAIN_ALL_LIMIT = 64;

const EXAMPLES_PER_REASON = 3;
const RUNNERS_UP = 3;

/**
 * Feasible hosts a scan of a large host set keeps, best first. The next service with the same
 * demand reuses them, because only the host that took the last service has changed since.
 */
const TOP_KEPT = 32;

export interface RejectedHost {
  host: string;
  reason: string;
}

/** Rejections of one kind, when there are too many hosts to list each. */
export interface RejectionGroup {
  reason: string;
  count: number;
  examples: RejectedHost[];
}

export interface ServicePlacement {
  service: string;
  host: string;
  /** Whether the stack or the request pinned the service to this host. */
  pinned: boolean;
  /** The chosen host's score, in weighted parts. */
  score?: ScoreParts;
  /** Reason this host was chosen, as a sentence. */
  reason: string;
  /** Every host not chosen, with the reason, when the plan has at most EXPLAIN_ALL_LIMIT hosts. */
  rejected: RejectedHost[];
  /** Rejections grouped by kind, when the plan has more hosts. */
  rejectedGroups?: RejectionGroup[];
}

export interface PlacementPlan {
  strategy: PlacementStrategyName;
  /** The datacenter a `datacenter` plan chose. */
  datacenter?: string;
  weights: PlacementWeights;
  /** Service name to host name. */
  assignments: Record<string, string>;
  /** One entry per service, in stack order. */
  services: ServicePlacement[];
}

export interface UnplacedService {
  service: string;
  /** Reason each host was rejected; on large host sets they are grouped in `groups` instead. */
  reasons: RejectedHost[];
  groups?: RejectionGroup[];
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
  weights?: PlacementWeights;
  /**
   * Reuse a scan for the next service with the same demand. Default true; false scans every host
   * for every service, which gives the same plan more slowly and lets tests check that it does.
   */
  reuseScans?: boolean;
}

/**
 * Places every service of the stack with its strategy.
 *
 * @throws PlacementError naming every service that fits on no host, with a reason per host.
 */
export function planPlacement(input: PlacementInput): PlacementPlan {
  const weights = input.weights ?? DEFAULT_WEIGHTS;
  const hosts = [...input.hosts].sort(byName);
  const state = new PlacementState(hosts, input.facts, input.stack, input.seed, weights);
  state.reuseScans = input.reuseScans ?? true;
  const demands = buildDemands(state, input.stack.services);

  switch (input.stack.placement) {
    case 'single':
      return placeOnOneHost(state, demands);
    case 'datacenter':
      return placeInOneDatacenter(state, demands);
    default:
      return finish(state, demands, placeEach(state, demands, input.stack.placement));
  }
}

function compareText(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}

/** Orders hosts by name in code-unit order, which does not depend on the locale. */
function byName(a: HostRecord, b: HostRecord): number {
  if (a.name === b.name) return 0;
  return a.name < b.name ? -1 : 1;
}

function buildDemands(state: PlacementState, services: readonly ServiceSpec[]): Demand[] {
  const conflicts = new Map(services.map((service) => [service.name, new Set<string>()]));
  for (const service of services) {
    for (const other of service.antiAffinity ?? []) {
      if (other === service.name || !conflicts.has(other)) continue;
      conflicts.get(service.name)!.add(other);
      conflicts.get(other)!.add(service.name);
    }
  }
  return services.map((service) => state.demand(service, conflicts.get(service.name)!));
}

/** Placements by service name, and the services that fit nowhere. */
interface Outcome {
  placed: Map<string, ServicePlacement>;
  unplaced: UnplacedService[];
}

/**
 * Places pinned services on their hosts, then the others one by one: largest memory and CPU
 * requests first, then by position, so big services find room before small ones fill the hosts.
 * `manual` places only pinned services, `spread` prefers the host with the fewest services of this
 * stack, and `auto` the best score.
 */
function placeEach(state: PlacementState, demands: Demand[], strategy: PlacementStrategyName): Outcome {
  const outcome: Outcome = { placed: new Map(), unplaced: [] };
  for (const demand of demands.filter((entry) => entry.service.targetHost !== undefined)) {
    placePinned(state, demand, outcome);
  }
  const free = demands.filter((entry) => entry.service.targetHost === undefined);
  free.sort(
    (a, b) =>
      b.memoryBytes - a.memoryBytes ||
      b.cpus - a.cpus ||
      compareText(a.shape, b.shape) ||
      a.service.position - b.service.position ||
      (a.service.name < b.service.name ? -1 : 1),
  );
  for (const demand of free) {
    if (strategy === 'manual') {
      outcome.unplaced.push({
        service: demand.service.name,
        reasons: [{ host: '(none)', reason: 'manual placement needs a targetHost on every service' }],
      });
      continue;
    }
    placeBest(state, demand, strategy === 'spread', outcome);
  }
  return outcome;
}

function placePinned(state: PlacementState, demand: Demand, outcome: Outcome): void {
  const name = demand.service.targetHost!;
  const host = state.indexOf(name);
  const service = demand.service.name;
  if (host === -1) {
    outcome.unplaced.push({ service, reasons: [{ host: name, reason: 'host is not registered' }] });
    return;
  }
  const verdict = state.verdict(host, demand, false);
  if (verdict !== Verdict.ok) {
    outcome.unplaced.push({
      service,
      reasons: [{ host: name, reason: state.explain(verdict, host, demand) }],
    });
    return;
  }
  const score = state.score(host, demand);
  state.commit(host, demand);
  outcome.placed.set(service, {
    service,
    host: name,
    pinned: true,
    score: rounded(score),
    reason: 'pinned by targetHost',
    rejected: [],
  });
}

/**
 * Collects the reasons of rejected hosts: every one on small host sets, and on large ones a count
 * per kind with a few examples, whose sentences are the only ones built.
 */
class Rejections {
  readonly list: RejectedHost[] = [];
  private readonly counts = new Map<string, RejectionGroup>();
  private readonly verdictCounts = new Int32Array(VERDICT_COUNT);
  /** The lowest-indexed hosts rejected for each verdict, so the examples do not depend on scan order. */
  private readonly verdictExamples: (RejectedHost & { index: number })[][] = Array.from(
    { length: VERDICT_COUNT },
    () => [],
  );

  constructor(
    private readonly explainAll: boolean,
    private readonly state: PlacementState,
    private readonly demand: Demand,
  ) {}

  /** Records that `host` failed with `verdict`; the sentence is built only when it is kept. */
  reject(host: number, verdict: Verdict): void {
    if (this.explainAll) {
      this.list.push({
        host: this.state.hosts[host].name,
        reason: this.state.explain(verdict, host, this.demand),
      });
      return;
    }
    this.verdictCounts[verdict]++;
    const examples = this.verdictExamples[verdict];
    const full = examples.length >= EXAMPLES_PER_REASON;
    if (full && host > examples[examples.length - 1].index) return;
    const reason = this.state.explain(verdict, host, this.demand);
    let position = examples.length;
    while (position > 0 && examples[position - 1].index > host) position -= 1;
    examples.splice(position, 0, { index: host, host: this.state.hosts[host].name, reason });
    if (examples.length > EXAMPLES_PER_REASON) examples.pop();
  }

  /** Records a rejection of another kind; `describe` builds its sentence and runs only when it is kept. */
  add(host: string, kind: string, describe: () => string): void {
    if (this.explainAll) {
      this.list.push({ host, reason: describe() });
      return;
    }
    let group = this.counts.get(kind);
    if (!group) {
      group = { reason: kind, count: 0, examples: [] };
      this.counts.set(kind, group);
    }
    group.count += 1;
    if (group.examples.length < EXAMPLES_PER_REASON) group.examples.push({ host, reason: describe() });
  }

  /** Adds the rejections another pass counted, such as the hosts the static checks excluded. */
  merge(groups: readonly RejectionGroup[]): void {
    for (const group of groups) {
      const existing = this.counts.get(group.reason);
      if (!existing) {
        this.counts.set(group.reason, { ...group, examples: [...group.examples] });
        continue;
      }
      existing.count += group.count;
      existing.examples.push(...group.examples.slice(0, EXAMPLES_PER_REASON - existing.examples.length));
    }
  }

  /** Returns an independent copy for another service of the same demand. */
  clone(demand: Demand): Rejections {
    const copy = new Rejections(this.explainAll, this.state, demand);
    copy.list.push(...this.list);
    for (const [kind, group] of this.counts)
      copy.counts.set(kind, { ...group, examples: [...group.examples] });
    copy.verdictCounts.set(this.verdictCounts);
    this.verdictExamples.forEach((examples, verdict) => copy.verdictExamples[verdict].push(...examples));
    return copy;
  }

  grouped(): RejectionGroup[] | undefined {
    if (this.explainAll) return undefined;
    const groups = [...this.counts.values()].map((group) => ({ ...group, examples: [...group.examples] }));
    this.verdictCounts.forEach((count, verdict) => {
      if (count === 0) return;
      const kind = VERDICT_KINDS[verdict as Verdict];
      const existing = groups.find((group) => group.reason === kind);
      const examples = this.verdictExamples[verdict].map(({ host, reason }) => ({ host, reason }));
      if (existing) {
        existing.count += count;
        existing.examples.push(...examples.slice(0, EXAMPLES_PER_REASON - existing.examples.length));
      } else {
        groups.push({ reason: kind, count, examples });
      }
    });
    return groups;
  }
}

const VERDICT_COUNT = Object.keys(Verdict).length / 2;

const VERDICT_KINDS: Record<Verdict, string> = {
  [Verdict.ok]: 'fits',
  [Verdict.unavailable]: 'host unavailable',
  [Verdict.notCandidate]: 'not among targetHosts',
  [Verdict.datacenter]: 'other datacenter',
  [Verdict.label]: 'missing label',
  [Verdict.minCpus]: 'too few CPUs',
  [Verdict.minMemory]: 'too little memory',
  [Verdict.cpu]: 'not enough CPU',
  [Verdict.memory]: 'not enough memory',
  [Verdict.port]: 'port taken',
  [Verdict.antiAffinity]: 'anti-affinity',
  [Verdict.maxPerHost]: 'maxInstancesPerHost reached',
};

/**
 * Places one unpinned service on its best feasible host: the highest score, or under `spread` the
 * fewest services of this stack first. Equal candidates fall to the seeded tie break.
 */
function placeBest(state: PlacementState, demand: Demand, spread: boolean, outcome: Outcome): void {
  const explainAll = state.count <= EXPLAIN_ALL_LIMIT;
  let rejections = new Rejections(explainAll, state, demand);
  // Every feasible host on small sets; the best few on large ones, kept sorted by total.
  let feasible: { host: number; total: number }[] = [];
  const allowed = demand.allowed;

  // Hosts the static checks excluded are explained first. On large host sets the counts are the
  // same for every service with the same constraints, so they are computed once.
  if (allowed && allowed.length < state.count) {
    if (explainAll) {
      for (const host of excludedHosts(state, allowed))
        rejections.reject(host, state.staticVerdict(host, demand.service));
    } else {
      rejections.merge(excludedGroups(state, demand, allowed));
    }
  }

  let best: number;
  const reused = reuseScan(state, demand, spread, explainAll);
  if (reused) {
    rejections = reused.rejections;
    feasible = reused.top;
    best = bestOf(state, feasible);
  } else {
    best = scanHosts(state, demand, spread, explainAll, rejections, feasible);
  }

  const service = demand.service.name;
  if (best === -1) {
    const unplaced: UnplacedService = { service, reasons: rejections.list };
    const groups = rejections.grouped();
    if (groups) unplaced.groups = groups;
    if (state.count === 0) unplaced.reasons = [{ host: '(none)', reason: 'no hosts are registered' }];
    outcome.unplaced.push(unplaced);
    return;
  }

  const bestScore = state.score(best, demand);
  const reason = spread
    ? `fewest services of this stack (${state.stackCount[best]}), then the highest score of ${countFeasible(feasible, explainAll)}`
    : `highest score of ${countFeasible(feasible, explainAll)}`;
  // On large sets `feasible` is already in rank order; on small ones it is in host order.
  const ranked = explainAll ? [...feasible].sort((a, b) => b.total - a.total) : feasible;
  const losers = ranked
    .filter((entry) => entry.host !== best)
    .slice(0, explainAll ? undefined : RUNNERS_UP)
    .map((entry) => ({
      host: state.hosts[entry.host].name,
      reason: spread
        ? `ranked lower: ${state.stackCount[entry.host]} services of this stack, score ${round(entry.total)}`
        : `ranked lower: score ${round(entry.total)} against ${round(bestScore.total)}`,
    }));
  if (!explainAll && !spread && state.reuseScans) {
    state.lastScan = {
      key: demandKey(demand),
      commits: state.commits + 1,
      host: best,
      top: feasible,
      rejections,
    };
  }
  state.commit(best, demand);
  const placement: ServicePlacement = {
    service,
    host: state.hosts[best].name,
    pinned: false,
    score: rounded(bestScore),
    reason,
    rejected: [...rejections.list, ...losers],
  };
  const groups = rejections.grouped();
  if (groups) placement.rejectedGroups = groups;
  outcome.placed.set(service, placement);
}

/**
 * Checks and scores every host for `demand` and returns the index of the best one, or -1. It runs
 * once per host for every service, so it lives in its own function, whose locals no closure
 * captures, and reads the state's arrays directly. It makes the checks of PlacementState.verdict
 * in the same order and scores like scoreTotal.
 */
function scanHosts(
  state: PlacementState,
  demand: Demand,
  spread: boolean,
  explainAll: boolean,
  rejections: Rejections,
  feasible: { host: number; total: number }[],
): number {
  const allowed = demand.allowed;
  const total = allowed ? allowed.length : state.count;
  let best = -1;
  let bestTotal = 0;
  const {
    usable,
    cpusFree,
    memoryFree,
    stackCount,
    datacenterOf,
    tieRank,
    baseScore,
    cpuFactor,
    memoryFactor,
  } = state;
  const datacenter = state.datacenter;
  const maxPerHost = state.maxPerHost;
  const needCpus = demand.cpus;
  const needMemory = demand.memoryBytes;
  const staticChecked = allowed !== undefined;
  const needsStaticCheck = !staticChecked && demand.constrained;
  const needsPlanCheck = demand.ports.length > 0 || demand.conflicts.size > 0;
  for (let position = 0; position < total; position++) {
    const host = allowed ? allowed[position] : position;
    let verdict = Verdict.ok;
    if (needsStaticCheck) verdict = state.staticVerdict(host, demand.service);
    else if (!staticChecked && usable[host] === 0) verdict = Verdict.unavailable;
    if (verdict === Verdict.ok) {
      if (datacenter !== -1 && datacenterOf[host] !== datacenter) verdict = Verdict.datacenter;
      else if (needCpus > 0 && cpusFree[host] < needCpus - 1e-9) verdict = Verdict.cpu;
      else if (needMemory > 0 && memoryFree[host] < needMemory) verdict = Verdict.memory;
      else if (stackCount[host] >= maxPerHost) verdict = Verdict.maxPerHost;
      else if (needsPlanCheck) verdict = state.verdict(host, demand, true);
    }
    if (verdict !== Verdict.ok) {
      rejections.reject(host, verdict);
      continue;
    }
    // A feasible host has at least the requested CPU and memory free, so subtracting the request's
    // share from the base score gives scoreTotal without dividing.
    const score = baseScore[host] - needCpus * cpuFactor[host] - needMemory * memoryFactor[host];
    if (explainAll) feasible.push({ host, total: score });
    else if (feasible.length < TOP_KEPT || score >= feasible[feasible.length - 1].total - 1e-9) {
      keepBest(feasible, host, score, tieRank);
    }
    if (best === -1) {
      best = host;
      bestTotal = score;
      continue;
    }
    if (spread && stackCount[host] !== stackCount[best]) {
      if (stackCount[host] < stackCount[best]) {
        best = host;
        bestTotal = score;
      }
      continue;
    }
    const difference = score - bestTotal;
    if (difference > 1e-9 || (difference >= -1e-9 && tieRank[host] < tieRank[best])) {
      best = host;
      bestTotal = score;
    }
  }

  return best;
}

/**
 * Returns the previous scan, updated for the host that took its service, or undefined when this
 * service has another demand or something else was placed since. Only that host has changed, so
 * the other kept hosts and the rejection counts are still exact.
 */
function reuseScan(
  state: PlacementState,
  demand: Demand,
  spread: boolean,
  explainAll: boolean,
): { top: { host: number; total: number }[]; rejections: Rejections } | undefined {
  const last = state.lastScan;
  if (explainAll || spread || !last || last.commits !== state.commits || last.key !== demandKey(demand)) {
    return undefined;
  }
  if (demand.ports.length > 0 || demand.conflicts.size > 0) return undefined;
  const top = last.top.filter((entry) => entry.host !== last.host);
  const rejections = (last.rejections as Rejections).clone(demand);
  const verdict = state.verdict(last.host, demand, demand.allowed !== undefined);
  if (verdict === Verdict.ok) keepBest(top, last.host, state.scoreTotal(last.host, demand), state.tieRank);
  else rejections.reject(last.host, verdict);
  return top.length > 0 ? { top, rejections } : undefined;
}

/** Identifies what a scan depends on besides the state: the request, the allowed hosts and the datacenter. */
const allowedIds = new WeakMap<Int32Array, number>();
let nextAllowedId = 1;

function demandKey(demand: Demand): string {
  let allowed = 0;
  if (demand.allowed) {
    allowed = allowedIds.get(demand.allowed) ?? 0;
    if (allowed === 0) {
      allowed = nextAllowedId++;
      allowedIds.set(demand.allowed, allowed);
    }
  }
  return `${demand.cpus}|${demand.memoryBytes}|${allowed}|${demand.ports.length}|${demand.conflicts.size}`;
}

/** Returns the hosts that are not in `allowed`. */
function excludedHosts(state: PlacementState, allowed: Int32Array): number[] {
  const inAllowed = new Uint8Array(state.count);
  for (const host of allowed) inAllowed[host] = 1;
  const excluded: number[] = [];
  for (let host = 0; host < state.count; host++) if (inAllowed[host] === 0) excluded.push(host);
  return excluded;
}

const excludedCache = new WeakMap<Int32Array, RejectionGroup[]>();

/** Groups the hosts the static checks excluded by reason, once per set of allowed hosts. */
function excludedGroups(state: PlacementState, demand: Demand, allowed: Int32Array): RejectionGroup[] {
  const cached = excludedCache.get(allowed);
  if (cached) return cached;
  const counter = new Rejections(false, state, demand);
  for (const host of excludedHosts(state, allowed))
    counter.reject(host, state.staticVerdict(host, demand.service));
  const groups = counter.grouped() ?? [];
  excludedCache.set(allowed, groups);
  return groups;
}

/** Keeps the RUNNERS_UP + 1 highest totals in `top`, highest first. */
function keepBest(
  top: { host: number; total: number }[],
  host: number,
  total: number,
  tieRank: Float64Array,
): void {
  const beats = (other: { host: number; total: number }) => {
    const difference = total - other.total;
    return difference > 1e-9 || (difference >= -1e-9 && tieRank[host] < tieRank[other.host]);
  };
  if (top.length >= TOP_KEPT && !beats(top[top.length - 1])) return;
  let index = top.length;
  while (index > 0 && beats(top[index - 1])) index -= 1;
  top.splice(index, 0, { host, total });
  if (top.length > TOP_KEPT) top.pop();
}

/** Returns the best host of `top` by score, ties going to the lower tie rank, as scanHosts decides. */
function bestOf(state: PlacementState, top: readonly { host: number; total: number }[]): number {
  let best = -1;
  let bestTotal = 0;
  for (const { host, total } of top) {
    const difference = total - bestTotal;
    if (
      best === -1 ||
      difference > 1e-9 ||
      (difference >= -1e-9 && state.tieRank[host] < state.tieRank[best])
    ) {
      best = host;
      bestTotal = total;
    }
  }
  return best;
}

function countFeasible(feasible: unknown[], explainAll: boolean): string {
  return explainAll
    ? `${feasible.length} feasible host${feasible.length === 1 ? '' : 's'}`
    : 'the feasible hosts';
}

/** Returns whether `host` beats the current `best`; scores within 1e-9 count as equal. */
function better(
  state: PlacementState,
  host: number,
  total: number,
  best: number,
  bestTotal: number,
  spread: boolean,
): boolean {
  if (spread && state.stackCount[host] !== state.stackCount[best]) {
    return state.stackCount[host] < state.stackCount[best];
  }
  const difference = total - bestTotal;
  if (Math.abs(difference) > 1e-9) return difference > 0;
  return state.tieRank[host] < state.tieRank[best];
}

/**
 * Places the whole stack in one datacenter: the stack's `datacenter`, or else the one whose hosts
 * fit every service and keep the most capacity free, spreading the services across its hosts.
 */
function placeInOneDatacenter(state: PlacementState, demands: Demand[]): PlacementPlan {
  const named = state.stack.datacenter;
  const candidates = named !== undefined ? [named] : [...state.datacenters].sort();
  let best: { name: string; trial: PlacementState; outcome: Outcome; fit: number } | undefined;
  let fewestUnplaced: { name: string; outcome: Outcome } | undefined;
  for (const name of candidates) {
    const trial = state.clone();
    trial.datacenter = state.datacenters.indexOf(name);
    if (trial.datacenter === -1) continue;
    const outcome = placeEach(trial, demands, 'spread');
    if (outcome.unplaced.length > 0) {
      if (!fewestUnplaced || outcome.unplaced.length < fewestUnplaced.outcome.unplaced.length) {
        fewestUnplaced = { name, outcome };
      }
      continue;
    }
    const fit = freeFraction(trial, trial.datacenter);
    const wins =
      !best ||
      fit > best.fit + 1e-9 ||
      (Math.abs(fit - best.fit) <= 1e-9 && tieBreak(state.seed, name) < tieBreak(state.seed, best.name));
    if (wins) best = { name, trial, outcome, fit };
  }
  if (!best) {
    if (fewestUnplaced) {
      const note = `in datacenter ${fewestUnplaced.name}, the one that fits the most services`;
      throw new PlacementError(
        fewestUnplaced.outcome.unplaced.map((entry) => ({
          ...entry,
          reasons: entry.reasons.map((reason) => ({ ...reason, reason: `${reason.reason} (${note})` })),
        })),
      );
    }
    const reason =
      named !== undefined ? `no registered host is in datacenter ${named}` : 'no hosts are registered';
    throw new PlacementError(
      demands.map((demand) => ({ service: demand.service.name, reasons: [{ host: '(none)', reason }] })),
    );
  }
  const plan = finish(best.trial, demands, best.outcome);
  plan.datacenter = best.name;
  return plan;
}

/** Returns the mean of the free CPU and memory fractions of a datacenter's usable hosts. */
function freeFraction(state: PlacementState, datacenter: number): number {
  let cpuFree = 0;
  let cpuTotal = 0;
  let memoryFree = 0;
  let memoryTotal = 0;
  for (let host = 0; host < state.count; host++) {
    if (state.datacenterOf[host] !== datacenter || state.usable[host] === 0) continue;
    cpuFree += Math.max(0, state.cpusFree[host]);
    cpuTotal += state.cpusTotal[host];
    memoryFree += Math.max(0, state.memoryFree[host]);
    memoryTotal += state.memoryTotal[host];
  }
  const cpu = cpuTotal > 0 ? cpuFree / cpuTotal : 0;
  const memory = memoryTotal > 0 ? memoryFree / memoryTotal : 0;
  return (cpu + memory) / 2;
}

/**
 * Puts the whole stack on one host: the best-scoring host that fits the sum of its services'
 * requests and every service's constraints. A pinned service fixes the host.
 */
function placeOnOneHost(state: PlacementState, demands: Demand[]): PlacementPlan {
  const pins = [...new Set(demands.flatMap((demand) => demand.service.targetHost ?? []))];
  const services = demands.map((demand) => demand.service.name);
  const conflicting = demands.find((demand) => demand.conflicts.size > 0);
  if (pins.length > 1 || conflicting) {
    const reason =
      pins.length > 1
        ? `single placement, but the stack pins services to ${pins.join(', ')}`
        : `single placement, but ${conflicting!.service.name} must not share a host with ${[...conflicting!.conflicts].join(', ')}`;
    throw new PlacementError(
      services.map((service) => ({ service, reasons: [{ host: pins.join(', ') || '(any)', reason }] })),
    );
  }

  const whole: Demand = {
    service: demands[0]!.service,
    cpus: demands.reduce((sum, demand) => sum + demand.cpus, 0),
    memoryBytes: demands.reduce((sum, demand) => sum + demand.memoryBytes, 0),
    ports: demands.flatMap((demand) => demand.ports),
    conflicts: new Set(),
    constrained: false,
    shape: '',
  };
  const explainAll = state.count <= EXPLAIN_ALL_LIMIT;
  const rejections = new Rejections(explainAll, state, whole);
  let best = -1;
  let bestScore: ScoreParts | undefined;
  const feasible: { host: number; score: ScoreParts }[] = [];

  for (let host = 0; host < state.count; host++) {
    const name = state.hosts[host].name;
    if (pins.length === 1 && pins[0] !== name) {
      rejections.add(name, 'pinned elsewhere', () => `the stack pins its services to ${pins[0]}`);
      continue;
    }
    const failed = wholeStackVerdict(state, host, demands, whole);
    if (failed) {
      rejections.add(name, failed.kind, () => failed.reason);
      continue;
    }
    const score = state.score(host, whole);
    if (explainAll) feasible.push({ host, score });
    if (best === -1 || better(state, host, score.total, best, bestScore!.total, false)) {
      best = host;
      bestScore = score;
    }
  }
  if (best === -1) {
    const groups = rejections.grouped();
    const reasons =
      pins.length === 1 && state.indexOf(pins[0]) === -1
        ? [{ host: pins[0], reason: 'host is not registered' }]
        : state.count === 0
          ? [{ host: '(none)', reason: 'no hosts are registered' }]
          : rejections.list;
    throw new PlacementError(
      services.map((service) => ({ service, reasons, ...(groups ? { groups } : {}) })),
    );
  }

  const losers = feasible
    .filter((entry) => entry.host !== best)
    .map((entry) => ({
      host: state.hosts[entry.host].name,
      reason: `ranked lower: score ${round(entry.score.total)} against ${round(bestScore!.total)}`,
    }));
  const reason =
    pins.length === 1
      ? 'the stack pins a service to this host'
      : 'highest score among the hosts that fit the whole stack';
  const groups = rejections.grouped();
  for (const demand of demands) state.commit(best, demand);
  const placed = new Map(
    demands.map((demand) => [
      demand.service.name,
      {
        service: demand.service.name,
        host: state.hosts[best].name,
        pinned: demand.service.targetHost !== undefined,
        score: rounded(bestScore!),
        reason,
        rejected: [...rejections.list, ...losers],
        ...(groups ? { rejectedGroups: groups } : {}),
      },
    ]),
  );
  return finish(state, demands, { placed, unplaced: [] });
}

/** Checks one host against every service of a `single` stack; returns the first problem. */
function wholeStackVerdict(
  state: PlacementState,
  host: number,
  demands: Demand[],
  whole: Demand,
): { reason: string; kind: string } | undefined {
  for (const demand of demands) {
    const verdict = state.staticVerdict(host, demand.service);
    if (verdict !== Verdict.ok) {
      return {
        reason: `${state.explain(verdict, host, demand)} (for ${demand.service.name})`,
        kind: VERDICT_KINDS[verdict],
      };
    }
  }
  const max = state.stack.maxServicesPerHost;
  if (max !== undefined && demands.length > max) {
    return {
      reason: `the stack has ${demands.length} services, more than maxInstancesPerHost ${max} allows on one host`,
      kind: VERDICT_KINDS[Verdict.maxPerHost],
    };
  }
  const verdict = state.verdict(host, whole, true);
  if (verdict === Verdict.ok) return undefined;
  const reason = state.explain(verdict, host, whole);
  return { reason: `${reason} for the whole stack`, kind: VERDICT_KINDS[verdict] };
}

function finish(state: PlacementState, demands: Demand[], outcome: Outcome): PlacementPlan {
  if (outcome.unplaced.length > 0) {
    const order = new Map(demands.map((demand, index) => [demand.service.name, index]));
    outcome.unplaced.sort((a, b) => order.get(a.service)! - order.get(b.service)!);
    throw new PlacementError(outcome.unplaced);
  }
  const services = demands.map((demand) => outcome.placed.get(demand.service.name)!);
  return {
    strategy: state.stack.placement,
    weights: state.weights,
    assignments: Object.fromEntries(services.map((entry) => [entry.service, entry.host])),
    services,
  };
}

function round(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}

function rounded(score: ScoreParts): ScoreParts {
  return {
    cpu: round(score.cpu),
    memory: round(score.memory),
    containers: round(score.containers),
    total: round(score.total),
  };
}

function describeUnplaced(unplaced: UnplacedService[]): string {
  const lines = unplaced.map((entry) => {
    const reasons =
      entry.groups && entry.groups.length > 0
        ? entry.groups.map((group) => `${group.count} hosts: ${group.examples[0]?.reason ?? group.reason}`)
        : entry.reasons.map((reason) => `${reason.host}: ${reason.reason}`);
    return `${entry.service}: ${reasons.join('; ') || 'no hosts registered'}`;
  });
  return `cannot place ${unplaced.length} service(s): ${lines.join(' | ')}`;
}
