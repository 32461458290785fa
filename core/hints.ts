/**
 * Placement hints: every statement of where a stack may run, from the stack file or the deploy
 * request. The stack's `placement`, a file-level `deployment`
 * object, the legacy `location`, per-host constraints, and the deploy request's own fields are
 * read here and merged into the stack model, each with the path it came from.
 */
import { parseCpus, parseMemoryBytes } from './quantities';
import { checkKeys, isObject, readStringMap, type JsonObject } from './fields';
import { childPath, describeValue, indexPath, type IssueLog } from './issues';
import { PLACEMENT_STRATEGIES, type PlacementStrategyName } from './model';

/** A value with the JSON path it was read from. */
export interface Located<T> {
  value: T;
  path: string;
}

/** Host requirements for one service, from a `hostConstraints` entry. */
export interface ConstraintEntry {
  service: string;
  targetHost?: string;
  datacenter?: string;
  labels: Record<string, string>;
  minCpus?: number;
  minMemoryBytes?: number;
  path: string;
}

/** Placement hints found in one place: the stack file or the deploy request. */
export interface Hints {
  strategy?: Located<PlacementStrategyName>;
  datacenter?: Located<string>;
  /** Host every service runs on unless it names its own. */
  defaultHost?: Located<string>;
  /** Hosts the stack may use; only the deploy request sets them. */
  candidateHosts?: Located<string[]>;
  maxServicesPerHost?: Located<number>;
  constraints: ConstraintEntry[];
}

/** The placement fields a deploy request may send beside the stack document. */
export interface RequestHints {
  strategy?: unknown;
  datacenter?: unknown;
  targetHosts?: unknown;
  hostConstraints?: unknown;
}

/** Root of the paths of deploy request fields, which sit beside the document, not inside it. */
export const REQUEST_PATH = 'request';

const DEPLOYMENT_KEYS = {
  known: [
    '@type',
    'placementStrategy',
    'targetDatacenter',
    'hostConstraints',
    'maxInstancesPerHost',
    'networkMode',
    'mode',
    'comment',
    'description',
  ],
};
const LOCATION_KEYS = { known: ['@type', '@id', 'datacenter', 'host', 'targetHost', 'name'] };
const CONSTRAINT_KEYS = {
  known: ['containerName', 'service', 'targetHost', 'requiredDatacenter', 'minCpu', 'minMemory', 'labels'],
};

/** Network modes the first Graphium wrote; Graphium always publishes ports on the hosts, which is `host-port`. */
const NETWORK_MODES = ['host-port', 'bridge'];

/** Reads a strategy name at `path`; `field` names it in the message. */
export function readStrategy(
  value: unknown,
  path: string,
  field: string,
  log: IssueLog,
): PlacementStrategyName | undefined {
  if (value === undefined) return undefined;
  if (PLACEMENT_STRATEGIES.includes(value as PlacementStrategyName)) return value as PlacementStrategyName;
  log.error(
    path,
    `${field} must be one of ${PLACEMENT_STRATEGIES.join(', ')}, got ${describeValue(value)}. ` +
      'Leave it out to run every service on one host.',
  );
  return undefined;
}

function readText(value: unknown, path: string, field: string, log: IssueLog): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string' && value.trim() !== '') return value;
  log.error(path, `${field} must be a non-empty string, got ${describeValue(value)}.`);
  return undefined;
}

/**
 * Reads a file-level `deployment` object `{placementStrategy, targetDatacenter, hostConstraints,
 * maxInstancesPerHost, networkMode}` into `hints`.
 */
export function readDeploymentObject(value: unknown, path: string, hints: Hints, log: IssueLog): void {
  if (value === undefined) return;
  if (!isObject(value)) {
    log.error(
      path,
      `deployment must be an object such as {"placementStrategy": "spread"}, got ${describeValue(value)}.`,
    );
    return;
  }
  checkKeys(value, path, DEPLOYMENT_KEYS, log);
  const strategyPath = childPath(path, 'placementStrategy');
  const strategy = readStrategy(value.placementStrategy, strategyPath, 'placementStrategy', log);
  if (strategy) hints.strategy = { value: strategy, path: strategyPath };
  const datacenterPath = childPath(path, 'targetDatacenter');
  const datacenter = readText(value.targetDatacenter, datacenterPath, 'targetDatacenter', log);
  if (datacenter) hints.datacenter = { value: datacenter, path: datacenterPath };
  hints.constraints.push(
    ...readHostConstraints(value.hostConstraints, childPath(path, 'hostConstraints'), log),
  );

  const maxPath = childPath(path, 'maxInstancesPerHost');
  const max = value.maxInstancesPerHost;
  if (max !== undefined) {
    if (Number.isInteger(max) && (max as number) >= 1)
      hints.maxServicesPerHost = { value: max as number, path: maxPath };
    else
      log.error(maxPath, `maxInstancesPerHost must be an integer of 1 or more, got ${describeValue(max)}.`);
  }
  const mode = value.networkMode;
  if (mode !== undefined && !NETWORK_MODES.includes(mode as string)) {
    log.warn(
      childPath(path, 'networkMode'),
      `networkMode ${describeValue(mode)} is not applied: Graphium publishes ports on each host and joins ` +
        'the stack network there. Remove it, or set "host-port".',
    );
  }
}

