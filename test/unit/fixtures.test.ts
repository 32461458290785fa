import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { dependencyWaves } from '../../core/graph';
import type { ParseResult } from '../../core/model';
import { parseStack } from '../../core/parse';
import { stackFrom } from './stack-documents';

/** Real stack files kept beside the checkout. Their tests skip when the folder is absent. */
const REAL_STACKS = fileURLToPath(new URL('../../../shared/fixtures/real-stacks/', import.meta.url));
const OWN_STACKS = fileURLToPath(new URL('../fixtures/stacks/', import.meta.url));

function parseFile(path: string): ParseResult {
  return parseStack(JSON.parse(readFileSync(path, 'utf8')));
}

function warningPaths(result: ParseResult): string[] {
  return result.warnings.map((warning) => warning.path);
}

const infisical = `${REAL_STACKS}eve-infisical.json`;
const legacy = `${REAL_STACKS}graphium-legacy-3-tier-webapp.json`;
const jsonld = `${REAL_STACKS}graphium-jsonld-3-tier-webapp.json`;
const multihost = `${REAL_STACKS}graphium-nginx-multihost.json`;

const realFiles = existsSync(REAL_STACKS)
  ? readdirSync(REAL_STACKS).filter((name) => name.endsWith('.json'))
  : [];

describe('every real stack file', () => {
  it.skipIf(realFiles.length === 0)('parses without errors', () => {
    for (const name of realFiles) {
      const result = parseFile(`${REAL_STACKS}${name}`);
      expect({ name, errors: result.errors }).toEqual({ name, errors: [] });
      expect(result.stack?.services.length).toBeGreaterThan(0);
    }
  });
});

