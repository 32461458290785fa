/**
 * Wiring between services across hosts: the variables and host entries each container gets, and
 * the ports each service publishes so that dependents can reach it.
 */
import { healthProbePort } from './health';
import type { MountSpec, PortSpec, ServiceSpec, StackSpec } from './model';
import { envName, resourceName, serviceAlias } from './names';

/** A dependency after placement and start, as a dependent reaches it. */
export interface ResolvedDependency {
  name: string;
  /** Registry name of the host the dependency runs on. */
  hostName: string;
  /** Address the dependent uses to reach the dependency. */
  address: string;
  /** The dependency's first published host port, if any. */
  port?: number;
  /**
   * Whether the dependency publishes its main port on the same number, so a configuration that
   * names it and its container port reaches it from another host. Absent counts as true.
   */
  reachableByName?: boolean;
}

/** A dependency as reported in deployment progress. */
export interface Connection {
  name: string;
  address: string;
  port?: number;
}

/** The wiring of one service: its full environment, Docker ExtraHosts and connections. */
export interface WiredEnvironment {
  environment: Record<string, string>;
  /** Docker ExtraHosts entries in the `name:address` form. */
  extraHosts: string[];
  connections: Connection[];
}

/** A port to publish; `hostPort` 0 lets Docker pick any free host port. */
export interface PublishRequest {
  containerPort: number;
  hostPort: number;
  protocol: 'tcp' | 'udp';
  /** Host address to bind to, or every address of the host when absent. */
  hostIp?: string;
  /**
   * Host port to try first when `hostPort` is 0. The container falls back to a free port when
   * this one is already allocated on the host.
   */
  preferredHostPort?: number;
}

/**
 * Adds the variables that point `service` at its dependencies to its environment.
 *
 * For each dependency it sets `<NAME>_HOST` to the address, `<NAME>_PORT` to the port when one
 * is known, and `<NAME>_URL` from the dependency's `connectionString`, whose `{host}`/`{port}` and
 * `{{HOST}}`/`{{PORT}}` placeholders are filled in. `<NAME>` comes from `envName`. A variable that
 * is already set, by the service's own environment or by an earlier dependency, is never
 * overwritten, even when its value is empty.
 *
 * `extraHosts` maps each dependency running on another host than `hostName` to its address, so a
 * configuration written for one host, such as `REDIS_HOST=redis`, still resolves. A dependency
 * gets no entry when its name is not a valid hostname or its address is not an IP address,
 * because Docker writes the entries into /etc/hosts, which maps IP addresses only. It also gets
 * none when `reachableByName` is false, because its port number differs on that host.
 *
 * @example
 * const db = { name: 'db', hostName: 'host-1', address: '10.0.0.1', port: 5432 };
 * wireEnvironment(app, 'host-3', [db])
 * // environment gets DB_HOST=10.0.0.1 and DB_PORT=5432; extraHosts is ['db:10.0.0.1']
 */
export function wireEnvironment(
  service: ServiceSpec,
  hostName: string,
  dependencies: ResolvedDependency[],
): WiredEnvironment {
  const environment = { ...service.environment };
  const setIfAbsent = (key: string, value: string): void => {
    if (!Object.hasOwn(environment, key)) environment[key] = value;
  };

  const extraHosts: string[] = [];
  const connections: Connection[] = [];
  for (const dependency of dependencies) {
    const prefix = envName(dependency.name);
    setIfAbsent(`${prefix}_HOST`, dependency.address);
    if (dependency.port !== undefined) setIfAbsent(`${prefix}_PORT`, String(dependency.port));

    const template = service.dependencies.find((entry) => entry.name === dependency.name)?.connectionString;
    const url = template === undefined ? undefined : fillConnectionString(template, dependency);
    if (url !== undefined) setIfAbsent(`${prefix}_URL`, url);

    // A host entry to a dependency published on another port number would lead a configuration
    // such as `db:5432` to whatever else listens on 5432 there, so it gets none.
    const remote = dependency.hostName !== hostName;
    const byName = dependency.reachableByName !== false;
    if (remote && byName && isHostname(dependency.name) && isIpAddress(dependency.address)) {
      extraHosts.push(`${dependency.name}:${dependency.address}`);
    }
    connections.push(toConnection(dependency));
  }
  return { environment, extraHosts, connections };
}

