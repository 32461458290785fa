/**
 * Readers for the fields that shape a service's container beyond its image and command:
 * resources, restart policy and extra arguments. Every dialect shares them.
 */
import { checkKeys, isObject, reportNonStringEntry, type JsonObject } from './fields';
import { childPath, describeValue, type IssueLog } from './issues';
import type { ResourceSpec, RestartPolicy } from './model';
import { MAX_CPUS, parseCpus, parseMemoryBytes } from './quantities';

const RESOURCE_KEYS = { known: ['cpu', 'cpus', 'memory', 'limits'] };
const LIMIT_KEYS = { known: ['cpus', 'cpu', 'memory', 'memorySwap', 'pids'] };

/** Smallest CPU limit Docker accepts. */
const MIN_CPUS = 0.01;

const MEMORY_EXAMPLE = 'such as "512M", "1G" or a number of bytes';
const CPU_EXAMPLE = `such as 0.5, "2" or "500m", at most ${MAX_CPUS}`;

/**
 * Reads `resources`: either `{"cpu": "0.5", "memory": "512M"}` or `{"limits": {"cpus", "memory",
 * "memorySwap", "pids"}}`, or both. A limit written in both places takes the value in `limits`,
 * with a warning. The result is what the container is limited to and what placement reserves.
 */
export function readResources(value: unknown, path: string, log: IssueLog): ResourceSpec {
  if (value === undefined) return {};
  if (!isObject(value)) {
    log.error(
      path,
      `resources must be an object, such as {"cpu": "0.5", "memory": "512M"}, got ${describeValue(value)}.`,
    );
    return {};
  }
  checkKeys(value, path, RESOURCE_KEYS, log);

  const resources: ResourceSpec = {};
  const cpuKey = value.cpu !== undefined ? 'cpu' : 'cpus';
  const cpus = readCpus(value, cpuKey, path, log);
  if (value.cpu !== undefined && value.cpus !== undefined) {
    log.warn(childPath(path, 'cpus'), 'cpus is ignored because cpu is set. Remove one of them.');
  }
  const memory = readMemory(value, 'memory', path, log);
  if (cpus !== undefined) resources.cpus = cpus;
  if (memory !== undefined) resources.memoryBytes = memory;

  if (value.limits === undefined) return resources;
  const limitsPath = childPath(path, 'limits');
  if (!isObject(value.limits)) {
    log.error(
      limitsPath,
      `limits must be an object, such as {"cpus": "1", "memory": "1G"}, got ${describeValue(value.limits)}.`,
    );
    return resources;
  }
  return { ...resources, ...readLimits(value.limits, limitsPath, resources, log) };
}

function readLimits(limits: JsonObject, path: string, outer: ResourceSpec, log: IssueLog): ResourceSpec {
  checkKeys(limits, path, LIMIT_KEYS, log);
  const result: ResourceSpec = {};
  const cpus = readCpus(limits, limits.cpus !== undefined ? 'cpus' : 'cpu', path, log);
  const memory = readMemory(limits, 'memory', path, log);
  if (cpus !== undefined) {
    if (outer.cpus !== undefined && outer.cpus !== cpus) warnOverride(path, 'cpus', log);
    result.cpus = cpus;
  }
  if (memory !== undefined) {
    if (outer.memoryBytes !== undefined && outer.memoryBytes !== memory) warnOverride(path, 'memory', log);
    result.memoryBytes = memory;
  }
  const swap = readMemorySwap(limits.memorySwap, childPath(path, 'memorySwap'), log);
  if (swap !== undefined) result.memorySwapBytes = swap;
  const pids = readPids(limits.pids, childPath(path, 'pids'), log);
  if (pids !== undefined) result.pids = pids;

  const memoryLimit = result.memoryBytes ?? outer.memoryBytes;
  if (swap !== undefined && swap !== -1 && (memoryLimit === undefined || swap < memoryLimit)) {
    log.error(
      childPath(path, 'memorySwap'),
      'memorySwap is memory plus swap, so it needs a memory limit and must be at least that ' +
        'limit. Raise it, set it to -1 for unlimited swap, or remove it.',
    );
    delete result.memorySwapBytes;
  }
  return result;
}

function warnOverride(path: string, key: string, log: IssueLog): void {
  log.warn(childPath(path, key), `limits.${key} replaces the ${key} set beside limits. Keep one of them.`);
}

function readCpus(object: JsonObject, key: string, path: string, log: IssueLog): number | undefined {
  if (object[key] === undefined) return undefined;
  const cpus = parseCpus(object[key]);
  if (cpus === undefined) {
    log.error(
      childPath(path, key),
      `${key} must be a number of CPUs ${CPU_EXAMPLE}, got ${describeValue(object[key])}.`,
    );
  } else if (cpus < MIN_CPUS) {
    // Docker rejects CPU limits below a hundredth of a CPU when it creates the container.
    log.error(childPath(path, key), `${key} is ${cpus}, but Docker needs at least ${MIN_CPUS}. Raise it.`);
    return undefined;
  }
  return cpus;
}

