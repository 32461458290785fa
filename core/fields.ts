/**
 * Readers for fields that several stack dialects share. Each reader records an issue at the
 * field's JSON path for every value it rejects, and returns what it could read.
 */
import { childPath, describeValue, indexPath, type IssueLog } from './issues';
import type { PortSpec } from './model';
import { hasLetterOrDigit } from './names';
import { isIpAddress } from './wiring';
import { MAX_NAME_FIELD_LENGTH } from './validate';

export type JsonObject = Record<string, unknown>;

/** A name read from a list, with the JSON path where the document wrote it. */
export interface NamedAt {
  name: string;
  path: string;
}

/** Returns whether `value` is a JSON object, which excludes null and arrays. */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Keys an object may contain, split by what Graphium does with them. */
export interface KeyRules {
  /** Keys that Graphium reads, or accepts as information. */
  known: readonly string[];
  /** Keys that the format defines but Graphium does not apply yet. */
  notApplied?: readonly string[];
}

/**
 * Warns about each key of `object` that Graphium does not apply yet, and records every other
 * key that `rules` does not list as unknown.
 */
export function checkKeys(object: JsonObject, path: string, rules: KeyRules, log: IssueLog): void {
  const notApplied = rules.notApplied ?? [];
  for (const key of Object.keys(object)) {
    if (rules.known.includes(key)) continue;
    const keyPath = childPath(path, key);
    if (notApplied.includes(key)) {
      log.warn(keyPath, `${key} is not applied by Graphium yet, so it has no effect.`);
    } else {
      log.unknownKey(keyPath, key, [...rules.known, ...notApplied]);
    }
  }
}

/** Reads an optional non-empty string field, recording an error when it has another value. */
export function readOptionalString(
  object: JsonObject,
  key: string,
  path: string,
  log: IssueLog,
): string | undefined {
  const value = object[key];
  if (value === undefined) return undefined;
  if (typeof value === 'string' && value.trim() !== '') return value;
  const message = `${key} must be a non-empty string, got ${describeValue(value)}.`;
  log.error(childPath(path, key), message);
  return undefined;
}

/** Reads a required non-empty string field. The message for a missing one shows `example`. */
export function readRequiredString(
  object: JsonObject,
  key: string,
  path: string,
  log: IssueLog,
  example: string,
): string | undefined {
  if (object[key] === undefined) {
    const message = `${key} is missing. Set it to a non-empty string such as ${example}.`;
    log.error(childPath(path, key), message);
    return undefined;
  }
  return readOptionalString(object, key, path, log);
}

/**
 * Reads the required `name` of a stack or service. The name must contain a letter or digit,
 * because Graphium derives container names and workflow ids from it, and must have at most
 * MAX_NAME_FIELD_LENGTH characters. The message for a missing name shows `example`.
 */
export function readName(
  object: JsonObject,
  path: string,
  log: IssueLog,
  example: string,
): string | undefined {
  const value = object.name;
  if (typeof value !== 'string') return readRequiredString(object, 'name', path, log, example);

  const namePath = childPath(path, 'name');
  if (!hasLetterOrDigit(value)) {
    log.error(
      namePath,
      `name must contain at least one letter or digit, got ${describeValue(value)}. ` +
        `Use a name such as ${example}.`,
    );
    return undefined;
  }
  // A string has at least as many UTF-16 code units as code points, so short names skip the count.
  const length = value.length > MAX_NAME_FIELD_LENGTH ? [...value].length : value.length;
  if (length > MAX_NAME_FIELD_LENGTH) {
    log.error(
      namePath,
      `name has ${length} characters, but the maximum is ${MAX_NAME_FIELD_LENGTH}. ` + 'Use a shorter name.',
    );
    return undefined;
  }
  return value;
}

/**
 * Reads a list of service names, such as `requirements` or `dependsOn`. `path` is the path of the
 * list itself and `field` its name for messages.
 */