/**
 * Fills the placeholders of a connection string template. Returns `undefined` when the template
 * needs a port and none is known.
 */
export function fillConnectionString(
  template: string,
  dependency: Pick<ResolvedDependency, 'address' | 'port'>,
): string | undefined {
  const needsPort = template.includes('{port}') || template.includes('{{PORT}}');
  // Validation rejects a port placeholder for a dependency without ports, so this is a fallback.
  if (needsPort && dependency.port === undefined) return undefined;
  const port = String(dependency.port);
  return template
    .replaceAll('{{HOST}}', dependency.address)
    .replaceAll('{{PORT}}', port)
    .replaceAll('{host}', dependency.address)
    .replaceAll('{port}', port);
}

/**
 * Lists the ports each service publishes, by service name, given the host name assigned to each
 * service.
 *
 * Every port with a `hostPort` is published on it. When a dependent runs on another host than
 * the service, and the service's first port has no `hostPort`, that port is published with
 * `hostPort` 0, so Docker picks a free host port. The port an `http` or `tcp` health check
 * probes is published the same way, because Graphium probes it from outside the host. A service
 * or dependent missing from `assignments` counts as on the same host.
 */
export function publishRequests(
  stack: StackSpec,
  assignments: Record<string, string>,
): Record<string, PublishRequest[]> {
  // Entries become own properties through Object.fromEntries, even for a service named "__proto__".
  const requests: [string, PublishRequest[]][] = [];
  for (const service of stack.services) {
    const ports = service.ports
      .filter((port) => port.hostPort !== undefined)
      .map((port) => toRequest(port, port.hostPort as number));

    const addFreePort = (port: PortSpec | undefined): void => {
      if (!port || port.hostPort !== undefined) return;
      if (ports.some((entry) => samePort(entry, port))) return;
      ports.push(toRequest(port, 0));
    };
    if (hasRemoteDependent(stack, service, assignments)) addFreePort(service.ports[0]);
    const probePort = healthProbePort(service);
    addFreePort(service.ports.find((port) => port.containerPort === probePort && port.protocol === 'tcp'));

    requests.push([service.name, ports]);
  }
  return Object.fromEntries(requests);
}

function hasRemoteDependent(
  stack: StackSpec,
  service: ServiceSpec,
  assignments: Record<string, string>,
): boolean {
  const host = assignments[service.name];
  if (host === undefined) return false;
  return stack.services.some((dependent) => {
    const dependentHost = assignments[dependent.name];
    const dependsOnService = dependent.dependencies.some((entry) => entry.name === service.name);
    return dependsOnService && dependentHost !== undefined && dependentHost !== host;
  });
}

function toRequest(port: PortSpec, hostPort: number): PublishRequest {
  const request: PublishRequest = { containerPort: port.containerPort, hostPort, protocol: port.protocol };
  if (port.hostIp !== undefined) request.hostIp = port.hostIp;
  return request;
}

/**
 * Makes every auto-published port (`hostPort` 0) prefer its container port as host port, so a
 * configuration written for one host, such as `REDIS_PORT=6379` with `REDIS_HOST=redis` resolved
 * through ExtraHosts, still works across hosts while that port is free.
 *
 * A port gets no preference when some service on the same host publishes that host port
 * explicitly (same protocol), because the explicit port must win whichever container starts
 * first. Two preferences for the same host port on one host are both kept: the container that
 * starts second falls back to a free port.
 */
export function preferContainerPorts(
  requests: Record<string, PublishRequest[]>,
  assignments: Record<string, string>,
): Record<string, PublishRequest[]> {
  const explicit = new Set<string>();
  for (const [service, ports] of Object.entries(requests)) {
    for (const port of ports) {
      if (port.hostPort > 0) explicit.add(hostPortKey(assignments[service], port.hostPort, port.protocol));
    }
  }
  const entries = Object.entries(requests).map(([service, ports]): [string, PublishRequest[]] => [
    service,
    ports.map((port) => {
      if (port.hostPort !== 0) return port;
      const key = hostPortKey(assignments[service], port.containerPort, port.protocol);
      return explicit.has(key) ? port : { ...port, preferredHostPort: port.containerPort };
    }),
  ]);
  return Object.fromEntries(entries);
}

