/**
 * The Temporal worker: runs the deploy and teardown workflows and their
 * activities. Workers are stateless; run as many as load needs against one
 * Temporal cluster and one database.
 */
import { fileURLToPath } from 'node:url';
import {
  DefaultLogger,
  bundleWorkflowCode,
  NativeConnection,
  Runtime,
  Worker,
  makeTelemetryFilterString,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { Context } from '@temporalio/activity';
import type { DataConverter, LogLevel, LogMetadata, Logger as TemporalLogger } from '@temporalio/common';
import { createActivities } from '../activities';
import type { PlacementWeights } from '../core/placement';
import type { Database } from '../db/client';
import { TASK_QUEUE } from '../workflows/contract';
import { activityLogAttributes } from '../activities/log-attributes';
import type { Logger } from './logger';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

/** Workflow interceptors bundled with the workflows: the ids of each run on its log lines. */
const WORKFLOW_INTERCEPTORS_PATH = fileURLToPath(new URL('../workflows/log-attributes.ts', import.meta.url));

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** Bundle the workflow code once per process; every worker in the process reuses it. */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    workflowInterceptorModules: [WORKFLOW_INTERCEPTORS_PATH],
    logger: quietBundlerLogger,
  });
  return bundle;
}

const quietBundlerLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => console.warn(message),
  error: (message: string) => console.error(message),
};

let runtimeInstalled = false;

/**
 * Send the SDK's logs, including workflow and activity logs with their ids,
 * through pino, and keep the Rust core's own logs to warnings. Only the first
 * call in a process takes effect.
 */
export function installRuntime(logger?: Logger): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({
      logger: logger ? pinoForTemporal(logger) : new DefaultLogger('WARN'),
      telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} } },
    });
  } catch {
    // Already installed by the SDK because a connection was made first; the defaults stay.
  }
}

function pinoForTemporal(logger: Logger): TemporalLogger {
  const write = (level: LogLevel, message: string, meta?: LogMetadata) => {
    const method = level.toLowerCase() as 'trace' | 'debug' | 'info' | 'warn' | 'error';
    logger[method](meta ?? {}, message);
  };
  return {
    log: write,
    trace: (message, meta) => write('TRACE', message, meta),
    debug: (message, meta) => write('DEBUG', message, meta),
    info: (message, meta) => write('INFO', message, meta),
    warn: (message, meta) => write('WARN', message, meta),
    error: (message, meta) => write('ERROR', message, meta),
  };
}

export interface WorkerOptions {
  address: string;
  namespace?: string;
  taskQueue?: string;
  db: Database;
  logger?: Logger;
  /** Weights of the placement score. Default: DEFAULT_WEIGHTS. */
  placementWeights?: PlacementWeights;
  /**
   * Fault injection for tests: milliseconds by which named activities hold back their reply
   * after doing their work, widening the moment in which a killed worker leaves work done but
   * unreported. Default: none.
   */
  replyDelays?: Record<string, number>;
  /**
   * Converts workflow and activity payloads; it must match the clients' converter. Default: the
   * SDK's, with no encryption.
   */
  dataConverter?: DataConverter;
}

export interface GraphiumWorker {
  worker: Worker;
  connection: NativeConnection;
  /** Runs until `shutdown` is called or the process receives SIGINT/SIGTERM. */
  run(): Promise<void>;
  shutdown(): Promise<void>;
}

export async function createWorker(options: WorkerOptions): Promise<GraphiumWorker> {
  installRuntime(options.logger);
  const connection = await NativeConnection.connect({ address: options.address });
  const worker = await Worker.create({
    connection,
    namespace: options.namespace ?? 'default',
    taskQueue: options.taskQueue ?? TASK_QUEUE,
    workflowBundle: await workflowBundle(),
    dataConverter: options.dataConverter,
    activities: delayReplies(
      createActivities({ db: options.db, placementWeights: options.placementWeights }),
      options.replyDelays ?? {},
    ),
    interceptors: { activity: [activityLogAttributes] },
    // Many containers of a stack start and wait in parallel; activities mostly wait on I/O.
    maxConcurrentActivityTaskExecutions: 200,
    // With ten open polls (the default), the activities of a wide stack queue behind each other.
    // Each poll is an idle long request to the server, so forty cost little.
    maxConcurrentActivityTaskPolls: 40,
    // A workflow task that starts a wide stack schedules an activity per service. The server hands
    // up to this many straight back to this worker (eager dispatch) instead of three.
    maxEagerActivityReservationsPerWorkflowTask: 50,
    // Heartbeats carry cancellation back to activities, so flush them often.
    maxHeartbeatThrottleInterval: '1s',
  });
  let running: Promise<void> | undefined;
  return {
    worker,
    connection,
    run: () => (running ??= worker.run()),
    shutdown: async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      await connection.close();
    },
  };
}

/** Wraps the activities named in `delays` so each replies that many milliseconds after its work. */
function delayReplies<T extends object>(activities: T, delays: Record<string, number>): T {
  const wrapped = { ...activities } as Record<string, unknown>;
  for (const [name, ms] of Object.entries(delays)) {
    const activity = wrapped[name];
    if (typeof activity !== 'function') throw new Error(`cannot delay unknown activity "${name}"`);
    wrapped[name] = async (...args: unknown[]) => {
      const result: unknown = await (activity as (...a: unknown[]) => Promise<unknown>)(...args);
      Context.current().heartbeat('reply held back');
      await Context.current().sleep(ms);
      return result;
    };
  }
  return wrapped as T;
}