describe('real ItemList stacks', () => {
  it.skipIf(!existsSync(infisical))('reads eve-infisical services', () => {
    const stack = stackFrom(parseFile(infisical));
    expect(stack.name).toBe('Infisical Stack');
    expect(stack.placement).toBe('single');
    const names = stack.services.map((service) => service.name);
    expect(names).toEqual(['postgres', 'dragonflydb', 'infisical']);
  });

  it.skipIf(!existsSync(infisical))('reads eve-infisical dependencies', () => {
    const stack = stackFrom(parseFile(infisical));
    expect(stack.services[2].dependencies).toEqual([
      { name: 'postgres', waitForHealthy: true },
      { name: 'dragonflydb', waitForHealthy: true },
    ]);
    expect(dependencyWaves(stack.services)).toEqual([['postgres', 'dragonflydb'], ['infisical']]);
  });

  it.skipIf(!existsSync(infisical))('reads eve-infisical ports and checks', () => {
    const [postgres, dragonfly, infisicalApp] = stackFrom(parseFile(infisical)).services;
    expect(postgres.ports).toEqual([{ containerPort: 5432, hostPort: 5432, protocol: 'tcp' }]);
    expect(dragonfly.ports).toEqual([{ containerPort: 6379, protocol: 'tcp' }]);
    expect(infisicalApp.ports).toEqual([{ containerPort: 8080, hostPort: 8080, protocol: 'tcp' }]);
    expect(postgres.healthCheck).toMatchObject({
      kind: 'command',
      command: ['pg_isready', '-U', 'infisical'],
    });
    expect(infisicalApp.healthCheck).toMatchObject({
      kind: 'http',
      path: '/api/status',
      port: 8080,
      intervalMs: 15_000,
      startPeriodMs: 30_000,
    });
  });

  it.skipIf(!existsSync(infisical))('honours eve-infisical storage, network and actions', () => {
    const result = parseFile(infisical);
    expect(result.warnings).toEqual([]);
    const stack = stackFrom(result);
    expect(stack.network).toEqual({
      name: 'infisical-network',
      driver: 'bridge',
      options: {},
      labels: {},
      external: false,
    });
    expect(stack.volumes).toEqual([
      { name: 'infisical-postgres-data', driver: 'local', options: {}, labels: {}, external: false },
    ]);
    expect(stack.services[0].mounts).toEqual([
      {
        type: 'volume',
        source: 'infisical-postgres-data',
        target: '/var/lib/postgresql/data',
        readOnly: false,
      },
    ]);
    expect(stack.services[2].actions).toEqual([
      {
        name: 'Run database migrations',
        actionType: 'migration',
        command: ['npm', 'run', 'migration:latest'],
        timeoutMs: 120_000,
        target: 'infisical',
      },
    ]);
  });

  it.skipIf(!existsSync(legacy))('reads legacy services and dependsOn', () => {
    const stack = stackFrom(parseFile(legacy));
    expect(stack.services.map((service) => service.name)).toEqual(['nginx', 'api', 'postgres']);
    expect(stack.services[1].dependencies).toEqual([{ name: 'postgres', waitForHealthy: false }]);
  });

  it.skipIf(!existsSync(legacy))('orders legacy postgres before api', () => {
    const stack = stackFrom(parseFile(legacy));
    expect(dependencyWaves(stack.services)).toEqual([['nginx', 'postgres'], ['api']]);
  });

  it.skipIf(!existsSync(legacy))('reads legacy ports and health seconds', () => {
    const [nginx, api, postgres] = stackFrom(parseFile(legacy)).services;
    expect(nginx.ports).toEqual([{ containerPort: 80, hostPort: 8080, protocol: 'tcp' }]);
    expect(api.ports).toEqual([{ containerPort: 3000, hostPort: 3000, protocol: 'tcp' }]);
    expect(postgres.ports).toEqual([{ containerPort: 5432, hostPort: 5432, protocol: 'tcp' }]);
    expect(postgres.healthCheck).toMatchObject({ intervalMs: 10_000, timeoutMs: 5_000, retries: 5 });
  });

  it.skipIf(!existsSync(legacy))('reads legacy health seconds and kinds', () => {
    const [nginx, , postgres] = stackFrom(parseFile(legacy)).services;
    expect(nginx.healthCheck).toEqual({
      kind: 'http',
      path: '/health',
      port: 80,
      headers: {},
      intervalMs: 10_000,
      timeoutMs: 5_000,
      retries: 3,
      startPeriodMs: 10_000,
    });
    expect(postgres.healthCheck).toMatchObject({ kind: 'command', command: ['pg_isready', '-U', 'webapp'] });
  });

  it.skipIf(!existsSync(legacy))('keeps the legacy volume and warns about the relative bind', () => {
    const result = parseFile(legacy);
    expect(warningPaths(result)).toEqual(['$.itemListElement[0].volumeMounts[0].source']);
    expect(result.warnings[0].message).toContain('"./nginx.conf" is a relative path');
    const stack = stackFrom(result);
    expect(stack.services[0].mounts).toEqual([]);
    expect(stack.services[2].mounts).toEqual([
      { type: 'volume', source: 'postgres-data', target: '/var/lib/postgresql/data', readOnly: false },
    ]);
    expect(stack.volumes.map((volume) => volume.name)).toEqual(['postgres-data']);
    expect(stack.network?.name).toBe('webapp-network');
    expect(stack.placement).toBe('single');
  });
});

