/**
 * Waiting for a service to turn healthy, by the kind of its health check.
 * Probes start fast and back off to ten a second, so a service is seen healthy
 * within about 100 ms instead of one whole check interval later.
 */
import { Context, log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type Docker from 'dockerode';
import type { HealthCheck, HostRecord } from '../core/model';
import { canConnect } from '../lib/net';
import { ERROR_TYPES, type PublishedPort } from '../workflows/contract';
import { dockerFor, dockerMessage } from './docker';

export interface AwaitHealthyInput {
  /** For log lines; absent in deployments started before it was passed. */
  deploymentId?: string;
  host: HostRecord;
  service: string;
  containerId: string;
  containerName: string;
  healthCheck?: HealthCheck;
  ports: PublishedPort[];
  /** Docker's State.StartedAt of the run to judge: health results from before it are not trusted. */
  startedAt: string;
  /** Epoch milliseconds after which the service counts as never turning healthy. */
  deadlineAt: number;
}

export interface HealthResult {
  healthy: boolean;
  output: string;
}

const FIRST_POLL_MS = 50;
const MAX_POLL_MS = 100;
const POLL_GROWTH = 1.5;

/**
 * Returns the pause before the next probe: 50 ms after the first, then 75 ms, then 100 ms, and
 * never longer than the check's own interval. A service is seen healthy on average 50 ms after it is,
 * where Docker's own interval would add half that interval. Each probe is one exec or one
 * connection, cheap enough at ten a second per service.
 */
export function nextPollDelay(previousMs: number | undefined, intervalMs: number | undefined): number {
  const cap = intervalMs !== undefined && intervalMs > 0 ? Math.min(MAX_POLL_MS, intervalMs) : MAX_POLL_MS;
  if (previousMs === undefined) return Math.min(FIRST_POLL_MS, cap);
  return Math.min(cap, Math.round(previousMs * POLL_GROWTH));
}

/** Poll the service's health until it is healthy, heartbeating the last output; fail past the deadline. */
export async function awaitHealthy(input: AwaitHealthyInput): Promise<HealthResult> {
  const context = Context.current();
  const docker = dockerFor(input.host);
  let delay = nextPollDelay(undefined, input.healthCheck?.intervalMs);
  let last: HealthResult = { healthy: false, output: 'no check has run yet' };
  for (;;) {
    await ensureStillRunning(docker, input, last.output);
    last = await probe(docker, input);
    context.heartbeat(last.output);
    if (last.healthy) {
      log.info('service healthy', { service: input.service, host: input.host.name, output: last.output });
      return last;
    }
    if (Date.now() >= input.deadlineAt) {
      throw ApplicationFailure.nonRetryable(
        `service ${input.service} on host ${input.host.name} did not turn healthy before its deadline; ` +
          `last health output: ${last.output}`,
        ERROR_TYPES.healthTimeout,
        { service: input.service, host: input.host.name, lastOutput: last.output },
      );
    }
    await context.sleep(Math.min(delay, Math.max(0, input.deadlineAt - Date.now())));
    delay = nextPollDelay(delay, input.healthCheck?.intervalMs);
  }
}

async function ensureStillRunning(
  docker: Docker,
  input: AwaitHealthyInput,
  lastOutput: string,
): Promise<void> {
  const info = await docker.getContainer(input.containerId).inspect();
  if (info.State.Running) return;
  const logs = await tailLogs(docker, input.containerId);
  throw ApplicationFailure.nonRetryable(
    `service ${input.service} on host ${input.host.name} stopped with exit code ${info.State.ExitCode} ` +
      `before turning healthy; last health output: ${lastOutput}; last log lines:\n${logs}`,
    ERROR_TYPES.containerExited,
    { service: input.service, host: input.host.name, exitCode: info.State.ExitCode },
  );
}

async function probe(docker: Docker, input: AwaitHealthyInput): Promise<HealthResult> {
  const check = input.healthCheck;
  const timeoutMs = check?.timeoutMs ?? 5_000;
  if (!check) return probeDefault(input);
  switch (check.kind) {
    case 'docker':
      return probeDockerHealth(docker, input);
    case 'command':
      return execProbe(docker, input.containerId, check.command, timeoutMs);
    case 'postgres':
      return execProbe(docker, input.containerId, pgIsReady(), timeoutMs);
    case 'redis':
      return execProbe(docker, input.containerId, ['redis-cli', 'ping'], timeoutMs);
    case 'http':
      return probeHttp(input, check.path, check.port, check.headers, timeoutMs);
    case 'tcp':
      return probeTcp(input, check.port, timeoutMs);
  }
}

/** With no check, a service is healthy once it runs and its first published TCP port accepts connections. */
async function probeDefault(input: AwaitHealthyInput): Promise<HealthResult> {
  const port = input.ports.find((p) => p.protocol === 'tcp');
  if (!port) return { healthy: true, output: 'running (no health check and no published TCP port)' };
  return probeTcp(input, port.containerPort, 2_000);
}

function pgIsReady(): string[] {
  // pg_isready reads PGUSER; POSTGRES_USER is the convention of postgres images.
  return ['sh', '-c', 'PGUSER="${POSTGRES_USER:-postgres}" pg_isready -h 127.0.0.1'];
}

function publishedPort(
  input: AwaitHealthyInput,
  containerPort: number | undefined,
): PublishedPort | undefined {
  if (containerPort === undefined) return input.ports.find((p) => p.protocol === 'tcp');
  return input.ports.find((p) => p.containerPort === containerPort && p.protocol === 'tcp');
}

// NOTE: probes go to the host's registered address, so a port bound to another hostIp, such as
// 127.0.0.1, never accepts them and the service times out as unhealthy.
async function probeTcp(input: AwaitHealthyInput, containerPort: number | undefined, timeoutMs: number) {
  const port = publishedPort(input, containerPort);
  if (!port) return noPublishedPort(input, containerPort);
  const ok = await canConnect(input.host.address, port.hostPort, timeoutMs);
  const target = `${input.host.address}:${port.hostPort}`;
  return {
    healthy: ok,
    output: ok ? `${target} accepts TCP connections` : `${target} refuses TCP connections`,
  };
}

async function probeHttp(
  input: AwaitHealthyInput,
  path: string,
  containerPort: number | undefined,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<HealthResult> {
  const port = publishedPort(input, containerPort);
  if (!port) return noPublishedPort(input, containerPort);
  const url = `http://${formatHost(input.host.address)}:${port.hostPort}${path.startsWith('/') ? path : `/${path}`}`;
  try {
    // A redirect counts as a response and is not followed, so a container cannot send the worker elsewhere.
    const response = await fetch(url, {
      headers,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.body?.cancel();
    const healthy = response.status >= 200 && response.status < 400;
    return { healthy, output: `GET ${url} returned ${response.status}` };
  } catch (error) {
    return { healthy: false, output: `GET ${url} failed: ${(error as Error).message}` };
  }
}

function formatHost(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}

function noPublishedPort(input: AwaitHealthyInput, containerPort: number | undefined): HealthResult {
  const portDescription = containerPort === undefined ? 'any TCP port' : `container port ${containerPort}`;
  // Not healthy, and it never will be, so the output explains why in the deadline error.
  return { healthy: false, output: `${input.containerName} publishes no host port for ${portDescription}` };
}

/** Read Docker's own health status, trusting only results from checks that ran after this start. */
async function probeDockerHealth(docker: Docker, input: AwaitHealthyInput): Promise<HealthResult> {
  const info = await docker.getContainer(input.containerId).inspect();
  const health = info.State.Health;
  if (!health) return { healthy: false, output: 'the container has no Docker health check' };
  const startedAt = Date.parse(input.startedAt);
  const fresh = (health.Log ?? []).filter((entry) => Date.parse(entry.Start) >= startedAt);
  const latest = fresh.at(-1);
  const output = latest
    ? `${health.Status}: ${latest.Output.trim()}`
    : `${health.Status}: no check since start`;
  return { healthy: health.Status === 'healthy' && latest !== undefined && latest.ExitCode === 0, output };
}

/** Run a command inside the container; exit code 0 is healthy. */
async function execProbe(
  docker: Docker,
  id: string,
  command: string[],
  timeoutMs: number,
): Promise<HealthResult> {
  const label = command.join(' ');
  try {
    const exec = await docker.getContainer(id).exec({ Cmd: command, AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: false });
    const output = await collectOutput(docker, stream, timeoutMs);
    const { ExitCode } = await exec.inspect();
    const text = output.trim().slice(-500);
    return { healthy: ExitCode === 0, output: `${label} exited ${ExitCode}${text ? `: ${text}` : ''}` };
  } catch (error) {
    return { healthy: false, output: `${label} failed: ${dockerMessage(error)}` };
  }
}

/** Collect an exec stream's stdout and stderr until it ends or the time limit passes. */
export function collectOutput(
  docker: Docker,
  stream: NodeJS.ReadWriteStream,
  timeoutMs: number,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const sink = {
      write: (chunk: Buffer) => chunks.push(Buffer.from(chunk)),
    } as unknown as NodeJS.WritableStream;
    docker.modem.demuxStream(stream, sink, sink);
    const timer = setTimeout(() => {
      (stream as unknown as { destroy(): void }).destroy();
      reject(new Error(`timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    stream.on('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    stream.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

async function tailLogs(docker: Docker, id: string): Promise<string> {
  try {
    const buffer = (await docker
      .getContainer(id)
      .logs({ stdout: true, stderr: true, tail: 20 })) as unknown as Buffer;
    return demuxBuffer(buffer);
  } catch (error) {
    return `(logs unavailable: ${dockerMessage(error)})`;
  }
}

/** Decode Docker's multiplexed log format: 8-byte frame headers, payload length in bytes 4..7. */
export function demuxBuffer(buffer: Buffer): string {
  const parts: string[] = [];
  let offset = 0;
  while (offset + 8 <= buffer.length && buffer[offset]! <= 2 && buffer[offset + 1] === 0) {
    const length = buffer.readUInt32BE(offset + 4);
    parts.push(buffer.subarray(offset + 8, offset + 8 + length).toString('utf8'));
    offset += 8 + length;
  }
  return offset === 0 ? buffer.toString('utf8') : parts.join('');
}
