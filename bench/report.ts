/**
 * Turns the figures of a benchmark run into results: medians, spreads and ratios per scenario,
 * the targets judged as met or missed, the table printed to the terminal, and the files under
 * bench/results (latest.json, chart.svg and the README.md results page).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderChart } from './chart';
import { median, pairedRatios, summarize, type Samples, type Summary } from './stats';
import type { Peer } from './types';

export type PeerName = Peer['name'];
export const PEER_NAMES: readonly PeerName[] = ['graphium', 'floor', 'compose', 'swarm'];

/** The figures one run collected, per counted round; warm-up rounds are not in them. */
export interface Measurements {
  runs: number;
  /** Seconds to deploy the stack, by peer. */
  stack3?: Partial<Record<PeerName, Samples>>;
  wide30?: Partial<Record<PeerName, Samples>>;
  chain30?: Partial<Record<PeerName, Samples>>;
  concurrency?: {
    containers: number;
    /** Seconds from the first request to the last stack running, by peer. */
    graphium: Samples;
    floor: Samples;
    /** Peak resident memory of the worker process while it deployed, in MiB. */
    workerPeakRssMiB: Samples;
  };
  recovery?: {
    /** Seconds from the new worker's spawn to the deployment's first progress. */
    seconds: Samples;
    /** Heartbeat timeout of the activity that was running when the worker was killed. */
    heartbeatTimeoutSeconds: number | null;
  };
  /** Failed rounds and other errors, one line each. */
  errors: string[];
}

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
}

export type Versions = Record<string, string>;

export interface Range {
  min: number;
  max: number;
}

/** Medians of one scenario that every peer may run, in seconds, with ratios to the floor. */
export interface Comparison {
  graphium: number | null;
  floor: number | null;
  compose: number | null;
  swarm: number | null;
  /** Median of the per-round ratios of Graphium's time to the floor's. */
  graphium_over_floor: number | null;
  compose_over_floor: number | null;
  swarm_over_floor: number | null;
  /** Minimum and maximum of each figure above over the rounds. */
  spread: Record<string, Range | null>;
  /** The figure of each round, `null` where the round failed. */
  samples: Partial<Record<PeerName, Samples>>;
}

export interface ChainResult extends Comparison {
  /** Graphium's median time for chain30 over its median time for wide30. */
  chain30_over_wide30: number | null;
}

export interface ConcurrencyResult {
  containers: number;
  graphium_containers_per_second: number | null;
  floor_containers_per_second: number | null;
  /** Median of the per-round percentages of Graphium's rate of the floor's. */
  graphium_percent_of_floor: number | null;
  worker_peak_rss_mib: number | null;
  spread: Record<string, Range | null>;
  samples: { graphium: Samples; floor: Samples; worker_peak_rss_mib: Samples };
}

export interface RecoveryResult {
  seconds: number | null;
  spread: Range | null;
  heartbeat_timeout_seconds: number | null;
  /** The target: 2 s plus the heartbeat timeout. */
  limit_seconds: number | null;
  samples: Samples;
}

export type TargetStatus = 'met' | 'missed' | 'not measured';

export interface Target {
  id: string;
  requirement: string;
  /** `at_most` and `at_least` include the limit, but `below` does not. */
  comparison: 'at_most' | 'at_least' | 'below';
  limit: number | null;
  value: number | null;
  unit: 'x' | 's' | '%';
  status: TargetStatus;
  /** How far the value is on the good side of the limit, negative when missed. */
  margin: number | null;
}

export interface Results {
  date: string;
  runs: number;
  machine: Machine;
  versions: Versions;
  stack3: Comparison | null;
  wide30: Comparison | null;
  chain30: ChainResult | null;
  concurrency: ConcurrencyResult | null;
  recovery: RecoveryResult | null;
  targets: Target[];
  errors: string[];
}

/** Seconds the recovery target allows on top of the heartbeat timeout. */
export const RECOVERY_ALLOWANCE_SECONDS = 2;

function range(summary: Summary | null): Range | null {
  return summary ? { min: summary.min, max: summary.max } : null;
}

