import { describe, expect, it } from 'vitest';
import { parseStack } from '../../core/parse';
import { niceCeiling, renderChart } from '../../bench/chart';
import { toItemList } from '../../bench/peers/graphium';
import {
  buildResults,
  compare,
  describeOutcome,
  formatMeasured,
  judgeTargets,
  renderMarkdown,
  renderTextTable,
  tableRows,
  type Measurements,
  type Results,
} from '../../bench/report';
import { chain30, concurrencyStacks, PortAllocator, recoveryStack, stack3, wide30 } from '../../bench/stacks';
import { median, pairedRatios, summarize } from '../../bench/stats';

const CONTEXT = {
  date: '2026-12-05T10:00:00.000Z',
  machine: { cpu: 'Test CPU 3000', cores: 2, memoryGiB: 23.5, kernel: '6.1.0-test' },
  versions: { node: 'v20.20.2', 'graphium commit': 'abc1234' },
};

/** Returns the measurements of two rounds in which every target is met. */
function passingMeasurements(): Measurements {
  return {
    runs: 2,
    stack3: { graphium: [5.5, 5.3], floor: [5, 5], compose: [8, 9], swarm: [12, 11] },
    wide30: { graphium: [6, 6.2], floor: [5, 5] },
    chain30: { graphium: [20, 22], floor: [15, 15] },
    concurrency: { containers: 100, graphium: [12.5, 12.5], floor: [10, 10], workerPeakRssMiB: [400, 420] },
    recovery: { seconds: [10.4, 10.8], heartbeatTimeoutSeconds: 10 },
    errors: [],
  };
}

function targetById(results: Pick<Results, 'targets'>, id: string) {
  const found = results.targets.find((target) => target.id === id);
  if (!found) throw new Error(`no target ${id}`);
  return found;
}

