/**
 * Names Graphium derives from stack and service names: container names, Docker labels and
 * environment variable prefixes. Everything here is deterministic, because workflow code
 * calls it and replays must produce the same names.
 */

/** Docker labels that mark the containers Graphium manages. Graphium finds containers by them. */
export const LABELS = {
  managed: 'io.graphium.managed',
  stack: 'io.graphium.stack',
  stackName: 'io.graphium.stack.name',
  service: 'io.graphium.service',
  deployment: 'io.graphium.deployment',
} as const;

/** Maximum length of a derived name, which is also the maximum length of a hostname label. */
export const MAX_NAME_LENGTH = 63;

const HASH_SUFFIX_LENGTH = 6;

/**
 * Returns the 32-bit FNV-1a hash of the UTF-16 code units of `text`.
 * Written in plain JS because workflow code cannot import node:crypto.
 */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** Returns 6 base-36 characters derived from the FNV-1a hash of `text`. */
function hashSuffix(text: string): string {
  return (fnv1a32(text) % 36 ** HASH_SUFFIX_LENGTH).toString(36).padStart(HASH_SUFFIX_LENGTH, '0');
}

/**
 * Lower-cases `text`, turns every run of characters outside `[a-z0-9_.-]` into one `-` and trims
 * `-`, `.` and `_` from both ends. The result may be empty.
 */
function slugify(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '-')
    .replace(/^[-._]+|[-._]+$/g, '');
}

/**
 * Slugifies a stack or service name. Characters outside ASCII are dropped by `slugify`, so a
 * name that has any gets the hash of the whole name appended, and "日本" and "中国" stay apart.
 */
function nameSlug(text: string, fallback: string): string {
  const slug = slugify(text) || fallback;
  return /[^\u0000-\u007f]/.test(text) ? `${slug}-${hashSuffix(text)}` : slug;
}

/**
 * Returns whether `name` contains a letter or a decimal digit of any script. Such a name has a
 * non-empty slug when the character is ASCII, and gets a hash suffix from `nameSlug` otherwise,
 * so the name stays distinct in container names and workflow ids.
 */
export function hasLetterOrDigit(name: string): boolean {
  return /[\p{L}\p{Nd}]/u.test(name);
}

/**
 * Shortens `name` to MAX_NAME_LENGTH characters by keeping its start and appending `-` and the
 * hash of `hashInput`, so that two long names sharing a prefix still differ.
 */
function shorten(name: string, hashInput: string): string {
  if (name.length <= MAX_NAME_LENGTH) return name;
  const keep = MAX_NAME_LENGTH - HASH_SUFFIX_LENGTH - 1;
  const prefix = name.slice(0, keep).replace(/[-._]+$/, '');
  return `${prefix}-${hashSuffix(hashInput)}`;
}

/**
 * Derives the slug of a stack name, used in container names and workflow ids.
 *
 * The name is lower-cased, every run of characters outside `[a-z0-9_.-]` becomes `-`, and
 * `-`, `.` and `_` are trimmed from both ends. An empty result becomes `stack`. A name with
 * characters outside ASCII gets `-` and a 6-character hash of the name appended. A slug longer
 * than 63 characters is cut to 56 and suffixed with `-` and 6 base-36 characters of the FNV-1a
 * hash of the original name.
 *
 * @example stackSlug('Infisical Stack') // 'infisical-stack'
 */
export function stackSlug(stackName: string): string {
  return shorten(nameSlug(stackName, 'stack'), stackName);
}

/**
 * Derives the Docker container name of a service: `<stack slug>-<service slug>`.
 *
 * Both parts follow the rules of `stackSlug`, and an empty service slug becomes `service`. The
 * result matches Docker's `[a-zA-Z0-9][a-zA-Z0-9_.-]*` and has at most 63 characters. A longer
 * name is shortened with the hash of the whole unshortened name, so two long names that share
 * their first 56 characters get different suffixes.
 *
 * @example containerName('Infisical Stack', 'postgres') // 'infisical-stack-postgres'
 */
export function containerName(stackName: string, serviceName: string): string {
  const full = `${nameSlug(stackName, 'stack')}-${nameSlug(serviceName, 'service')}`;
  return shorten(full, `${stackName}\u0000${serviceName}`);
}

/**
 * Derives the `<NAME>` prefix of the variables that wire a dependency, as in `<NAME>_HOST`: the
 * service name upper-cased, with every character outside A-Z and 0-9 replaced by `_`.
 *
 * @example envName('auth-service') // 'AUTH_SERVICE'
 */
export function envName(serviceName: string): string {
  return serviceName.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}

/**
 * Derives the Docker name of a network or volume that a stack declares: `<stack slug>_<name slug>`,
 * shortened like container names. The stack slug keeps two stacks that both declare "data" apart,
 * and the `_` keeps these names apart from container names.
 *
 * @example resourceName('Infisical Stack', 'postgres-data') // 'infisical-stack_postgres-data'
 */
export function resourceName(stackName: string, name: string): string {
  const full = `${nameSlug(stackName, 'stack')}_${nameSlug(name, 'data')}`;
  return shorten(full, `${stackName}\u0000${name}\u0000resource`);
}

/**
 * Derives the DNS alias of a service on its stack's network, so containers on one host reach it
 * by a name close to the service name: the service slug, cut to 63 characters with a hash.
 *
 * @example serviceAlias('Auth Service') // 'auth-service'
 */
export function serviceAlias(serviceName: string): string {
  return shorten(nameSlug(serviceName, 'service'), serviceName);
}
