/**
 * One Docker client per host. Activities reach hosts only through these
 * helpers, so how a host is reached (unix socket, TCP, TLS) stays here.
 */
import { ApplicationFailure } from '@temporalio/common';
import Docker from 'dockerode';
import type { DockerEndpoint, HostRecord } from '../core/model';
import { ERROR_TYPES, HOST_UNREACHABLE } from '../workflows/contract';
import {
  classifyTlsError,
  endpointUrl,
  loadTlsFiles,
  tlsFailureMessage,
  tlsFilesVersion,
} from './docker-tls';

const clients = new Map<string, { key: string; docker: Docker }>();

/** Docker API calls that hang longer than this count as a failed call and are retried by Temporal. */
const DOCKER_CALL_TIMEOUT_MS = 30_000;

/**
 * Return the cached client for a host, making a new one when its endpoint or one of its TLS files
 * changed.
 *
 * @throws TlsFileError when a TLS file of the host cannot be read or is not usable.
 */
export function dockerFor(host: Pick<HostRecord, 'name' | 'docker'>): Docker {
  const { docker: endpoint } = host;
  const tlsVersion = endpoint.protocol === 'tcp' && endpoint.tls ? tlsFilesVersion(endpoint.tls) : '';
  const key = `${JSON.stringify(endpoint)} ${tlsVersion}`;
  const cached = clients.get(host.name);
  if (cached && cached.key === key) return cached.docker;
  const docker = new Docker(dockerOptions(host.docker));
  clients.set(host.name, { key, docker });
  return docker;
}

function dockerOptions(endpoint: DockerEndpoint): Docker.DockerOptions {
  if (endpoint.protocol === 'unix') {
    return { socketPath: endpoint.socketPath, timeout: DOCKER_CALL_TIMEOUT_MS };
  }
  if (!endpoint.tls) {
    return { protocol: 'http', host: endpoint.host, port: endpoint.port, timeout: DOCKER_CALL_TIMEOUT_MS };
  }
  const { ca, cert, key } = loadTlsFiles(endpoint.tls);
  return {
    protocol: 'https',
    host: endpoint.host,
    port: endpoint.port,
    ca,
    cert,
    key,
    timeout: DOCKER_CALL_TIMEOUT_MS,
  };
}

/** Returns the HTTP status of a Docker API error, or undefined for transport errors. */
export function dockerStatus(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown })?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** Socket error codes that mean the daemon did not respond, as opposed to responding with an error. */
const TRANSPORT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'EPIPE',
  'ENOENT',
  'EAI_AGAIN',
]);

/**
 * Reports whether an error means the host's daemon could not be reached: a socket error, a call
 * that timed out, or a connection closed before any response. A reply with an HTTP status is not.
 */
export function isTransportError(error: unknown): boolean {
  if (error instanceof ApplicationFailure || dockerStatus(error) !== undefined) return false;
  const code = (error as { code?: unknown })?.code;
  if (typeof code === 'string' && TRANSPORT_CODES.has(code)) return true;
  const message = error instanceof Error ? error.message : '';
  return /timeout|timed out|socket hang up|ECONNREFUSED|EHOSTUNREACH|ENETUNREACH/i.test(message);
}

/**
 * Runs a call against one host and names the host and its endpoint in the failures that concern
 * the host rather than the request:
 *
 * - A TLS failure (unusable PEM files, a handshake the daemon or Graphium rejects, a daemon that
 *   requires TLS from a host registered without it) becomes a failure of type HostTlsFailed with
 *   the cause and the fix. A certificate does not change between attempts, so the workflows list
 *   the type as non-retryable. It is not marked non-retryable here, so that a reconciliation,
 *   which retries until the host responds, also waits for the files or the daemon to be fixed.
 * - A transport error becomes a retryable failure of type HostUnreachable, so the workflow can
 *   tell a dead host from a refused request.
 */
export async function onHost<T>(
  host: Pick<HostRecord, 'name' | 'docker'>,
  call: () => Promise<T>,
): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const tls = classifyTlsError(error, host.docker);
    if (tls) {
      throw ApplicationFailure.create({
        type: ERROR_TYPES.hostTlsFailed,
        message: tlsFailureMessage(host.name, host.docker, tls),
        details: [{ host: host.name, code: tls.code }],
        cause: error instanceof Error ? error : undefined,
      });
    }
    if (!isTransportError(error)) throw error;
    throw ApplicationFailure.create({
      type: HOST_UNREACHABLE,
      message: `host ${host.name} at ${describeEndpoint(host.docker)} did not answer: ${dockerMessage(error)}`,
      details: [{ host: host.name }],
      cause: error instanceof Error ? error : undefined,
    });
  }
}

/**
 * Returns why a call to a host failed, for reports that list hosts they could not read: the TLS
 * message with its fix for a TLS failure, or else `dockerMessage`.
 */
export function hostErrorMessage(host: Pick<HostRecord, 'name' | 'docker'>, error: unknown): string {
  const tls = classifyTlsError(error, host.docker);
  return tls ? tlsFailureMessage(host.name, host.docker, tls) : dockerMessage(error);
}

/** Returns the daemon's own message for a Docker API error, or else the error message. */
export function dockerMessage(error: unknown): string {
  const json = (error as { json?: { message?: unknown } })?.json;
  if (json && typeof json.message === 'string') return json.message;
  return error instanceof Error ? error.message : String(error);
}

/** Describe an endpoint for messages, without any key material. */
export function describeEndpoint(endpoint: DockerEndpoint): string {
  const tls = endpoint.protocol === 'tcp' && endpoint.tls ? ' (TLS)' : '';
  return `${endpointUrl(endpoint)}${tls}`;
}

/** Run a promise with a time limit, rejecting with a message that names what timed out. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
