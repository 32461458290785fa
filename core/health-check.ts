/**
 * Reader for the `healthCheck` object, whose format every stack dialect shares.
 */
import { parseDurationMs } from './duration';
import {
  checkKeys,
  isObject,
  readPortNumber,
  readStringMap,
  reportNonStringEntry,
  type JsonObject,
} from './fields';
import { HEALTH_DEFAULTS } from './health';
import { childPath, describeValue, type IssueLog } from './issues';
import type { HealthCheck, HealthTiming } from './model';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** The kind-specific part of a health check, without its timing. */
type Probe = DistributiveOmit<HealthCheck, keyof HealthTiming>;

const HEALTH_KEYS = {
  known: [
    '@type',
    'type',
    'command',
    'path',
    'port',
    'headers',
    'interval',
    'timeout',
    'retries',
    'startPeriod',
    'intervalSeconds',
    'timeoutSeconds',
  ],
} as const;

const CHECK_TYPES = ['command', 'exec', 'http', 'tcp', 'postgres', 'redis', 'grpc'];

/** Check kinds that use each kind-specific key. Other kinds ignore the key with a warning. */
const KEY_USERS: Record<string, readonly string[]> = {
  command: ['command', 'docker'],
  path: ['http'],
  headers: ['http'],
  port: ['http', 'tcp'],
};

/**
 * Reads a `healthCheck` object into the model. Returns `undefined` when the value is absent or
 * invalid, and records every problem in `log` at its JSON path.
 *
 * `type` selects the kind: `command`/`exec`, `http`, `tcp`, `postgres`, `redis`, or `grpc`, which
 * is probed as `tcp`. With no type, a `command` array starting with `CMD` or `CMD-SHELL` is a
 * Docker HEALTHCHECK and any other command runs inside the container. A command written as a
 * string runs through `sh -c`. Times are seconds or duration strings, with the legacy keys
 * `intervalSeconds` and `timeoutSeconds` also read. Fields left out take HEALTH_DEFAULTS.
 */
export function readHealthCheck(value: unknown, path: string, log: IssueLog): HealthCheck | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value)) {
    log.error(
      path,
      `healthCheck must be an object, such as {"type": "http", "path": "/health"}, ` +
        `got ${describeValue(value)}.`,
    );
    return undefined;
  }
  checkKeys(value, path, HEALTH_KEYS, log);

  const timing = readTiming(value, path, log);
  const probe = readProbe(value, path, log);
  if (!timing || !probe) return undefined;

  warnUnusedKeys(value, probe.kind, path, log);
  return { ...timing, ...probe } as HealthCheck;
}

function readProbe(check: JsonObject, path: string, log: IssueLog): Probe | undefined {
  const typePath = childPath(path, 'type');
  if (check.type === undefined) return readUntypedProbe(check, path, log);

  const type = typeof check.type === 'string' ? check.type.toLowerCase() : undefined;
  switch (type) {
    case 'command':
    case 'exec':
      return readCommandProbe(check.command, childPath(path, 'command'), log);
    case 'postgres':
    case 'redis':
      return { kind: type };
    case 'tcp':
      return readTcpProbe(check, path, log);
    case 'grpc':
      log.warn(
        typePath,
        'gRPC health is probed as TCP, so the check passes once the port ' +
          'accepts connections. Use a command check to run a gRPC health client instead.',
      );
      return readTcpProbe(check, path, log);
    case 'http':
      return readHttpProbe(check, path, log);
    default:
      log.error(typePath, `type must be one of ${CHECK_TYPES.join(', ')}, got ${describeValue(check.type)}.`);
      return undefined;
  }
}

function readUntypedProbe(check: JsonObject, path: string, log: IssueLog): Probe | undefined {
  if (check.command === undefined) {
    log.error(
      childPath(path, 'type'),
      `type is missing. Set it to one of ` +
        `${CHECK_TYPES.join(', ')}, or give a command such as ["CMD", "pg_isready"].`,
    );
    return undefined;
  }
  return readCommandProbe(check.command, childPath(path, 'command'), log);
}

/** Reads the command of a check. An array that starts with CMD or CMD-SHELL is a Docker test. */
function readCommandProbe(value: unknown, path: string, log: IssueLog): Probe | undefined {
  if (typeof value === 'string') {
    if (value.trim() !== '') return { kind: 'command', command: ['sh', '-c', value] };
    log.error(
      path,
      'command is empty. Give the command to run inside the container, such as ' + '["pg_isready"].',
    );
    return undefined;
  }
  if (value === undefined) {
    log.error(
      path,
      'command is missing. A command check needs the command to run inside the ' +
        'container, such as ["pg_isready"].',
    );
    return undefined;
  }
  const command = readCommandArray(value, path, log);
  if (!command) return undefined;
  if (command[0] === 'CMD' || command[0] === 'CMD-SHELL') return readDockerTest(command, path, log);
  return { kind: 'command', command };
}

function readCommandArray(value: unknown, path: string, log: IssueLog): string[] | undefined {
  if (!Array.isArray(value)) {
    log.error(
      path,
      'command must be an array of strings or a shell string, got ' + `${describeValue(value)}.`,
    );
    return undefined;
  }
  if (reportNonStringEntry(value, path, log)) return undefined;
  if (value.length === 0 || value[0] === '') {
    log.error(
      path,
      'command is empty. Give the command to run inside the container, such as ' + '["pg_isready"].',
    );
    return undefined;
  }
  return value as string[];
}

