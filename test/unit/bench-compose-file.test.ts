import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  composeFile,
  HEALTH_INTERVAL_MS,
  HEALTH_RETRIES,
  HEALTH_START_PERIOD_MS,
  HEALTH_TIMEOUT_MS,
  SWARM_NETWORK,
  swarmStackFile,
} from '../../bench/compose-file';
import type { BenchService, BenchStack } from '../../bench/types';

function service(overrides: Partial<BenchService> & Pick<BenchService, 'name'>): BenchService {
  return {
    image: 'graphium/busybox:lab',
    command: ['sleep', '3600'],
    environment: {},
    ports: [],
    healthCommand: ['test', '-d', '/tmp'],
    dependencies: [],
    host: 'host1',
    ...overrides,
  };
}

/** Builds a stack of a database, a cache without a health command, and an app that needs both. */
function stack(): BenchStack {
  return {
    name: 'bench-unit',
    services: [
      service({
        name: 'main-db',
        image: 'graphium/services:lab',
        command: ['start-postgres'],
        ports: [{ containerPort: 5432, hostPort: 15432 }],
        healthCommand: ['pg_isready', '-h', '127.0.0.1'],
        host: 'host1',
      }),
      service({
        name: 'cache',
        ports: [
          { containerPort: 6379, hostPort: 16379 },
          { containerPort: 6380, hostPort: 16380 },
        ],
        healthCommand: [],
        host: 'host2',
      }),
      service({
        name: 'app',
        command: ['sh', '-c', 'nc $MAIN_DB_HOST $MAIN_DB_PORT </dev/null && exec sleep 3600'],
        environment: { GREETING: 'cost $5', CACHE_PORT: '7000' },
        dependencies: [
          { name: 'main-db', waitForHealthy: true },
          { name: 'cache', waitForHealthy: true },
        ],
        host: 'host3',
      }),
    ],
  };
}