/** Builds the medians, spreads and per-round ratios of one scenario's seconds. */
export function compare(samples: Partial<Record<PeerName, Samples>>): Comparison {
  const floor = samples.floor ?? [];
  const ratio = (peer: PeerName) => (samples[peer] ? pairedRatios(samples[peer]!, floor) : []);
  const spread: Record<string, Range | null> = {};
  for (const peer of PEER_NAMES) spread[peer] = range(summarize(samples[peer] ?? []));
  for (const peer of ['graphium', 'compose', 'swarm'] as const) {
    spread[`${peer}_over_floor`] = range(summarize(ratio(peer)));
  }
  return {
    graphium: median(samples.graphium ?? []),
    floor: median(floor),
    compose: median(samples.compose ?? []),
    swarm: median(samples.swarm ?? []),
    graphium_over_floor: median(ratio('graphium')),
    compose_over_floor: median(ratio('compose')),
    swarm_over_floor: median(ratio('swarm')),
    spread,
    samples,
  };
}

function concurrencyResult(measured: NonNullable<Measurements['concurrency']>): ConcurrencyResult {
  const rate = (samples: Samples) =>
    samples.map((seconds) => (seconds ? measured.containers / seconds : null));
  const graphiumRate = rate(measured.graphium);
  const floorRate = rate(measured.floor);
  const percent = pairedRatios(graphiumRate, floorRate).map((ratio) => (ratio === null ? null : ratio * 100));
  return {
    containers: measured.containers,
    graphium_containers_per_second: median(graphiumRate),
    floor_containers_per_second: median(floorRate),
    graphium_percent_of_floor: median(percent),
    worker_peak_rss_mib: median(measured.workerPeakRssMiB),
    spread: {
      graphium_containers_per_second: range(summarize(graphiumRate)),
      floor_containers_per_second: range(summarize(floorRate)),
      graphium_percent_of_floor: range(summarize(percent)),
      worker_peak_rss_mib: range(summarize(measured.workerPeakRssMiB)),
    },
    samples: {
      graphium: measured.graphium,
      floor: measured.floor,
      worker_peak_rss_mib: measured.workerPeakRssMiB,
    },
  };
}

function recoveryResult(measured: NonNullable<Measurements['recovery']>): RecoveryResult {
  const timeout = measured.heartbeatTimeoutSeconds;
  return {
    seconds: median(measured.seconds),
    spread: range(summarize(measured.seconds)),
    heartbeat_timeout_seconds: timeout,
    limit_seconds: timeout === null ? null : RECOVERY_ALLOWANCE_SECONDS + timeout,
    samples: measured.seconds,
  };
}

/** Builds the results of a run from its figures, then judges the targets. */
export function buildResults(
  measured: Measurements,
  context: { date: string; machine: Machine; versions: Versions },
): Results {
  const wide30 = measured.wide30 ? compare(measured.wide30) : null;
  let chain30: ChainResult | null = null;
  if (measured.chain30) {
    const chain = compare(measured.chain30);
    const ratio = chain.graphium !== null && wide30?.graphium ? chain.graphium / wide30.graphium : null;
    chain30 = { ...chain, chain30_over_wide30: ratio };
  }
  const results: Results = {
    ...context,
    runs: measured.runs,
    stack3: measured.stack3 ? compare(measured.stack3) : null,
    wide30,
    chain30,
    concurrency: measured.concurrency ? concurrencyResult(measured.concurrency) : null,
    recovery: measured.recovery ? recoveryResult(measured.recovery) : null,
    targets: [],
    errors: measured.errors,
  };
  results.targets = judgeTargets(results);
  return results;
}

function target(fields: Omit<Target, 'status' | 'margin'>): Target {
  const { value, limit, comparison } = fields;
  if (value === null || limit === null) return { ...fields, status: 'not measured', margin: null };
  const margin = comparison === 'at_least' ? value - limit : limit - value;
  const met = comparison === 'below' ? margin > 0 : margin >= 0;
  return { ...fields, status: met ? 'met' : 'missed', margin };
}

