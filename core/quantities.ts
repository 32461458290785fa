/**
 * Parsers for the CPU and memory quantities stack files write, such as `"0.5"`, `"500m"`, `"512M"`
 * or `1073741824`. Each returns `undefined` for a value it cannot read, so the caller reports it
 * at its own path.
 */

const BINARY_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
};

/** Largest memory quantity accepted: 1 PiB, far above any host, and exact as a double. */
export const MAX_MEMORY_BYTES = 1024 ** 5;

/** Largest CPU quantity accepted. Docker hosts with more CPUs than this do not exist. */
export const MAX_CPUS = 4096;

/**
 * Parses a memory quantity into bytes. A number is bytes. A string is a number followed by an
 * optional unit `k`, `m`, `g` or `t` in either case, then optionally `i` and `b`. Every unit is
 * binary (1024-based), as Docker reads them, so `"512M"`, `"512Mi"` and `"512MB"` all mean 512 MiB. Fractions are rounded down to whole bytes. Zero, negative and larger than
 * MAX_MEMORY_BYTES values are rejected.
 */
export function parseMemoryBytes(value: unknown): number | undefined {
  let bytes: number;
  if (typeof value === 'number') {
    bytes = value;
  } else if (typeof value === 'string') {
    const match = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([kmgt]?)(i?)(b?)\s*$/i.exec(value);
    if (!match) return undefined;
    const [, amount, unit, binary, suffix] = match;
    // A lone "i" or "ib" without a unit letter is not a unit.
    if (unit === '' && (binary !== '' || suffix !== '')) {
      if (binary !== '' || suffix.toLowerCase() !== 'b') return undefined;
    }
    bytes = Number(amount) * BINARY_UNITS[unit.toLowerCase()];
  } else {
    return undefined;
  }
  if (!Number.isFinite(bytes)) return undefined;
  const whole = Math.floor(bytes);
  return whole > 0 && whole <= MAX_MEMORY_BYTES ? whole : undefined;
}

/**
 * Parses a CPU quantity into CPUs. A number or numeric string is CPUs (`0.5`, `"2"`). A string
 * ending in `m` is thousandths of a CPU, as Kubernetes writes them (`"500m"` is 0.5). Docker
 * limits CPUs in billionths, so the result is rounded to that. Zero, negative and larger than
 * MAX_CPUS values are rejected.
 */
export function parseCpus(value: unknown): number | undefined {
  let cpus: number;
  if (typeof value === 'number') {
    cpus = value;
  } else if (typeof value === 'string') {
    const match = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(m?)\s*$/.exec(value);
    if (!match) return undefined;
    cpus = Number(match[1]) / (match[2] === 'm' ? 1000 : 1);
  } else {
    return undefined;
  }
  if (!Number.isFinite(cpus)) return undefined;
  const rounded = Math.round(cpus * 1e9) / 1e9;
  return rounded > 0 && rounded <= MAX_CPUS ? rounded : undefined;
}