/** Reads the legacy `location` object `{datacenter, host}` into `hints`. */
export function readLocation(value: unknown, path: string, hints: Hints, log: IssueLog): void {
  if (value === undefined) return;
  if (!isObject(value)) {
    log.error(
      path,
      `location must be an object such as {"datacenter": "eu-west"}, got ${describeValue(value)}.`,
    );
    return;
  }
  checkKeys(value, path, LOCATION_KEYS, log);
  const datacenterPath = childPath(path, 'datacenter');
  const datacenter = readText(value.datacenter, datacenterPath, 'datacenter', log);
  if (datacenter && !hints.datacenter) hints.datacenter = { value: datacenter, path: datacenterPath };
  const hostKey = ['host', 'targetHost'].find((key) => value[key] !== undefined);
  if (hostKey) {
    const host = readText(value[hostKey], childPath(path, hostKey), hostKey, log);
    if (host && !hints.defaultHost) hints.defaultHost = { value: host, path: childPath(path, hostKey) };
  }
}

/**
 * Reads `hostConstraints` `[{containerName, targetHost, requiredDatacenter, minCpu, minMemory,
 * labels}]`, where `containerName` names a service of the stack and `minMemory` is bytes or a
 * size such as "512M".
 */
export function readHostConstraints(value: unknown, path: string, log: IssueLog): ConstraintEntry[] {
  const result: ConstraintEntry[] = [];
  if (value === undefined) return result;
  if (!Array.isArray(value)) {
    log.error(
      path,
      'hostConstraints must be an array such as [{"containerName": "db", "requiredDatacenter": "eu-west"}], ' +
        `got ${describeValue(value)}.`,
    );
    return result;
  }
  value.forEach((entry, index) => {
    const at = indexPath(path, index);
    const constraint = readConstraint(entry, at, log);
    if (constraint) result.push(constraint);
  });
  return result;
}

function readConstraint(entry: unknown, path: string, log: IssueLog): ConstraintEntry | undefined {
  if (!isObject(entry)) {
    log.error(path, `hostConstraints entries must be objects, got ${describeValue(entry)}.`);
    return undefined;
  }
  checkKeys(entry, path, CONSTRAINT_KEYS, log);
  const serviceKey = entry.containerName !== undefined ? 'containerName' : 'service';
  const service = readText(entry[serviceKey], childPath(path, serviceKey), serviceKey, log);
  if (entry[serviceKey] === undefined) {
    log.error(
      childPath(path, 'containerName'),
      'containerName is missing. Name the service the constraint applies to.',
    );
  }
  const targetHost = readText(entry.targetHost, childPath(path, 'targetHost'), 'targetHost', log);
  const datacenter = readText(
    entry.requiredDatacenter,
    childPath(path, 'requiredDatacenter'),
    'requiredDatacenter',
    log,
  );
  const labels = readStringMap(entry.labels, childPath(path, 'labels'), 'labels', log);
  const minCpus = readMinimum(entry, 'minCpu', path, parseCpus, 'a number of CPUs such as 2', log);
  const minMemoryBytes = readMinimum(
    entry,
    'minMemory',
    path,
    parseMemoryBytes,
    'bytes or a size such as "2G"',
    log,
  );
  if (service === undefined) return undefined;

  const constraint: ConstraintEntry = { service, labels, path };
  if (targetHost !== undefined) constraint.targetHost = targetHost;
  if (datacenter !== undefined) constraint.datacenter = datacenter;
  if (minCpus !== undefined) constraint.minCpus = minCpus;
  if (minMemoryBytes !== undefined) constraint.minMemoryBytes = minMemoryBytes;
  return constraint;
}

function readMinimum(
  entry: JsonObject,
  key: string,
  path: string,
  parse: (value: unknown) => number | undefined,
  example: string,
  log: IssueLog,
): number | undefined {
  if (entry[key] === undefined || entry[key] === 0) return undefined;
  const parsed = parse(entry[key]);
  if (parsed === undefined)
    log.error(childPath(path, key), `${key} must be ${example}, got ${describeValue(entry[key])}.`);
  return parsed;
}

/** Reads the placement fields of a deploy request, reporting them under `request.`. */
export function readRequestHints(request: RequestHints, log: IssueLog): Hints {
  const hints: Hints = { constraints: [] };
  const strategyPath = childPath(REQUEST_PATH, 'strategy');
  const strategy = readStrategy(request.strategy, strategyPath, 'strategy', log);
  if (strategy) hints.strategy = { value: strategy, path: strategyPath };
  const datacenterPath = childPath(REQUEST_PATH, 'datacenter');
  const datacenter = readText(request.datacenter, datacenterPath, 'datacenter', log);
  if (datacenter) hints.datacenter = { value: datacenter, path: datacenterPath };

  const hostsPath = childPath(REQUEST_PATH, 'targetHosts');
  const hosts = request.targetHosts;
  if (hosts !== undefined) {
    const valid =
      Array.isArray(hosts) &&
      hosts.length > 0 &&
      hosts.every((host) => typeof host === 'string' && host.trim() !== '');
    if (valid) hints.candidateHosts = { value: [...new Set(hosts as string[])], path: hostsPath };
    else
      log.error(
        hostsPath,
        `targetHosts must be a non-empty array of host names, such as ["host-1", "host-2"], got ${describeValue(hosts)}.`,
      );
  }
  hints.constraints.push(
    ...readHostConstraints(request.hostConstraints, childPath(REQUEST_PATH, 'hostConstraints'), log),
  );
  return hints;
}
