/**
 * Bearer-token authentication: the token list format, constant-time matching, the 401 and 403 responses by role, and the local token created when none is configured.
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localToken, matchToken, parseTokens, requiredRole, type ApiToken } from '../../api/auth';
import type { DatabaseHandle } from '../../db/client';
import { loadConfig } from '../../lib/config';
import { PGLITE_START_TIMEOUT_MS, hostBody, openTestDatabase, resetApi, stackDocument } from './api-helpers';

const READ = 'r'.repeat(32);
const DEPLOY = 'd'.repeat(32);
const ADMIN = 'a'.repeat(32);
const TOKENS: ApiToken[] = [
  { name: 'viewer', role: 'read', secret: READ },
  { name: 'ci', role: 'deploy', secret: DEPLOY },
  { name: 'ops', role: 'admin', secret: ADMIN },
];

describe('parseTokens', () => {
  it('reads name:role:secret entries', () => {
    const tokens = parseTokens(`viewer:read:${READ}, ci:deploy:${DEPLOY}\nops:admin:${ADMIN}`);
    expect(tokens).toEqual(TOKENS);
  });

  it.each([
    ['a bad name', `bad name:read:${READ}`, /the name must be/],
    ['an unknown role', `x:root:${READ}`, /the role must be one of read, deploy, admin/],
    ['a short secret', 'x:read:short', /at least 16 characters/],
    ['a missing secret', 'x:read', /at least 16 characters/],
    ['a repeated name', `x:read:${READ},x:admin:${ADMIN}`, /name is used by an earlier entry/],
    ['a repeated secret', `x:read:${READ},y:admin:${READ}`, /secret is used by an earlier entry/],
  ])('rejects %s', (_case, text, message) => {
    expect(() => parseTokens(text)).toThrow(message);
  });

  it('keeps secrets out of its errors', () => {
    const secret = 'supersecretvalue-that-is-long';
    expect(() => parseTokens(`x:root:${secret}`)).toThrow(/^(?!.*supersecret)/);
  });
});

describe('matchToken', () => {
  it('finds the token with the secret', () => {
    expect(matchToken(TOKENS, DEPLOY)?.name).toBe('ci');
  });

  it('finds nothing for a near miss', () => {
    expect(matchToken(TOKENS, `${DEPLOY.slice(0, -1)}x`)).toBeUndefined();
    expect(matchToken(TOKENS, DEPLOY.slice(0, -1))).toBeUndefined();
    expect(matchToken(TOKENS, '')).toBeUndefined();
  });
});

describe('requiredRole', () => {
  it.each([
    ['GET', '/deployments', 'read'],
    ['POST', '/deployments', 'deploy'],
    ['DELETE', '/stacks/app', 'deploy'],
    ['POST', '/stacks/validate', 'deploy'],
    ['POST', '/hosts', 'admin'],
    ['DELETE', '/hosts/host1', 'admin'],
    ['POST', '/orphans/remove', 'admin'],
    ['GET', '/orphans', 'read'],
  ])('%s %s needs %s', (method, path, role) => {
    expect(requiredRole(method, path)).toBe(role);
  });
});

describe('the API with tokens', () => {
  let handle: DatabaseHandle;

  beforeAll(async () => {
    handle = await openTestDatabase();
  }, PGLITE_START_TIMEOUT_MS);

  afterAll(async () => {
    await handle?.close();
  });

  async function call(method: string, path: string, token?: string, body?: unknown) {
    const api = await resetApi(handle.db, { apiTokens: TOKENS });
    const headers: Record<string, string> = {};
    if (token !== undefined) headers.authorization = token;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const init: RequestInit = {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    };
    const response = await api.app.request(path, init);
    return { response, body: (await response.json()) as any, api };
  }

  it('serves health without a token', async () => {
    const { response } = await call('GET', '/healthz');
    expect(response.status).toBe(200);
  });

  it('answers 401 without a token', async () => {
    const { response, body } = await call('GET', '/deployments');
    expect(response.status).toBe(401);
    expect(body.error.code).toBe('unauthorized');
    expect(body.error.message).toContain('missing Authorization header');
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="graphium"');
  });

  it('answers 401 for a malformed header', async () => {
    const { response, body } = await call('GET', '/deployments', `Basic ${READ}`);
    expect(response.status).toBe(401);
    expect(body.error.message).toContain('malformed Authorization header');
  });

  it('answers 401 for an unknown token', async () => {
    const { response, body } = await call('GET', '/deployments', `Bearer ${'x'.repeat(32)}`);
    expect(response.status).toBe(401);
    expect(body.error.message).toContain('invalid token');
  });

  it('lets a read token list deployments', async () => {
    const { response } = await call('GET', '/deployments', `Bearer ${READ}`);
    expect(response.status).toBe(200);
  });

  it('answers 403 to a read token that deploys', async () => {
    const { response, body, api } = await call(
      'POST',
      '/deployments',
      `Bearer ${READ}`,
      stackDocument('Auth Stack', ['host1', 'host2']),
    );
    expect(response.status).toBe(403);
    expect(body.error.code).toBe('forbidden');
    expect(body.error.message).toContain('token "viewer" has role read, which cannot POST /deployments');
    expect(body.error.message).toContain('use a token with role deploy or admin');
    expect(api.deployer.callsOf('start')).toEqual([]);
  });

  it('answers 403 to a deploy token that registers a host', async () => {
    const { response, body } = await call('POST', '/hosts', `Bearer ${DEPLOY}`, hostBody('host1'));
    expect(response.status).toBe(403);
    expect(body.error.message).toContain('use a token with role admin');
  });

  it('lets an admin token register a host', async () => {
    const { response } = await call('POST', '/hosts', `Bearer ${ADMIN}`, hostBody('host1'));
    expect(response.status).toBe(201);
  });

  it('logs the token name, never the secret', async () => {
    const { api } = await call('GET', '/deployments', `Bearer ${READ}`);
    const lines = JSON.stringify(api.logLines());
    expect(lines).toContain('"token":"viewer"');
    expect(lines).not.toContain(READ);
  });
});

describe('localToken', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'graphium-token-'));
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates an owner-only admin token once', () => {
    const first = localToken(dir);
    const second = localToken(dir);
    expect(first.role).toBe('admin');
    expect(first.secret).toMatch(/^[0-9a-f]{64}$/);
    expect(second.secret).toBe(first.secret);
    expect(statSync(join(dir, 'api-token')).mode & 0o777).toBe(0o600);
  });
});

describe('token configuration', () => {
  it('reads GRAPHIUM_API_TOKENS', () => {
    const config = loadConfig({ GRAPHIUM_API_TOKENS: `ci:deploy:${DEPLOY}` }, '/srv');
    expect(config.apiTokens).toEqual([{ name: 'ci', role: 'deploy', secret: DEPLOY }]);
  });

  it('hides the value of an invalid GRAPHIUM_API_TOKENS', () => {
    expect(() => loadConfig({ GRAPHIUM_API_TOKENS: 'ci:root:hunter2hunter2hunter2' }, '/srv')).toThrow(
      /^(?!.*hunter2).*GRAPHIUM_API_TOKENS .*the role must be one of/,
    );
  });

  it('reads GRAPHIUM_API_TOKENS_FILE', () => {
    const dir = mkdtempSync(join(tmpdir(), 'graphium-tokens-'));
    try {
      writeFileSync(join(dir, 'tokens'), `ops:admin:${ADMIN}\n`);
      const config = loadConfig({ GRAPHIUM_API_TOKENS_FILE: 'tokens' }, dir);
      expect(config.apiTokens).toEqual([{ name: 'ops', role: 'admin', secret: ADMIN }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
