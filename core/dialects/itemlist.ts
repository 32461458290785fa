/**
 * The `ItemList` dialect: a schema.org ItemList whose `itemListElement` entries are
 * SoftwareApplication items, as EVE and the original design note write stacks. It also reads
 * the legacy `dependsOn` list of the first Graphium's files.
 */
import {
  checkKeys,
  isObject,
  readCommand,
  readNameList,
  readOptionalString,
  readName,
  readPorts,
  readRequiredString,
  readStringMap,
  type JsonObject,
} from '../fields';
import { readHealthCheck } from '../health-check';
import { childPath, describeValue, indexPath, type IssueLog } from '../issues';
import {
  PLACEMENT_STRATEGIES,
  type Dependency,
  type PlacementStrategyName,
  type ServiceSpec,
  type StackSpec,
} from '../model';
import {
  defaultPlacement,
  MAX_POSITION,
  MAX_SERVICES,
  type DialectOutput,
  type ServiceSource,
} from '../validate';

const STACK_KEYS = {
  known: ['@context', '@type', '@id', 'name', 'description', 'placement', 'datacenter', 'itemListElement'],
  notApplied: ['network', 'volumes', 'deployment', 'location'],
};

const ITEM_KEYS = {
  known: [
    '@type',
    '@id',
    'position',
    'name',
    'image',
    'command',
    'environment',
    'ports',
    'healthCheck',
    'requirements',
    'softwareRequirements',
    'dependsOn',
    'targetHost',
    'labels',
    'applicationCategory',
    'softwareVersion',
    'description',
  ],
  notApplied: ['volumeMounts', 'potentialAction', 'resources', 'restartPolicy', 'network', 'volumes'],
};

const REQUIREMENT_KEYS = {
  known: ['@type', '@id', 'name', 'waitForHealthy', 'connectionString', 'remoteHost'],
};

const ITEMS_PATH = '$.itemListElement';

/** Returns whether `document` is an ItemList stack: it has `itemListElement` or that `@type`. */
export function isItemList(document: JsonObject): boolean {
  return document.itemListElement !== undefined || hasType(document['@type'], 'ItemList');
}

/**
 * Reads an ItemList stack document into the stack model. The result is incomplete when `log`
 * has errors: invalid fields are left out, and so are items that are not objects or have no
 * valid name.
 */
export function parseItemList(document: JsonObject, log: IssueLog): DialectOutput {
  checkKeys(document, '$', STACK_KEYS, log);
  checkContext(document['@context'], log);
  checkStackType(document['@type'], log);

  const name = readName(document, '$', log, '"web-shop"');
  const description = readDescription(document.description, log);
  const datacenter = readOptionalString(document, 'datacenter', '$', log);
  const placement = readPlacement(document.placement, log);
  const items = readItems(document.itemListElement, log);
  const services = items.map((item) => item.service);

  const stack: StackSpec = {
    name: name ?? '',
    ...(description !== undefined && { description }),
    placement: placement ?? defaultPlacement(services),
    ...(datacenter !== undefined && { datacenter }),
    volumes: [],
    services,
  };
  const source = { placement: '$.placement', services: items.map((item) => item.source) };
  return { stack, source };
}

/** Returns whether a JSON-LD `@type`, a string or an array, names `type`, prefixed or not. */
function hasType(value: unknown, type: string): boolean {
  const types = Array.isArray(value) ? value : [value];
  return types.some(
    (entry) =>
      typeof entry === 'string' &&
      (entry === type || entry.endsWith(`:${type}`) || entry.endsWith(`/${type}`)),
  );
}

function mentionsSchemaOrg(context: unknown): boolean {
  if (typeof context === 'string') return /^https?:\/\/schema\.org\/?$/.test(context);
  if (Array.isArray(context)) return context.some(mentionsSchemaOrg);
  if (isObject(context)) return Object.values(context).some(mentionsSchemaOrg);
  return false;
}

