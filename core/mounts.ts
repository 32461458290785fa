/**
 * Readers for storage and networking: the mounts of a service in every form stack files write
 * them, and the stack's own network and named volumes.
 */
import { checkKeys, isObject, readStringMap, type JsonObject } from './fields';
import { childPath, describeValue, indexPath, type IssueLog } from './issues';
import type { MountSpec, NetworkSpec, VolumeSpec } from './model';
import { isIpAddress } from './wiring';

const MOUNT_KEYS = {
  known: ['@type', 'source', 'target', 'readOnly', 'type', 'name', 'mountPath'],
  notApplied: ['volumeOptions', 'bindOptions', 'tmpfsOptions'],
};
const ITEM_VOLUME_KEYS = { known: ['@type', 'name', 'mountPath', 'driver', 'readOnly'] };
const STORAGE_KEYS = { known: ['@type', 'name', 'description', 'value'] };
const VOLUME_KEYS = {
  known: ['@type', 'name', 'driver', 'createIfNotExists', 'external', 'options', 'driverOpts', 'labels'],
};
const NETWORK_KEYS = {
  known: [
    '@type',
    'name',
    'driver',
    'subnet',
    'gateway',
    'ipRange',
    'options',
    'labels',
    'external',
    'createIfNotExists',
  ],
};

/** A volume driver a service requests through the item-level `volumes` form. */
export interface VolumeDriverRequest {
  volume: string;
  driver: string;
  path: string;
}

/** The mounts of one service, with the JSON path of each and drivers asked for by item `volumes`. */
export interface ServiceMounts {
  mounts: MountSpec[];
  paths: string[];
  drivers: VolumeDriverRequest[];
}

/**
 * Reads every mount form of a service: `volumeMounts` and `volumeMount` entries
 * `{source, target, type, readOnly}`, item `volumes` entries `{name, mountPath, driver}`, and
 * `storageRequirement` PropertyValues whose description is `"source:/target"` or
 * `"source:/target:ro"`. A bind mount with a relative source is left out with a warning, because
 * the path would be resolved on a host that does not have the stack file.
 */
export function readServiceMounts(item: JsonObject, path: string, log: IssueLog): ServiceMounts {
  const result: ServiceMounts = { mounts: [], paths: [], drivers: [] };
  const add = (mount: MountSpec | undefined, at: string) => {
    if (!mount) return;
    result.mounts.push(mount);
    result.paths.push(at);
  };
  for (const key of ['volumeMounts', 'volumeMount']) {
    forEachEntry(item[key], childPath(path, key), key, log, (entry, at) =>
      add(readMount(entry, at, log), at),
    );
  }
  forEachEntry(item.volumes, childPath(path, 'volumes'), 'volumes', log, (entry, at) => {
    const read = readItemVolume(entry, at, log);
    add(read?.mount, at);
    if (!read?.driver) return;
    if (read.mount.source === undefined) {
      // The stack model keeps a driver on a named volume only, so an anonymous one has no place for it.
      log.warn(
        childPath(at, 'driver'),
        `driver "${read.driver}" is ignored because the volume has no name, so Docker creates an ` +
          'anonymous volume with its default driver. Add a "name" to use the driver.',
      );
      return;
    }
    result.drivers.push({ volume: read.mount.source, driver: read.driver, path: at });
  });
  forEachEntry(
    item.storageRequirement,
    childPath(path, 'storageRequirement'),
    'storageRequirement',
    log,
    (entry, at) => add(readStorageRequirement(entry, at, log), at),
  );
  checkDuplicateTargets(result, log);
  return result;
}

/** Calls `read` for each entry of an array, or for a single object written without the array. */
function forEachEntry(
  value: unknown,
  path: string,
  field: string,
  log: IssueLog,
  read: (entry: unknown, at: string) => void,
): void {
  if (value === undefined) return;
  if (isObject(value)) {
    read(value, path);
    return;
  }
  if (!Array.isArray(value)) {
    log.error(path, `${field} must be an array of objects, got ${describeValue(value)}.`);
    return;
  }
  value.forEach((entry, index) => read(entry, indexPath(path, index)));
}