/**
 * Returns the median of the per-round ratios of Graphium's time to `peer`'s, like the ratios to
 * the floor, so a round where only one of the two failed does not shift the comparison.
 */
function graphiumOver(comparison: Comparison | null, peer: PeerName): number | null {
  const graphium = comparison?.samples.graphium;
  const other = comparison?.samples[peer];
  if (!graphium || !other) return null;
  return median(pairedRatios(graphium, other));
}

/** Judges each target of the benchmark against the results. */
export function judgeTargets(results: Omit<Results, 'targets'>): Target[] {
  const { stack3, wide30, chain30, concurrency, recovery } = results;
  return [
    target({
      id: 'stack3_overhead',
      requirement: 'stack3: Graphium at most 1.15 times the floor',
      comparison: 'at_most',
      limit: 1.15,
      value: stack3?.graphium_over_floor ?? null,
      unit: 'x',
    }),
    target({
      id: 'stack3_vs_compose',
      requirement: 'stack3: Graphium faster than Docker Compose (time ratio below 1)',
      comparison: 'below',
      limit: 1,
      value: graphiumOver(stack3, 'compose'),
      unit: 'x',
    }),
    target({
      id: 'stack3_vs_swarm',
      requirement: 'stack3: Graphium faster than Docker Swarm (time ratio below 1)',
      comparison: 'below',
      limit: 1,
      value: graphiumOver(stack3, 'swarm'),
      unit: 'x',
    }),
    target({
      id: 'wide30_overhead',
      requirement: 'wide30: Graphium at most 1.25 times the floor',
      comparison: 'at_most',
      limit: 1.25,
      value: wide30?.graphium_over_floor ?? null,
      unit: 'x',
    }),
    target({
      id: 'parallel_speedup',
      requirement: 'Graphium chain30 takes at least twice as long as wide30',
      comparison: 'at_least',
      limit: 2,
      value: chain30?.chain30_over_wide30 ?? null,
      unit: 'x',
    }),
    target({
      id: 'concurrency_rate',
      requirement: "20 stacks of 5 at once: Graphium at least 70 % of the floor's containers per second",
      comparison: 'at_least',
      limit: 70,
      value: concurrency?.graphium_percent_of_floor ?? null,
      unit: '%',
    }),
    target({
      id: 'recovery',
      requirement: `worker killed: first progress in less than ${RECOVERY_ALLOWANCE_SECONDS} s plus the heartbeat timeout`,
      comparison: 'below',
      limit: recovery?.limit_seconds ?? null,
      value: recovery?.seconds ?? null,
      unit: 's',
    }),
  ];
}

/** Digits after the decimal point with which each unit is shown. */
const UNIT_DIGITS: Record<Target['unit'], number> = { x: 2, s: 2, '%': 0 };

function formatDigits(value: number, unit: Target['unit'], digits: number): string {
  const number = value.toFixed(digits);
  return unit === 'x' ? `${number}x` : `${number} ${unit}`;
}

/** Formats a value in the unit of its target: `1.08x`, `9.70 s` or `84 %`. */
export function formatValue(value: number, unit: Target['unit']): string {
  return formatDigits(value, unit, UNIT_DIGITS[unit]);
}

/**
 * Formats a measured value like `formatValue`, with more digits (up to three more) while the usual
 * rounding would show the limit itself, so 1.2509x against 1.25x reads 1.251x and 69.6 % against
 * 70 % reads 69.6 %.
 */
export function formatMeasured(value: number, target: Pick<Target, 'limit' | 'unit'>): string {
  const { limit, unit } = target;
  let digits = UNIT_DIGITS[unit];
  if (limit !== null && value !== limit) {
    const maxDigits = digits + 3;
    while (digits < maxDigits && formatDigits(value, unit, digits) === formatDigits(limit, unit, digits)) {
      digits++;
    }
  }
  return formatDigits(value, unit, digits);
}

/**
 * Describes how a target went, such as `met by 0.07x` or `missed by 1.20 s`. A margin that
 * rounds to zero is written `missed by less than 0.01x`, so the page never reads "by 0.00x".
 */
