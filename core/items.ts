/**
 * Reader for one service item, shared by every dialect: an ItemList `SoftwareApplication` or an
 * `@graph` container. It accepts every form stack files write for a field, so a field means the
 * same in both dialects. Ports come as `ports` or as `containerPort` Port and PropertyValue
 * entries, environment as an object, a name/value list or `environmentVariable`, and mounts in
 * four forms.
 */
import { readActions, type ReadAction } from './actions';
import { readArgs, readContainerPath, readResources, readRestartPolicy, readUser } from './container-fields';
import {
  checkKeys,
  isObject,
  buildPort,
  isPortNumber,
  readCommand,
  readHostIp,
  readHostPort,
  readPortNumber,
  readProtocol,
  readName,
  readOptionalString,
  readPorts,
  readRequiredString,
  readStringMap,
  type JsonObject,
  type PortList,
} from './fields';
import { readHealthCheck } from './health-check';
import { childPath, describeValue, indexPath, type IssueLog } from './issues';
import type { Dependency, PortSpec, ServiceSpec } from './model';
import { isImageReference } from './image-reference';
import { readServiceMounts, type VolumeDriverRequest } from './mounts';
import { fillEnvironment } from './variables';
import { MAX_POSITION, type ServiceSource } from './validate';

const ITEM_KEYS = {
  known: [
    '@type',
    '@id',
    'position',
    'name',
    'image',
    'command',
    'args',
    'environment',
    'environmentVariable',
    'ports',
    'containerPort',
    'healthCheck',
    'requirements',
    'softwareRequirements',
    'dependsOn',
    'targetHost',
    'locatedInHost',
    'labels',
    'applicationCategory',
    'softwareVersion',
    'description',
    'volumeMounts',
    'volumeMount',
    'volumes',
    'storageRequirement',
    'potentialAction',
    'resources',
    'restartPolicy',
    'workingDir',
    'user',
    'constraints',
    'antiAffinity',
  ],
};

const REQUIREMENT_KEYS = {
  known: ['@type', '@id', 'name', 'waitForHealthy', 'connectionString', 'remoteHost'],
};

/** Context of an item within its document: variables and the resolvers of references. */
export interface ItemContext {
  /** Position for an item that sets none; undefined makes `position` required. */
  defaultPosition?: number;
  /** Variables from the deploy request that fill `${NAME}` placeholders in environment values. */
  variables: Readonly<Record<string, string>>;
  /** Collects the names of the variables that some placeholder used. */
  usedVariables: Set<string>;
  /** Names among `variables` that came from the request's `secretVariables`. Default: none. */
  secretVariables?: ReadonlySet<string>;
  /** Maps a service reference (a name or an `@id`) to a service name. */
  resolveService(reference: string): string;
  /** Maps a host reference (a name or an `@id`) to a registered host name. */
  resolveHost(reference: string): string;
}

/** A service read from an item, with where its fields came from. */
export interface ReadItem {
  service: ServiceSpec;
  source: ServiceSource;
  /** Post-start actions with their paths, for checks across services. */
  actions: ReadAction[];
  /** Paths of the service's mounts, in the order of `service.mounts`. */
  mountPaths: string[];
  drivers: VolumeDriverRequest[];
}

/**
 * Reads one service item. Returns `undefined` when the item is not an object or has no valid
 * name. Otherwise it returns the service without its invalid fields, each reported in `log`.
 */
