/**
 * Reads the body of `POST /deployments` and `POST /stacks/validate`: the stack document and the
 * request fields beside it (variables and placement hints), then parses the stack against the
 * registered hosts.
 */
import { z } from 'zod';
import type { ParseResult, StackIssue, StackSpec } from '../core/model';
import { parseStack } from '../core/parse';
import { listHosts, type Database } from '../db/repository';
import { ValidationError } from './errors';
import { validate } from './validation';

/** Fields a request may send beside the stack document. */
export const REQUEST_FIELDS = [
  'strict',
  'variables',
  'secretVariables',
  'strategy',
  'datacenter',
  'targetHosts',
  'hostConstraints',
];

export interface DeploymentRequest {
  document: unknown;
  strict?: boolean;
  variables?: unknown;
  /** Variables whose values are redacted wherever the stack is stored or shown. */
  secretVariables?: unknown;
  placement: { strategy?: unknown; datacenter?: unknown; targetHosts?: unknown; hostConstraints?: unknown };
}

const WRAPPER_KEYS = new Set(['stack', ...REQUEST_FIELDS]);

const strictSchema = z.object({ strict: z.boolean({ error: 'must be true or false' }).optional() });

/**
 * Splits the body into the stack document and the request fields. The body is one of:
 * - the document itself;
 * - `{ "stack": <document>, ...request fields }`, counted as this wrapper only when `stack` is an
 *   object and every other key is a request field, so a document that happens to have a `stack`
 *   field is still read as a document;
 * - a `{ "stackDefinition": <graph> }` document with request fields beside `stackDefinition`.
 *
 * @throws ValidationError naming any key of a `stack` wrapper that is not a request field.
 */
export function readDeploymentRequest(body: unknown): DeploymentRequest {
  rejectWrapperExtras(body);
  if (isWrapper(body)) return withFields({ document: body.stack }, body);
  if (isDefinitionWrapper(body)) {
    const document = Object.fromEntries(
      Object.entries(body).filter(([key]) => !REQUEST_FIELDS.includes(key)),
    );
    return withFields({ document }, body);
  }
  return { document: body, placement: {} };
}

function withFields(base: { document: unknown }, body: Record<string, unknown>): DeploymentRequest {
  const { strict } = validate(strictSchema, { strict: body.strict }, 'deployment request');
  return {
    ...base,
    strict,
    variables: body.variables,
    secretVariables: body.secretVariables,
    placement: {
      strategy: body.strategy,
      datacenter: body.datacenter,
      targetHosts: body.targetHosts,
      hostConstraints: body.hostConstraints,
    },
  };
}

/**
 * A body with a `stack` object and no stack-document keys is meant as the wrapper, so any
 * key besides `stack` and the request fields is named instead of the body being read as a document.
 */
function rejectWrapperExtras(body: unknown): void {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return;
  const record = body as Record<string, unknown>;
  if (typeof record.stack !== 'object' || record.stack === null) return;
  if ('itemListElement' in record || '@graph' in record || '@type' in record) return;
  const extras = Object.keys(record).filter((key) => !WRAPPER_KEYS.has(key));
  if (extras.length === 0) return;
  const allowed = ['stack', ...REQUEST_FIELDS].map((key) => `"${key}"`).join(', ');
  const details = extras.map((key) => ({
    path: `$.${key}`,
    message: `unknown key "${key}"; a deployment request has only ${allowed}`,
  }));
  throw new ValidationError('deployment request has unknown keys; see details', details);
}

function isWrapper(body: unknown): body is Record<string, unknown> & { stack: object } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return false;
  const record = body as Record<string, unknown>;
  const stack = record.stack;
  if (typeof stack !== 'object' || stack === null) return false;
  return Object.keys(record).every((key) => WRAPPER_KEYS.has(key));
}

function isDefinitionWrapper(body: unknown): body is Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return false;
  const record = body as Record<string, unknown>;
  return typeof record.stackDefinition === 'object' && record['@graph'] === undefined;
}

/** Parses the request's stack with its variables and placement fields, against the registered hosts. */
export async function parseRequestStack(db: Database, request: DeploymentRequest): Promise<ParseResult> {
  const knownHosts = (await listHosts(db)).map((host) => host.name);
  const result = parseStack(request.document, {
    strict: request.strict,
    variables: request.variables,
    secretVariables: request.secretVariables,
    request: request.placement,
    knownHosts,
  });
  return result;
}

/**
 * Parses the stack document and its request fields.
 *
 * @throws ValidationError with every parse error as a detail; document paths start with `$`,
 *   request field paths with `request.`.
 */
export async function parseDeploymentStack(
  db: Database,
  request: DeploymentRequest,
): Promise<{ stack: StackSpec; warnings: StackIssue[] }> {
  const result = await parseRequestStack(db, request);
  if (result.stack && result.errors.length === 0) {
    return { stack: result.stack, warnings: result.warnings };
  }
  const errors =
    result.errors.length > 0
      ? result.errors
      : [{ path: '$', message: 'is not a stack document that Graphium can read' }];
  const count = errors.length === 1 ? '1 error' : `${errors.length} errors`;
  throw new ValidationError(`stack document has ${count}; see details`, errors);
}