export function describeOutcome(target: Target): string {
  if (target.status === 'not measured' || target.margin === null) return 'not measured';
  const margin = formatValue(Math.abs(target.margin), target.unit);
  if (margin === formatValue(0, target.unit)) {
    const smallest = formatValue(target.unit === '%' ? 1 : 0.01, target.unit);
    return `${target.status} by less than ${smallest}`;
  }
  return `${target.status} by ${margin}`;
}

export interface TableRow {
  scenario: string;
  peer: string;
  median: string;
  spread: string;
  ratio: string;
}

const NONE = '-';

function seconds(value: number | null | undefined): string {
  return value === null || value === undefined ? NONE : `${value.toFixed(2)} s`;
}

function secondsSpread(spread: Range | null | undefined): string {
  return spread ? `${spread.min.toFixed(2)}-${spread.max.toFixed(2)} s` : NONE;
}

function comparisonRows(scenario: string, comparison: Comparison): TableRow[] {
  const rows: TableRow[] = [];
  for (const peer of PEER_NAMES) {
    if (!comparison.samples[peer]) continue;
    const ratioKey = `${peer}_over_floor` as keyof Comparison;
    const ratio = peer === 'floor' ? 1 : (comparison[ratioKey] as number | null);
    const ratioSpread = comparison.spread[`${peer}_over_floor`];
    rows.push({
      scenario,
      peer,
      median: seconds(comparison[peer]),
      spread: secondsSpread(comparison.spread[peer]),
      ratio:
        ratio === null
          ? NONE
          : `${ratio.toFixed(2)}x${ratioSpread ? ` (${ratioSpread.min.toFixed(2)}-${ratioSpread.max.toFixed(2)})` : ''}`,
    });
  }
  return rows;
}

function rateSpread(spread: Range | null | undefined, unit: string, digits: number): string {
  return spread ? `${spread.min.toFixed(digits)}-${spread.max.toFixed(digits)} ${unit}` : NONE;
}

/** Builds the rows of the results table, one per scenario and peer that ran. */
export function tableRows(results: Results): TableRow[] {
  const rows: TableRow[] = [];
  if (results.stack3) rows.push(...comparisonRows('stack3', results.stack3));
  if (results.wide30) rows.push(...comparisonRows('wide30', results.wide30));
  if (results.chain30) rows.push(...comparisonRows('chain30', results.chain30));
  const concurrency = results.concurrency;
  if (concurrency) {
    const rate = (value: number | null) => (value === null ? NONE : `${value.toFixed(1)} containers/s`);
    const percent = concurrency.graphium_percent_of_floor;
    const percentSpread = concurrency.spread.graphium_percent_of_floor;
    rows.push({
      scenario: 'concurrency',
      peer: 'graphium',
      median: rate(concurrency.graphium_containers_per_second),
      spread: rateSpread(concurrency.spread.graphium_containers_per_second, 'containers/s', 1),
      ratio:
        percent === null
          ? NONE
          : `${percent.toFixed(0)} % of floor${percentSpread ? ` (${percentSpread.min.toFixed(0)}-${percentSpread.max.toFixed(0)})` : ''}`,
    });
    rows.push({
      scenario: 'concurrency',
      peer: 'floor',
      median: rate(concurrency.floor_containers_per_second),
      spread: rateSpread(concurrency.spread.floor_containers_per_second, 'containers/s', 1),
      ratio: '100 % of floor',
    });
    const rss = concurrency.worker_peak_rss_mib;
    rows.push({
      scenario: 'concurrency',
      peer: 'graphium worker peak RSS',
      median: rss === null ? NONE : `${rss.toFixed(0)} MiB`,
      spread: rateSpread(concurrency.spread.worker_peak_rss_mib, 'MiB', 0),
      ratio: NONE,
    });
  }
  const recovery = results.recovery;
  if (recovery) {
    const timeout = recovery.heartbeat_timeout_seconds;
    rows.push({
      scenario: 'recovery',
      peer: 'graphium',
      median: seconds(recovery.seconds),
      spread: secondsSpread(recovery.spread),
      ratio: timeout === null ? NONE : `heartbeat timeout ${timeout} s, target < ${recovery.limit_seconds} s`,
    });
  }
  return rows;
}

