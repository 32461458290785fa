/** Milliseconds per unit of a duration string such as "1m30s". */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

const NUMBER = String.raw`(?:\d+(?:\.\d*)?|\.\d+)`;
const SECONDS_PATTERN = new RegExp(`^${NUMBER}$`);
const DURATION_PATTERN = new RegExp(`^(?:${NUMBER}(?:ms|h|m|s))+$`);
const PART_PATTERN = new RegExp(`(${NUMBER})(ms|h|m|s)`, 'g');

/**
 * Parses a duration and returns it in whole milliseconds, rounded to the nearest one.
 *
 * Accepts a non-negative number of seconds (fractions allowed), a numeric string of seconds
 * ("30"), or a Go-style duration string made of parts with the units `h`, `m`, `s` and `ms`
 * ("2h", "1m30s", "1.5s", "500ms"). Returns `undefined` for anything else, including negative
 * values, NaN, infinity and the empty string.
 */
export function parseDurationMs(value: unknown): number | undefined {
  if (typeof value === 'number') return secondsToMs(value);
  if (typeof value !== 'string') return undefined;

  const text = value.trim();
  if (SECONDS_PATTERN.test(text)) return secondsToMs(Number(text));
  if (!DURATION_PATTERN.test(text)) return undefined;

  let total = 0;
  for (const [, amount, unit] of text.matchAll(PART_PATTERN)) {
    total += Number(amount) * UNIT_MS[unit];
  }
  return Number.isFinite(total) ? Math.round(total) : undefined;
}

function secondsToMs(seconds: number): number | undefined {
  if (!Number.isFinite(seconds) || seconds < 0) return undefined;
  const ms = Math.round(seconds * 1_000);
  return Number.isFinite(ms) ? ms : undefined;
}