export function readServiceItem(
  item: unknown,
  path: string,
  context: ItemContext,
  log: IssueLog,
): ReadItem | undefined {
  if (!isObject(item)) {
    log.error(path, `a service must be a SoftwareApplication object, got ${describeValue(item)}.`);
    return undefined;
  }
  checkKeys(item, path, ITEM_KEYS, log);

  const name = readName(item, path, log, '"postgres"');
  const position = readPosition(item.position, childPath(path, 'position'), context.defaultPosition, log);
  const image = readImage(item, path, log);
  const command = readFullCommand(item, path, log);
  const rawEnvironment = readEnvironment(item, path, log);
  const { environment, secretKeys } = fillEnvironment(
    rawEnvironment.values,
    rawEnvironment.path,
    name ?? path,
    { values: context.variables, secret: context.secretVariables ?? new Set() },
    context.usedVariables,
    log,
  );
  const labels = readStringMap(item.labels, childPath(path, 'labels'), 'labels', log);
  const ports = readAllPorts(item, path, log);
  const healthCheck = readHealthCheck(item.healthCheck, childPath(path, 'healthCheck'), log);
  const pin = readPin(item, path, context, log);
  const dependencies = readDependencies(item, path, context, log);
  const mounts = readServiceMounts(item, path, log);
  const resources = readResources(item.resources, childPath(path, 'resources'), log);
  const restartPolicy = readRestartPolicy(item.restartPolicy, childPath(path, 'restartPolicy'), log);
  const workingDir = readContainerPath(item.workingDir, childPath(path, 'workingDir'), 'workingDir', log);
  const user = readUser(item.user, childPath(path, 'user'), log);
  const constraintLabels = readConstraintLabels(item.constraints, childPath(path, 'constraints'), log);
  const antiAffinity = readReferenceList(
    item.antiAffinity,
    childPath(path, 'antiAffinity'),
    'antiAffinity',
    log,
  );
  if (name === undefined) return undefined;
  const actions = readActions(
    item.potentialAction,
    childPath(path, 'potentialAction'),
    name,
    log,
    (reference) => context.resolveService(reference),
  );

  const service: ServiceSpec = {
    name,
    // NaN marks a rejected position; the stack is not returned then, because an error exists.
    position: position ?? Number.NaN,
    image: image ?? '',
    environment,
    ports: ports.ports,
    dependencies: dependencies.list,
    labels,
    resources,
    mounts: mounts.mounts,
    actions: actions.map((entry) => entry.action),
    sourcePath: path,
  };
  if (command) service.command = command;
  if (secretKeys.length > 0) service.secretEnvironment = secretKeys;
  if (healthCheck) service.healthCheck = healthCheck;
  if (pin.host !== undefined) service.targetHost = pin.host;
  if (restartPolicy) service.restartPolicy = restartPolicy;
  if (workingDir !== undefined) service.workingDir = workingDir;
  if (user !== undefined) service.user = user;
  if (constraintLabels) service.constraints = { labels: constraintLabels };
  if (antiAffinity.length > 0) {
    service.antiAffinity = antiAffinity.map((entry) => context.resolveService(entry.name));
  }

  const source: ServiceSource = {
    antiAffinity: childPath(path, 'antiAffinity'),
    targetHost: pin.path,
    targetHostWritten: pin.written,
    ports: ports.paths,
    dependencies: dependencies.paths,
  };
  return { service, source, actions, mountPaths: mounts.paths, drivers: mounts.drivers };
}

function readPosition(
  value: unknown,
  path: string,
  defaultPosition: number | undefined,
  log: IssueLog,
): number | undefined {
  if (value === undefined && defaultPosition !== undefined) return defaultPosition;
  if (Number.isInteger(value) && (value as number) >= 1 && (value as number) <= MAX_POSITION) {
    return value as number;
  }
  const found =
    value === undefined
      ? 'is missing'
      : `must be an integer from 1 to ${MAX_POSITION}, got ` + describeValue(value);
  log.error(path, `position ${found}. Number the items 1, 2, 3 and so on, each position once.`);
  return undefined;
}

