/**
 * Structured logging through pino. Components take a `Logger` and derive child loggers
 * that carry their ids (deploymentId, host, service) as key/value fields.
 */
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
