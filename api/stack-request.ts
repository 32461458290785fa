/** Reads the body of `POST /deployments`, parses the stack and checks its pinned hosts. */
import { z } from 'zod';
import type { StackSpec } from '../core/model';
import { parseStack } from '../core/parse';
import { supportedStrategies } from '../core/placement';
import { listHosts, type Database } from '../db/repository';
import { ValidationError, type ErrorDetail } from './errors';
import { validate } from './validation';

export interface DeploymentRequest {
  document: unknown;
  strict?: boolean;
}

const WRAPPER_KEYS = new Set(['stack', 'strict']);

const wrapperSchema = z.object({
  stack: z.unknown(),
  strict: z.boolean({ error: 'must be true or false' }).optional(),
});

/**
 * Splits the body into the stack document and options. The body is either the document
 * itself or `{ "stack": <document>, "strict"?: boolean }`. It counts as the wrapper only
 * when `stack` is an object and no other keys are present, so a document that happens to
 * have a `stack` field is still read as a document.
 */
export function readDeploymentRequest(body: unknown): DeploymentRequest {
  rejectWrapperExtras(body);
  if (!isWrapper(body)) return { document: body };
  const wrapper = validate(wrapperSchema, body, 'deployment request');
  return { document: wrapper.stack, strict: wrapper.strict };
}

/**
 * A body with a `stack` object and no stack-document keys is meant as the wrapper, so any
 * key besides `stack` and `strict` is named instead of the body being read as a document.
 */
function rejectWrapperExtras(body: unknown): void {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return;
  const record = body as Record<string, unknown>;
  if (typeof record.stack !== 'object' || record.stack === null) return;
  if ('itemListElement' in record || '@graph' in record || '@type' in record) return;
  const extras = Object.keys(record).filter((key) => !WRAPPER_KEYS.has(key));
  if (extras.length === 0) return;
  const details = extras.map((key) => ({
    path: `$.${key}`,
    message: `unknown key "${key}"; a deployment request has only "stack" and "strict"`,
  }));
  throw new ValidationError('deployment request has unknown keys; see details', details);
}

function isWrapper(body: unknown): body is Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return false;
  const record = body as Record<string, unknown>;
  const stack = record.stack;
  if (typeof stack !== 'object' || stack === null) return false;
  return Object.keys(record).every((key) => WRAPPER_KEYS.has(key));
}

/**
 * Parses the stack document.
 *
 * @throws ValidationError with every parse error as a detail, paths relative to the document.
 */
export function parseDeploymentStack(request: DeploymentRequest) {
  const result = parseStack(request.document, { strict: request.strict });
  if (result.stack && result.errors.length === 0) {
    return { stack: result.stack, warnings: result.warnings };
  }
  const errors = result.errors.length > 0 ? result.errors : [noStackIssue()];
  const count = errors.length === 1 ? '1 error' : `${errors.length} errors`;
  throw new ValidationError(`stack document has ${count}; see details`, errors);
}

function noStackIssue(): ErrorDetail {
  return { path: '$', message: 'is not a stack document that Graphium can read' };
}

/**
 * Checks that every `targetHost` names a registered host.
 *
 * @throws ValidationError with one detail per unknown host, at `<sourcePath>.targetHost`.
 */
export async function checkTargetHosts(db: Database, stack: StackSpec): Promise<void> {
  const pinned = stack.services.filter((service) => service.targetHost !== undefined);
  if (pinned.length === 0) return;

  const known = new Set((await listHosts(db)).map((host) => host.name));
  const knownList = known.size > 0 ? [...known].join(', ') : 'none; register one with POST /hosts';
  const details = pinned
    .filter((service) => !known.has(service.targetHost as string))
    .map((service) => ({
      path: `${service.sourcePath}.targetHost`,
      message: `host "${service.targetHost}" is not registered; registered hosts: ${knownList}`,
    }));
  if (details.length === 0) return;

  const count = details.length === 1 ? '1 unknown host' : `${details.length} unknown hosts`;
  throw new ValidationError(`stack pins services to ${count}; see details`, details);
}

/**
 * Checks that this version can place the stack with its strategy, so a stack is
 * rejected before anything starts instead of failing in the workflow.
 *
 * @throws ValidationError at `$.placement` naming the supported strategies.
 */
export function checkPlacementStrategy(stack: StackSpec): void {
  const supported = supportedStrategies();
  if (supported.includes(stack.placement)) return;
  throw new ValidationError(`placement "${stack.placement}" is not supported yet; see details`, [
    {
      path: '$.placement',
      message:
        `"${stack.placement}" is not supported by this version; use ${supported.map((name) => `"${name}"`).join(' or ')}, ` +
        'or pin every item with targetHost and use "manual"',
    },
  ]);
}