function readImage(item: JsonObject, path: string, log: IssueLog): string | undefined {
  const image = readRequiredString(item, 'image', path, log, '"postgres:17"');
  if (image === undefined) return image;
  if (/\s/.test(image)) {
    log.error(
      childPath(path, 'image'),
      `image ${JSON.stringify(image)} contains whitespace. ` +
        'Write the image reference without spaces, such as "postgres:17".',
    );
    return undefined;
  }
  if (!isImageReference(image)) {
    log.error(
      childPath(path, 'image'),
      `image ${JSON.stringify(image).slice(0, 120)} is not a valid image reference. Repository names ` +
        'are lower-case, optionally after a registry host, with an optional tag or digest, ' +
        'such as "postgres:17" or "registry.example.com:5000/team/app:1.2".',
    );
    return undefined;
  }
  return image;
}

/** Reads `command` and appends `args`, as the first Graphium did. */
function readFullCommand(item: JsonObject, path: string, log: IssueLog): string[] | undefined {
  const command = readCommand(item.command, childPath(path, 'command'), log);
  const args = readArgs(item.args, childPath(path, 'args'), log);
  if (!args || args.length === 0) return command;
  return [...(command ?? []), ...args];
}

interface Environment {
  values: Record<string, string>;
  /** Path under which each key is reported. */
  path: string;
}

/**
 * Reads `environment` (an object, or a list of `{name, value}`) and `environmentVariable` (a list
 * of PropertyValues). A key set twice keeps its last value, with a warning.
 */
function readEnvironment(item: JsonObject, path: string, log: IssueLog): Environment {
  const environmentPath = childPath(path, 'environment');
  const entries: [string, string, string][] = [];
  if (Array.isArray(item.environment)) {
    entries.push(...readNameValueList(item.environment, environmentPath, 'environment', log));
  } else {
    const map = readStringMap(item.environment, environmentPath, 'environment', log);
    for (const [key, value] of Object.entries(map))
      entries.push([key, value, childPath(environmentPath, key)]);
  }
  const listPath = childPath(path, 'environmentVariable');
  if (item.environmentVariable !== undefined) {
    if (Array.isArray(item.environmentVariable)) {
      entries.push(...readNameValueList(item.environmentVariable, listPath, 'environmentVariable', log));
    } else {
      log.error(
        listPath,
        'environmentVariable must be an array of PropertyValues such as ' +
          `[{"@type": "PropertyValue", "name": "PORT", "value": "80"}], got ${describeValue(item.environmentVariable)}.`,
      );
    }
  }
  const seen = new Map<string, string>();
  for (const [key, , at] of entries) {
    const earlier = seen.get(key);
    if (earlier !== undefined)
      log.warn(at, `${key} is set again here, and this value replaces the one at ${earlier}.`);
    seen.set(key, at);
  }
  return { values: Object.fromEntries(entries.map(([key, value]) => [key, value])), path: environmentPath };
}

function readNameValueList(
  list: unknown[],
  path: string,
  field: string,
  log: IssueLog,
): [string, string, string][] {
  const result: [string, string, string][] = [];
  list.forEach((entry, index) => {
    const at = indexPath(path, index);
    if (!isObject(entry)) {
      log.error(
        at,
        `${field} entries must be objects such as {"name": "PORT", "value": "80"}, got ${describeValue(entry)}.`,
      );
      return;
    }
    checkKeys(entry, at, { known: ['@type', 'name', 'value', 'description'] }, log);
    const name = entry.name;
    if (typeof name !== 'string' || name === '' || name.includes('=')) {
      log.error(
        childPath(at, 'name'),
        `name must be a variable name without "=", got ${describeValue(name)}.`,
      );
      return;
    }
    const value = entry.value;
    if (typeof value === 'string') {
      result.push([name, value, at]);
    } else if (typeof value === 'number' || typeof value === 'boolean') {
      result.push([name, String(value), at]);
      log.warn(
        childPath(at, 'value'),
        `value of ${name} is a ${typeof value} and is used as the string "${String(value)}". Quote it to keep it exactly as written.`,
      );
    } else {
      log.error(
        childPath(at, 'value'),
        `value of ${name} must be a string, got ${describeValue(value)}. Write "" for an empty value.`,
      );
    }
  });
  return result;
}