function readMount(entry: unknown, path: string, log: IssueLog): MountSpec | undefined {
  if (!isObject(entry)) {
    log.error(
      path,
      `a mount must be an object such as {"source": "data", "target": "/data"}, got ${describeValue(entry)}.`,
    );
    return undefined;
  }
  checkKeys(entry, path, MOUNT_KEYS, log);
  const type = readMountType(entry.type, childPath(path, 'type'), log);
  const sourceKey = entry.source !== undefined ? 'source' : 'name';
  const targetKey = entry.target !== undefined ? 'target' : 'mountPath';
  const target = readTarget(entry[targetKey], childPath(path, targetKey), log);
  const readOnly = readBoolean(entry.readOnly, childPath(path, 'readOnly'), 'readOnly', log);
  if (type === undefined || target === undefined || readOnly === undefined) return undefined;
  return finishMount(type, entry[sourceKey], target, readOnly, childPath(path, sourceKey), log);
}

function readItemVolume(entry: unknown, path: string, log: IssueLog) {
  if (!isObject(entry)) {
    log.error(
      path,
      `volumes entries must be objects such as {"name": "data", "mountPath": "/data"}, got ${describeValue(entry)}.`,
    );
    return undefined;
  }
  checkKeys(entry, path, ITEM_VOLUME_KEYS, log);
  const target = readTarget(entry.mountPath, childPath(path, 'mountPath'), log);
  const readOnly = readBoolean(entry.readOnly, childPath(path, 'readOnly'), 'readOnly', log);
  const driver = readOptionalText(entry.driver, childPath(path, 'driver'), 'driver', log);
  if (target === undefined || readOnly === undefined) return undefined;
  const mount = finishMount('volume', entry.name, target, readOnly, childPath(path, 'name'), log);
  return mount && { mount, driver };
}

function readStorageRequirement(entry: unknown, path: string, log: IssueLog): MountSpec | undefined {
  if (!isObject(entry)) {
    log.error(path, `storageRequirement entries must be PropertyValue objects, got ${describeValue(entry)}.`);
    return undefined;
  }
  checkKeys(entry, path, STORAGE_KEYS, log);
  const key = typeof entry.description === 'string' ? 'description' : 'value';
  const spec = entry[key];
  const match = typeof spec === 'string' ? /^([^:]+):(\/[^:]*)(?::(ro|rw))?$/.exec(spec) : null;
  if (!match) {
    log.error(
      childPath(path, key),
      `${key} must be "source:/path" or "source:/path:ro", such as "postgres-data:/var/lib/postgresql/data", ` +
        `got ${describeValue(spec)}.`,
    );
    return undefined;
  }
  const [, source, target, mode] = match;
  const type = source.startsWith('/') || source.startsWith('.') ? 'bind' : 'volume';
  return finishMount(type, source, target, mode === 'ro', childPath(path, key), log);
}

/** Checks the source against the type and builds the mount. */
function finishMount(
  type: MountSpec['type'],
  source: unknown,
  target: string,
  readOnly: boolean,
  sourcePath: string,
  log: IssueLog,
): MountSpec | undefined {
  if (type === 'tmpfs') {
    if (source !== undefined) log.warn(sourcePath, 'a tmpfs mount has no source, so it is ignored.');
    return { type, target, readOnly };
  }
  if (source === undefined && type === 'volume') return { type, target, readOnly };
  if (typeof source !== 'string' || source.trim() === '') {
    const needs = type === 'bind' ? 'an absolute path on the host' : 'a volume name';
    log.error(sourcePath, `the source of a ${type} mount must be ${needs}, got ${describeValue(source)}.`);
    return undefined;
  }
  if (type === 'bind') {
    if (source.startsWith('/')) return { type, source, target, readOnly };
    log.warn(
      sourcePath,
      `bind source ${JSON.stringify(source)} is a relative path, which no Docker host can resolve, so ` +
        `the mount at ${target} is left out. Copy the file to the hosts and give its absolute path.`,
    );
    return undefined;
  }
  if (source.startsWith('/') || source.startsWith('.')) {
    log.error(
      sourcePath,
      `volume source ${JSON.stringify(source)} is a path. Set type to "bind" to mount a host path, ` +
        'or give a volume name.',
    );
    return undefined;
  }
  if (!isVolumeName(source)) {
    log.error(
      sourcePath,
      `volume name ${JSON.stringify(source)} is invalid. Use letters, digits, "_", "." and "-", ` +
        'starting with a letter or digit.',
    );
    return undefined;
  }
  return { type, source, target, readOnly };
}

