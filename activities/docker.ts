/**
 * One Docker client per host. Activities reach hosts only through these
 * helpers, so how a host is reached (unix socket, TCP, TLS) stays here.
 */
import { readFileSync } from 'node:fs';
import { ApplicationFailure } from '@temporalio/common';
import Docker from 'dockerode';
import type { DockerEndpoint, HostRecord } from '../core/model';
import { HOST_UNREACHABLE } from '../workflows/contract';

const clients = new Map<string, { key: string; docker: Docker }>();

/** Docker API calls that hang longer than this count as a failed call and are retried by Temporal. */
const DOCKER_CALL_TIMEOUT_MS = 30_000;

/** Return the cached client for a host, making a new one when its endpoint changed. */
export function dockerFor(host: Pick<HostRecord, 'name' | 'docker'>): Docker {
  const key = JSON.stringify(host.docker);
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
  return {
    protocol: 'https',
    host: endpoint.host,
    port: endpoint.port,
    ca: readFileSync(endpoint.tls.ca),
    cert: readFileSync(endpoint.tls.cert),
    key: readFileSync(endpoint.tls.key),
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
 * Runs a call against one host and turns a transport error into a retryable failure of type
 * HostUnreachable that names the host and its endpoint, so the workflow can tell a dead host
 * from a refused request.
 */
export async function onHost<T>(
  host: Pick<HostRecord, 'name' | 'docker'>,
  call: () => Promise<T>,
): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (!isTransportError(error)) throw error;
    throw ApplicationFailure.create({
      type: HOST_UNREACHABLE,
      message: `host ${host.name} at ${describeEndpoint(host.docker)} did not answer: ${dockerMessage(error)}`,
      details: [{ host: host.name }],
      cause: error instanceof Error ? error : undefined,
    });
  }
}

/** Returns the daemon's own message for a Docker API error, or else the error message. */
export function dockerMessage(error: unknown): string {
  const json = (error as { json?: { message?: unknown } })?.json;
  if (json && typeof json.message === 'string') return json.message;
  return error instanceof Error ? error.message : String(error);
}

/** Describe an endpoint for messages, without any key material. */
export function describeEndpoint(endpoint: DockerEndpoint): string {
  if (endpoint.protocol === 'unix') return `unix://${endpoint.socketPath}`;
  return `tcp://${endpoint.host}:${endpoint.port}${endpoint.tls ? ' (TLS)' : ''}`;
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
