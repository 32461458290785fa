import type { StackIssue } from './model';

/**
 * Errors and warnings found while reading one stack document, in the order they were found.
 * In strict mode, unknown keys are recorded as errors in place of warnings.
 */
export class IssueLog {
  readonly errors: StackIssue[] = [];
  readonly warnings: StackIssue[] = [];
  readonly strict: boolean;

  constructor(strict = false) {
    this.strict = strict;
  }

  error(path: string, message: string): void {
    this.errors.push({ path, message });
  }

  warn(path: string, message: string): void {
    this.warnings.push({ path, message });
  }

  /**
   * Records the key at `path`, which the format does not define, and suggests the known key that
   * it most likely misspells.
   */
  unknownKey(path: string, key: string, knownKeys: readonly string[]): void {
    const guess = closestKey(key, knownKeys);
    const hint = guess ? ` Did you mean "${guess}"?` : '';
    if (this.strict) {
      this.error(path, `unknown key "${key}" is not allowed in strict mode. Remove it.${hint}`);
    } else {
      this.warn(path, `unknown key "${key}" is ignored.${hint}`);
    }
  }
}

/** Returns the JSON path of `key` in the object at `parent`, as in `$.ports` or `$['@type']`. */
export function childPath(parent: string, key: string): string {
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) return `${parent}.${key}`;
  const quoted = key.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
  return `${parent}['${quoted}']`;
}

/** Returns the JSON path of element `index` of the array at `parent`, as in `$.ports[0]`. */
export function indexPath(parent: string, index: number): string {
  return `${parent}[${index}]`;
}

/** Renders a document value for a message, such as `"80"`, `null` or `an object`. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  if (value !== null && typeof value === 'object') return 'an object';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/** Returns the known key that `key` differs from only by case or by at most two edits. */
function closestKey(key: string, knownKeys: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  const sameLetters = knownKeys.find((known) => known.toLowerCase() === lower);
  if (sameLetters) return sameLetters;
  if (key.length < 4) return undefined;
  return knownKeys.find((known) => editDistance(lower, known.toLowerCase()) <= 2);
}

/** Returns the Levenshtein distance between two strings. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j] + 1, current[j - 1] + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length];
}