function readMountType(value: unknown, path: string, log: IssueLog): MountSpec['type'] | undefined {
  if (value === undefined) return 'volume';
  if (value === 'volume' || value === 'bind' || value === 'tmpfs') return value;
  log.error(path, `type must be "volume", "bind" or "tmpfs", got ${describeValue(value)}.`);
  return undefined;
}

function readTarget(value: unknown, path: string, log: IssueLog): string | undefined {
  if (typeof value === 'string' && value.startsWith('/') && !value.includes('\0')) {
    // Docker treats "/data/" and "/data" as one mount point, and refuses to mount over "/".
    const target = value.replace(/\/+$/, '');
    if (target !== '') return target;
    log.error(
      path,
      'the mount target is "/", which Docker cannot mount over. Give a folder such as "/data".',
    );
    return undefined;
  }
  const found = value === undefined ? 'is missing' : `must be an absolute path, got ${describeValue(value)}`;
  log.error(path, `the mount target ${found}. Give the path inside the container, such as "/data".`);
  return undefined;
}

function readBoolean(value: unknown, path: string, field: string, log: IssueLog): boolean | undefined {
  if (value === undefined) return false;
  if (typeof value === 'boolean') return value;
  log.error(path, `${field} must be true or false, got ${describeValue(value)}.`);
  return undefined;
}

function readOptionalText(value: unknown, path: string, field: string, log: IssueLog): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string' && value.trim() !== '') return value;
  log.error(path, `${field} must be a non-empty string, got ${describeValue(value)}.`);
  return undefined;
}

function checkDuplicateTargets(result: ServiceMounts, log: IssueLog): void {
  const first = new Map<string, string>();
  result.mounts.forEach((mount, index) => {
    const earlier = first.get(mount.target);
    if (earlier === undefined) {
      first.set(mount.target, result.paths[index]);
      return;
    }
    log.error(
      result.paths[index],
      `${mount.target} is already mounted by ${earlier}. Each path in a container takes one mount.`,
    );
  });
}

/** Network drivers of Docker's own networks, which a stack cannot create. */
const UNMANAGED_DRIVERS = ['host', 'none'];

/** Rejects `io.graphium.*` labels, which Graphium sets on every network and volume itself. */
function checkReservedLabels(labels: Record<string, string>, path: string, log: IssueLog): void {
  for (const key of Object.keys(labels)) {
    if (!key.startsWith('io.graphium.')) continue;
    log.error(
      childPath(path, key),
      `label "${key}" is reserved because Graphium sets io.graphium.* labels itself. Rename it.`,
    );
  }
}