function checkContext(context: unknown, log: IssueLog): void {
  if (mentionsSchemaOrg(context)) return;
  const found = context === undefined ? 'is missing' : `is ${describeValue(context)}`;
  log.warn(
    "$['@context']",
    `@context ${found}, but an ItemList stack uses schema.org terms. ` +
      'Set it to "https://schema.org" or to a context that includes it.',
  );
}

function checkStackType(type: unknown, log: IssueLog): void {
  if (type === undefined || hasType(type, 'ItemList')) return;
  log.warn(
    "$['@type']",
    `@type is ${describeValue(type)}, but the document has itemListElement, ` +
      'so Graphium reads it as an ItemList. Set @type to "ItemList".',
  );
}

function readDescription(value: unknown, log: IssueLog): string | undefined {
  if (value === undefined || typeof value === 'string') return value;
  log.error('$.description', `description must be a string, got ${describeValue(value)}.`);
  return undefined;
}

function readPlacement(value: unknown, log: IssueLog): PlacementStrategyName | undefined {
  if (value === undefined) return undefined;
  if (PLACEMENT_STRATEGIES.includes(value as PlacementStrategyName)) {
    return value as PlacementStrategyName;
  }
  log.error(
    '$.placement',
    `placement must be one of ${PLACEMENT_STRATEGIES.join(', ')}, got ` +
      `${describeValue(value)}. Leave it out to run every service on one host.`,
  );
  return undefined;
}

interface ReadItem {
  service: ServiceSpec;
  source: ServiceSource;
}

function readItems(value: unknown, log: IssueLog): ReadItem[] {
  if (value === undefined) {
    log.error(
      ITEMS_PATH,
      'itemListElement is missing. List the services in it as an array of ' + 'SoftwareApplication items.',
    );
    return [];
  }
  if (!Array.isArray(value)) {
    log.error(
      ITEMS_PATH,
      `itemListElement must be an array of SoftwareApplication items, got ` + `${describeValue(value)}.`,
    );
    return [];
  }
  if (value.length === 0) {
    log.error(ITEMS_PATH, 'itemListElement is empty. Add at least one SoftwareApplication item.');
    return [];
  }
  if (value.length > MAX_SERVICES) {
    log.error(
      ITEMS_PATH,
      `itemListElement has ${value.length} items, but a stack may have at most ` +
        `${MAX_SERVICES}. Split the services into several smaller stacks.`,
    );
    return [];
  }
  const items: ReadItem[] = [];
  value.forEach((entry, index) => {
    const item = readItem(entry, indexPath(ITEMS_PATH, index), log);
    if (item) items.push(item);
  });
  return items;
}

function readItem(item: unknown, path: string, log: IssueLog): ReadItem | undefined {
  if (!isObject(item)) {
    log.error(
      path,
      `itemListElement entries must be SoftwareApplication objects, got ` + `${describeValue(item)}.`,
    );
    return undefined;
  }
  checkKeys(item, path, ITEM_KEYS, log);
  checkItemType(item['@type'], path, log);

  const name = readName(item, path, log, '"postgres"');
  const position = readPosition(item.position, childPath(path, 'position'), log);
  const image = readImage(item, path, log);
  const command = readCommand(item.command, childPath(path, 'command'), log);
  const environmentPath = childPath(path, 'environment');
  const environment = readStringMap(item.environment, environmentPath, 'environment', log);
  const labels = readStringMap(item.labels, childPath(path, 'labels'), 'labels', log);
  const ports = readPorts(item.ports, childPath(path, 'ports'), log);
  const healthCheck = readHealthCheck(item.healthCheck, childPath(path, 'healthCheck'), log);
  const targetHost = readTargetHost(item, path, log);
  const dependencies = readDependencies(item, path, log);
  if (name === undefined) return undefined;

  const service: ServiceSpec = {
    name,
    // NaN marks a rejected position; the stack is not returned then, because an error exists.
    position: position ?? Number.NaN,
    image: image ?? '',
    environment,
    ports: ports.ports,
    dependencies: dependencies.list,
    labels,
    resources: {},
    mounts: [],
    actions: [],
    sourcePath: path,
  };
  if (command) service.command = command;
  if (healthCheck) service.healthCheck = healthCheck;
  if (targetHost !== undefined) service.targetHost = targetHost;

  const source = {
    targetHost: childPath(path, 'targetHost'),
    targetHostWritten: item.targetHost !== undefined,
    ports: ports.paths,
    dependencies: dependencies.paths,
  };
  return { service, source };
}

