/**
 * Statistics of the benchmark's rounds. A round that failed for a peer has `null` in place of
 * its figure, and every function here leaves such rounds out.
 */

/** A figure per round; `null` where that round failed. */
export type Samples = (number | null)[];

export interface Summary {
  median: number;
  min: number;
  max: number;
  /** Rounds that produced a figure. */
  count: number;
}

function measured(samples: Samples): number[] {
  return samples.filter((value): value is number => value !== null && Number.isFinite(value));
}

/** Returns the median of the figures, the mean of the middle two for an even count, or null for none. */
export function median(samples: Samples): number | null {
  const sorted = measured(samples).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Returns the median, minimum, maximum and count of the figures, or null when there are none. */
export function summarize(samples: Samples): Summary | null {
  const values = measured(samples);
  if (values.length === 0) return null;
  return {
    median: median(values)!,
    min: Math.min(...values),
    max: Math.max(...values),
    count: values.length,
  };
}

/**
 * Divides the figures of the same round pairwise, so each ratio compares two peers under the
 * same conditions. A round where either figure is missing, or the denominator is 0, gives null.
 */
export function pairedRatios(numerators: Samples, denominators: Samples): Samples {
  return numerators.map((numerator, round) => {
    const denominator = denominators[round];
    if (numerator === null || denominator === null || denominator === undefined || denominator === 0)
      return null;
    return numerator / denominator;
  });
}
