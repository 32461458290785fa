import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { SearchAttributeType } from '@temporalio/common';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes';
import { SEARCH_ATTRIBUTES } from '../workflows/search-attributes';
import type { Logger } from './logger';
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
  /**
   * URL of the remote codec that the Web UI calls from the browser to show payloads decoded,
   * such as `http://127.0.0.1:8080/codec`. Default: none, so the UI shows ciphertext.
   */
  uiCodecEndpoint?: string;
  /**
   * Logger for the warnings that a dev server left by an earlier run was stopped and that a search
   * attribute has the wrong type. Default: none.
   */
  logger?: Logger;
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
 * The default namespace gets Graphium's search attributes (see `registerSearchAttributes`).
 *
 * A dev server that an earlier run on the same data directory left behind, because its
 * owner was killed, is stopped first (see `stopLeftoverDevServer`).
 */
export async function startTemporalDevServer(options: DevServerOptions): Promise<DevServer> {
  const cli = temporalCliPath();
  if (!existsSync(cli)) {
    throw new Error(`Temporal CLI not found at ${cli}; run "npm run setup" or set TEMPORAL_CLI`);
  }

  mkdirSync(options.dataDir, { recursive: true });
  const leftover = await stopLeftoverDevServer(options.dataDir);
  if (leftover.stopped) {
    options.logger?.warn(
      { temporalPid: leftover.pid },
      'stopped the Temporal dev server an earlier run left running',
    );
  }

  const port = options.port ?? 7233;
  const uiPort = options.uiPort ?? 8233;
  for (const candidatePort of [port, uiPort]) {
    if (await canConnect('127.0.0.1', candidatePort)) {
      throw new Error(
        `port ${candidatePort} on 127.0.0.1 is already in use by a process this data directory did not ` +
          `start (${options.dataDir}); find it with "ss -ltnp 'sport = :${candidatePort}'" and stop it, ` +
          `or set TEMPORAL_ADDRESS to use a Temporal server that is already running`,
      );
    }
  }

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
    databaseFile(options.dataDir),
    '--log-level',
    'warn',
    // The server hands the activities a workflow task schedules straight back to the worker that
    // completed it, saving one round trip through the task queue per step of a deployment.
    '--dynamic-config-value',
    'system.enableActivityEagerExecution=true',
    // One partition per task queue. With four, most activities of a 30-service stack started about
    // half a second after they were scheduled, and with one, within 75 ms.
    '--dynamic-config-value',
    'matching.numTaskqueueReadPartitions=1',
    '--dynamic-config-value',
    'matching.numTaskqueueWritePartitions=1',
    ...SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=Keyword`]),
    ...(options.uiCodecEndpoint ? ['--ui-codec-endpoint', options.uiCodecEndpoint] : []),
  ];
  const child = spawn(cli, args, { stdio: ['ignore', log, log] });
  recordDevServer(options.dataDir, child, [cli, ...args]);

  // The server must not outlive this process, even when it exits without calling stop().
  // A SIGKILL skips this, which is what the pid file is for.
  const killOnExit = () => child.kill('SIGTERM');
  process.once('exit', killOnExit);
  child.once('exit', () => {
    process.removeListener('exit', killOnExit);
    forgetDevServer(options.dataDir, child.pid);
  });

  const address = `127.0.0.1:${port}`;
  try {
    const startTimeoutSeconds = options.startTimeoutSeconds ?? 60;
    const readyBy = Date.now() + startTimeoutSeconds * 1000;
    await waitForPort('127.0.0.1', port, startTimeoutSeconds, child);
    await registerSearchAttributes(address, options.logger, readyBy);
  } catch (error) {
    await stopProcess(child);
    throw error;
  }
  return {
    address,
    uiUrl: `http://127.0.0.1:${uiPort}`,
    process: child,
    stop: () => stopProcess(child),
  };
}

/**
 * Register every search attribute in SEARCH_ATTRIBUTES as Keyword in the default namespace unless
 * it exists. Temporal CLI 1.9.1 applies `--search-attribute` only when it creates the database
 * file, and ignores it on a restart with a file created without the attributes. An attribute
 * registered with another type is kept and logged, because removing it could break workflows that
 * use it.
 */
export async function registerSearchAttributes(
  address: string,
  logger?: Logger,
  readyBy = Date.now() + 60_000,
): Promise<void> {
  const namespace = 'default';
  const keyword = encodeSearchAttributeIndexedValueType(SearchAttributeType.KEYWORD)!;
  const connection = await connectWhenReady(address, readyBy);
  try {
    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
    const missing: Record<string, typeof keyword> = {};
    for (const { name } of SEARCH_ATTRIBUTES) {
      const registered = customAttributes?.[name];
      if (registered === undefined) {
        missing[name] = keyword;
      } else if (registered !== keyword) {
        logger?.warn(
          { searchAttribute: name, type: typeName(registered) },
          'search attribute is registered with a type other than Keyword, so filtering by it and ' +
            'GraphiumOutcome updates may not work. Set GRAPHIUM_SEARCH_ATTRIBUTES=off or use ' +
            'a new GRAPHIUM_DATA_DIR',
        );
      }
    }
    if (Object.keys(missing).length > 0) {
      await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: missing });
    }
  } finally {
    await connection.close();
  }
}

/**
 * Connects to a server that has just opened its port. A server restarted on a large SQLite file
 * can accept connections before it serves requests on them, so connecting is retried until `readyBy`.
 */
async function connectWhenReady(address: string, readyBy: number): Promise<Connection> {
  for (;;) {
    try {
      return await Connection.connect({ address, connectTimeout: '5s' });
    } catch (error) {
      if (Date.now() >= readyBy) {
        throw new Error(`the Temporal dev server at ${address} did not answer in time: ${String(error)}`, {
          cause: error,
        });
      }
      await sleep(500);
    }
  }
}

