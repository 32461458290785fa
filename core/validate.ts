/**
 * Checks that span services, run on the stack model whatever dialect produced it. Each dialect
 * checks its own fields and reports here, through a StackSource, where the values came from.
 */
import { findCycles } from './graph';
import { healthProbePort } from './health';
import { childPath, type IssueLog } from './issues';
import type { PlacementStrategyName, ServiceSpec, StackSpec } from './model';
import type { ReadAction } from './actions';
import { containerName, envName, serviceAlias } from './names';
import { isHostname } from './wiring';

/** JSON paths of the values of one service that cross-service checks point at. */
export interface ServiceSource {
  /** Path of the service's antiAffinity list. */
  antiAffinity?: string;
  /** Path of the field that pins the service to a host, whether or not the document sets it. */
  targetHost: string;
  /** Whether the document sets targetHost, even to a value the dialect rejected. */
  targetHostWritten: boolean;
  /** Path of each port object, in the order of `ServiceSpec.ports`. */
  ports: string[];
  /** Path where the service first names each dependency, by dependency name. */
  dependencies: Record<string, string>;
}

/** JSON paths of a stack's values, with one ServiceSource per service in model order. */
export interface StackSource {
  placement: string;
  services: ServiceSource[];
}

/**
 * Maximum number of services in one stack, which bounds the work that parsing, placement and the
 * deploy workflow do for one document.
 */
export const MAX_SERVICES = 500;

/** Maximum `position` of a service, well inside the database's 32-bit integer column. */
export const MAX_POSITION = 1_000_000;

/**
 * Maximum length, in characters (code points), of a stack or service name as written. Service
 * names are part of the deployment_containers primary key, and a PostgreSQL btree entry must fit
 * in about 2700 bytes. Derived container names are shortened to 63 characters separately.
 */
export const MAX_NAME_FIELD_LENGTH = 200;

/** Prefix of the labels Graphium sets on its containers, which stacks must not set. */
const RESERVED_LABEL_PREFIX = 'io.graphium.';

const PORT_PLACEHOLDER = /\{port\}|\{\{PORT\}\}/;

/**
 * Returns the placement of a stack that names none: `manual` when every service has a
 * `targetHost`, otherwise `single`.
 */
export function defaultPlacement(services: readonly ServiceSpec[]): PlacementStrategyName {
  const allPinned = services.length > 0 && services.every((service) => service.targetHost);
  return allPinned ? 'manual' : 'single';
}

/**
 * Checks the rules that span services and records every violation in `log`. Names, container
 * names and positions must be unique, and dependencies must name services without forming a
 * cycle. Health checks and connection strings need the ports they use, and stacks must not set
 * Graphium's labels. Host pins must fit the placement, and two services on one host must not
 * publish the same host port.
 */
export function validateStack(
  stack: StackSpec,
  source: StackSource,
  log: IssueLog,
  actions: readonly { actions: readonly ReadAction[] }[] = [],
): void {
  checkUniqueNames(stack.services, log);
  checkContainerNames(stack, log);
  checkUniquePositions(stack.services, log);
  checkDependencies(stack.services, source, log);
  checkEnvironmentPrefixes(stack.services, source, log);
  checkConnectionPorts(stack.services, source, log);
  checkHealthPorts(stack.services, log);
  checkReservedLabels(stack.services, log);
  checkPlacement(stack, source, log);
  checkHostPorts(stack, source, log);
  checkActionTargets(stack.services, actions, log);
  checkAntiAffinity(stack.services, source, log);
  checkReachability(stack, source, log);
}

/**
 * Warns where a dependent or Graphium itself could not reach a service: a service name that is
 * not a hostname, a dependency on another pinned host without ports, and a probed or depended-on
 * port bound to the loopback address.
 */