describe('median', () => {
  it('takes the middle of an odd count', () => {
    expect(median([3, 1, 2])).toBe(2);
  });

  it('averages the middle two of an even count', () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('leaves failed rounds out', () => {
    expect(median([null, 5, null, 7, 9])).toBe(7);
  });

  it('returns null without figures', () => {
    expect(median([])).toBeNull();
    expect(median([null, null])).toBeNull();
  });
});

describe('summarize', () => {
  it('returns median, minimum, maximum and count', () => {
    expect(summarize([4, null, 2, 9])).toEqual({ median: 4, min: 2, max: 9, count: 3 });
  });

  it('returns null without figures', () => {
    expect(summarize([null])).toBeNull();
  });
});

describe('pairedRatios', () => {
  it('divides within each round', () => {
    expect(pairedRatios([6, 10], [3, 4])).toEqual([2, 2.5]);
  });

  it('gives null where a round is missing', () => {
    expect(pairedRatios([6, null, 8], [3, 4, null])).toEqual([2, null, null]);
  });

  it('gives null for a zero denominator', () => {
    expect(pairedRatios([1], [0])).toEqual([null]);
  });

  it('gives null past the shorter list', () => {
    expect(pairedRatios([1, 2], [1])).toEqual([1, null]);
  });
});

describe('compare', () => {
  it('takes the median of per-round ratios', () => {
    // Per round: 10/5 = 2, 12/12 = 1, 30/10 = 3, so the median ratio is 2. The ratio of the
    // medians would be 12 / 10 = 1.2.
    const comparison = compare({ graphium: [10, 12, 30], floor: [5, 12, 10] });
    expect(comparison.graphium_over_floor).toBe(2);
    expect(comparison.graphium).toBe(12);
    expect(comparison.floor).toBe(10);
  });

  it('reports spreads of figures and ratios', () => {
    const comparison = compare({ graphium: [10, 12, 30], floor: [5, 12, 10] });
    expect(comparison.spread.graphium).toEqual({ min: 10, max: 30 });
    expect(comparison.spread.graphium_over_floor).toEqual({ min: 1, max: 3 });
  });

  it('leaves peers that did not run null', () => {
    const comparison = compare({ graphium: [2], floor: [1] });
    expect(comparison.compose).toBeNull();
    expect(comparison.swarm_over_floor).toBeNull();
    expect(comparison.spread.swarm).toBeNull();
  });
});

describe('buildResults', () => {
  it('divides chain30 by wide30 for Graphium', () => {
    const results = buildResults(passingMeasurements(), CONTEXT);
    // Medians: chain30 21, wide30 6.1.
    expect(results.chain30?.chain30_over_wide30).toBeCloseTo(21 / 6.1, 10);
  });

  it('turns concurrency seconds into rates', () => {
    const results = buildResults(passingMeasurements(), CONTEXT);
    expect(results.concurrency?.graphium_containers_per_second).toBe(8);
    expect(results.concurrency?.floor_containers_per_second).toBe(10);
    expect(results.concurrency?.graphium_percent_of_floor).toBeCloseTo(80, 10);
    expect(results.concurrency?.worker_peak_rss_mib).toBe(410);
  });

  it('sets the recovery limit to the timeout plus 2 s', () => {
    const results = buildResults(passingMeasurements(), CONTEXT);
    expect(results.recovery?.limit_seconds).toBe(12);
    expect(results.recovery?.seconds).toBeCloseTo(10.6, 10);
  });

  it('leaves scenarios that did not run null', () => {
    const results = buildResults({ runs: 1, stack3: { graphium: [2], floor: [1] }, errors: [] }, CONTEXT);
    expect(results.wide30).toBeNull();
    expect(results.chain30).toBeNull();
    expect(results.concurrency).toBeNull();
    expect(results.recovery).toBeNull();
  });

  it('survives a JSON round trip', () => {
    const results = buildResults(passingMeasurements(), CONTEXT);
    expect(JSON.parse(JSON.stringify(results))).toEqual(results);
  });
});

describe('judgeTargets', () => {
  it('marks every target met for a passing run', () => {
    const results = buildResults(passingMeasurements(), CONTEXT);
    for (const target of results.targets) expect(target.status, target.id).toBe('met');
    expect(results.targets).toHaveLength(7);
  });

  it('misses overhead above the limit', () => {
    const measured = passingMeasurements();
    measured.stack3!.graphium = [6, 6];
    const target = targetById(buildResults(measured, CONTEXT), 'stack3_overhead');
    expect(target.status).toBe('missed');
    expect(target.value).toBeCloseTo(1.2, 10);
    expect(target.margin).toBeCloseTo(-0.05, 10);
  });

  it('meets overhead exactly at the limit', () => {
    const measured = passingMeasurements();
    measured.wide30 = { graphium: [5, 5], floor: [4, 4] };
    expect(targetById(buildResults(measured, CONTEXT), 'wide30_overhead').status).toBe('met');
  });

  it('misses a tie with compose', () => {
    const measured = passingMeasurements();
    measured.stack3!.compose = [5.5, 5.3];
    const target = targetById(buildResults(measured, CONTEXT), 'stack3_vs_compose');
    expect(target.value).toBe(1);
    expect(target.status).toBe('missed');
  });

  it('compares compose within each round', () => {
    // Per round: 1/2 = 0.5, 5/4 = 1.25, 9/10 = 0.9, so the median ratio is 0.9. The ratio of the
    // medians would be 5 / 4 = 1.25, a miss.
    const measured = passingMeasurements();
    measured.stack3 = { graphium: [1, 5, 9], floor: [1, 5, 9], compose: [2, 4, 10] };
    const target = targetById(buildResults(measured, CONTEXT), 'stack3_vs_compose');
    expect(target.value).toBeCloseTo(0.9, 10);
    expect(target.status).toBe('met');
  });

  it('compares swarm in shared rounds only', () => {
    // The second round failed for Graphium, so only 6/12 = 0.5 and 6/4 = 1.5 remain, median 1.
    const measured = passingMeasurements();
    measured.stack3 = { graphium: [6, null, 6], floor: [5, 5, 5], swarm: [12, 1, 4] };
    const target = targetById(buildResults(measured, CONTEXT), 'stack3_vs_swarm');
    expect(target.value).toBe(1);
    expect(target.status).toBe('missed');
  });

  it('misses a chain barely slower than wide', () => {
    const measured = passingMeasurements();
    measured.chain30!.graphium = [7, 7];
    const target = targetById(buildResults(measured, CONTEXT), 'parallel_speedup');
    expect(target.status).toBe('missed');
  });

  it('misses concurrency below 70 percent', () => {
    const measured = passingMeasurements();
    measured.concurrency!.graphium = [20, 20];
    const target = targetById(buildResults(measured, CONTEXT), 'concurrency_rate');
    expect(target.value).toBeCloseTo(50, 10);
    expect(target.status).toBe('missed');
  });

  it('misses recovery at the limit', () => {
    const measured = passingMeasurements();
    measured.recovery!.seconds = [12];
    expect(targetById(buildResults(measured, CONTEXT), 'recovery').status).toBe('missed');
  });

  it('marks targets without figures not measured', () => {
    const results = buildResults({ runs: 1, stack3: { graphium: [2], floor: [1] }, errors: [] }, CONTEXT);
    expect(targetById(results, 'stack3_overhead').status).toBe('missed');
    for (const id of ['stack3_vs_compose', 'stack3_vs_swarm', 'wide30_overhead', 'recovery']) {
      const target = targetById(results, id);
      expect(target.status, id).toBe('not measured');
      expect(target.margin, id).toBeNull();
    }
  });

  it('is a pure function of the results', () => {
    const results = buildResults(passingMeasurements(), CONTEXT);
    expect(judgeTargets(results)).toEqual(results.targets);
  });
});

describe('describeOutcome', () => {
  it('names the margin in the target unit', () => {
    const measured = passingMeasurements();
    measured.recovery!.seconds = [13.25];
    const results = buildResults(measured, CONTEXT);
    expect(describeOutcome(targetById(results, 'recovery'))).toBe('missed by 1.25 s');
    expect(describeOutcome(targetById(results, 'stack3_overhead'))).toBe('met by 0.07x');
    expect(describeOutcome(targetById(results, 'concurrency_rate'))).toBe('met by 10 %');
  });

  it('never reports a margin of zero', () => {
    const target = { ...targetById(buildResults(passingMeasurements(), CONTEXT), 'wide30_overhead') };
    Object.assign(target, { value: 1.2509, limit: 1.25, status: 'missed', margin: -0.0009 });
    expect(describeOutcome(target)).toBe('missed by less than 0.01x');
  });
});

describe('formatMeasured', () => {
  it('adds a digit when rounding would show the limit', () => {
    expect(formatMeasured(1.2509, { limit: 1.25, unit: 'x' })).toBe('1.251x');
    expect(formatMeasured(1.2, { limit: 1.25, unit: 'x' })).toBe('1.20x');
    expect(formatMeasured(11.996, { limit: 12, unit: 's' })).toBe('11.996 s');
  });

  it('adds a digit to a percentage', () => {
    expect(formatMeasured(69.6, { limit: 70, unit: '%' })).toBe('69.6 %');
    expect(formatMeasured(70.04, { limit: 70, unit: '%' })).toBe('70.04 %');
    expect(formatMeasured(65, { limit: 70, unit: '%' })).toBe('65 %');
  });

  it('adds digits until unlike the limit', () => {
    expect(formatMeasured(1.25004, { limit: 1.25, unit: 'x' })).toBe('1.25004x');
    expect(formatMeasured(1.25, { limit: 1.25, unit: 'x' })).toBe('1.25x');
  });
});

describe('tableRows', () => {
  it('lists each peer with its ratio to the floor', () => {
    const rows = tableRows(buildResults(passingMeasurements(), CONTEXT));
    const graphium = rows.find((row) => row.scenario === 'stack3' && row.peer === 'graphium');
    expect(graphium?.median).toBe('5.40 s');
    expect(graphium?.spread).toBe('5.30-5.50 s');
    expect(graphium?.ratio).toBe('1.08x (1.06-1.10)');
    expect(rows.filter((row) => row.scenario === 'stack3').map((row) => row.peer)).toEqual([
      'graphium',
      'floor',
      'compose',
      'swarm',
    ]);
  });

  it('shows concurrency as rates and a percentage', () => {
    const rows = tableRows(buildResults(passingMeasurements(), CONTEXT));
    const graphium = rows.find((row) => row.scenario === 'concurrency' && row.peer === 'graphium');
    expect(graphium?.median).toBe('8.0 containers/s');
    expect(graphium?.ratio).toBe('80 % of floor (80-80)');
    const rss = rows.find((row) => row.peer === 'graphium worker peak RSS');
    expect(rss?.median).toBe('410 MiB');
  });

  it('names the recovery target', () => {
    const rows = tableRows(buildResults(passingMeasurements(), CONTEXT));
    const recovery = rows.find((row) => row.scenario === 'recovery');
    expect(recovery?.ratio).toBe('heartbeat timeout 10 s, target < 12 s');
  });
});

describe('renderTextTable', () => {
  it('aligns every column', () => {
    const text = renderTextTable([
      { scenario: 'stack3', peer: 'graphium', median: '5.40 s', spread: '5-6 s', ratio: '1.08x' },
      { scenario: 'concurrency', peer: 'floor', median: '10.0 containers/s', spread: '-', ratio: '-' },
    ]);
    const lines = text.split('\n');
    expect(lines).toHaveLength(4);
    const peerColumn = lines[0]!.indexOf('peer');
    expect(lines[2]!.indexOf('graphium')).toBe(peerColumn);
    expect(lines[3]!.indexOf('floor')).toBe(peerColumn);
    expect(lines[1]).toMatch(/^-+ {2}-+/);
  });
});

describe('niceCeiling', () => {
  it('rounds up to 1, 2 or 5 times a power of ten', () => {
    expect(niceCeiling(3.2)).toBe(5);
    expect(niceCeiling(5)).toBe(5);
    expect(niceCeiling(12)).toBe(20);
    expect(niceCeiling(0.7)).toBe(1);
    expect(niceCeiling(51)).toBe(100);
  });

  it('returns 1 for zero', () => {
    expect(niceCeiling(0)).toBe(1);
  });
});

describe('renderChart', () => {
  it('draws one bar per median with its value', () => {
    const svg = renderChart(buildResults(passingMeasurements(), CONTEXT));
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    // stack3 has four peers and wide30 two, so six bars; the rest are marked n/a.
    expect(svg.match(/<rect [^>]*><title>/g)).toHaveLength(6);
    expect(svg.match(/>n\/a</g)).toHaveLength(2);
    expect(svg).toContain('>5.40<');
    expect(svg).toContain('>11.50<');
  });

  it('labels both axes and the groups', () => {
    const svg = renderChart(buildResults(passingMeasurements(), CONTEXT));
    expect(svg).toContain('seconds (median)');
    expect(svg).toContain('>scenario<');
    expect(svg).toContain('>stack3<');
    expect(svg).toContain('>wide30<');
  });

  it('scales the tallest bar to the rounded-up axis', () => {
    // The highest median is 11.5 s, so the axis runs to 20 and its top tick reads 20.
    const svg = renderChart(buildResults(passingMeasurements(), CONTEXT));
    expect(svg).toMatch(/dominant-baseline="middle">20</);
    expect(svg).not.toMatch(/dominant-baseline="middle">50</);
  });

  it('draws no bars without results', () => {
    const svg = renderChart({ stack3: null, wide30: null });
    expect(svg.match(/<rect [^>]*><title>/g)).toBeNull();
    expect(svg.match(/>n\/a</g)).toHaveLength(8);
  });
});

describe('renderMarkdown', () => {
  it('contains the run, machine, table, chart and targets', () => {
    const page = renderMarkdown(buildResults(passingMeasurements(), CONTEXT));
    expect(page).toContain('2026-12-05T10:00:00.000Z');
    expect(page).toContain('| Test CPU 3000 | 2 | 23.5 GiB | 6.1.0-test |');
    expect(page).toContain('| node | v20.20.2 |');
    expect(page).toContain('| stack3 | graphium | 5.40 s | 5.30-5.50 s | 1.08x (1.06-1.10) |');
    expect(page).toContain('![Median seconds to deploy stack3 and wide30, per peer](chart.svg)');
    expect(page).toContain('| stack3: Graphium at most 1.15 times the floor | 1.08x | met by 0.07x |');
  });

  it('shows missed targets with their margin', () => {
    const measured = passingMeasurements();
    measured.recovery!.seconds = [13.25];
    const page = renderMarkdown(buildResults(measured, CONTEXT));
    expect(page).toMatch(/\| worker killed: [^|]+ \| 13\.25 s \| missed by 1\.25 s \|/);
  });

  it('appends the notes', () => {
    const page = renderMarkdown(
      buildResults(passingMeasurements(), CONTEXT),
      '## Notes\n\nThe lab is shared.\n',
    );
    expect(page.trimEnd().endsWith('The lab is shared.')).toBe(true);
  });

  it('lists errors of failed rounds', () => {
    const measured = passingMeasurements();
    measured.errors.push('stack3: swarm failed to deploy bench-stack3-x: timed out\nstack trace');
    const page = renderMarkdown(buildResults(measured, CONTEXT));
    expect(page).toContain('## Errors\n\n- stack3: swarm failed to deploy bench-stack3-x: timed out\n');
    expect(page).not.toContain('stack trace');
  });
});

describe('bench stacks', () => {
  it('gives every stack3 its own ports', () => {
    const ports = new PortAllocator(20_000);
    const first = stack3('a', ports).services.flatMap((service) => service.ports.map((p) => p.hostPort));
    const second = stack3('b', ports).services.flatMap((service) => service.ports.map((p) => p.hostPort));
    expect(first).toEqual([20_000, 20_001]);
    expect(second).toEqual([20_002, 20_003]);
  });

  it('chains each chain30 service to the previous', () => {
    const services = chain30('x').services;
    expect(services).toHaveLength(30);
    expect(services[0]!.dependencies).toEqual([]);
    expect(services[29]!.dependencies).toEqual([{ name: services[28]!.name, waitForHealthy: true }]);
  });

  it('spreads wide30 evenly over three hosts', () => {
    const counts = new Map<string, number>();
    for (const service of wide30('x').services) counts.set(service.host, (counts.get(service.host) ?? 0) + 1);
    expect(Object.fromEntries(counts)).toEqual({ host1: 10, host2: 10, host3: 10 });
  });

  it('builds 100 concurrency containers without ports', () => {
    const stacks = concurrencyStacks('x');
    expect(stacks).toHaveLength(20);
    expect(new Set(stacks.map((stack) => stack.name)).size).toBe(20);
    const services = stacks.flatMap((stack) => stack.services);
    expect(services).toHaveLength(100);
    expect(services.every((service) => service.ports.length === 0)).toBe(true);
  });

  it('rejects a port range past 65535', () => {
    expect(() => new PortAllocator(65_000).take(600)).toThrow(/no 600 host ports left/);
  });
});

describe('toItemList', () => {
  const stacks = {
    stack3: stack3('t', new PortAllocator(20_000)),
    wide30: wide30('t'),
    chain30: chain30('t'),
    recovery: recoveryStack('t'),
  };

  for (const [name, stack] of Object.entries(stacks)) {
    it(`makes a ${name} document Graphium accepts`, () => {
      const result = parseStack(toItemList(stack), { strict: true });
      expect(result.errors).toEqual([]);
      // Dependencies that only order the start need no port, which Graphium warns about.
      const others = result.warnings.filter((warning) => !warning.message.includes('has no ports'));
      expect(others).toEqual([]);
      expect(result.stack?.services.map((service) => service.targetHost)).toEqual(
        stack.services.map((service) => service.host),
      );
    });
  }

  it('keeps dependencies and health commands', () => {
    const result = parseStack(toItemList(stacks.stack3));
    const app = result.stack?.services.find((service) => service.name === 'app');
    expect(app?.dependencies.map((dependency) => [dependency.name, dependency.waitForHealthy])).toEqual([
      ['postgres', true],
      ['cache', true],
    ]);
    expect(app?.healthCheck).toMatchObject({ kind: 'command', command: ['test', '-f', '/tmp/proved'] });
    const postgres = result.stack?.services.find((service) => service.name === 'postgres');
    expect(postgres?.ports).toEqual([{ containerPort: 5432, hostPort: 20_000, protocol: 'tcp' }]);
  });
});
