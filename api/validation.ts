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
  try {
    return JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new InvalidJsonError(`request body is not valid JSON: ${reason}`, { cause: error });
  }
}

/**
 * Returns a zod error callback that returns "is required" for a missing value and `message`
 * otherwise, because zod's own text for a failed union does not tell the two apart.
 */
export function requiredOr(message: string): (issue: { input?: unknown }) => string {
  return (issue) => (issue.input === undefined ? 'is required' : message);
}