export function readNameList(value: unknown, path: string, field: string, log: IssueLog): NamedAt[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    const example = typeof value === 'string' ? `["${value}"]` : '["postgres"]';
    log.error(
      path,
      `${field} must be an array of service names. Write it as an array, such as ` + `${example}.`,
    );
    return [];
  }
  const names: NamedAt[] = [];
  value.forEach((entry, index) => {
    const entryPath = indexPath(path, index);
    if (typeof entry === 'string' && entry.trim() !== '') {
      names.push({ name: entry, path: entryPath });
    } else {
      log.error(entryPath, `${field} entries must be service names, got ${describeValue(entry)}.`);
    }
  });
  return names;
}

/**
 * Reads a container command, which must be an array of strings. An empty array means the image's
 * default command, so it is returned as `undefined` with a warning.
 */
export function readCommand(value: unknown, path: string, log: IssueLog): string[] | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string') {
    const example = JSON.stringify(['sh', '-c', value]);
    log.error(path, `command must be an array of strings. Write it as an array, such as ` + `${example}.`);
    return undefined;
  }
  if (!Array.isArray(value)) {
    log.error(path, `command must be an array of strings, got ${describeValue(value)}.`);
    return undefined;
  }
  if (reportNonStringEntry(value, path, log)) return undefined;
  if (value.length === 0) {
    log.warn(path, "command is empty, so the image's default command runs. " + 'Remove it or fill it in.');
    return undefined;
  }
  return value as string[];
}

/**
 * Reads an object of string values such as `environment` or `labels`. Numbers and booleans are
 * converted to strings, and objects, arrays and null are errors. The result is built with
 * `Object.fromEntries`, so keys such as `__proto__` become own properties like any other key.
 */
export function readStringMap(
  value: unknown,
  path: string,
  field: string,
  log: IssueLog,
): Record<string, string> {
  if (value === undefined) return {};
  if (!isObject(value)) {
    log.error(
      path,
      `${field} must be an object of string values, such as {"KEY": "value"}, ` +
        `got ${describeValue(value)}.`,
    );
    return {};
  }
  const entries: [string, string][] = [];
  for (const [key, entry] of Object.entries(value)) {
    const entryPath = childPath(path, key);
    if (key === '' || key.includes('=')) {
      const message = `${field} key ${JSON.stringify(key)} is invalid. Use a non-empty name without "=".`;
      log.error(entryPath, message);
    } else if (typeof entry === 'string') {
      entries.push([key, entry]);
    } else if (typeof entry === 'number' || typeof entry === 'boolean') {
      // A JSON number may already have lost digits when it was read, so the warning shows the result.
      entries.push([key, String(entry)]);
      log.warn(
        entryPath,
        `${field} value of ${key} is a ${typeof entry} and is used as the string "${String(entry)}". ` +
          'Quote it in the document to keep it exactly as written.',
      );
    } else if (entry === null) {
      log.error(
        entryPath,
        `${field} value of ${key} must be a string, got null. ` + 'Write "" for an empty value.',
      );
    } else {
      log.error(
        entryPath,
        `${field} value of ${key} must be a string, got ` +
          `${describeValue(entry)}. Write it as a string, such as "value".`,
      );
    }
  }
  return Object.fromEntries(entries);
}

/** Reads a port number that must be an integer from 1 to 65535. */
export function readPortNumber(
  value: unknown,
  path: string,
  field: string,
  log: IssueLog,
): number | undefined {
  if (isPortNumber(value)) return value;
  log.error(path, `${field} must be an integer from 1 to 65535, got ${describeValue(value)}.`);
  return undefined;
}

/** Returns whether `value` is a TCP or UDP port number, an integer from 1 to 65535. */
export function isPortNumber(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 65535;
}

/** Ports read from a document, with the JSON path of each in `paths`. */
export interface PortList {
  ports: PortSpec[];
  paths: string[];
}

const PORT_KEYS: KeyRules = { known: ['@type', 'containerPort', 'hostPort', 'protocol', 'hostIP', 'hostIp'] };

/**
 * Reads a `ports` array of `{containerPort, hostPort, protocol}` objects and returns the valid
 * ports with the JSON path of each. A `hostPort` of 0 means not published, so it is left out.
 */
