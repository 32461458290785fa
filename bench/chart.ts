/**
 * A grouped bar chart of the median deploy times of stack3 and wide30 per peer, written as SVG
 * by hand so the results page needs no charting library.
 */
import type { Comparison, PeerName } from './report';

const PEERS: readonly PeerName[] = ['graphium', 'floor', 'compose', 'swarm'];
const COLORS: Record<PeerName, string> = {
  graphium: '#2f6fb0',
  floor: '#7a7a7a',
  compose: '#d08a2e',
  swarm: '#4c9a5a',
};
const SCENARIOS = ['stack3', 'wide30'] as const;

const WIDTH = 640;
const HEIGHT = 380;
const PLOT = { left: 70, right: 20, top: 50, bottom: 70 };
const TICKS = 5;

/**
 * Returns the smallest number of the form 1, 2 or 5 times a power of ten that is at least
 * `value`, so axis ticks fall on round numbers. Returns 1 for 0 or less.
 */
export function niceCeiling(value: number): number {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) {
    // A small tolerance keeps 2.0000000001 from rounding up to 5 after float error.
    if (step * power >= value * (1 - 1e-9)) return step * power;
  }
  return 10 * power;
}

function escapeXml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
}

function formatTick(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

/** Renders the chart of the medians. A peer without a median gets an empty slot marked n/a. */
export function renderChart(results: { stack3: Comparison | null; wide30: Comparison | null }): string {
  const medians = SCENARIOS.map((scenario) => PEERS.map((peer) => results[scenario]?.[peer] ?? null));
  const highest = Math.max(0, ...medians.flat().filter((value): value is number => value !== null));
  const top = niceCeiling(highest);
  const plotWidth = WIDTH - PLOT.left - PLOT.right;
  const plotHeight = HEIGHT - PLOT.top - PLOT.bottom;
  const baseline = PLOT.top + plotHeight;
  const y = (value: number) => baseline - (value / top) * plotHeight;

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<title>Median seconds until every service is healthy, stack3 and wide30, per peer</title>`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="${WIDTH / 2}" y="24" text-anchor="middle" font-size="15">Median seconds to deploy, per peer</text>`,
  ];

  // The y axis: gridlines and labels at equal steps from 0 to the rounded-up maximum.
  for (let tick = 0; tick <= TICKS; tick++) {
    const value = (top / TICKS) * tick;
    const position = y(value).toFixed(1);
    parts.push(
      `<line x1="${PLOT.left}" y1="${position}" x2="${WIDTH - PLOT.right}" y2="${position}" stroke="#e0e0e0"/>`,
      `<text x="${PLOT.left - 8}" y="${position}" text-anchor="end" dominant-baseline="middle">${formatTick(value)}</text>`,
    );
  }
  parts.push(
    `<line x1="${PLOT.left}" y1="${PLOT.top}" x2="${PLOT.left}" y2="${baseline}" stroke="#333333"/>`,
    `<line x1="${PLOT.left}" y1="${baseline}" x2="${WIDTH - PLOT.right}" y2="${baseline}" stroke="#333333"/>`,
    `<text transform="translate(18 ${PLOT.top + plotHeight / 2}) rotate(-90)" text-anchor="middle">seconds (median)</text>`,
  );

  // One group per scenario, one bar per peer, with the median written above each bar.
  const groupWidth = plotWidth / SCENARIOS.length;
  const barWidth = (groupWidth * 0.7) / PEERS.length;
  SCENARIOS.forEach((scenario, group) => {
    const groupStart = PLOT.left + group * groupWidth + groupWidth * 0.15;
    PEERS.forEach((peer, index) => {
      const value = medians[group]![index];
      const x = groupStart + index * barWidth;
      const center = (x + barWidth / 2).toFixed(1);
      if (value === null) {
        parts.push(`<text x="${center}" y="${baseline - 6}" text-anchor="middle" fill="#999999">n/a</text>`);
        return;
      }
      const barTop = y(value);
      parts.push(
        `<rect x="${(x + 2).toFixed(1)}" y="${barTop.toFixed(1)}" width="${(barWidth - 4).toFixed(1)}" height="${(baseline - barTop).toFixed(1)}" fill="${COLORS[peer]}"><title>${escapeXml(`${scenario} ${peer}: ${value.toFixed(2)} s`)}</title></rect>`,
        `<text x="${center}" y="${(barTop - 5).toFixed(1)}" text-anchor="middle">${value.toFixed(2)}</text>`,
      );
    });
    const labelX = (PLOT.left + group * groupWidth + groupWidth / 2).toFixed(1);
    parts.push(`<text x="${labelX}" y="${baseline + 20}" text-anchor="middle">${scenario}</text>`);
  });
  parts.push(
    `<text x="${PLOT.left + plotWidth / 2}" y="${baseline + 40}" text-anchor="middle">scenario</text>`,
  );

  // The legend, one swatch per peer along the bottom edge.
  PEERS.forEach((peer, index) => {
    const x = PLOT.left + index * 120;
    const legendY = HEIGHT - 14;
    parts.push(
      `<rect x="${x}" y="${legendY - 10}" width="12" height="12" fill="${COLORS[peer]}"/>`,
      `<text x="${x + 18}" y="${legendY}">${peer}</text>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