function checkReachability(stack: StackSpec, source: StackSource, log: IssueLog): void {
  const byName = new Map(stack.services.map((service) => [service.name, service]));
  const dependedOn = new Set(
    stack.services.flatMap((service) => service.dependencies.map((entry) => entry.name)),
  );
  stack.services.forEach((service, index) => {
    if ((stack.network || dependedOn.has(service.name)) && !isHostname(service.name)) {
      const alias = serviceAlias(service.name);
      log.warn(
        childPath(service.sourcePath, 'name'),
        `name "${service.name}" is not a valid hostname, so containers on its host reach it as "${alias}" ` +
          `on the stack network, and dependents on other hosts get no host entry for it. They can use ` +
          `${envName(service.name)}_HOST and ${envName(service.name)}_PORT, or rename the service.`,
      );
    }
    for (const dependency of service.dependencies) {
      const target = byName.get(dependency.name);
      const apart = target?.targetHost && service.targetHost && target.targetHost !== service.targetHost;
      if (!target || !apart || target.ports.length > 0) continue;
      log.warn(
        source.services[index].dependencies[dependency.name],
        `"${dependency.name}" on ${target.targetHost} has no ports, so "${service.name}" on ` +
          `${service.targetHost} cannot reach it. Add the port "${dependency.name}" listens on to its ports.`,
      );
    }
    const probed = healthProbePort(service);
    service.ports.forEach((port, portIndex) => {
      if (!port.hostIp || !isLoopback(port.hostIp)) return;
      if (port.containerPort !== probed && !dependedOn.has(service.name)) return;
      log.warn(
        childPath(source.services[index].ports[portIndex], 'hostIP'),
        `hostIP ${port.hostIp} publishes the port on the host's loopback address only, so health probes ` +
          "and dependents on other hosts cannot reach it. Remove hostIP or use the host's address.",
      );
    });
  });
}

function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.');
}

/** Anti-affinity must name other services of the stack. */
function checkAntiAffinity(services: readonly ServiceSpec[], source: StackSource, log: IssueLog): void {
  const names = new Set(services.map((service) => service.name));
  services.forEach((service, index) => {
    (service.antiAffinity ?? []).forEach((other, position) => {
      const path = `${source.services[index].antiAffinity ?? childPath(service.sourcePath, 'antiAffinity')}[${position}]`;
      if (other === service.name) {
        log.error(path, `a service cannot avoid itself. Remove "${other}" from antiAffinity.`);
      } else if (!names.has(other)) {
        log.error(path, `"${other}" is not a service of this stack. Name a service, or remove the entry.`);
      }
    });
  });
}

/**
 * An action runs in its target's container once its own service is healthy, so the target must
 * be a service of the stack that does not wait for the action's service, directly or not.
 */
function checkActionTargets(
  services: readonly ServiceSpec[],
  actions: readonly { actions: readonly ReadAction[] }[],
  log: IssueLog,
): void {
  const byName = new Map(services.map((service) => [service.name, service]));
  services.forEach((service, index) => {
    for (const { action, path } of actions[index]?.actions ?? []) {
      const targetPath = childPath(path, 'target');
      if (!byName.has(action.target)) {
        log.error(
          targetPath,
          `target "${action.target}" is not a service of this stack. Name a service, or leave target out to ` +
            `run the action in "${service.name}".`,
        );
      } else if (action.target !== service.name && dependsOn(action.target, service.name, byName)) {
        log.error(
          targetPath,
          `target "${action.target}" waits for "${service.name}", whose action would wait for it in turn. ` +
            `Run the action in "${service.name}" or in a service that "${service.name}" depends on.`,
        );
      }
    }
  });
}

/**
 * Returns whether `from` waits for the actions of `owner`, directly or through other services. A
 * service waits for its dependencies to run, or to be healthy with their actions done when it
 * sets waitForHealthy, and waiting for a dependency's actions means waiting for their targets to
 * run. Waiting for `owner` only to run does not wait for its actions.
 */
function dependsOn(from: string, owner: string, byName: Map<string, ServiceSpec>): boolean {
  const seen = new Set<string>([owner]);
  const pending = [from];
  while (pending.length > 0) {
    const name = pending.pop()!;
    if (seen.has(name)) continue;
    seen.add(name);
    for (const dependency of byName.get(name)?.dependencies ?? []) {
      if (dependency.name === owner && dependency.waitForHealthy) return true;
      pending.push(dependency.name);
      if (!dependency.waitForHealthy) continue;
      for (const action of byName.get(dependency.name)?.actions ?? []) pending.push(action.target);
    }
  }
  return false;
}

function checkUniqueNames(services: readonly ServiceSpec[], log: IssueLog): void {
  const firstByName = new Map<string, ServiceSpec>();
  for (const service of services) {
    const first = firstByName.get(service.name);
    if (!first) {
      firstByName.set(service.name, service);
      continue;
    }
    const firstPath = childPath(first.sourcePath, 'name');
    log.error(
      childPath(service.sourcePath, 'name'),
      `name "${service.name}" is already used by ` +
        `${firstPath}. Service names must be unique, so rename one of them.`,
    );
  }
}

