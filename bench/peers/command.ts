/**
 * Helpers the Compose and Swarm peers share: running a CLI with a timeout, reaching a lab host's
 * daemon, writing a stack file to a fresh temporary folder, and pausing between polls.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import type { LabHost } from '../../lib/lab';

/** The docker client from Debian's docker.io, which matches the lab daemons' version 20.10. */
export const DOCKER_CLI = '/usr/bin/docker';

/** Lines of a failed command's stderr kept in the error message. */
const STDERR_TAIL_LINES = 15;

/** Output a command may print before it is killed, in bytes. */
const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;

export interface RunOptions {
  /** Kills the command after this many milliseconds and throws. */
  timeoutMs: number;
  /** Variables added to this process's environment. */
  env?: Record<string, string>;
  /** Variables of this process's environment that the command must not see. */
  unsetEnv?: string[];
}

/**
 * Runs `file` with `args` and returns its stdout.
 *
 * @throws Error naming the command, how it ended and the tail of its stderr when it exits with a
 *   code other than 0, is killed, or runs past `timeoutMs`.
 */
export function runCommand(file: string, args: string[], options: RunOptions): Promise<string> {
  const command = [file, ...args].join(' ');
  const env = { ...process.env, ...options.env };
  for (const name of options.unsetEnv ?? []) delete env[name];
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      {
        env,
        timeout: options.timeoutMs,
        killSignal: 'SIGKILL',
        maxBuffer: MAX_OUTPUT_BYTES,
        encoding: 'utf8',
      },
      (error, stdout, stderr) => {
        if (!error) {
          resolve(stdout);
          return;
        }
        const tail = stderr.trim().split('\n').slice(-STDERR_TAIL_LINES).join('\n');
        const reason = error.killed
          ? `timed out after ${options.timeoutMs} ms`
          : `failed (${typeof error.code === 'number' ? `exit code ${error.code}` : error.message})`;
        reject(new Error(`${command} ${reason}${tail ? `:\n${tail}` : ''}`, { cause: error }));
      },
    );
  });
}

/** Runs the docker CLI against `host`'s unix socket and returns its stdout. */
export function runDocker(host: LabHost, args: string[], timeoutMs: number): Promise<string> {
  return runCommand(DOCKER_CLI, ['-H', `unix://${host.socket}`, ...args], { timeoutMs });
}

/** Returns a Docker API client for `host`'s unix socket. */
export function dockerClient(host: LabHost): Docker {
  return new Docker({ socketPath: host.socket });
}

/**
 * Writes `content` as JSON to `fileName` in a new temporary folder and returns the file's path
 * and a function that deletes the folder.
 */
export async function writeTempJson(
  prefix: string,
  fileName: string,
  content: unknown,
): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const path = join(dir, fileName);
  await writeFile(path, `${JSON.stringify(content, null, 2)}\n`);
  return { path, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Throws when an image of `images` is missing on `host`. Neither peer may pull, because the lab
 * has no registry and its hosts have no route out.
 */
export async function requireLocalImages(host: LabHost, images: Iterable<string>): Promise<void> {
  const docker = dockerClient(host);
  for (const image of new Set(images)) {
    try {
      await docker.getImage(image).inspect();
    } catch (error) {
      throw new Error(
        `image ${image} not found on ${host.name} (${host.socket}); load the lab images with: bash scripts/lab.sh up`,
        { cause: error },
      );
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Returns a container's name from a container list entry, without the API's leading `/`. */
export function containerName(container: { Names: string[]; Id: string }): string {
  return container.Names[0]?.replace(/^\//, '') ?? container.Id.slice(0, 12);
}