describe('real JSON-LD graph stacks', () => {
  it.skipIf(!existsSync(jsonld))('reads the 3-tier graph services in hasPart order', () => {
    const result = parseFile(jsonld);
    expect(result.warnings).toEqual([]);
    const stack = stackFrom(result);
    expect(stack.name).toBe('3-tier-webapp');
    expect(stack.services.map((service) => [service.name, service.position])).toEqual([
      ['db', 1],
      ['api', 2],
      ['frontend', 3],
    ]);
    expect(dependencyWaves(stack.services)).toEqual([['db'], ['api'], ['frontend']]);
    expect(stack.placement).toBe('single');
  });

  it.skipIf(!existsSync(jsonld))('reads the 3-tier graph ports, checks and resources', () => {
    const [db, api, frontend] = stackFrom(parseFile(jsonld)).services;
    expect(db.ports).toEqual([]);
    expect(api.ports).toEqual([{ containerPort: 3000, hostPort: 3000, protocol: 'tcp' }]);
    expect(frontend.ports).toEqual([{ containerPort: 80, hostPort: 8080, protocol: 'tcp' }]);
    expect(db.healthCheck).toEqual({
      kind: 'docker',
      test: ['CMD-SHELL', 'pg_isready -U webapp'],
      intervalMs: 10_000,
      timeoutMs: 5_000,
      retries: 5,
      startPeriodMs: 0,
    });
    expect(api.resources).toEqual({ cpus: 0.5, memoryBytes: 512 * 1024 ** 2 });
    expect(frontend.resources).toEqual({ cpus: 0.25, memoryBytes: 256 * 1024 ** 2 });
    expect(api.restartPolicy).toEqual({ name: 'unless-stopped' });
    expect(api.labels).toEqual({ app: '3-tier-webapp', tier: 'backend' });
  });

  it.skipIf(!existsSync(jsonld))('reads the 3-tier graph network and volume', () => {
    const stack = stackFrom(parseFile(jsonld));
    expect(stack.network).toEqual({
      name: 'webapp-network',
      driver: 'bridge',
      subnet: '172.20.0.0/16',
      gateway: '172.20.0.1',
      ipRange: '172.20.1.0/24',
      options: {},
      labels: { stack: '3-tier-webapp' },
      external: false,
    });
    expect(stack.volumes).toEqual([
      { name: 'postgres-data', driver: 'local', options: {}, labels: {}, external: false },
    ]);
    expect(stack.services[0].mounts).toEqual([
      { type: 'volume', source: 'postgres-data', target: '/var/lib/postgresql/data', readOnly: false },
    ]);
  });

  it.skipIf(!existsSync(multihost))('pins each nginx to the host its locatedInHost names', () => {
    const result = parseFile(multihost);
    expect(result.warnings).toEqual([]);
    const stack = stackFrom(result);
    expect(stack.placement).toBe('manual');
    expect(stack.services.map((service) => [service.name, service.targetHost])).toEqual([
      ['nginx-1', 'localhost-docker'],
      ['nginx-2', 'vm1'],
      ['nginx-3', 'vm2'],
    ]);
  });

  it.skipIf(!existsSync(multihost))('reads Port and PropertyValue forms', () => {
    const [first, , third] = stackFrom(parseFile(multihost)).services;
    expect(first.ports).toEqual([{ containerPort: 80, hostPort: 8081, protocol: 'tcp' }]);
    expect(third.ports).toEqual([{ containerPort: 80, hostPort: 8083, protocol: 'tcp' }]);
    expect(first.environment).toEqual({ NGINX_HOST: 'localhost', NGINX_PORT: '80' });
    expect(third.environment).toEqual({ NGINX_HOST: 'vm2', NGINX_PORT: '80' });
    expect(first.mounts).toEqual([]);
    expect(first.healthCheck).toBeUndefined();
    expect(first.dependencies).toEqual([]);
  });
});

describe('three-tier fixture', () => {
  const result = parseFile(`${OWN_STACKS}three-tier.json`);

  it('parses without issues', () => {
    expect(result.errors).toEqual([]);
    expect(result.warnings).toEqual([]);
  });

  it('pins each service to its host', () => {
    const stack = stackFrom(result);
    expect(stack.placement).toBe('manual');
    expect(stack.services.map((service) => [service.name, service.targetHost])).toEqual([
      ['postgres', 'host-1'],
      ['cache', 'host-2'],
      ['app', 'host-3'],
    ]);
  });

  it('makes app wait for both dependencies', () => {
    const app = stackFrom(result).services[2];
    expect(app.dependencies).toEqual([
      {
        name: 'postgres',
        waitForHealthy: true,
        connectionString: 'postgres://shop:shop-password@{host}:{port}/shop',
      },
      { name: 'cache', waitForHealthy: true, connectionString: 'redis://{{HOST}}:{{PORT}}' },
    ]);
    expect(dependencyWaves(stackFrom(result).services)).toEqual([['postgres', 'cache'], ['app']]);
  });

  it('reads the lab image and checks', () => {
    const [postgres, cache] = stackFrom(result).services;
    const images = stackFrom(result).services.map((service) => service.image);
    expect(images).toEqual(Array(3).fill('graphium/services:lab'));
    expect(postgres.healthCheck).toMatchObject({ kind: 'postgres', intervalMs: 2_000 });
    expect(cache.ports).toEqual([{ containerPort: 6379, protocol: 'tcp' }]);
  });
});
