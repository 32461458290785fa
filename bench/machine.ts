/** The machine and the software versions a benchmark ran on, for the results. */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import type { LabHost } from '../lib/lab';
import { temporalCliPath } from '../lib/temporal-dev';
import type { Machine, Versions } from './report';

const run = promisify(execFile);

/** Reads the CPU model, core count, memory and kernel release of this machine. */
export function describeMachine(): Machine {
  let cpu = os.cpus()[0]?.model ?? 'unknown';
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((entry) => entry.startsWith('model name'));
    if (line) cpu = line.split(':')[1]!.trim();
  } catch {
    // Without /proc, os.cpus() names the model.
  }
  return { cpu, cores: os.cpus().length, memoryGiB: os.totalmem() / 1024 ** 3, kernel: os.release() };
}

/** Returns the first line a command prints, or `not found (<reason>)` when it fails. */
async function firstLine(command: string, args: string[], cwd?: string): Promise<string> {
  try {
    const { stdout } = await run(command, args, { timeout: 15_000, cwd });
    return stdout.trim().split('\n')[0] ?? '';
  } catch (error) {
    return `not found (${(error as Error).message.split('\n')[0]})`;
  }
}

/** Returns `<short commit>`, with `-dirty` when the work tree has uncommitted changes. */
async function graphiumCommit(repoRoot: string): Promise<string> {
  const commit = await firstLine('git', ['rev-parse', '--short', 'HEAD'], repoRoot);
  try {
    const { stdout } = await run('git', ['status', '--porcelain'], { cwd: repoRoot });
    return stdout.trim() === '' ? commit : `${commit}-dirty`;
  } catch {
    return commit;
  }
}

/** Reads the versions of Node.js, Docker (client and the lab daemons), Compose, the Temporal CLI and Graphium. */
export async function collectVersions(lab: LabHost[], repoRoot: string): Promise<Versions> {
  let engine: string;
  try {
    const version = await new Docker({ socketPath: lab[0]!.socket }).version();
    engine = `${version.Version} (API ${version.ApiVersion})`;
  } catch (error) {
    engine = `not read (${(error as Error).message})`;
  }
  return {
    node: process.version,
    'docker client': await firstLine('docker', ['--version']),
    'docker engine (lab hosts)': engine,
    'docker-compose': await firstLine('docker-compose', ['version', '--short']),
    'temporal CLI': await firstLine(temporalCliPath(), ['--version']),
    'graphium commit': await graphiumCommit(repoRoot),
  };
}
