/**
 * Turns a `BenchStack` into the files the Compose and Swarm peers deploy: a Compose file for
 * `docker-compose up` (Compose 1.29, every service on one host) and a stack file for
 * `docker stack deploy` (Swarm, every service pinned to its lab host). Both are plain objects;
 * the peers write them as JSON, which both tools read as YAML.
 */
import { envName } from '../core/names';
import type { BenchService, BenchStack, LabHostName } from './types';

/**
 * Interval between Docker health probes, in milliseconds.
 *
 * Docker 20.10 has no `start_interval` (it came with Engine 25), so the first probe runs one
 * whole interval after the container starts, and each level of a dependency chain waits up to
 * one interval more than it has to. A shorter interval cuts that lag, but every probe starts a
 * new process in the container. At 500 ms the 30-service stack runs 60 probes a second, and at
 * 100 ms it would run 300, which slows the very containers being measured.
 */
export const HEALTH_INTERVAL_MS = 500;

/** Time a single probe may run before Docker counts it as failed, in milliseconds. */
export const HEALTH_TIMEOUT_MS = 5_000;

/** Failed probes in a row, after the start period, that mark a container unhealthy (Docker's default). */
export const HEALTH_RETRIES = 3;

/**
 * Grace period after start during which failed probes do not count, in milliseconds. The first
 * passing probe still marks the container healthy at once, so a long period delays nothing. It
 * keeps a slow starter such as PostgreSQL (initdb alone takes over a second) from being marked
 * unhealthy, which would make Compose abort its dependents.
 */
export const HEALTH_START_PERIOD_MS = 60_000;

/** Name of the overlay network that every service of a Swarm stack joins. */
export const SWARM_NETWORK = 'bench';

export interface HealthcheckSpec {
  test: string[];
  interval: string;
  timeout: string;
  retries: number;
  start_period: string;
}

export interface ComposeService {
  image: string;
  command?: string[];
  environment: Record<string, string>;
  ports?: string[];
  healthcheck?: HealthcheckSpec;
  depends_on?: Record<string, { condition: 'service_healthy' | 'service_started' }>;
}

/** A Compose file in format 2.4. Of the numbered formats, only 2.1 to 2.4 define `depends_on` conditions. */
export interface ComposeFile {
  version: '2.4';
  services: Record<string, ComposeService>;
}

export interface SwarmPort {
  target: number;
  published: number;
  protocol: 'tcp';
  mode: 'host';
}

export interface SwarmService {
  image: string;
  command?: string[];
  environment: Record<string, string>;
  ports?: SwarmPort[];
  healthcheck?: HealthcheckSpec;
  networks: string[];
  deploy: {
    replicas: 1;
    endpoint_mode: 'dnsrr';
    placement: { constraints: string[] };
  };
}

/** A stack file in format 3.8 for `docker stack deploy`. */
export interface SwarmStackFile {
  version: '3.8';
  services: Record<string, SwarmService>;
  networks: Record<string, { driver: 'overlay' }>;
}

export interface SwarmStackOptions {
  /**
   * Swarm node hostname of each lab host, as `docker info` reports it in `Name`. A lab host
   * missing here is taken to be its own node hostname, which is true of the lab's daemons.
   */
  nodeNames?: Record<LabHostName, string>;
}

/**
 * Builds the Compose file for `stack`. Every service runs on the one host Compose talks to, so a
 * dependency is reached by its service name and container port on the project's network, and
 * `BenchService.host` is ignored. A dependency with `waitForHealthy` becomes a `service_healthy`
 * condition, unless the service depended on has no health command: Compose rejects that, so it
 * falls back to `service_started`, which is what "healthy" means for such a service.
 *
 * @throws Error when a service depends on a service the stack does not contain.
 */
export function composeFile(stack: BenchStack): ComposeFile {
  const byName = servicesByName(stack);
  const services: Record<string, ComposeService> = {};

  for (const service of stack.services) {
    const entry: ComposeService = {
      image: service.image,
      environment: wiredEnvironment(service, byName),
    };
    if (service.command.length > 0) entry.command = service.command.map(escapeInterpolation);
    if (service.ports.length > 0) {
      entry.ports = service.ports.map((port) => `${port.hostPort}:${port.containerPort}`);
    }
    const healthcheck = healthcheckFor(service);
    if (healthcheck) entry.healthcheck = healthcheck;

    if (service.dependencies.length > 0) {
      entry.depends_on = {};
      for (const dependency of service.dependencies) {
        const target = byName.get(dependency.name)!;
        const healthy = dependency.waitForHealthy && target.healthCommand.length > 0;
        entry.depends_on[dependency.name] = { condition: healthy ? 'service_healthy' : 'service_started' };
      }
    }
    services[service.name] = entry;
  }
  return { version: '2.4', services };
}