/** Reads `ports` and the semantic `containerPort` list into one list of ports. */
function readAllPorts(item: JsonObject, path: string, log: IssueLog): PortList {
  const result = readPorts(item.ports, childPath(path, 'ports'), log);
  const semanticPath = childPath(path, 'containerPort');
  const semantic = item.containerPort;
  if (semantic === undefined) return result;
  if (isPortNumber(semantic)) {
    result.ports.push({ containerPort: semantic, protocol: 'tcp' });
    result.paths.push(semanticPath);
    return result;
  }
  if (!Array.isArray(semantic)) {
    log.error(
      semanticPath,
      'containerPort must be an array of Port objects such as ' +
        `[{"@type": "Port", "portNumber": 80, "hostPort": 8080}], got ${describeValue(semantic)}.`,
    );
    return result;
  }
  semantic.forEach((entry, index) => {
    const at = indexPath(semanticPath, index);
    const port = readSemanticPort(entry, at, log);
    if (port) {
      result.ports.push(port);
      result.paths.push(at);
    }
  });
  return result;
}

/**
 * Reads a `Port` `{portNumber, hostPort, protocol}` or a `PropertyValue` whose `value` is the
 * container port and whose `description` may contain `"hostPort:containerPort"`.
 */
function readSemanticPort(entry: unknown, path: string, log: IssueLog): PortSpec | undefined {
  if (!isObject(entry)) {
    log.error(path, `containerPort entries must be Port objects, got ${describeValue(entry)}.`);
    return undefined;
  }
  if (entry.portNumber !== undefined || entry['@type'] === 'Port') {
    checkKeys(entry, path, { known: ['@type', 'portNumber', 'hostPort', 'protocol', 'hostIP', 'name'] }, log);
    const portPath = childPath(path, 'portNumber');
    const containerPort =
      entry.portNumber === undefined
        ? (log.error(portPath, 'portNumber is missing. Set it to the port the container listens on.'),
          undefined)
        : readPortNumber(toPortNumber(entry.portNumber) ?? entry.portNumber, portPath, 'portNumber', log);
    const hostPort = readHostPort(entry.hostPort, childPath(path, 'hostPort'), log);
    const protocol = readProtocol(entry.protocol, childPath(path, 'protocol'), log);
    const hostIp = readHostIp(entry.hostIP, childPath(path, 'hostIP'), log);
    if (containerPort === undefined || hostPort === null || protocol === undefined || hostIp === null)
      return undefined;
    return buildPort(containerPort, hostPort, protocol, hostIp);
  }
  checkKeys(entry, path, { known: ['@type', 'name', 'value', 'description'] }, log);
  const containerPort = toPortNumber(entry.value);
  if (containerPort === undefined) {
    log.error(
      childPath(path, 'value'),
      `value must be the container port, such as "80", got ${describeValue(entry.value)}.`,
    );
    return undefined;
  }
  if (typeof entry.description !== 'string') return { containerPort, protocol: 'tcp' };
  const match = /^(\d{1,5}):(\d{1,5})(?:\/(tcp|udp))?$/i.exec(entry.description.trim());
  const hostPort = match ? toPortNumber(match[1]) : undefined;
  if (!match || hostPort === undefined || toPortNumber(match[2]) !== containerPort) {
    log.warn(
      childPath(path, 'description'),
      `description ${describeValue(entry.description)} is not "hostPort:${containerPort}", so the port is not published. ` +
        `Write it as "8080:${containerPort}" to publish it.`,
    );
    return { containerPort, protocol: 'tcp' };
  }
  return { containerPort, hostPort, protocol: (match[3]?.toLowerCase() ?? 'tcp') as 'tcp' | 'udp' };
}

function toPortNumber(value: unknown): number | undefined {
  const number = typeof value === 'string' && /^\d{1,5}$/.test(value.trim()) ? Number(value) : value;
  return isPortNumber(number) ? number : undefined;
}

interface Pin {
  host?: string;
  path: string;
  written: boolean;
}

