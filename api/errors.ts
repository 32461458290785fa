/**
 * Error classes the routes throw and the one handler that turns every error into the
 * response shape `{ error: { code, message, details?, requestId } }`. Errors it does not know are
 * logged with their cause, and the client gets a generic 500 response.
 */
import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { DeploymentNotFoundError, HostExistsError, HostNotFoundError } from '../db/errors';
import type { Logger } from '../lib/logger';
import { SEARCH_ATTRIBUTES } from '../workflows/search-attributes';

/** One problem in a request, located by a JSON path such as `$.docker.port`. */
export interface ErrorDetail {
  path: string;
  message: string;
}

export interface ErrorBody {
  /** `requestId` repeats the X-Request-Id header, so a saved error body leads to its log lines. */
  error: { code: string; message: string; details?: ErrorDetail[]; requestId: string };
}

/** An error with a known HTTP status and a stable machine-readable code. */
export class ApiError extends Error {
  override name = 'ApiError';

  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly details?: ErrorDetail[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** 400: the request is well-formed JSON but some fields are invalid; `details` lists each. */
export class ValidationError extends ApiError {
  override name = 'ValidationError';

  constructor(message: string, details: ErrorDetail[]) {
    super(400, 'validation_failed', message, details);
  }
}

/** 400: the request body could not be parsed as JSON. */
export class InvalidJsonError extends ApiError {
  override name = 'InvalidJsonError';

  constructor(message: string, options?: { cause?: unknown }) {
    super(400, 'invalid_json', message, undefined, options);
  }
}

/** 415: the body is not declared as JSON. */
export class UnsupportedMediaTypeError extends ApiError {
  override name = 'UnsupportedMediaTypeError';

  constructor(message: string) {
    super(415, 'unsupported_media_type', message);
  }
}

/** 404: the named resource does not exist. */
export class NotFoundError extends ApiError {
  override name = 'NotFoundError';

  constructor(message: string) {
    super(404, 'not_found', message);
  }
}

/** 413: the request body exceeds the limit. */
export class PayloadTooLargeError extends ApiError {
  override name = 'PayloadTooLargeError';

  constructor(maxBytes: number) {
    super(413, 'payload_too_large', `request body exceeds the limit of ${maxBytes} bytes`);
  }
}

/** 409: a cancel was requested for a deployment whose workflow has already finished. */
export class DeploymentFinishedError extends ApiError {
  override name = 'DeploymentFinishedError';

  /** @param status - The final status, when the database has recorded it already. */
  constructor(deploymentId: string, status?: string) {
    const finished = status
      ? `deployment "${deploymentId}" has already finished with status ${status}`
      : `the workflow of deployment "${deploymentId}" has already closed`;
    super(409, 'deployment_finished', `${finished}, so there is nothing to cancel`);
  }
}

/** Raised by a `Deployer` when the workflow to cancel has already closed. */
export class WorkflowClosedError extends Error {
  override name = 'WorkflowClosedError';

  constructor(
    readonly workflowId: string,
    options?: { cause?: unknown },
  ) {
    super(`workflow ${workflowId} has already closed`, options);
  }
}

export interface StackBusyInfo {
  stackName: string;
  /** Id of the workflow that is running for the stack. */
  workflowId: string;
  /** Whether the stack is held by a deploy or a teardown workflow. */
  operation: 'deploy' | 'teardown';
  /** The deployment the running deploy workflow belongs to, when the database has it. */
  runningDeploymentId?: string;
}

/** 409: Temporal rejected a second workflow for a stack while the first is still running. */
export class StackBusyError extends ApiError {
  override name = 'StackBusyError';

  constructor(
    readonly info: StackBusyInfo,
    options?: { cause?: unknown },
  ) {
    super(409, 'stack_busy', stackBusyMessage(info), undefined, options);
  }
}

function stackBusyMessage(info: StackBusyInfo): string {
  const stack = `stack "${info.stackName}"`;
  if (info.operation === 'teardown') {
    const workflow = `workflow ${info.workflowId}`;
    return `${stack} is already being torn down as ${workflow}; wait for it to finish`;
  }
  const cancel = info.runningDeploymentId
    ? `cancel it with POST /deployments/${info.runningDeploymentId}/cancel`
    : `cancel workflow ${info.workflowId} in Temporal`;
  return `${stack} is already deploying as workflow ${info.workflowId}; wait for it or ${cancel}`;
}

export interface SearchAttributeRejection {
  /** The Graphium search attribute named in Temporal's rejection. */
  attribute: string;
  namespace: string;
  /** Id of the workflow that was not started. */
  workflowId: string;
  /** Temporal's own description of the problem. */
  serverMessage: string;
}

/**
 * 503: Temporal rejected a workflow start because of a Graphium search attribute, which usually
 * means the namespace has not registered it.
 */
export class SearchAttributeNotRegisteredError extends ApiError {
  override name = 'SearchAttributeNotRegisteredError';

  constructor(
    readonly rejection: SearchAttributeRejection,
    options?: { cause?: unknown },
  ) {
    const { attribute, namespace, workflowId, serverMessage } = rejection;
    const commands = SEARCH_ATTRIBUTES.map(
      ({ name }) =>
        `"temporal operator search-attribute create --namespace ${namespace} --name ${name} --type Keyword"`,
    );
    super(
      503,
      'search_attribute_not_registered',
      `workflow ${workflowId} was not started because Temporal namespace "${namespace}" rejected ` +
        `search attribute ${attribute} (${serverMessage}). Register both attributes once with ` +
        `${commands.join(' and ')}, or set GRAPHIUM_SEARCH_ATTRIBUTES=off to start workflows without them`,
      undefined,
      options,
    );
  }
}

/**
 * 409: the stack already runs. A redeploy reuses the container names, so it would replace
 * the running containers, and a redeploy that then failed would leave the stack down.
 */
export class StackRunningError extends ApiError {
  override name = 'StackRunningError';

  constructor(stackName: string, stackSlug: string, deploymentId: string) {
    super(
      409,
      'stack_running',
      `stack "${stackName}" is running as deployment ${deploymentId}; ` +
        `remove it with DELETE /stacks/${stackSlug}, then deploy again`,
    );
  }
}

/**
 * gRPC status codes of a server that cannot be reached or did not reply in time.
 * NOTE: a Temporal server that accepts the connection but stalls is not detected here; the
 * request waits for the client's own deadline, about two minutes for a workflow start.
 */
const UNAVAILABLE_CODES = new Set([4, 14]);

/** Returns whether `error`, or an error in its cause chain, is a gRPC UNAVAILABLE or DEADLINE_EXCEEDED. */
function isTemporalUnavailable(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'number' && UNAVAILABLE_CODES.has(code) && 'metadata' in current) return true;
    current = current.cause;
  }
  return false;
}