/** Validates a Docker HEALTHCHECK test: `["CMD", program, ...args]` or `["CMD-SHELL", script]`. */
function readDockerTest(test: string[], path: string, log: IssueLog): Probe | undefined {
  if (test[0] === 'CMD' && (test.length < 2 || test[1] === '')) {
    log.error(path, 'command ["CMD"] names no program. Add it, such as ["CMD", "pg_isready"].');
    return undefined;
  }
  if (test[0] === 'CMD-SHELL' && (test.length !== 2 || test[1].trim() === '')) {
    log.error(
      path,
      'command with CMD-SHELL must contain exactly one shell string, such as ' +
        '["CMD-SHELL", "pg_isready || exit 1"].',
    );
    return undefined;
  }
  return { kind: 'docker', test };
}

function readTcpProbe(check: JsonObject, path: string, log: IssueLog): Probe | undefined {
  const port = readCheckPort(check, path, log);
  if (port === null) return undefined;
  return port === undefined ? { kind: 'tcp' } : { kind: 'tcp', port };
}

function readHttpProbe(check: JsonObject, path: string, log: IssueLog): Probe | undefined {
  const port = readCheckPort(check, path, log);
  const probePath = readHttpPath(check.path, childPath(path, 'path'), log);
  const errorsBefore = log.errors.length;
  const headers = readStringMap(check.headers, childPath(path, 'headers'), 'headers', log);
  for (const [name, value] of Object.entries(headers)) {
    // HTTP forbids line breaks in header fields; fetch would reject them only at deploy time.
    if (/[\r\n\0]/.test(name) || /[\r\n\0]/.test(value)) {
      log.error(
        childPath(childPath(path, 'headers'), name),
        `header ${JSON.stringify(name)} must not contain line breaks.`,
      );
    }
  }
  const headersValid = log.errors.length === errorsBefore;
  if (port === null || probePath === undefined || !headersValid) return undefined;

  const probe: Probe = { kind: 'http', path: probePath, headers };
  if (port !== undefined) probe.port = port;
  return probe;
}

/** Returns the check's port, `undefined` when absent, or null when invalid. */
function readCheckPort(check: JsonObject, path: string, log: IssueLog): number | undefined | null {
  if (check.port === undefined) return undefined;
  return readPortNumber(check.port, childPath(path, 'port'), 'port', log) ?? null;
}

function readHttpPath(value: unknown, path: string, log: IssueLog): string | undefined {
  if (value === undefined) return '/';
  if (typeof value === 'string' && value.startsWith('/')) return value;
  log.error(
    path,
    'path must be a string starting with "/", such as "/health", got ' + `${describeValue(value)}.`,
  );
  return undefined;
}

function readTiming(check: JsonObject, path: string, log: IssueLog): HealthTiming | undefined {
  const { intervalMs: interval, timeoutMs: timeout, startPeriodMs: startPeriod } = HEALTH_DEFAULTS;
  const intervalMs = readTime(check, ['interval', 'intervalSeconds'], path, log, interval);
  const timeoutMs = readTime(check, ['timeout', 'timeoutSeconds'], path, log, timeout);
  const startPeriodMs = readTime(check, ['startPeriod'], path, log, startPeriod);
  const retries = readRetries(check.retries, childPath(path, 'retries'), log);
  if (intervalMs === undefined || timeoutMs === undefined) return undefined;
  if (startPeriodMs === undefined || retries === undefined) return undefined;
  return { intervalMs, timeoutMs, retries, startPeriodMs };
}

/**
 * Reads a time in seconds or as a duration string from the first of `keys` that is present, and
 * warns that the later, legacy keys are ignored then. Interval and timeout must be above zero.
 */
function readTime(
  check: JsonObject,
  keys: readonly string[],
  path: string,
  log: IssueLog,
  defaultMs: number,
): number | undefined {
  const present = keys.filter((key) => check[key] !== undefined);
  if (present.length === 0) return defaultMs;

  const [key, ...ignored] = present;
  for (const other of ignored) {
    const message = `${other} is ignored because ${key} is set. Remove one of them.`;
    log.warn(childPath(path, other), message);
  }

  const fieldPath = childPath(path, key);
  const ms = parseDurationMs(check[key]);
  if (ms === undefined) {
    log.error(
      fieldPath,
      `${key} must be a number of seconds or a duration such as "30s" or ` +
        `"1m30s", got ${describeValue(check[key])}.`,
    );
    return undefined;
  }
  if (ms === 0 && key !== 'startPeriod') {
    log.error(fieldPath, `${key} must be greater than 0. Leave it out to use the default.`);
    return undefined;
  }
  return ms;
}

function readRetries(value: unknown, path: string, log: IssueLog): number | undefined {
  if (value === undefined) return HEALTH_DEFAULTS.retries;
  if (Number.isInteger(value) && (value as number) >= 0) return value as number;
  log.error(path, `retries must be an integer of 0 or more, got ${describeValue(value)}.`);
  return undefined;
}

function warnUnusedKeys(check: JsonObject, kind: HealthCheck['kind'], path: string, log: IssueLog) {
  for (const [key, users] of Object.entries(KEY_USERS)) {
    if (check[key] === undefined || users.includes(kind)) continue;
    log.warn(childPath(path, key), `${key} is ignored because a ${kind} check does not use it.`);
  }
}