/** Reads the host an item pins itself to: `targetHost` (a name) or `locatedInHost` (`{"@id"}` or a name). */
function readPin(item: JsonObject, path: string, context: ItemContext, log: IssueLog): Pin {
  const targetPath = childPath(path, 'targetHost');
  const locatedPath = childPath(path, 'locatedInHost');
  let host: string | undefined;
  if (typeof item.targetHost === 'string' && item.targetHost.trim() === '') {
    log.error(
      targetPath,
      'targetHost must not be empty. Set it to the name of a registered host, or remove it.',
    );
  } else {
    host = readOptionalString(item, 'targetHost', path, log);
  }
  const located = readHostReference(item.locatedInHost, locatedPath, log);
  const locatedHost = located === undefined ? undefined : context.resolveHost(located);
  if (host !== undefined && locatedHost !== undefined && host !== locatedHost) {
    log.error(
      locatedPath,
      `locatedInHost names "${locatedHost}", but targetHost at ${targetPath} names "${host}". Keep one of them.`,
    );
  }
  const written = item.targetHost !== undefined || item.locatedInHost !== undefined;
  const pathOfPin =
    item.targetHost === undefined && item.locatedInHost !== undefined ? locatedPath : targetPath;
  return { host: host ?? locatedHost, path: pathOfPin, written };
}

/** Reads a host reference: a name, or an object with `@id` or `name`. */
export function readHostReference(value: unknown, path: string, log: IssueLog): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string' && value.trim() !== '') return value;
  if (isObject(value)) {
    const reference = value['@id'] ?? value.name;
    if (typeof reference === 'string' && reference.trim() !== '') return reference;
  }
  log.error(path, `a host reference must be {"@id": "host-1"} or a host name, got ${describeValue(value)}.`);
  return undefined;
}

/** Reads `constraints`: host labels as `{"disk": "ssd"}` or `["disk=ssd"]`. */
function readConstraintLabels(
  value: unknown,
  path: string,
  log: IssueLog,
): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) return readStringMap(value, path, 'constraints', log);
  const entries: [string, string][] = [];
  value.forEach((entry, index) => {
    const match = typeof entry === 'string' ? /^([^=\s]+)=(.*)$/.exec(entry) : null;
    if (match) entries.push([match[1], match[2]]);
    else
      log.error(
        indexPath(path, index),
        `constraints entries must be "label=value", such as "disk=ssd", got ${describeValue(entry)}.`,
      );
  });
  return Object.fromEntries(entries);
}

/** Dependencies of a service, with the path where each is first named. */
interface DependencyList {
  list: Dependency[];
  paths: Record<string, string>;
}

/**
 * Merges `requirements`, `softwareRequirements` and `dependsOn` into one dependency per name.
 * Entries may name a service or give its `@id`. A merged dependency waits for health if any of
 * its entries sets `waitForHealthy`, and keeps the first connection string.
 */
function readDependencies(
  item: JsonObject,
  path: string,
  context: ItemContext,
  log: IssueLog,
): DependencyList {
  const merged = new Map<string, Dependency>();
  const paths = new Map<string, string>();
  const add = (dependency: Dependency, at: string): void => {
    const existing = merged.get(dependency.name);
    if (!existing) {
      merged.set(dependency.name, dependency);
      paths.set(dependency.name, at);
      return;
    }
    existing.waitForHealthy ||= dependency.waitForHealthy;
    mergeConnectionString(existing, dependency, at, log);
  };

  for (const field of ['requirements', 'dependsOn']) {
    for (const named of readReferenceList(item[field], childPath(path, field), field, log)) {
      add({ name: context.resolveService(named.name), waitForHealthy: false }, named.path);
    }
  }
  const softwarePath = childPath(path, 'softwareRequirements');
  for (const { dependency, at } of readSoftwareRequirements(item.softwareRequirements, softwarePath, log)) {
    add({ ...dependency, name: context.resolveService(dependency.name) }, at);
  }
  // Object.fromEntries keeps a dependency named "__proto__" as an own property.
  return { list: [...merged.values()], paths: Object.fromEntries(paths) };
}