const HEADERS: TableRow = {
  scenario: 'scenario',
  peer: 'peer',
  median: 'median',
  spread: 'spread (min-max)',
  ratio: 'ratio to floor',
};
const COLUMNS = ['scenario', 'peer', 'median', 'spread', 'ratio'] as const;

/** Renders the rows as a plain text table with aligned columns. */
export function renderTextTable(rows: TableRow[]): string {
  const widths = COLUMNS.map((column) => Math.max(...[HEADERS, ...rows].map((row) => row[column].length)));
  const line = (row: TableRow) =>
    COLUMNS.map((column, index) => row[column].padEnd(widths[index]!))
      .join('  ')
      .trimEnd();
  const rule = widths.map((width) => '-'.repeat(width)).join('  ');
  return [line(HEADERS), rule, ...rows.map(line)].join('\n');
}

function markdownTable(headers: string[], rows: string[][]): string {
  const escape = (cell: string) => cell.replaceAll('|', '\\|');
  return [
    `| ${headers.map(escape).join(' | ')} |`,
    `| ${headers.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.map(escape).join(' | ')} |`),
  ].join('\n');
}

/** Renders the machine and the versions as text lines, for the terminal. */
export function renderEnvironment(results: Pick<Results, 'machine' | 'versions'>): string {
  const { machine, versions } = results;
  const lines = [
    `machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB.toFixed(1)} GiB memory, kernel ${machine.kernel}`,
    'versions:',
    ...Object.entries(versions).map(([name, version]) => `  ${name}: ${version}`),
  ];
  return lines.join('\n');
}

/** Renders the results page with the run, machine and versions, the table, the chart and the targets. */
export function renderMarkdown(results: Results, notes?: string): string {
  const { machine } = results;
  const sections = [
    '# Benchmark results',
    `Run on ${results.date} with ${results.runs} counted ${results.runs === 1 ? 'round' : 'rounds'} per scenario, after one warm-up round except in recovery, ` +
      'by `npm run bench`. Each figure is the median over the rounds, with the minimum and maximum ' +
      'as its spread. A ratio of two peers, such as Graphium to the floor or to Compose, is the median ' +
      'of the ratios taken within each round.',
    '## Machine',
    markdownTable(
      ['CPU', 'cores', 'memory', 'kernel'],
      [[machine.cpu, String(machine.cores), `${machine.memoryGiB.toFixed(1)} GiB`, machine.kernel]],
    ),
    '## Versions',
    markdownTable(['software', 'version'], Object.entries(results.versions)),
    '## Results',
    markdownTable(
      COLUMNS.map((column) => HEADERS[column]),
      tableRows(results).map((row) => COLUMNS.map((column) => row[column])),
    ),
    '![Median seconds to deploy stack3 and wide30, per peer](chart.svg)',
    '## Targets',
    markdownTable(
      ['target', 'measured', 'outcome'],
      results.targets.map((target) => [
        target.requirement,
        target.value === null ? 'not measured' : formatMeasured(target.value, target),
        describeOutcome(target),
      ]),
    ),
  ];
  if (results.errors.length > 0) {
    sections.push('## Errors', results.errors.map((error) => `- ${error.split('\n')[0]}`).join('\n'));
  }
  if (notes && notes.trim() !== '') sections.push(notes.trim());
  return `${sections.join('\n\n')}\n`;
}

/**
 * Writes latest.json, chart.svg and README.md to `dir`. The text of `notesFile`, when it exists,
 * is appended to README.md.
 */
export function writeResults(results: Results, dir: string, notesFile: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(dir, 'chart.svg'), renderChart(results));
  const notes = existsSync(notesFile) ? readFileSync(notesFile, 'utf8') : undefined;
  writeFileSync(join(dir, 'README.md'), renderMarkdown(results, notes));
}
