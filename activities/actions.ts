/**
 * Post-start actions: commands run with docker exec inside a container of the stack once a
 * service is healthy, such as a database migration.
 *
 * Temporal retries an action after a transient failure (the daemon unreachable, the worker
 * lost), and the retry runs the whole command again. Actions should therefore be idempotent,
 * for example `CREATE TABLE IF NOT EXISTS` rather than `CREATE TABLE`. A non-zero exit code or
 * the action's own timeout is final and fails the deployment.
 */
import { Context, log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type Docker from 'dockerode';
import type { HostRecord, PostStartAction } from '../core/model';
import { ERROR_TYPES } from '../workflows/contract';
import { dockerFor } from './docker';

/** Bytes of output kept while the command runs; older output is dropped. */
const KEPT_OUTPUT_BYTES = 16 * 1024;

/** Characters of output put in a failure message. */
const FAILURE_OUTPUT_CHARS = 4 * 1024;

/** Characters of output returned for progress. */
export const SHORT_OUTPUT_CHARS = 500;

const HEARTBEAT_INTERVAL_MS = 2_000;

/** How long to wait for Docker to report the exit code once the output stream has ended. */
const EXIT_CODE_WAIT_MS = 5_000;

export interface RunActionInput {
  /** Host of the container that runs the command. */
  host: HostRecord;
  deploymentId: string;
  /** Service that declares the action. */
  service: string;
  action: PostStartAction;
  /** The container of `action.target`. */
  containerId: string;
  containerName: string;
}

export interface ActionResult {
  exitCode: number;
  /** The last SHORT_OUTPUT_CHARS characters of stdout and stderr, interleaved as they arrived. */
  output: string;
}

/** Details of an ActionFailed or ActionTimedOut failure, for progress. */
export interface ActionFailureDetails {
  exitCode?: number;
  output: string;
}

/**
 * Run one post-start action with docker exec, heartbeating while it runs. Fails without retry
 * when the command exits non-zero or outlives the action's timeout. On timeout the command keeps
 * running in the container, because Docker's API cannot stop an exec. The rollback that follows
 * removes the container, and the command with it.
 */
export async function runAction(input: RunActionInput): Promise<ActionResult> {
  const context = Context.current();
  const docker = dockerFor(input.host);
  const { action } = input;
  const exec = await docker.getContainer(input.containerId).exec({
    Cmd: action.command,
    WorkingDir: action.workingDirectory,
    AttachStdout: true,
    AttachStderr: true,
  });
  const stream = await exec.start({ hijack: true, stdin: false });
  const output = new OutputTail(KEPT_OUTPUT_BYTES);
  log.info('action started', logFields(input));

  const ended = await followStream(docker, stream, output, action.timeoutMs, context);
  if (!ended) {
    const text = output.text();
    throw ApplicationFailure.nonRetryable(
      `${describe(input)} timed out after ${action.timeoutMs} ms; output so far:\n${tail(text, FAILURE_OUTPUT_CHARS)}`,
      ERROR_TYPES.actionTimeout,
      { output: tail(text, SHORT_OUTPUT_CHARS) } satisfies ActionFailureDetails,
    );
  }
  const exitCode = await exitCodeOf(exec, context);
  const text = output.text();
  if (exitCode !== 0) {
    throw ApplicationFailure.nonRetryable(
      `${describe(input)} exited with code ${exitCode}; last output:\n${tail(text, FAILURE_OUTPUT_CHARS)}`,
      ERROR_TYPES.actionFailed,
      { exitCode, output: tail(text, SHORT_OUTPUT_CHARS) } satisfies ActionFailureDetails,
    );
  }
  log.info('action succeeded', logFields(input));
  return { exitCode, output: tail(text, SHORT_OUTPUT_CHARS) };
}

function describe(input: RunActionInput): string {
  return (
    `action "${input.action.name}" of service ${input.service} ` +
    `in container ${input.containerName} on host ${input.host.name}`
  );
}

function logFields(input: RunActionInput) {
  return {
    deploymentId: input.deploymentId,
    service: input.service,
    action: input.action.name,
    host: input.host.name,
    containerName: input.containerName,
  };
}

/**
 * Copies the demultiplexed stream into `output` until it ends (true) or `timeoutMs` passes
 * (false), heartbeating meanwhile. Rejects when the activity is cancelled or the stream fails.
 */
async function followStream(
  docker: Docker,
  stream: NodeJS.ReadWriteStream,
  output: OutputTail,
  timeoutMs: number,
  context: Context,
): Promise<boolean> {
  const sink = { write: (chunk: Buffer) => output.append(chunk) } as unknown as NodeJS.WritableStream;
  docker.modem.demuxStream(stream, sink, sink);
  const heartbeat = setInterval(
    () => context.heartbeat({ outputBytes: output.total }),
    HEARTBEAT_INTERVAL_MS,
  );
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      new Promise<boolean>((resolve, reject) => {
        stream.on('end', () => resolve(true));
        stream.on('error', reject);
      }),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      }),
      context.cancelled,
    ]);
  } finally {
    clearInterval(heartbeat);
    clearTimeout(timer);
    (stream as unknown as { destroy(): void }).destroy();
  }
}

/** Reads the exit code, waiting briefly because Docker may report it after the stream ends. */
async function exitCodeOf(exec: Docker.Exec, context: Context): Promise<number> {
  const deadline = Date.now() + EXIT_CODE_WAIT_MS;
  for (;;) {
    const info = await exec.inspect();
    if (!info.Running && info.ExitCode !== null) return info.ExitCode;
    if (Date.now() >= deadline) {
      // Retryable: the retry runs the command again, which idempotent actions allow.
      throw new Error(
        `docker exec ${info.ID.slice(0, 12)} reported no exit code ${EXIT_CODE_WAIT_MS} ms after its output ended`,
      );
    }
    await context.sleep(100);
  }
}

function tail(text: string, chars: number): string {
  return text.length <= chars ? text : `...${text.slice(-chars)}`;
}

/** The last `limit` bytes of a stream, with a count of every byte seen. */
class OutputTail {
  private chunks: Buffer[] = [];
  private kept = 0;
  total = 0;

  constructor(private readonly limit: number) {}

  append(chunk: Buffer): void {
    const copy = Buffer.from(chunk);
    this.chunks.push(copy);
    this.kept += copy.length;
    this.total += copy.length;
    while (this.kept - this.chunks[0]!.length >= this.limit) this.kept -= this.chunks.shift()!.length;
  }

  text(): string {
    const buffer = Buffer.concat(this.chunks);
    return buffer.subarray(Math.max(0, buffer.length - this.limit)).toString('utf8');
  }
}