function typeName(value: ReturnType<typeof encodeSearchAttributeIndexedValueType>): string {
  const types = Object.values(SearchAttributeType);
  return types.find((type) => encodeSearchAttributeIndexedValueType(type) === value) ?? String(value);
}

function databaseFile(dataDir: string): string {
  return join(dataDir, 'temporal.sqlite');
}

/** Name of the file in the data directory that records the running dev server and its owner. */
export const PID_FILE = 'temporal-dev.pid.json';

/**
 * Contents of PID_FILE. A pid alone could have been reused by another process since, so each
 * process is identified by its pid together with its start time in clock ticks since boot,
 * field 22 of /proc/<pid>/stat, which stays the same across exec.
 */
export interface DevServerRecord {
  server: { pid: number; startTime: string; argv: string[] };
  /** The process that started the server, which stops it on a normal exit. */
  owner: { pid: number; startTime: string };
}

export interface LeftoverResult {
  stopped: boolean;
  /** Pid of the dev server that was stopped. */
  pid?: number;
}

/**
 * Stop the dev server recorded in the data directory's PID_FILE when its owner is gone. It is
 * stopped only when the live process with that pid has the recorded start time and exactly the
 * recorded command line, which runs `start-dev` on this data directory's database file. Any
 * other process is never signalled, and a stale record is deleted.
 *
 * @throws Error when the recorded owner still runs, because then another Graphium process uses
 * this data directory.
 */
export async function stopLeftoverDevServer(dataDir: string): Promise<LeftoverResult> {
  const file = join(dataDir, PID_FILE);
  const record = readRecord(file);
  if (!record) return { stopped: false };

  const server = readProcess(record.server.pid);
  if (!server || server.startTime !== record.server.startTime || !isOurServer(server.argv, record, dataDir)) {
    rmSync(file, { force: true });
    return { stopped: false };
  }
  const owner = readProcess(record.owner.pid);
  if (owner && owner.startTime === record.owner.startTime) {
    throw new Error(
      `the Temporal dev server of ${dataDir} (pid ${record.server.pid}) belongs to process ` +
        `${record.owner.pid}, which is still running; stop that process first, or set ` +
        `GRAPHIUM_DATA_DIR to another folder`,
    );
  }

  await stopPid(record.server.pid, record.server.startTime);
  rmSync(file, { force: true });
  return { stopped: true, pid: record.server.pid };
}

function isOurServer(argv: string[], record: DevServerRecord, dataDir: string): boolean {
  const sameArgv =
    argv.length === record.server.argv.length && argv.every((arg, i) => arg === record.server.argv[i]);
  const database = argv[argv.indexOf('--db-filename') + 1];
  return sameArgv && argv.includes('start-dev') && database === databaseFile(dataDir);
}

function readRecord(file: string): DevServerRecord | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const record = JSON.parse(text) as DevServerRecord;
    if (Number.isInteger(record.server?.pid) && Number.isInteger(record.owner?.pid)) return record;
  } catch {
    // A file cut short by a crash while it was written is treated as no record.
  }
  rmSync(file, { force: true });
  return undefined;
}

/**
 * Write PID_FILE for a dev server just spawned. The start time is read before the child has
 * necessarily called exec, which is fine because exec keeps it.
 */
function recordDevServer(dataDir: string, child: ChildProcess, argv: string[]): void {
  const server = child.pid === undefined ? undefined : readProcess(child.pid);
  const owner = readProcess(process.pid);
  // NOTE: without /proc (macOS, for example), nothing is recorded, so a dev server left by a
  // killed run there must be stopped by hand.
  if (!server || !owner) return;
  const record: DevServerRecord = {
    server: { pid: child.pid!, startTime: server.startTime, argv },
    owner: { pid: process.pid, startTime: owner.startTime },
  };
  writeFileSync(join(dataDir, PID_FILE), `${JSON.stringify(record, null, 2)}\n`);
}

/** Delete PID_FILE if it still records the server with `pid`, so a newer record is kept. */
function forgetDevServer(dataDir: string, pid: number | undefined): void {
  const file = join(dataDir, PID_FILE);
  const record = readRecord(file);
  if (record && record.server.pid === pid) rmSync(file, { force: true });
}

interface ProcessFacts {
  startTime: string;
  argv: string[];
}

/** Returns the start time and command line of a live process from /proc, or undefined. */
function readProcess(pid: number): ProcessFacts | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name in field 2 may contain spaces and parentheses, so count from its end.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (the state) and fields[19] is field 22 (the start time).
    if (fields[0] === 'Z' || fields[19] === undefined) return undefined;
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1);
    return { startTime: fields[19], argv };
  } catch {
    return undefined;
  }
}

/**
 * Send SIGTERM to the process, then SIGKILL after 10 s, and wait until it is gone. The start
 * time is checked before each signal, so a pid reused meanwhile is never signalled.
 */
async function stopPid(pid: number, startTime: string): Promise<void> {
  const alive = () => readProcess(pid)?.startTime === startTime;
  const signal = (name: NodeJS.Signals) => {
    if (!alive()) return;
    try {
      process.kill(pid, name);
    } catch (error) {
      // ESRCH: it exited between the check and the signal.
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  };
  const waitGone = async (ms: number) => {
    const deadline = Date.now() + ms;
    while (alive() && Date.now() < deadline) await sleep(100);
  };

  signal('SIGTERM');
  await waitGone(10_000);
  signal('SIGKILL');
  await waitGone(5_000);
  if (alive()) {
    throw new Error(`the Temporal dev server left by an earlier run (pid ${pid}) did not exit after SIGKILL`);
  }
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
