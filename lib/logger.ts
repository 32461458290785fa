/**
 * Structured logging through pino. Components take a `Logger` and derive child loggers
 * that carry their ids (deploymentId, host, service) as key/value fields.
 */
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
 * Creates the root logger, writing JSON lines to stdout.
 *
 * @example
 * const log = createLogger({ level: 'debug' });
 * childLogger(log, { deploymentId }).info('deployment accepted');
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const destination = options.file
    ? pino.destination({ dest: options.file, mkdir: true, sync: false })
    : undefined;
  return pino(
    {
      name: options.name ?? 'graphium',
      level: options.level ?? 'info',
      base: { pid: process.pid, ...options.fields },
    },
    destination,
  );
}

/** Creates a logger that adds `fields` to every line of `parent`. */
export function childLogger(parent: Logger, fields: Record<string, unknown>): Logger {
  return parent.child(fields);
}

/** Creates a logger that writes nothing, for tests and callers that do not log. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
