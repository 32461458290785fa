/**
 * Query fields and links shared by the list routes. Every list is keyed by a sorted column, and
 * `cursor` is the key of the last item of the previous page, so items added while a client
 * pages through never repeat or shift a later page.
 */
import { z } from 'zod';

/** Largest page a list route returns. */
export const MAX_PAGE_SIZE = 200;

/** Page size when the request gives none. */
export const DEFAULT_PAGE_SIZE = 50;

/** The `limit` query field: an integer from 1 to MAX_PAGE_SIZE. */
export const pageLimit = z.coerce
  .number({ error: 'must be a number' })
  .int('must be an integer')
  .min(1, `must be from 1 to ${MAX_PAGE_SIZE}`)
  .max(MAX_PAGE_SIZE, `must be from 1 to ${MAX_PAGE_SIZE}`)
  .default(DEFAULT_PAGE_SIZE)
  .describe(`Items per page, from 1 to ${MAX_PAGE_SIZE}.`);

/** Builds the `cursor` query field, whose keys match `pattern`. */
export function pageCursor(pattern: RegExp) {
  return z
    .string()
    .regex(pattern, 'must be the nextCursor of a previous page')
    .optional()
    .describe('The `nextCursor` of the previous page; leave it out for the first page.');
}

/** Query of a list route without filters. */
export function pageQuerySchema(pattern: RegExp) {
  return z.object({ limit: pageLimit, cursor: pageCursor(pattern) });
}

/** Fields every list response carries beside its items; `nextCursor` is absent on the last page. */
export function pageFields(
  path: string,
  nextCursor: string | undefined,
  query: Record<string, string | number | undefined>,
) {
  if (nextCursor === undefined) return { links: {} };
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && key !== 'cursor') params.set(key, String(value));
  }
  params.set('cursor', nextCursor);
  return { nextCursor, links: { next: `${path}?${params.toString()}` } };
}
