/** Small JSON-LD helpers the dialects share: type tests and the `@context` check. */
import { isObject } from './fields';
import { childPath, describeValue, type IssueLog } from './issues';

/**
 * Returns whether a JSON-LD `@type`, a string or an array, names `type`, bare or with a prefix
 * or vocabulary, as in `Stack`, `datacenter:Stack` or `https://schema.org/SoftwareApplication`.
 */
export function hasType(value: unknown, type: string): boolean {
  const types = Array.isArray(value) ? value : [value];
  return types.some(
    (entry) =>
      typeof entry === 'string' &&
      (entry === type || entry.endsWith(`:${type}`) || entry.endsWith(`/${type}`)),
  );
}

/** Returns whether a JSON-LD `@context` (a string, an array or an object) includes schema.org. */
export function mentionsSchemaOrg(context: unknown): boolean {
  if (typeof context === 'string') return /^https?:\/\/schema\.org\/?$/.test(context);
  if (Array.isArray(context)) return context.some(mentionsSchemaOrg);
  if (isObject(context)) return Object.values(context).some(mentionsSchemaOrg);
  return false;
}

/** Warns when the `@context` of the object at `path` does not include schema.org. */
export function checkContext(context: unknown, path: string, kind: string, log: IssueLog): void {
  if (mentionsSchemaOrg(context)) return;
  const found = context === undefined ? 'is missing' : `is ${describeValue(context)}`;
  log.warn(
    childPath(path, '@context'),
    `@context ${found}, but ${kind} uses schema.org terms. ` +
      'Set it to "https://schema.org" or to a context that includes it.',
  );
}