/** Runs `docker-compose config -q` on `file`, which checks it against Compose 1.29's schema. */
function composeConfig(file: object): { status: number | null; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'bench-compose-file-'));
  try {
    const path = join(dir, 'compose.json');
    writeFileSync(path, JSON.stringify(file));
    const result = spawnSync('docker-compose', ['-f', path, 'config', '-q'], { encoding: 'utf8' });
    return { status: result.status, stderr: result.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('composeFile', () => {
  it('uses format 2.4', () => {
    expect(composeFile(stack()).version).toBe('2.4');
  });

  it('waits for a healthy dependency', () => {
    const app = composeFile(stack()).services.app!;
    expect(app.depends_on?.['main-db']).toEqual({ condition: 'service_healthy' });
  });

  it('starts after a dependency without health command', () => {
    const app = composeFile(stack()).services.app!;
    expect(app.depends_on?.cache).toEqual({ condition: 'service_started' });
  });

  it('starts after a dependency not awaited healthy', () => {
    const input = stack();
    input.services[2]!.dependencies[0]!.waitForHealthy = false;
    const app = composeFile(input).services.app!;
    expect(app.depends_on?.['main-db']).toEqual({ condition: 'service_started' });
  });

  it('leaves out depends_on without dependencies', () => {
    expect(composeFile(stack()).services['main-db']!.depends_on).toBeUndefined();
  });

  it('wires dependencies by service name and container port', () => {
    const environment = composeFile(stack()).services.app!.environment;
    expect(environment.MAIN_DB_HOST).toBe('main-db');
    expect(environment.MAIN_DB_PORT).toBe('5432');
    expect(environment.CACHE_HOST).toBe('cache');
  });

  it('keeps a variable the service sets itself', () => {
    const environment = composeFile(stack()).services.app!.environment;
    expect(environment.CACHE_PORT).toBe('7000');
  });

  it('escapes dollar signs against interpolation', () => {
    const app = composeFile(stack()).services.app!;
    expect(app.command).toEqual([
      'sh',
      '-c',
      'nc $$MAIN_DB_HOST $$MAIN_DB_PORT </dev/null && exec sleep 3600',
    ]);
    expect(app.environment.GREETING).toBe('cost $$5');
  });

  it('publishes ports as host:container', () => {
    expect(composeFile(stack()).services.cache!.ports).toEqual(['16379:6379', '16380:6380']);
  });

  it('sets healthcheck test and durations', () => {
    const healthcheck = composeFile(stack()).services['main-db']!.healthcheck;
    expect(healthcheck).toEqual({
      test: ['CMD', 'pg_isready', '-h', '127.0.0.1'],
      interval: '500ms',
      timeout: '5000ms',
      retries: 3,
      start_period: '60000ms',
    });
  });

  it('sets no healthcheck without health command', () => {
    expect(composeFile(stack()).services.cache!.healthcheck).toBeUndefined();
  });

  it('keeps the image command without a command', () => {
    const input = stack();
    input.services[0]!.command = [];
    expect(composeFile(input).services['main-db']!.command).toBeUndefined();
  });

  it('rejects an unknown dependency', () => {
    const input = stack();
    input.services[0]!.dependencies = [{ name: 'missing', waitForHealthy: true }];
    expect(() => composeFile(input)).toThrow(/main-db of stack bench-unit depends on missing/);
  });

  it('passes docker-compose config', () => {
    const result = composeConfig(composeFile(stack()));
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});

describe('swarmStackFile', () => {
  it('uses format 3.8 with one overlay network', () => {
    const file = swarmStackFile(stack());
    expect(file.version).toBe('3.8');
    expect(file.networks).toEqual({ [SWARM_NETWORK]: { driver: 'overlay' } });
    for (const entry of Object.values(file.services)) {
      expect(entry.networks).toEqual([SWARM_NETWORK]);
    }
  });

  it('pins each service to its host', () => {
    const services = swarmStackFile(stack()).services;
    expect(services['main-db']!.deploy.placement.constraints).toEqual(['node.hostname == host1']);
    expect(services.cache!.deploy.placement.constraints).toEqual(['node.hostname == host2']);
    expect(services.app!.deploy.placement.constraints).toEqual(['node.hostname == host3']);
  });

  it('pins to the node name given for a host', () => {
    const services = swarmStackFile(stack(), { nodeNames: { host1: 'lab-node-a' } }).services;
    expect(services['main-db']!.deploy.placement.constraints).toEqual(['node.hostname == lab-node-a']);
    expect(services.cache!.deploy.placement.constraints).toEqual(['node.hostname == host2']);
  });

  it('runs one replica with DNS round robin', () => {
    for (const entry of Object.values(swarmStackFile(stack()).services)) {
      expect(entry.deploy.replicas).toBe(1);
      expect(entry.deploy.endpoint_mode).toBe('dnsrr');
    }
  });

  it('publishes ports in host mode', () => {
    expect(swarmStackFile(stack()).services['main-db']!.ports).toEqual([
      { target: 5432, published: 15432, protocol: 'tcp', mode: 'host' },
    ]);
  });

  it('wires dependencies by service name and container port', () => {
    const environment = swarmStackFile(stack()).services.app!.environment;
    expect(environment.MAIN_DB_HOST).toBe('main-db');
    expect(environment.MAIN_DB_PORT).toBe('5432');
    expect(environment.CACHE_HOST).toBe('cache');
    expect(environment.CACHE_PORT).toBe('7000');
  });

  it('leaves out depends_on', () => {
    expect(swarmStackFile(stack()).services.app).not.toHaveProperty('depends_on');
  });

  it('sets healthcheck durations from the constants', () => {
    const healthcheck = swarmStackFile(stack()).services.app!.healthcheck;
    expect(healthcheck?.test).toEqual(['CMD', 'test', '-d', '/tmp']);
    expect(healthcheck?.interval).toBe(`${HEALTH_INTERVAL_MS}ms`);
    expect(healthcheck?.timeout).toBe(`${HEALTH_TIMEOUT_MS}ms`);
    expect(healthcheck?.retries).toBe(HEALTH_RETRIES);
    expect(healthcheck?.start_period).toBe(`${HEALTH_START_PERIOD_MS}ms`);
  });

  it('escapes dollar signs against interpolation', () => {
    expect(swarmStackFile(stack()).services.app!.command![2]).toBe(
      'nc $$MAIN_DB_HOST $$MAIN_DB_PORT </dev/null && exec sleep 3600',
    );
  });

  it('rejects an unknown dependency', () => {
    const input = stack();
    input.services[2]!.dependencies.push({ name: 'queue', waitForHealthy: false });
    expect(() => swarmStackFile(input)).toThrow(/app of stack bench-unit depends on queue/);
  });

  it('passes the docker-compose schema check', () => {
    const result = composeConfig(swarmStackFile(stack()));
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});