function hostPortKey(host: string | undefined, hostPort: number, protocol: string): string {
  return `${host ?? ''}\u0000${hostPort}/${protocol}`;
}

/** A mount as Docker's HostConfig.Mounts takes it, with volume names already turned into Docker names. */
export interface ContainerMount {
  type: MountSpec['type'];
  /** Docker volume name or host path, absent for tmpfs and anonymous volumes. */
  source?: string;
  target: string;
  readOnly: boolean;
}

/** Returns the Docker name of the stack's network: the name as written when external, else derived. */
export function networkDockerName(stack: Pick<StackSpec, 'name' | 'network'>): string | undefined {
  const network = stack.network;
  if (!network) return undefined;
  return network.external ? network.name : resourceName(stack.name, network.name);
}

/**
 * Returns the Docker name of a named volume of the stack: the name as written when the stack
 * declares the volume external, else `resourceName(stack, name)`.
 */
export function volumeDockerName(stack: Pick<StackSpec, 'name' | 'volumes'>, name: string): string {
  const volume = stack.volumes.find((entry) => entry.name === name);
  return volume?.external ? name : resourceName(stack.name, name);
}

/** Lists the mounts of a service's container with Docker names for its named volumes. */
export function containerMounts(
  stack: Pick<StackSpec, 'name' | 'volumes'>,
  service: Pick<ServiceSpec, 'mounts'>,
): ContainerMount[] {
  return service.mounts.map((mount) => {
    const resolved: ContainerMount = { type: mount.type, target: mount.target, readOnly: mount.readOnly };
    if (mount.type === 'volume' && mount.source !== undefined) {
      resolved.source = volumeDockerName(stack, mount.source);
    } else if (mount.type === 'bind') {
      resolved.source = mount.source;
    }
    return resolved;
  });
}

/** Returns the network a service's container joins, with its DNS alias, when the stack has a network. */
export function serviceEndpoint(
  stack: Pick<StackSpec, 'name' | 'network'>,
  service: Pick<ServiceSpec, 'name'>,
): { network: string; alias: string } | undefined {
  const network = networkDockerName(stack);
  return network === undefined ? undefined : { network, alias: serviceAlias(service.name) };
}

function samePort(request: PublishRequest, port: PortSpec): boolean {
  return request.containerPort === port.containerPort && request.protocol === port.protocol;
}

function toConnection(dependency: ResolvedDependency): Connection {
  const connection: Connection = { name: dependency.name, address: dependency.address };
  if (dependency.port !== undefined) connection.port = dependency.port;
  return connection;
}

/** One label of a hostname (RFC 1123): letters, digits and inner `-`, at most 63 characters. */
const HOSTNAME_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** Returns whether `name` is a valid hostname: dot-separated labels of letters, digits and `-`. */
export function isHostname(name: string): boolean {
  if (name.length === 0 || name.length > 253) return false;
  return name.split('.').every((label) => HOSTNAME_LABEL.test(label));
}

/** Returns whether `address` is an IPv4 address in dotted form or an IPv6 address. */
export function isIpAddress(address: string): boolean {
  const octets = address.split('.');
  const isOctet = (octet: string): boolean => /^\d{1,3}$/.test(octet) && Number(octet) <= 255;
  if (octets.length === 4 && octets.every(isOctet)) return true;
  return isIpv6Address(address);
}

function isIpv6Address(address: string): boolean {
  if (!/^[0-9A-Fa-f:.]+$/.test(address) || !address.includes(':')) return false;
  const compressed = address.split('::');
  if (compressed.length > 2) return false;
  const groups = address.split(':').filter((group) => group !== '');
  const last = groups[groups.length - 1] ?? '';
  // An IPv6 address may end with an embedded IPv4 address, which counts as two groups.
  const embedsIpv4 = last.includes('.');
  if (embedsIpv4 && !isIpAddress(last)) return false;
  const groupCount = groups.length + (embedsIpv4 ? 1 : 0);
  const hexGroups = embedsIpv4 ? groups.slice(0, -1) : groups;
  if (!hexGroups.every((group) => /^[0-9A-Fa-f]{1,4}$/.test(group))) return false;
  return compressed.length === 2 ? groupCount < 8 : groupCount === 8;
}