function readMemory(object: JsonObject, key: string, path: string, log: IssueLog): number | undefined {
  if (object[key] === undefined) return undefined;
  const bytes = parseMemoryBytes(object[key]);
  if (bytes === undefined) {
    log.error(
      childPath(path, key),
      `${key} must be a size ${MEMORY_EXAMPLE}, got ${describeValue(object[key])}.`,
    );
  } else if (bytes < 6 * 1024 * 1024) {
    // Docker refuses memory limits below 6 MiB when it creates the container.
    log.error(childPath(path, key), `${key} is ${bytes} bytes, but Docker needs at least 6M. Raise it.`);
    return undefined;
  }
  return bytes;
}

function readMemorySwap(value: unknown, path: string, log: IssueLog): number | undefined {
  if (value === undefined) return undefined;
  if (value === -1 || value === '-1') return -1;
  const bytes = parseMemoryBytes(value);
  if (bytes === undefined) {
    log.error(path, `memorySwap must be a size ${MEMORY_EXAMPLE}, or -1, got ${describeValue(value)}.`);
  }
  return bytes;
}

function readPids(value: unknown, path: string, log: IssueLog): number | undefined {
  if (value === undefined) return undefined;
  if (Number.isInteger(value) && (value as number) > 0 && (value as number) <= 4_194_304) {
    return value as number;
  }
  log.error(path, `pids must be an integer from 1 to 4194304, got ${describeValue(value)}.`);
  return undefined;
}

const RESTART_NAMES = ['no', 'always', 'unless-stopped', 'on-failure'] as const;

/**
 * Reads `restartPolicy`: `"no"`, `"always"`, `"unless-stopped"`, `"on-failure"` or
 * `"on-failure:5"`, or an object `{"name": "on-failure", "maximumRetryCount": 5}`.
 */
export function readRestartPolicy(value: unknown, path: string, log: IssueLog): RestartPolicy | undefined {
  if (value === undefined) return undefined;
  const fix = `Use one of ${RESTART_NAMES.map((name) => `"${name}"`).join(', ')}, or "on-failure:5".`;
  if (typeof value === 'string') {
    const match = /^(no|always|unless-stopped|on-failure)(?::(\d{1,6}))?$/.exec(value.trim());
    if (match && (match[2] === undefined || match[1] === 'on-failure')) {
      const policy: RestartPolicy = { name: match[1] as RestartPolicy['name'] };
      if (match[2] !== undefined) policy.maximumRetryCount = Number(match[2]);
      return policy;
    }
    log.error(path, `restartPolicy ${describeValue(value)} is not a restart policy. ${fix}`);
    return undefined;
  }
  if (isObject(value)) {
    checkKeys(value, path, { known: ['name', 'maximumRetryCount'] }, log);
    const name = value.name;
    if (!RESTART_NAMES.includes(name as RestartPolicy['name'])) {
      log.error(childPath(path, 'name'), `name must be a restart policy, got ${describeValue(name)}. ${fix}`);
      return undefined;
    }
    const policy: RestartPolicy = { name: name as RestartPolicy['name'] };
    const count = value.maximumRetryCount;
    if (count === undefined) return policy;
    if (name !== 'on-failure' || !Number.isInteger(count) || (count as number) < 0) {
      log.error(
        childPath(path, 'maximumRetryCount'),
        'maximumRetryCount must be an integer of 0 or more, and only "on-failure" uses it.',
      );
      return undefined;
    }
    policy.maximumRetryCount = count as number;
    return policy;
  }
  log.error(path, `restartPolicy must be a restart policy name, got ${describeValue(value)}. ${fix}`);
  return undefined;
}

/**
 * Reads `args`, which the first Graphium appended to the command. Returns the strings, or
 * `undefined` when absent or invalid.
 */
export function readArgs(value: unknown, path: string, log: IssueLog): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) {
    log.error(
      path,
      `args must be an array of strings, such as ["--port", "8080"], got ${describeValue(value)}.`,
    );
    return undefined;
  }
  if (reportNonStringEntry(value, path, log)) return undefined;
  return value as string[];
}

/**
 * Reads an absolute path inside the container, such as `workingDir`. Docker rejects relative
 * ones when it creates the container, so they are errors here.
 */
export function readContainerPath(
  value: unknown,
  path: string,
  field: string,
  log: IssueLog,
): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string' && value.startsWith('/') && !value.includes('\0')) return value;
  log.error(
    path,
    `${field} must be an absolute path inside the container, such as "/app", got ${describeValue(value)}.`,
  );
  return undefined;
}

/** Reads `user`: a user name or id, optionally with a group, such as "1000:1000" or "postgres". */
export function readUser(value: unknown, path: string, log: IssueLog): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string' && /^[A-Za-z0-9_.-]+(?::[A-Za-z0-9_.-]+)?$/.test(value)) return value;
  log.error(
    path,
    `user must be a user name or id, optionally with a group, such as "1000:1000", got ${describeValue(value)}.`,
  );
  return undefined;
}
