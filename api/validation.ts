/** Helpers that read request bodies and turn zod issues into error details. */
import type { Context } from 'hono';
import { z } from 'zod';
import { InvalidJsonError, UnsupportedMediaTypeError, ValidationError, type ErrorDetail } from './errors';

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** Formats a path as JSON path text, such as `$.docker.tls.key` or `$.labels["a.b"]`. */
export function jsonPath(segments: readonly PropertyKey[], root = '$'): string {
  return segments.reduce<string>((text, segment) => {
    if (typeof segment === 'number') return `${text}[${segment}]`;
    const key = String(segment);
    return IDENTIFIER.test(key) ? `${text}.${key}` : `${text}[${JSON.stringify(key)}]`;
  }, root);
}

function issueDetails(issue: z.core.$ZodIssue, root: string): ErrorDetail[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({
      path: jsonPath([...issue.path, key], root),
      message: 'is not a known field; remove it or check its spelling',
    }));
  }
  return [{ path: jsonPath(issue.path, root), message: issue.message }];
}

/** Converts every issue of a zod error into one detail per offending path. */
export function zodDetails(error: z.ZodError, root = '$'): ErrorDetail[] {
  return error.issues.flatMap((issue) => issueDetails(issue, root));
}

/**
 * Validates `value` against `schema`.
 *
 * @param subject - Names the input in the error message, such as "host".
 * @throws ValidationError listing every invalid field.
 */
export function validate<T extends z.ZodType>(
  schema: T,
  value: unknown,
  subject: string,
  root = '$',
): z.output<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const details = zodDetails(parsed.error, root);
  const count = details.length === 1 ? '1 invalid field' : `${details.length} invalid fields`;
  throw new ValidationError(`${subject} has ${count}; see details`, details);
}

/**
 * Reads the request body as JSON. The body must be declared `application/json`: browsers
 * send other content types from any web page without a preflight request, so accepting them
 * would let a page the operator visits deploy containers.
 *
 * @throws UnsupportedMediaTypeError when the Content-Type is not JSON.
 * @throws InvalidJsonError when the body is empty or is not valid JSON.
 * @throws ValidationError when the body nests too deep or contains text PostgreSQL cannot store.
 */
export async function readJson(c: Context): Promise<unknown> {
  const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json' && !type.endsWith('+json')) {
    throw new UnsupportedMediaTypeError(
      `Content-Type is "${type || 'missing'}"; send the body as JSON with "Content-Type: application/json"`,
    );
  }
  const text = await c.req.text();
  if (text.trim() === '') {
    throw new InvalidJsonError('request body is empty; send a JSON document');
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new InvalidJsonError(`request body is not valid JSON: ${reason}`, { cause: error });
  }
  rejectUnstorableJson(body);
  return body;
}

/**
 * Maximum nesting of arrays and objects in a request body. The deepest stack among the examples
 * and test fixtures nests 8 levels. The limit keeps the recursive readers in core/ and
 * JSON.stringify far from the end of the call stack.
 */
export const MAX_JSON_DEPTH = 64;

/** Maximum number of problems `rejectUnstorableJson` lists, so a hostile body cannot make a huge response. */
const MAX_BODY_DETAILS = 20;

/** A UTF-16 surrogate without its other half, which no UTF-8 text can contain. */
const UNPAIRED_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Returns why PostgreSQL cannot store `text` as sent, or undefined when it can. */
function unstorableText(text: string): string | undefined {
  if (text.includes('\u0000')) return 'the NUL character (\\u0000), which PostgreSQL cannot store';
  if (UNPAIRED_SURROGATE.test(text)) {
    return 'an unpaired UTF-16 surrogate (a lone \\ud800 to \\udfff escape), which is not valid Unicode';
  }
  return undefined;
}

/**
 * Rejects a parsed body that nests deeper than MAX_JSON_DEPTH, or that has a key or string
 * containing NUL or an unpaired surrogate. JSON.parse accepts both. PostgreSQL rejects NUL in
 * text and jsonb and an unpaired surrogate in jsonb, and PGlite stored one in a text column as
 * U+FFFD, so without this check a deploy or a host registration failed with a 500 or changed
 * the value. The walk is iterative, so no body can overflow the call stack here.
 *
 * @throws ValidationError naming each offending path, at most MAX_BODY_DETAILS of them.
 */
export function rejectUnstorableJson(body: unknown): void {
  const details: ErrorDetail[] = [];
  const pending: { value: unknown; path: PropertyKey[] }[] = [{ value: body, path: [] }];
  while (pending.length > 0 && details.length < MAX_BODY_DETAILS) {
    const { value, path } = pending.pop()!;
    if (typeof value === 'string') {
      const problem = unstorableText(value);
      if (problem) details.push({ path: jsonPath(path), message: `contains ${problem}; remove it` });
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (path.length >= MAX_JSON_DEPTH) {
      const message = `is nested deeper than ${MAX_JSON_DEPTH} levels of arrays and objects`;
      details.push({ path: jsonPath(path), message: `${message}; remove the extra levels` });
      continue;
    }
    const isArray = Array.isArray(value);
    // Reversed, so the stack pops members in document order and details follow the body.
    for (const [key, member] of Object.entries(value).reverse()) {
      const memberPath = [...path, isArray ? Number(key) : key];
      const problem = isArray ? undefined : unstorableText(key);
      if (problem) {
        details.push({ path: jsonPath(memberPath), message: `key contains ${problem}; rename the key` });
      } else {
        pending.push({ value: member, path: memberPath });
      }
    }
  }
  if (details.length === 0) return;
  const count = details.length === 1 ? '1 invalid value' : `${details.length} invalid values`;
  const message =
    details.length >= MAX_BODY_DETAILS
      ? `request body has at least ${count}; details lists the first ${details.length}`
      : `request body has ${count}; see details`;
  throw new ValidationError(message, details);
}

/**
 * Returns a zod error callback that returns "is required" for a missing value and `message`
 * otherwise, because zod's own text for a failed union does not tell the two apart.
 */
export function requiredOr(message: string): (issue: { input?: unknown }) => string {
  return (issue) => (issue.input === undefined ? 'is required' : message);
}