/**
 * Builds the `docker stack deploy` file for `stack`. Each service is pinned to its lab host's
 * node and uses DNS round robin (`endpoint_mode: dnsrr`), because the lab kernel has no IPVS and
 * a virtual IP gives "No route to host". Docker allows only host-mode port publishing with
 * dnsrr, so each port is published on the service's own node. Swarm ignores `depends_on`, so
 * the file has none, and a dependent's command must retry until its dependencies accept connections.
 *
 * @throws Error when a service depends on a service the stack does not contain.
 */
export function swarmStackFile(stack: BenchStack, options: SwarmStackOptions = {}): SwarmStackFile {
  const byName = servicesByName(stack);
  const services: Record<string, SwarmService> = {};

  for (const service of stack.services) {
    const nodeName = options.nodeNames?.[service.host] ?? service.host;
    const entry: SwarmService = {
      image: service.image,
      environment: wiredEnvironment(service, byName),
      networks: [SWARM_NETWORK],
      deploy: {
        replicas: 1,
        endpoint_mode: 'dnsrr',
        placement: { constraints: [`node.hostname == ${nodeName}`] },
      },
    };
    if (service.command.length > 0) entry.command = service.command.map(escapeInterpolation);
    if (service.ports.length > 0) {
      entry.ports = service.ports.map((port) => ({
        target: port.containerPort,
        published: port.hostPort,
        protocol: 'tcp',
        mode: 'host',
      }));
    }
    const healthcheck = healthcheckFor(service);
    if (healthcheck) entry.healthcheck = healthcheck;
    services[service.name] = entry;
  }
  return { version: '3.8', services, networks: { [SWARM_NETWORK]: { driver: 'overlay' } } };
}

function servicesByName(stack: BenchStack): Map<string, BenchService> {
  const byName = new Map(stack.services.map((service) => [service.name, service]));
  for (const service of stack.services) {
    for (const dependency of service.dependencies) {
      if (!byName.has(dependency.name)) {
        throw new Error(
          `service ${service.name} of stack ${stack.name} depends on ${dependency.name}, ` +
            `which the stack does not contain; add that service or remove the dependency`,
        );
      }
    }
  }
  return byName;
}

/**
 * Returns the service's environment plus `<NAME>_HOST` (the service name, which the project or
 * overlay network resolves) and `<NAME>_PORT` (the first container port) for each dependency. A
 * variable the service sets itself wins, as it does in Graphium's own wiring. A dependency with
 * no ports gets no `<NAME>_PORT`.
 */
function wiredEnvironment(service: BenchService, byName: Map<string, BenchService>): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const dependency of service.dependencies) {
    const prefix = envName(dependency.name);
    environment[`${prefix}_HOST`] = dependency.name;
    const port = byName.get(dependency.name)!.ports[0];
    if (port) environment[`${prefix}_PORT`] = String(port.containerPort);
  }
  for (const [key, value] of Object.entries(service.environment)) {
    environment[key] = value;
  }
  for (const key of Object.keys(environment)) {
    environment[key] = escapeInterpolation(environment[key]!);
  }
  return environment;
}

function healthcheckFor(service: BenchService): HealthcheckSpec | undefined {
  if (service.healthCommand.length === 0) return undefined;
  return {
    test: ['CMD', ...service.healthCommand.map(escapeInterpolation)],
    interval: `${HEALTH_INTERVAL_MS}ms`,
    timeout: `${HEALTH_TIMEOUT_MS}ms`,
    retries: HEALTH_RETRIES,
    start_period: `${HEALTH_START_PERIOD_MS}ms`,
  };
}

/**
 * Escapes `$` as `$$`. Compose and `docker stack deploy` both substitute `$NAME` from the shell
 * that runs them, so a command such as `sh -c 'nc $DB_HOST'` would otherwise reach the container
 * with the variable already replaced, usually by an empty string.
 */
function escapeInterpolation(text: string): string {
  return text.replaceAll('$', '$$$$');
}
