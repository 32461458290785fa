/** Identifiers the API creates. */
import { randomBytes } from 'node:crypto';

/**
 * Creates an id such as `dep_0mi9q3x1c4f7a2b9e0d`: the prefix, the time in milliseconds as
 * 9 base-36 digits, then 10 random hex digits. Fixed widths make ids sort by creation time
 * (to the millisecond) as plain strings, and the 40 random bits keep ids created in the
 * same millisecond apart.
 *
 * @param now - Creation time in milliseconds since the epoch. Default: `Date.now()`.
 */
export function newId(prefix: string, now: number = Date.now()): string {
  const time = now.toString(36).padStart(9, '0');
  return `${prefix}_${time}${randomBytes(5).toString('hex')}`;
}

/** Creates a deployment id with prefix `dep`. */
export function newDeploymentId(): string {
  return newId('dep');
}

/** Creates a teardown id with prefix `td`. */
export function newTeardownId(): string {
  return newId('td');
}
