/** Deterministic tie breaks for placement. */

/**
 * Returns the FNV-1a hash of the seed and a name: stable across runs and processes, unlike
 * Math.random, and different for each deployment so equal hosts share the load.
 */
export function tieBreak(seed: string, name: string): number {
  let hash = 0x811c9dc5;
  for (const char of `${seed}\u0000${name}`) {
    hash ^= char.codePointAt(0)!;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}