/** Rejects distinct service names that give one container name, such as "web app" and "web-app". */
function checkContainerNames(stack: StackSpec, log: IssueLog): void {
  const firstByContainer = new Map<string, ServiceSpec>();
  for (const service of stack.services) {
    const container = containerName(stack.name, service.name);
    const first = firstByContainer.get(container);
    if (!first) {
      firstByContainer.set(container, service);
    } else if (first.name !== service.name) {
      const firstPath = childPath(first.sourcePath, 'name');
      log.error(
        childPath(service.sourcePath, 'name'),
        `name "${service.name}" gives the ` +
          `container name "${container}", like "${first.name}" at ${firstPath}. Rename one of them.`,
      );
    }
  }
}

function checkUniquePositions(services: readonly ServiceSpec[], log: IssueLog): void {
  const firstByPosition = new Map<number, ServiceSpec>();
  for (const service of services) {
    // The dialect sets NaN for a position it rejected, which is already an error.
    if (!Number.isInteger(service.position)) continue;
    const first = firstByPosition.get(service.position);
    if (!first) {
      firstByPosition.set(service.position, service);
      continue;
    }
    const firstPath = childPath(first.sourcePath, 'position');
    log.error(
      childPath(service.sourcePath, 'position'),
      `position ${service.position} is ` +
        `already used by ${firstPath}. Positions must be unique, so renumber one.`,
    );
  }
}

function checkDependencies(services: readonly ServiceSpec[], source: StackSource, log: IssueLog) {
  const names = new Set(services.map((service) => service.name));
  services.forEach((service, index) => {
    for (const dependency of service.dependencies) {
      if (names.has(dependency.name)) continue;
      log.error(
        source.services[index].dependencies[dependency.name],
        `dependency ` +
          `"${dependency.name}" is not a service of this stack. Add a service with that name or ` +
          'correct the name.',
      );
    }
  });

  for (const cycle of findCycles(services)) {
    const index = services.findIndex((service) => service.name === cycle[0]);
    log.error(
      source.services[index].dependencies[cycle[1]],
      `dependency cycle ` +
        `${cycle.join(' -> ')}. Remove one of these dependencies so the services can start in ` +
        'order.',
    );
  }
}

/** Warns when two dependencies share one `<NAME>` prefix, such as "my-db" and "my_db". */
function checkEnvironmentPrefixes(
  services: readonly ServiceSpec[],
  source: StackSource,
  log: IssueLog,
): void {
  services.forEach((service, index) => {
    const firstByPrefix = new Map<string, string>();
    for (const { name } of service.dependencies) {
      const prefix = envName(name);
      const first = firstByPrefix.get(prefix);
      if (first === undefined) {
        firstByPrefix.set(prefix, name);
        continue;
      }
      log.warn(
        source.services[index].dependencies[name],
        `dependencies "${first}" and "${name}" ` +
          `both map to ${prefix}_HOST, so only "${first}" is wired. Rename one of the services.`,
      );
    }
  });
}

/** Rejects a port placeholder in a connection string to a service without ports. */
function checkConnectionPorts(services: readonly ServiceSpec[], source: StackSource, log: IssueLog): void {
  const byName = new Map(services.map((service) => [service.name, service]));
  services.forEach((service, index) => {
    for (const dependency of service.dependencies) {
      const target = byName.get(dependency.name);
      if (!target || target.ports.length > 0) continue;
      if (!PORT_PLACEHOLDER.test(dependency.connectionString ?? '')) continue;
      log.error(
        source.services[index].dependencies[dependency.name],
        `connectionString for ` +
          `"${dependency.name}" uses a port placeholder, but "${dependency.name}" has no ports. ` +
          'Add the port it listens on to its ports.',
      );
    }
  });
}

