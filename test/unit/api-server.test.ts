import { drizzle } from 'drizzle-orm/pglite';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../api/app';
import { newId } from '../../api/ids';
import { startApiServer } from '../../api/server';
import { jsonPath } from '../../api/validation';
import * as schema from '../../db/schema';
import { silentLogger } from '../../lib/logger';
import { DeployerDouble } from './api-helpers';

describe('startApiServer', () => {
  it('serves the app on a loopback port and closes', async () => {
    // /healthz reads no table, so a driver without a connection is enough.
    const app = createApp({
      db: drizzle.mock({ schema }),
      logger: silentLogger(),
      deployer: new DeployerDouble(),
      temporalUiUrl: 'http://127.0.0.1:8233',
      namespace: 'default',
    });
    const server = await startApiServer(app, { host: '127.0.0.1', port: 0 });
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const response = await fetch(`${server.url}/healthz`);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ ok: true });
      expect(response.headers.get('x-request-id')).toBeTruthy();
    } finally {
      await server.close();
    }
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
  });
});

describe('newId', () => {
  it('sorts by creation time', () => {
    const earlier = newId('dep', Date.UTC(2026, 0, 1));
    const later = newId('dep', Date.UTC(2026, 0, 1) + 1);

    expect(earlier < later).toBe(true);
  });

  it('differs within one millisecond', () => {
    const now = Date.now();
    const ids = new Set(Array.from({ length: 1000 }, () => newId('dep', now)));

    expect(ids.size).toBe(1000);
  });

  it('has a fixed shape', () => {
    expect(newId('td', 0)).toMatch(/^td_000000000[0-9a-f]{10}$/);
  });
});

describe('jsonPath', () => {
  it('formats keys, indexes and unusual keys', () => {
    expect(jsonPath([])).toBe('$');
    expect(jsonPath(['docker', 'tls', 'key'])).toBe('$.docker.tls.key');
    expect(jsonPath(['itemListElement', 2, 'ports', 0])).toBe('$.itemListElement[2].ports[0]');
    expect(jsonPath(['labels', 'io.graphium/zone'])).toBe('$.labels["io.graphium/zone"]');
    expect(jsonPath(['limit'], 'query')).toBe('query.limit');
  });
});
