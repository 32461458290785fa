/**
 * The benchmark's scenario stacks in the shared `BenchStack` shape. Every function takes a run
 * suffix of lower-case letters, digits and `-`, which makes the stack names unique, so leftovers
 * of one run never meet the next. Such names are also valid Compose project and Swarm stack names.
 */
import type { BenchService, BenchStack, LabHostName } from './types';

export const LAB_HOSTS: readonly LabHostName[] = ['host1', 'host2', 'host3'];

export const SERVICES_IMAGE = 'graphium/services:lab';
export const BUSYBOX_IMAGE = 'graphium/busybox:lab';

/**
 * Shell loop that keeps a container running and exits 0 on SIGTERM. A plain `sleep` as PID 1
 * ignores SIGTERM, so every stop would wait out Docker's grace period.
 */
export const IDLE = 'trap "exit 0" TERM; while :; do sleep 1; done';

/** Health command of the busybox services: true as soon as the container runs. */
const TRIVIAL_HEALTH = ['test', '-d', '/tmp'];

/** Services in `wide30` and `chain30`. */
export const WIDE_SERVICES = 30;

/** Stacks and services per stack in the concurrency scenario: 100 containers in all. */
export const CONCURRENT_STACKS = 20;
export const SERVICES_PER_CONCURRENT_STACK = 5;

/** Seconds the second service of the recovery stack takes to turn healthy after it starts. */
export const RECOVERY_HEALTHY_AFTER_SECONDS = 6;

const POSTGRES_USER = 'app';
const POSTGRES_PASSWORD = 'app-password';
const POSTGRES_DB = 'app';

/**
 * Hands out host ports that no other stack of this run uses, from `first` upwards. Stacks that
 * run at once, such as one peer's stack while another peer's teardown still frees its ports,
 * then never clash.
 */
export class PortAllocator {
  private next: number;

  constructor(first: number) {
    if (!Number.isInteger(first) || first < 1024 || first > 65_000) {
      throw new RangeError(`invalid first host port ${first}; expected an integer from 1024 to 65000`);
    }
    this.next = first;
  }

  /** Returns `count` consecutive unused ports. */
  take(count: number): number[] {
    if (this.next + count > 65_536) {
      throw new RangeError(`no ${count} host ports left above ${this.next}; start from a lower port`);
    }
    const ports = Array.from({ length: count }, (_, index) => this.next + index);
    this.next += count;
    return ports;
  }
}

/**
 * Builds the example stack of examples/three-hosts.json: PostgreSQL on host1, Redis on host2, and on
 * host3 an app that needs both healthy. The app proves it reached both through the injected
 * `POSTGRES_HOST`/`POSTGRES_PORT` and `CACHE_HOST`/`CACHE_PORT`, and exits when either check
 * fails, which fails the deploy.
 */
export function stack3(suffix: string, ports: PortAllocator): BenchStack {
  const [postgresPort, cachePort] = ports.take(2);
  const proveBoth = [
    'set -e',
    'psql -h "$POSTGRES_HOST" -p "$POSTGRES_PORT" -U "$PGUSER" -d "$PGDATABASE" -tAc "select 1" >/dev/null',
    'test "$(redis-cli -h "$CACHE_HOST" -p "$CACHE_PORT" ping)" = PONG',
    'touch /tmp/proved',
    IDLE,
  ].join('; ');
  return {
    name: `bench-stack3-${suffix}`,
    services: [
      {
        name: 'postgres',
        image: SERVICES_IMAGE,
        command: ['start-postgres'],
        environment: { POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB },
        ports: [{ containerPort: 5432, hostPort: postgresPort }],
        // The same probe as Graphium's `postgres` health check type.
        healthCommand: ['sh', '-c', 'PGUSER="${POSTGRES_USER:-postgres}" pg_isready -h 127.0.0.1'],
        dependencies: [],
        host: 'host1',
      },
      {
        name: 'cache',
        image: SERVICES_IMAGE,
        command: ['start-redis'],
        environment: {},
        ports: [{ containerPort: 6379, hostPort: cachePort }],
        healthCommand: ['redis-cli', 'ping'],
        dependencies: [],
        host: 'host2',
      },
      {
        name: 'app',
        image: SERVICES_IMAGE,
        command: ['sh', '-c', proveBoth],
        environment: {
          PGUSER: POSTGRES_USER,
          PGPASSWORD: POSTGRES_PASSWORD,
          PGDATABASE: POSTGRES_DB,
          PGCONNECT_TIMEOUT: '5',
        },
        ports: [],
        healthCommand: ['test', '-f', '/tmp/proved'],
        dependencies: [
          { name: 'postgres', waitForHealthy: true },
          { name: 'cache', waitForHealthy: true },
        ],
        host: 'host3',
      },
    ],
  };
}

/** Builds an idle busybox service with a trivial health check, on the host its index picks round robin. */
function idleService(name: string, index: number): BenchService {
  return {
    name,
    image: BUSYBOX_IMAGE,
    command: ['sh', '-c', IDLE],
    environment: {},
    ports: [],
    healthCommand: TRIVIAL_HEALTH,
    dependencies: [],
    host: LAB_HOSTS[index % LAB_HOSTS.length]!,
  };
}

function wideServiceName(index: number): string {
  return `s${String(index + 1).padStart(2, '0')}`;
}

/** Builds thirty independent busybox services spread round robin over host1 to host3, without ports. */
export function wide30(suffix: string): BenchStack {
  return {
    name: `bench-wide30-${suffix}`,
    services: Array.from({ length: WIDE_SERVICES }, (_, index) => idleService(wideServiceName(index), index)),
  };
}

/**
 * Builds the services of `wide30`, each waiting for the previous one to turn healthy, so the stack
 * deploys one service after another.
 */
export function chain30(suffix: string): BenchStack {
  return {
    name: `bench-chain30-${suffix}`,
    services: Array.from({ length: WIDE_SERVICES }, (_, index) => ({
      ...idleService(wideServiceName(index), index),
      dependencies: index === 0 ? [] : [{ name: wideServiceName(index - 1), waitForHealthy: true }],
    })),
  };
}

/**
 * Builds twenty stacks of five independent busybox services, which the scenario deploys at once. Each stack starts its
 * round robin on another host, so the 100 containers spread evenly over the hosts.
 */
export function concurrencyStacks(suffix: string): BenchStack[] {
  return Array.from({ length: CONCURRENT_STACKS }, (_, stackIndex) => ({
    name: `bench-conc-${suffix}-${String(stackIndex + 1).padStart(2, '0')}`,
    services: Array.from({ length: SERVICES_PER_CONCURRENT_STACK }, (_, index) =>
      idleService(`c${index + 1}`, stackIndex * SERVICES_PER_CONCURRENT_STACK + index),
    ),
  }));
}

/**
 * Builds a stack of two services: `first` on host1, healthy at once, and `second` on host2, which
 * waits for it and turns healthy only RECOVERY_HEALTHY_AFTER_SECONDS after it starts. The recovery scenario kills
 * the worker during the health wait of `second`.
 */
export function recoveryStack(suffix: string): BenchStack {
  const slowStart = `sleep ${RECOVERY_HEALTHY_AFTER_SECONDS}; touch /tmp/ready; ${IDLE}`;
  return {
    name: `bench-recovery-${suffix}`,
    services: [
      idleService('first', 0),
      {
        ...idleService('second', 1),
        command: ['sh', '-c', slowStart],
        healthCommand: ['test', '-f', '/tmp/ready'],
        dependencies: [{ name: 'first', waitForHealthy: true }],
      },
    ],
  };
}