/** Rejects an http or tcp check whose probed port is not a tcp port of the service. */
function checkHealthPorts(services: readonly ServiceSpec[], log: IssueLog): void {
  for (const service of services) {
    const check = service.healthCheck;
    if (!check || (check.kind !== 'http' && check.kind !== 'tcp')) continue;
    const checkPath = childPath(service.sourcePath, 'healthCheck');
    const port = healthProbePort(service);
    if (port === undefined) {
      log.error(
        checkPath,
        `the ${check.kind} health check probes a published tcp port, but the ` +
          'service has no tcp ports. Add the port it listens on to ports.',
      );
      continue;
    }
    const listed = service.ports.some((entry) => entry.containerPort === port && entry.protocol === 'tcp');
    if (!listed) {
      log.error(
        childPath(checkPath, 'port'),
        `port ${port} is not a tcp containerPort of this ` +
          'service. Add it to ports or correct the health check port.',
      );
    }
  }
}

function checkReservedLabels(services: readonly ServiceSpec[], log: IssueLog): void {
  for (const service of services) {
    for (const key of Object.keys(service.labels)) {
      if (!key.startsWith(RESERVED_LABEL_PREFIX)) continue;
      log.error(
        childPath(childPath(service.sourcePath, 'labels'), key),
        `label "${key}" is ` +
          `reserved because Graphium sets ${RESERVED_LABEL_PREFIX}* labels itself. ` +
          'Rename the label.',
      );
    }
  }
}

function checkPlacement(stack: StackSpec, source: StackSource, log: IssueLog): void {
  if (stack.placement === 'manual') {
    stack.services.forEach((service, index) => {
      // A targetHost the dialect rejected already has its own error at this path.
      if (service.targetHost || source.services[index].targetHostWritten) return;
      log.error(
        source.services[index].targetHost,
        'targetHost is missing, but placement ' +
          '"manual" needs one on every service. Add a targetHost, or use placement "single" to ' +
          'run the whole stack on one host.',
      );
    });
  }

  if (stack.placement === 'single') {
    const pinned = stack.services.findIndex((service) => service.targetHost);
    const host = stack.services[pinned]?.targetHost;
    stack.services.forEach((service, index) => {
      if (!service.targetHost || service.targetHost === host) return;
      const firstPath = source.services[pinned].targetHost;
      log.error(
        source.services[index].targetHost,
        `targetHost "${service.targetHost}" differs ` +
          `from "${host}" at ${firstPath}, but placement "single" runs every service on one host. ` +
          'Pin them to the same host or use placement "manual".',
      );
    });
  }
}

/**
 * Two services publishing one host port and protocol clash when they surely run on the same
 * host: both pin the same targetHost, or placement is `single` and their pins do not differ.
 */
function checkHostPorts(stack: StackSpec, source: StackSource, log: IssueLog): void {
  const published: { service: ServiceSpec; key: string; path: string }[] = [];
  stack.services.forEach((service, index) => {
    service.ports.forEach((port, portIndex) => {
      if (port.hostPort === undefined) return;
      const key = `${port.hostPort}/${port.protocol}`;
      const path = source.services[index].ports[portIndex];
      const clash = published.find(
        (earlier) =>
          earlier.key === key &&
          (earlier.service === service || surelySameHost(earlier.service, service, stack.placement)),
      );
      if (clash) reportHostPortClash(key, path, clash, service, stack.placement, log);
      published.push({ service, key, path });
    });
  });
}

function surelySameHost(a: ServiceSpec, b: ServiceSpec, placement: PlacementStrategyName): boolean {
  if (a.targetHost && a.targetHost === b.targetHost) return true;
  // Under `single`, pins that differ are an error of their own, so only equal pins count here.
  return placement === 'single' && (!a.targetHost || !b.targetHost);
}

function reportHostPortClash(
  key: string,
  path: string,
  clash: { service: ServiceSpec; path: string },
  service: ServiceSpec,
  placement: PlacementStrategyName,
  log: IssueLog,
): void {
  const hostPortPath = childPath(path, 'hostPort');
  const clashPath = childPath(clash.path, 'hostPort');
  if (clash.service === service) {
    log.error(
      hostPortPath,
      `hostPort ${key} is already published by ${clashPath}. ` + 'Use a different hostPort.',
    );
    return;
  }
  const host = service.targetHost ?? clash.service.targetHost;
  const where = host ? `host "${host}"` : `one host because placement is "${placement}"`;
  log.error(
    hostPortPath,
    `hostPort ${key} is also published by service "${clash.service.name}" ` +
      `at ${clashPath}, and both run on ${where}. Use a different hostPort.`,
  );
}
