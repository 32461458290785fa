import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { canConnect, waitForPort } from './net';

/** Return the path where scripts/setup.sh installs the Temporal CLI, or TEMPORAL_CLI when set. */
export function temporalCliPath(): string {
  const cache = process.env.GRAPHIUM_CACHE ?? '/var/cache/graphium';
  return process.env.TEMPORAL_CLI ?? join(cache, 'bin', 'temporal');
}

export interface DevServerOptions {
  /** Folder for the SQLite file and the server log. */
  dataDir: string;
  /** gRPC port; default 7233. */
  port?: number;
  /** Web UI port; default 8233. */
  uiPort?: number;
  /** Seconds to wait for the server to accept connections; default 60. */
  startTimeoutSeconds?: number;
}

export interface DevServer {
  address: string;
  uiUrl: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Start `temporal server start-dev` with the Web UI on and its history in a
 * SQLite file, so a restarted server keeps every workflow. Binds to loopback only.
 */
export async function startTemporalDevServer(options: DevServerOptions): Promise<DevServer> {
  const cli = temporalCliPath();
  if (!existsSync(cli)) {
    throw new Error(`Temporal CLI not found at ${cli}; run "npm run setup" or set TEMPORAL_CLI`);
  }

  const port = options.port ?? 7233;
  const uiPort = options.uiPort ?? 8233;
  for (const candidatePort of [port, uiPort]) {
    if (await canConnect('127.0.0.1', candidatePort)) {
      throw new Error(
        `port ${candidatePort} on 127.0.0.1 is already in use, perhaps by a Temporal server left from an earlier run; ` +
          `stop it (pkill -f "temporal server start-dev") or set TEMPORAL_ADDRESS to use that server`,
      );
    }
  }

  mkdirSync(options.dataDir, { recursive: true });
  const log = openSync(join(options.dataDir, 'temporal.log'), 'a');
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--ui-port',
    String(uiPort),
    '--db-filename',
    join(options.dataDir, 'temporal.sqlite'),
    '--log-level',
    'warn',
  ];
  const child = spawn(cli, args, { stdio: ['ignore', log, log] });

  // The server must not outlive this process, even when it exits without calling stop().
  const killOnExit = () => child.kill('SIGTERM');
  process.once('exit', killOnExit);
  child.once('exit', () => process.removeListener('exit', killOnExit));

  const address = `127.0.0.1:${port}`;
  await waitForPort('127.0.0.1', port, options.startTimeoutSeconds ?? 60, child);
  return {
    address,
    uiUrl: `http://127.0.0.1:${uiPort}`,
    process: child,
    stop: () => stopProcess(child),
  };
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timedOut = await Promise.race([exited.then(() => false), sleep(10_000).then(() => true)]);
  if (timedOut) {
    child.kill('SIGKILL');
    await exited;
  }
}