/** Checks that an IPv4 gateway and address range lie inside the subnet; returns whether they do. */
function checkAddresses(
  subnet: string | undefined,
  gateway: string | undefined,
  ipRange: string | undefined,
  path: string,
  log: IssueLog,
): boolean {
  const block = subnet === undefined ? undefined : ipv4Block(subnet);
  if (!block) return true;
  let valid = true;
  const gatewayAddress = gateway === undefined ? undefined : ipv4Number(gateway);
  if (gatewayAddress !== undefined && !inBlock(gatewayAddress, block)) {
    log.error(
      childPath(path, 'gateway'),
      `gateway ${gateway} is outside the subnet ${subnet}. Pick an address inside it.`,
    );
    valid = false;
  }
  const range = ipRange === undefined ? undefined : ipv4Block(ipRange);
  if (range && (!inBlock(range.first, block) || !inBlock(range.last, block))) {
    log.error(
      childPath(path, 'ipRange'),
      `ipRange ${ipRange} is not inside the subnet ${subnet}. Narrow it.`,
    );
    valid = false;
  }
  return valid;
}

function ipv4Number(address: string): number | undefined {
  const octets = address.split('.');
  if (octets.length !== 4 || !octets.every((octet) => /^\d{1,3}$/.test(octet) && Number(octet) <= 255)) {
    return undefined;
  }
  return octets.reduce((total, octet) => total * 256 + Number(octet), 0);
}

function ipv4Block(cidr: string): { first: number; last: number } | undefined {
  const [address, bits] = cidr.split('/');
  const start = ipv4Number(address);
  if (start === undefined) return undefined;
  const size = 2 ** (32 - Number(bits));
  const first = Math.floor(start / size) * size;
  return { first, last: first + size - 1 };
}

function inBlock(address: number, block: { first: number; last: number }): boolean {
  return address >= block.first && address <= block.last;
}

/** Docker's rule for volume and network names. */
export function isVolumeName(name: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/.test(name);
}

/**
 * Reads the stack's `volumes` declarations `[{name, driver, createIfNotExists, external, options,
 * labels}]`. `createIfNotExists: false` means the volume must already exist, like `external`.
 */
export function readStackVolumes(
  value: unknown,
  path: string,
  log: IssueLog,
): { volume: VolumeSpec; path: string }[] {
  const result: { volume: VolumeSpec; path: string }[] = [];
  if (value === undefined) return result;
  if (!Array.isArray(value)) {
    log.error(path, `volumes must be an array such as [{"name": "data"}], got ${describeValue(value)}.`);
    return result;
  }
  const seen = new Map<string, string>();
  value.forEach((entry, index) => {
    const at = indexPath(path, index);
    if (!isObject(entry)) {
      log.error(at, `volumes entries must be objects such as {"name": "data"}, got ${describeValue(entry)}.`);
      return;
    }
    checkKeys(entry, at, VOLUME_KEYS, log);
    const name = readResourceName(entry.name, childPath(at, 'name'), 'volume', log);
    const driver = readOptionalText(entry.driver, childPath(at, 'driver'), 'driver', log);
    const optionsKey = entry.options !== undefined ? 'options' : 'driverOpts';
    const options = readStringMap(entry[optionsKey], childPath(at, optionsKey), optionsKey, log);
    const labels = readStringMap(entry.labels, childPath(at, 'labels'), 'labels', log);
    const external = readExternal(entry, at, log);
    checkReservedLabels(labels, childPath(at, 'labels'), log);
    if (name === undefined || external === undefined) return;
    if (seen.has(name)) {
      log.error(
        childPath(at, 'name'),
        `volume "${name}" is already declared at ${seen.get(name)}. Remove one.`,
      );
      return;
    }
    seen.set(name, at);
    const volume: VolumeSpec = { name, options, labels, external };
    if (driver !== undefined) volume.driver = driver;
    result.push({ volume, path: at });
  });
  return result;
}

/**
 * Reads the stack's `network` `{name, driver, subnet, gateway, ipRange, options, labels, external,
 * createIfNotExists}`. `createIfNotExists: false` means the network must already exist.
 */