export function readPorts(value: unknown, path: string, log: IssueLog): PortList {
  const result: PortList = { ports: [], paths: [] };
  if (value === undefined) return result;
  if (!Array.isArray(value)) {
    log.error(
      path,
      'ports must be an array, such as [{"containerPort": 80, "hostPort": 8080}], ' +
        `got ${describeValue(value)}.`,
    );
    return result;
  }
  value.forEach((entry, index) => {
    const portPath = indexPath(path, index);
    const port = readPort(entry, portPath, log);
    if (port) {
      result.ports.push(port);
      result.paths.push(portPath);
    }
  });
  return result;
}

function readPort(entry: unknown, path: string, log: IssueLog): PortSpec | undefined {
  if (!isObject(entry)) {
    log.error(
      path,
      'ports entries must be objects, such as ' +
        `{"containerPort": 80, "hostPort": 8080}, got ${describeValue(entry)}.`,
    );
    return undefined;
  }
  checkKeys(entry, path, PORT_KEYS, log);

  const containerPortPath = childPath(path, 'containerPort');
  let containerPort: number | undefined;
  if (entry.containerPort === undefined) {
    log.error(
      containerPortPath,
      'containerPort is missing. Set it to the port the container ' + 'listens on, from 1 to 65535.',
    );
  } else {
    containerPort = readPortNumber(entry.containerPort, containerPortPath, 'containerPort', log);
  }

  const hostPort = readHostPort(entry.hostPort, childPath(path, 'hostPort'), log);
  const protocol = readProtocol(entry.protocol, childPath(path, 'protocol'), log);
  const ipKey = entry.hostIP !== undefined ? 'hostIP' : 'hostIp';
  const hostIp = readHostIp(entry[ipKey], childPath(path, ipKey), log);
  if (containerPort === undefined || hostPort === null || protocol === undefined || hostIp === null) {
    return undefined;
  }
  return buildPort(containerPort, hostPort, protocol, hostIp);
}

/** Builds a port, leaving out the host port and address when they are absent. */
export function buildPort(
  containerPort: number,
  hostPort: number | undefined,
  protocol: 'tcp' | 'udp',
  hostIp: string | undefined,
): PortSpec {
  const port: PortSpec = { containerPort, protocol };
  if (hostPort !== undefined) port.hostPort = hostPort;
  if (hostIp !== undefined) port.hostIp = hostIp;
  return port;
}

/**
 * Reads the host address a published port binds to. Returns `undefined` when absent, or null
 * when it is not an IP address.
 */
export function readHostIp(value: unknown, path: string, log: IssueLog): string | undefined | null {
  if (value === undefined || value === '') return undefined;
  if (typeof value === 'string' && isIpAddress(value)) return value;
  log.error(path, `the host address must be an IP address such as "127.0.0.1", got ${describeValue(value)}.`);
  return null;
}

/** Returns the host port, `undefined` when the port is not published, or null when invalid. */
export function readHostPort(value: unknown, path: string, log: IssueLog): number | undefined | null {
  if (value === undefined || value === 0) return undefined;
  if (isPortNumber(value)) return value;
  log.error(
    path,
    `hostPort must be an integer from 1 to 65535, got ${describeValue(value)}. ` +
      'Use 0 or leave it out to keep the port unpublished.',
  );
  return null;
}

export function readProtocol(value: unknown, path: string, log: IssueLog): 'tcp' | 'udp' | undefined {
  if (value === undefined) return 'tcp';
  const lower = typeof value === 'string' ? value.toLowerCase() : value;
  if (lower === 'tcp' || lower === 'udp') return lower;
  log.error(path, `protocol must be "tcp" or "udp", got ${describeValue(value)}.`);
  return undefined;
}

/** Logs an error at the first entry of a command array that is not a string; returns whether there was one. */
export function reportNonStringEntry(value: unknown[], path: string, log: IssueLog): boolean {
  const bad = value.findIndex((part) => typeof part !== 'string');
  if (bad < 0) return false;
  log.error(indexPath(path, bad), `command entries must be strings, got ${describeValue(value[bad])}.`);
  return true;
}