/** Reads a list of service references: names, or objects with `@id` or `name`. */
function readReferenceList(value: unknown, path: string, field: string, log: IssueLog) {
  const names: { name: string; path: string }[] = [];
  if (value === undefined) return names;
  if (!Array.isArray(value)) {
    const example = typeof value === 'string' ? `["${value}"]` : '["postgres"]';
    log.error(path, `${field} must be an array of service names. Write it as an array, such as ${example}.`);
    return names;
  }
  value.forEach((entry, index) => {
    const at = indexPath(path, index);
    const reference = isObject(entry) ? (entry['@id'] ?? entry.name) : entry;
    if (typeof reference === 'string' && reference.trim() !== '') names.push({ name: reference, path: at });
    else log.error(at, `${field} entries must be service names, got ${describeValue(entry)}.`);
  });
  return names;
}

function mergeConnectionString(existing: Dependency, added: Dependency, at: string, log: IssueLog) {
  if (added.connectionString === undefined) return;
  if (existing.connectionString === undefined) {
    existing.connectionString = added.connectionString;
  } else if (existing.connectionString !== added.connectionString) {
    log.warn(
      at,
      `"${added.name}" is listed again with another connectionString, which is ` +
        'ignored because the first one is used. Keep one connectionString per dependency.',
    );
  }
}

function readSoftwareRequirements(value: unknown, path: string, log: IssueLog) {
  const result: { dependency: Dependency; at: string }[] = [];
  if (value === undefined) return result;
  if (!Array.isArray(value)) {
    log.error(
      path,
      `softwareRequirements must be an array, such as [{"name": "postgres", ` +
        `"waitForHealthy": true}], got ${describeValue(value)}.`,
    );
    return result;
  }
  value.forEach((entry, index) => {
    const entryPath = indexPath(path, index);
    const requirement = readSoftwareRequirement(entry, entryPath, log);
    if (requirement) result.push({ dependency: requirement, at: childPath(entryPath, 'name') });
  });
  return result;
}

function readSoftwareRequirement(entry: unknown, path: string, log: IssueLog): Dependency | undefined {
  if (!isObject(entry)) {
    const example = typeof entry === 'string' ? `{"name": "${entry}"}` : '{"name": "postgres"}';
    log.error(
      path,
      `softwareRequirements entries must be objects. Write it as ${example}, or ` +
        'list the name in requirements.',
    );
    return undefined;
  }
  checkKeys(entry, path, REQUIREMENT_KEYS, log);

  const name = readRequiredString(entry, 'name', path, log, '"postgres"');
  const waitForHealthy = readWaitForHealthy(entry.waitForHealthy, childPath(path, 'waitForHealthy'), log);
  const connectionString = readConnectionString(entry.connectionString, path, log);
  if (entry.remoteHost !== undefined) {
    log.warn(
      childPath(path, 'remoteHost'),
      'remoteHost is ignored because placement decides ' +
        `which host runs a service. Pin "${name ?? 'the dependency'}" with targetHost instead.`,
    );
  }
  if (name === undefined) return undefined;

  const dependency: Dependency = { name, waitForHealthy };
  if (connectionString !== undefined) dependency.connectionString = connectionString;
  return dependency;
}

function readWaitForHealthy(value: unknown, path: string, log: IssueLog): boolean {
  if (value === undefined) return false;
  if (typeof value === 'boolean') return value;
  log.error(path, `waitForHealthy must be true or false, got ${describeValue(value)}.`);
  return false;
}

function readConnectionString(value: unknown, path: string, log: IssueLog): string | undefined {
  if (value === undefined || typeof value === 'string') return value;
  log.error(
    childPath(path, 'connectionString'),
    `connectionString must be a string such as "postgres://{host}:{port}/app", got ${describeValue(value)}.`,
  );
  return undefined;
}
