import { existsSync, readFileSync } from 'node:fs';
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

  it.skipIf(!existsSync(infisical))('warns about eve-infisical keys not applied', () => {
    expect(warningPaths(parseFile(infisical))).toEqual([
      '$.network',
      '$.volumes',
      '$.itemListElement[0].volumeMounts',
      '$.itemListElement[2].potentialAction',
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

  it.skipIf(!existsSync(legacy))('warns about legacy keys not applied', () => {
    expect(warningPaths(parseFile(legacy))).toEqual([
      '$.network',
      '$.itemListElement[0].volumeMounts',
      '$.itemListElement[2].volumeMounts',
    ]);
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
