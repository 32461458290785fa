/**
 * Reader for post-start actions (`potentialAction`): commands run inside a container of the stack
 * once their service is healthy, such as database migrations.
 */
import { parseDurationMs } from './duration';
import { checkKeys, isObject, readCommand } from './fields';
import { childPath, describeValue, indexPath, type IssueLog } from './issues';
import type { PostStartAction } from './model';

/** Time an action may run when the stack sets no `timeout`. */
export const DEFAULT_ACTION_TIMEOUT_MS = 60_000;

/** Longest `timeout` an action may set: one hour. */
export const MAX_ACTION_TIMEOUT_MS = 3_600_000;

const ACTION_KEYS = {
  known: [
    '@type',
    '@id',
    'name',
    'actionType',
    'command',
    'timeout',
    'workingDirectory',
    'target',
    'description',
  ],
};

/** An action with the JSON path of its `target`, for checks that span services. */
export interface ReadAction {
  action: PostStartAction;
  path: string;
}

/**
 * Reads `potentialAction`, an array of actions or a single one. Each action needs a `command`
 * array. Its `timeout` is seconds or a duration string, 60 s by default and at most 1 h. Its
 * `target` names the service whose container runs it, by name or as `{"@id": ...}` resolved
 * through `resolveTarget`, and defaults to `service`.
 */
export function readActions(
  value: unknown,
  path: string,
  service: string,
  log: IssueLog,
  resolveTarget: (reference: string) => string = (reference) => reference,
): ReadAction[] {
  if (value === undefined) return [];
  const entries = isObject(value) ? [value] : value;
  if (!Array.isArray(entries)) {
    log.error(
      path,
      `potentialAction must be an array of actions such as [{"name": "migrate", "command": ["./migrate"]}], ` +
        `got ${describeValue(value)}.`,
    );
    return [];
  }
  const result: ReadAction[] = [];
  entries.forEach((entry, index) => {
    const at = isObject(value) ? path : indexPath(path, index);
    const action = readAction(entry, at, service, index, log, resolveTarget);
    if (action) result.push({ action, path: at });
  });
  return result;
}

function readAction(
  entry: unknown,
  path: string,
  service: string,
  index: number,
  log: IssueLog,
  resolveTarget: (reference: string) => string,
): PostStartAction | undefined {
  if (!isObject(entry)) {
    log.error(path, `an action must be an object with a name and a command, got ${describeValue(entry)}.`);
    return undefined;
  }
  checkKeys(entry, path, ACTION_KEYS, log);

  const name = readText(entry.name, childPath(path, 'name'), 'name', log) ?? `action ${index + 1}`;
  const actionType = readText(entry.actionType, childPath(path, 'actionType'), 'actionType', log);
  const commandPath = childPath(path, 'command');
  if (entry.command === undefined) {
    log.error(commandPath, 'command is missing. Give the command to run, such as ["npm", "run", "migrate"].');
  }
  const command = readCommand(entry.command, commandPath, log);
  const timeoutMs = readTimeout(entry.timeout, childPath(path, 'timeout'), log);
  const workingDirectory = readWorkingDirectory(
    entry.workingDirectory,
    childPath(path, 'workingDirectory'),
    log,
  );
  const target = readTarget(entry.target, childPath(path, 'target'), service, log, resolveTarget);
  if (!command || timeoutMs === undefined || target === undefined) return undefined;
  if (entry.workingDirectory !== undefined && workingDirectory === undefined) return undefined;

  const action: PostStartAction = { name, command, timeoutMs, target };
  if (actionType !== undefined) action.actionType = actionType;
  if (workingDirectory !== undefined) action.workingDirectory = workingDirectory;
  return action;
}

function readText(value: unknown, path: string, field: string, log: IssueLog): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string' && value.trim() !== '') return value;
  log.error(path, `${field} must be a non-empty string, got ${describeValue(value)}.`);
  return undefined;
}

function readTimeout(value: unknown, path: string, log: IssueLog): number | undefined {
  if (value === undefined) return DEFAULT_ACTION_TIMEOUT_MS;
  const ms = parseDurationMs(value);
  if (ms !== undefined && ms > 0 && ms <= MAX_ACTION_TIMEOUT_MS) return ms;
  log.error(
    path,
    `timeout must be seconds or a duration such as "2m", above 0 and at most 1h, got ${describeValue(value)}.`,
  );
  return undefined;
}

function readWorkingDirectory(value: unknown, path: string, log: IssueLog): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string' && value.startsWith('/') && !value.includes('\0')) return value;
  log.error(
    path,
    `workingDirectory must be an absolute path in the container, such as "/app", got ${describeValue(value)}.`,
  );
  return undefined;
}

function readTarget(
  value: unknown,
  path: string,
  service: string,
  log: IssueLog,
  resolveTarget: (reference: string) => string,
): string | undefined {
  if (value === undefined) return service;
  if (typeof value === 'string' && value.trim() !== '') return resolveTarget(value);
  if (isObject(value)) {
    const reference = value['@id'] ?? value.name;
    if (typeof reference === 'string' && reference.trim() !== '') return resolveTarget(reference);
  }
  log.error(
    path,
    `target must name a service of the stack, such as "postgres", got ${describeValue(value)}.`,
  );
  return undefined;
}