export function readNetwork(value: unknown, path: string, log: IssueLog): NetworkSpec | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value)) {
    log.error(path, `network must be an object such as {"name": "backend"}, got ${describeValue(value)}.`);
    return undefined;
  }
  checkKeys(value, path, NETWORK_KEYS, log);
  const name = readResourceName(value.name, childPath(path, 'name'), 'network', log);
  const driver = readOptionalText(value.driver, childPath(path, 'driver'), 'driver', log);
  const subnet = readCidr(value.subnet, childPath(path, 'subnet'), 'subnet', log);
  const ipRange = readCidr(value.ipRange, childPath(path, 'ipRange'), 'ipRange', log);
  const gateway = readAddress(value.gateway, childPath(path, 'gateway'), log);
  const options = readStringMap(value.options, childPath(path, 'options'), 'options', log);
  const labels = readStringMap(value.labels, childPath(path, 'labels'), 'labels', log);
  const external = readExternal(value, path, log);
  if (
    (gateway !== undefined || ipRange !== undefined) &&
    subnet === undefined &&
    value.subnet === undefined
  ) {
    log.error(
      childPath(path, 'subnet'),
      'subnet is missing, but gateway and ipRange need it. Add the subnet.',
    );
    return undefined;
  }
  if (name === undefined || external === undefined) return undefined;
  if (!checkAddresses(subnet, gateway, ipRange, path, log)) return undefined;
  if (!external && driver !== undefined && UNMANAGED_DRIVERS.includes(driver)) {
    log.error(
      childPath(path, 'driver'),
      `driver "${driver}" names one of Docker's built-in networks, which cannot be created. ` +
        'Use "bridge", or set external to true and name the built-in network.',
    );
    return undefined;
  }
  checkReservedLabels(labels, childPath(path, 'labels'), log);

  const network: NetworkSpec = { name, options, labels, external };
  if (driver !== undefined) network.driver = driver;
  if (subnet !== undefined) network.subnet = subnet;
  if (gateway !== undefined) network.gateway = gateway;
  if (ipRange !== undefined) network.ipRange = ipRange;
  if (external && (driver || subnet || gateway || ipRange)) {
    log.warn(path, 'driver, subnet, gateway and ipRange are ignored because the network is external.');
  }
  return network;
}

function readResourceName(value: unknown, path: string, kind: string, log: IssueLog): string | undefined {
  if (typeof value === 'string' && isVolumeName(value)) return value;
  const found = value === undefined ? 'is missing' : `is ${describeValue(value)}`;
  log.error(
    path,
    `the ${kind} name ${found}. Use letters, digits, "_", "." and "-", starting with a letter or digit.`,
  );
  return undefined;
}

/** Reads `external`, or `createIfNotExists` as its opposite; returns undefined when invalid. */
function readExternal(object: JsonObject, path: string, log: IssueLog): boolean | undefined {
  const external = readBoolean(object.external, childPath(path, 'external'), 'external', log);
  const create = object.createIfNotExists;
  if (create !== undefined && typeof create !== 'boolean') {
    log.error(
      childPath(path, 'createIfNotExists'),
      `createIfNotExists must be true or false, got ${describeValue(create)}.`,
    );
    return undefined;
  }
  if (external === undefined) return undefined;
  if (external && create === true) {
    log.error(
      childPath(path, 'createIfNotExists'),
      'createIfNotExists is true, but external says the resource exists already. Remove one of them.',
    );
    return undefined;
  }
  return external || create === false;
}

function readCidr(value: unknown, path: string, field: string, log: IssueLog): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string') {
    const [address, bits, extra] = value.split('/');
    const max = address?.includes(':') ? 128 : 32;
    if (
      extra === undefined &&
      address !== undefined &&
      isIpAddress(address) &&
      /^\d{1,3}$/.test(bits ?? '') &&
      Number(bits) <= max
    ) {
      return value;
    }
  }
  log.error(path, `${field} must be a CIDR block such as "172.20.0.0/16", got ${describeValue(value)}.`);
  return undefined;
}

function readAddress(value: unknown, path: string, log: IssueLog): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string' && isIpAddress(value)) return value;
  log.error(path, `gateway must be an IP address such as "172.20.0.1", got ${describeValue(value)}.`);
  return undefined;
}