/** Maps repository errors, which know nothing of HTTP, to API errors. */
function fromRepositoryError(error: unknown): ApiError | undefined {
  if (error instanceof HostExistsError) return new ApiError(409, 'host_exists', error.message);
  if (error instanceof HostNotFoundError) return new NotFoundError(error.message);
  if (error instanceof DeploymentNotFoundError) return new NotFoundError(error.message);
  return undefined;
}

function fromHttpException(error: HTTPException): ApiError {
  const status = error.status as ContentfulStatusCode;
  const message = error.message || error.getResponse().statusText || 'request failed';
  return new ApiError(status, `http_${status}`, message, undefined, { cause: error });
}

function respond(c: Context, error: ApiError): Response {
  const requestId = (c.get('requestId') as string | undefined) ?? '';
  const body: ErrorBody = { error: { code: error.code, message: error.message, requestId } };
  if (error.details) body.error.details = error.details;
  return c.json(body, error.status);
}

/**
 * Creates the `app.onError` handler. Known errors keep their status and message. Any other
 * error is logged with its cause and the request id, and the client gets a generic 500.
 */
export function createErrorHandler(logger: Logger): ErrorHandler {
  return (error, c) => {
    if (error instanceof ApiError) return respond(c, error);
    const mapped = fromRepositoryError(error);
    if (mapped) return respond(c, mapped);
    if (error instanceof HTTPException && error.status < 500) {
      return respond(c, fromHttpException(error));
    }
    if (isTemporalUnavailable(error)) {
      logger.warn({ err: error, requestId: c.get('requestId') }, 'Temporal did not respond');
      const message =
        'Temporal did not respond, so nothing was started or changed; check that the Temporal ' +
        'server at TEMPORAL_ADDRESS runs, then send the request again';
      return respond(c, new ApiError(503, 'temporal_unavailable', message));
    }

    const requestId = c.get('requestId');
    logger.error(
      { err: error, requestId, method: c.req.method, path: c.req.path },
      'request failed with an unexpected error',
    );
    const message = `internal server error; the server log has the cause under request id ${requestId}`;
    return respond(c, new ApiError(500, 'internal_error', message));
  };
}

/** Returns a 404 in the error shape for requests that match no route. */
export const notFoundHandler: NotFoundHandler = (c) =>
  respond(c, new NotFoundError(`no route matches ${c.req.method} ${c.req.path}`));
