/**
 * Everything Graphium needs for the benchmark, started on ports and folders of its own. These are
 * the lab hosts, a Temporal dev server, a throwaway PostgreSQL on a unix socket, the API in this
 * process, and the worker in a child process, which the recovery scenario can SIGKILL and replace.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import { loadConfig } from '../lib/config';
import { ensureLab, type LabHost } from '../lib/lab';
import { createLogger } from '../lib/logger';
import { startService, type RunningService } from '../lib/service';
import { startTemporalDevServer, stopLeftoverDevServer, type DevServer } from '../lib/temporal-dev';
import { findPostgresBinaries, startTestPostgres, type TestPostgres } from '../test/db/postgres-server';

const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));

/** Milliseconds a new worker may take to bundle the workflows and start polling. */
const WORKER_START_TIMEOUT_MS = 120_000;

export interface BenchEnvironmentOptions {
  /** Folder for the dev server's history, the logs and the service's keys. It is emptied at start. */
  dataDir: string;
  temporalPort: number;
  temporalUiPort: number;
  apiPort: number;
  /** Once aborted, the start stops after its current step and stops what it started. */
  signal?: AbortSignal;
}

export interface WorkerProcess {
  /** Process id of the running worker, or undefined while none runs. */
  pid(): number | undefined;
  /**
   * Spawns a worker and resolves once it polls its task queue. `spawnedAt` is the epoch
   * milliseconds just before the spawn, `readyAt` when it logged that it runs.
   */
  start(): Promise<{ spawnedAt: number; readyAt: number }>;
  /** Sends SIGKILL, as a crash would, and waits for the exit. */
  kill(): Promise<void>;
  /** Sends SIGTERM, then SIGKILL after 10 s, and waits for the exit. */
  stop(): Promise<void>;
}

export interface BenchEnvironment {
  lab: LabHost[];
  apiUrl: string;
  /** Secret of an admin token of the API. */
  apiToken: string;
  /** Temporal client with the service's payload codec. */
  client: Client;
  worker: WorkerProcess;
  dataDir: string;
  /** Stops every part in reverse order of starting. Calling it again waits for the first call. */
  stop(): Promise<void>;
}