function checkItemType(type: unknown, path: string, log: IssueLog): void {
  if (type === undefined || hasType(type, 'SoftwareApplication')) return;
  log.warn(
    childPath(path, '@type'),
    `@type is ${describeValue(type)}, but Graphium reads every ` +
      'item as a SoftwareApplication. Set @type to "SoftwareApplication".',
  );
}

function readPosition(value: unknown, path: string, log: IssueLog): number | undefined {
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

/** Reads the optional host pin of an item. An empty string is rejected, not read as absent. */
function readTargetHost(item: JsonObject, path: string, log: IssueLog): string | undefined {
  const value = item.targetHost;
  if (typeof value !== 'string' || value.trim() !== '') {
    return readOptionalString(item, 'targetHost', path, log);
  }
  log.error(
    childPath(path, 'targetHost'),
    'targetHost must not be empty. Set it to the name of a registered host, or remove it.',
  );
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

// Docker's reference grammar: [registry[:port]/]path[:tag][@digest], with lower-case path
// components. Docker rejects anything else when it creates the container.
const DOMAIN_PART = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const PATH_PART = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const IMAGE_REFERENCE = new RegExp(
  `^(?:${DOMAIN_PART}(?:\\.${DOMAIN_PART})*(?::[0-9]+)?/)?${PATH_PART}(?:/${PATH_PART})*` +
    '(?::[\\w][\\w.-]{0,127})?' +
    '(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$',
);

/** Reports whether `image` follows Docker's image reference grammar, at most 255 characters before a tag. */
export function isImageReference(image: string): boolean {
  const name = image.split(/[:@]/)[0] ?? '';
  return image.length <= 512 && name.length <= 255 && IMAGE_REFERENCE.test(image);
}

/**
 * Merges `requirements`, `softwareRequirements` and `dependsOn` into one dependency per name.
 * A merged dependency waits for health if any of its entries sets `waitForHealthy`, and keeps
 * the first connection string.
 */
interface DependencyList {
  list: Dependency[];
  /** Path where each dependency is first named, by name. */
  paths: Record<string, string>;
}

function readDependencies(item: JsonObject, path: string, log: IssueLog): DependencyList {
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

  const requirementsPath = childPath(path, 'requirements');
  for (const named of readNameList(item.requirements, requirementsPath, 'requirements', log)) {
    add({ name: named.name, waitForHealthy: false }, named.path);
  }
  const softwarePath = childPath(path, 'softwareRequirements');
  const software = readSoftwareRequirements(item.softwareRequirements, softwarePath, log);
  for (const { dependency, at } of software) add(dependency, at);
  const dependsOnPath = childPath(path, 'dependsOn');
  for (const named of readNameList(item.dependsOn, dependsOnPath, 'dependsOn', log)) {
    add({ name: named.name, waitForHealthy: false }, named.path);
  }
  // Object.fromEntries keeps a dependency named "__proto__" as an own property.
  return { list: [...merged.values()], paths: Object.fromEntries(paths) };
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

interface NamedDependency {
  dependency: Dependency;
  /** Path of the entry's name. */
  at: string;
}

function readSoftwareRequirements(value: unknown, path: string, log: IssueLog): NamedDependency[] {
  const result: NamedDependency[] = [];
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
  const waitPath = childPath(path, 'waitForHealthy');
  const waitForHealthy = readWaitForHealthy(entry.waitForHealthy, waitPath, log);
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
    `connectionString must be a string such as ` +
      `"postgres://{host}:{port}/app", got ${describeValue(value)}.`,
  );
  return undefined;
}
