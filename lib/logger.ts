/**
 * Structured logging through pino. Components take a `Logger` and derive child loggers
 * that carry their ids (deploymentId, host, service) as key/value fields.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { pino, type Logger as PinoLogger } from 'pino';
import type { LogLevel } from './config';

export type Logger = PinoLogger;

export interface LoggerOptions {
  /** Minimum level written. Default: `info`. */
  level?: LogLevel;
  /** Value of the `name` field on every line. Default: `graphium`. */
  name?: string;
  /** Extra fields on every line, such as `{ component: 'api' }`. Default: none. */
  fields?: Record<string, unknown>;
  /** File to append the JSON lines to. Default: standard output. */
  file?: string;
}

const logContext = new AsyncLocalStorage<Record<string, unknown>>();

/**
 * Runs `fn` with `fields` added to every line any logger from `createLogger` writes during it,
 * including lines written by code that never receives the fields, such as a helper deep in a request.
 *
 * @example
 * await withLogFields({ requestId }, () => next());
 */
export function withLogFields<T>(fields: Record<string, unknown>, fn: () => T): T {
  return logContext.run({ ...logContext.getStore(), ...fields }, fn);
}

/** Returns the fields of the innermost `withLogFields`, for pino's `mixin` option. */
export function contextLogFields(): Record<string, unknown> {
  return logContext.getStore() ?? {};
}

/**
 * Creates the root logger, writing JSON lines to stdout or to `options.file`.
 *
 * @example
 * const log = createLogger({ level: 'debug' });
 * childLogger(log, { deploymentId }).info('deployment accepted');
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const destination = options.file ? fileDestination(options.file) : undefined;
  return pino(
    {
      name: options.name ?? 'graphium',
      level: options.level ?? 'info',
      base: { pid: process.pid, ...options.fields },
      mixin: contextLogFields,
    },
    destination,
  );
}

/**
 * Opens `file` for appending before pino gets it. Given a path, pino opens the file
 * asynchronously, and its exit handler then throws "sonic boom is not ready yet" when the
 * process exits before the open completes, as an early startup failure does.
 */
function fileDestination(file: string) {
  mkdirSync(dirname(file), { recursive: true });
  return pino.destination({ dest: openSync(file, 'a'), sync: false });
}

/** Creates a logger that adds `fields` to every line of `parent`. */
export function childLogger(parent: Logger, fields: Record<string, unknown>): Logger {
  return parent.child(fields);
}

/** Creates a logger that writes nothing, for tests and callers that do not log. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