/** Starts the lab, Temporal, PostgreSQL, the API and one worker process. */
export async function startBenchEnvironment(options: BenchEnvironmentOptions): Promise<BenchEnvironment> {
  const stops: (() => Promise<void>)[] = [];
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      for (const step of stops.reverse()) {
        await step().catch((error) => console.error(`bench: a shutdown step failed: ${String(error)}`));
      }
    })();
    return stopped;
  };

  try {
    const checkpoint = () => options.signal?.throwIfAborted();
    const lab = await ensureLab(3);
    checkpoint();
    await clearDataDir(options.dataDir);

    const binDir = findPostgresBinaries();
    if (!binDir)
      throw new Error('PostgreSQL server binaries (initdb, pg_ctl) are missing; run npm run setup');
    const postgres: TestPostgres = await startTestPostgres(binDir);
    stops.push(postgres.stop);
    checkpoint();

    const devServer: DevServer = await startTemporalDevServer({
      dataDir: join(options.dataDir, 'temporal'),
      port: options.temporalPort,
      uiPort: options.temporalUiPort,
      uiCodecEndpoint: `http://127.0.0.1:${options.apiPort}/codec`,
    });
    stops.push(devServer.stop);
    checkpoint();

    // The API here and the worker process read the same settings, so they share the database,
    // Temporal and the payload keys that the first start writes to the data folder.
    const serviceEnv: NodeJS.ProcessEnv = {
      ...process.env,
      GRAPHIUM_DATA_DIR: options.dataDir,
      DATABASE_URL: postgres.url,
      TEMPORAL_ADDRESS: devServer.address,
      TEMPORAL_UI_URL: devServer.uiUrl,
      GRAPHIUM_HOST: '127.0.0.1',
      GRAPHIUM_PORT: String(options.apiPort),
      GRAPHIUM_TEST_REPLY_DELAYS: '',
      LOG_LEVEL: 'info',
    };
    const service: RunningService = await startService({
      config: loadConfig(serviceEnv),
      api: true,
      worker: false,
      logger: createLogger({ file: join(options.dataDir, 'api.log') }),
    });
    stops.push(service.stop);
    checkpoint();
    if (!service.apiUrl || !service.apiToken)
      throw new Error('the API started without a URL or an admin token');

    const worker = workerProcess(serviceEnv, options.dataDir);
    stops.push(worker.stop);
    await worker.start();

    return {
      lab,
      apiUrl: service.apiUrl,
      apiToken: service.apiToken,
      client: service.client,
      worker,
      dataDir: options.dataDir,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Empties the data folder. A dev server or worker that a killed run left behind is stopped first,
 * because it would keep the ports or take tasks from the new Temporal server's queue.
 */
async function clearDataDir(dataDir: string): Promise<void> {
  await stopLeftoverDevServer(join(dataDir, 'temporal'));
  killLeftoverWorker(dataDir);
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
}

/** Name of the file recording the worker's pid and start time, for the next run to clean up. */
const WORKER_PID_FILE = 'worker.pid.json';

/** Returns field 22 of /proc/<pid>/stat, the start time in clock ticks since boot, or undefined. */
function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name in field 2 may contain spaces, so count from its closing parenthesis.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function killLeftoverWorker(dataDir: string): void {
  let record: { pid: number; startTime: string };
  try {
    record = JSON.parse(readFileSync(join(dataDir, WORKER_PID_FILE), 'utf8'));
  } catch {
    return;
  }
  // A pid with another start time belongs to some other process now and is left alone.
  if (processStartTime(record.pid) !== record.startTime) return;
  console.error(`bench: stopping the worker process ${record.pid} that an earlier run left running`);
  process.kill(record.pid, 'SIGKILL');
}

/**
 * Runs the worker as `node --import tsx scripts/serve.ts --worker`. Node itself runs the worker,
 * because the tsx command would start it as a child of its own, which a SIGKILL of the command
 * leaves running. Its output is appended to worker.log in the data folder.
 */
function workerProcess(env: NodeJS.ProcessEnv, dataDir: string): WorkerProcess {
  const logFile = join(dataDir, 'worker.log');
  let child: ChildProcess | undefined;

  const alive = () => child !== undefined && child.exitCode === null && child.signalCode === null;

  const start = async () => {
    if (alive()) throw new Error(`a worker process (${child!.pid}) is already running`);
    const log = createWriteStream(logFile, { flags: 'a' });
    const spawnedAt = Date.now();
    const current = spawn(process.execPath, ['--import', 'tsx', 'scripts/serve.ts', '--worker'], {
      cwd: REPO_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = current;
    const startTime = current.pid === undefined ? undefined : processStartTime(current.pid);
    if (startTime) {
      writeFileSync(join(dataDir, WORKER_PID_FILE), JSON.stringify({ pid: current.pid, startTime }));
    }
    current.stdout!.pipe(log);
    current.stderr!.pipe(log);

    let output = '';
    const readyAt = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`the worker did not start within ${WORKER_START_TIMEOUT_MS} ms; see ${logFile}`));
      }, WORKER_START_TIMEOUT_MS);
      current.stdout!.on('data', (chunk: Buffer) => {
        // Only the start matters, so the buffer stops growing once the line was seen.
        if (output.includes('worker running')) return;
        output += chunk.toString();
        if (output.includes('worker running')) {
          clearTimeout(timer);
          resolve(Date.now());
        }
      });
      current.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`the worker exited (code ${code}, signal ${signal}) before it ran; see ${logFile}`));
      });
    });
    return { spawnedAt, readyAt };
  };

  const signalAndWait = async (signal: NodeJS.Signals, graceMs: number) => {
    if (!alive()) return;
    const current = child!;
    const exited = once(current, 'exit');
    current.kill(signal);
    const timedOut = await Promise.race([exited.then(() => false), sleep(graceMs).then(() => true)]);
    if (timedOut) {
      current.kill('SIGKILL');
      await exited;
    }
  };

  return {
    pid: () => (alive() ? child!.pid : undefined),
    start,
    kill: () => signalAndWait('SIGKILL', 10_000),
    stop: () => signalAndWait('SIGTERM', 10_000),
  };
}
