/**
 * Login with a token through the whole app: the session cookie that POST /login sets, requests
 * authenticated by it, the rejection of cross-site requests that carry it, and the CORS
 * responses of /codec to the Temporal UI.
 */
import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiToken } from '../../api/auth';
import type { AppDeps } from '../../api/context';
import { AesGcmPayloadCodec, generateCodecKey } from '../../lib/codec';
import type { DatabaseHandle } from '../../db/client';
import {
  PGLITE_START_TIMEOUT_MS,
  TEMPORAL_UI_URL,
  expectDocumented,
  openTestDatabase,
  resetApi,
  stackDocument,
} from './api-helpers';

const VIEWER: ApiToken = { name: 'viewer', role: 'read', secret: 'r'.repeat(32) };
const CI: ApiToken = { name: 'ci', role: 'deploy', secret: 'd'.repeat(32) };
const TOKENS = [VIEWER, CI];
const KEY = Buffer.alloc(32, 5);
/** Origin of requests made with `app.request('/path')`, which addresses http://localhost. */
const API_ORIGIN = 'http://localhost';
const OTHER_ORIGIN = 'http://127.0.0.1:3000';
const SECRET_TEXT = 'db-password-in-a-payload';

let handle: DatabaseHandle;

beforeAll(async () => {
  handle = await openTestDatabase();
}, PGLITE_START_TIMEOUT_MS);

afterAll(async () => {
  await handle?.close();
});

const codec = new AesGcmPayloadCodec([generateCodecKey('login-test')]);

function api(overrides: Partial<AppDeps> = {}) {
  return resetApi(handle.db, {
    apiTokens: TOKENS,
    sessions: { key: KEY },
    payloadCodec: codec,
    ...overrides,
  });
}

type App = Awaited<ReturnType<typeof api>>['app'];

/** Sends `init` with its headers to `path` and returns the response and its JSON body, if any. */
async function send(app: App, path: string, init: RequestInit = {}) {
  const response = await app.request(path, init);
  const text = await response.text();
  return { response, body: text ? JSON.parse(text) : undefined };
}

/** Logs in as `token` and returns the `name=value` pair to send back in a Cookie header. */
async function login(app: App, token: ApiToken): Promise<string> {
  const { response } = await send(app, '/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token: token.secret }),
  });
  expect(response.status).toBe(200);
  return response.headers.get('set-cookie')!.split(';')[0]!;
}

function validateStack(cookie: string, headers: Record<string, string> = {}): RequestInit {
  return {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ stack: stackDocument('Login Stack', ['host1', 'host2']) }),
  };
}

/** Encrypts `value` and returns the JSON body the Temporal UI sends to /codec/decode. */
async function encryptedPayloadBody(value: unknown) {
  const [payload] = await codec.encode([defaultPayloadConverter.toPayload(value)]);
  const metadata = Object.fromEntries(
    Object.entries(payload!.metadata!).map(([key, bytes]) => [key, Buffer.from(bytes).toString('base64')]),
  );
  return JSON.stringify({ payloads: [{ metadata, data: Buffer.from(payload!.data!).toString('base64') }] });
}

describe('POST /login', () => {
  it('sets an HTTP-only session cookie that is not the token', async () => {
    const { app } = await api();
    const { response, body } = await send(app, '/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: API_ORIGIN },
      body: JSON.stringify({ token: CI.secret }),
    });
    expect(response.status).toBe(200);
    expect(body.token).toBe('ci');
    expect(body.role).toBe('deploy');
    expect(Date.parse(body.expiresAt)).toBeGreaterThan(Date.now());
    expect(response.headers.get('cache-control')).toBe('no-store');

    const cookie = response.headers.get('set-cookie')!;
    const attributes = cookie.split('; ').slice(1);
    expect(cookie).toMatch(/^graphium_session=[\w-]+\.[\w-]+;/);
    expect(cookie).not.toContain(CI.secret);
    expect(attributes).toContain('HttpOnly');
    expect(attributes).toContain('SameSite=Lax');
    expect(attributes).toContain('Path=/');
    expect(attributes).toContain('Max-Age=43200');
    expect(attributes).not.toContain('Secure');
  });

  it('marks the cookie Secure over HTTPS', async () => {
    const { app } = await api();
    const { response } = await send(app, 'https://graphium.example/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: CI.secret }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('set-cookie')!.split('; ')).toContain('Secure');
  });

  it('takes the configured session lifetime', async () => {
    const { app } = await api({ sessions: { key: KEY, lifetimeSeconds: 600 } });
    const cookie = (
      await app.request('/login', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token: CI.secret }),
      })
    ).headers.get('set-cookie')!;
    expect(cookie.split('; ')).toContain('Max-Age=600');
  });

  it('redirects a form login to /ui', async () => {
    const { app } = await api();
    const response = await app.request('/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: API_ORIGIN },
      body: new URLSearchParams({ token: VIEWER.secret }).toString(),
    });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/ui');
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('set-cookie')).toMatch(/^graphium_session=/);
    await expectDocumented('POST', '/login', response);

    const cookie = response.headers.get('set-cookie')!.split(';')[0]!;
    const { response: hosts } = await send(app, '/hosts', { headers: { cookie } });
    expect(hosts.status).toBe(200);
  });

  it('redirects a failed form login back', async () => {
    const { app, logLines } = await api();
    const wrong = 'w'.repeat(32);
    const response = await app.request('/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: wrong }).toString(),
    });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/login?error=invalid_token');
    expect(response.headers.get('set-cookie')).toBeNull();
    await expectDocumented('POST', '/login', response);
    const messages = logLines().map((line) => line.msg);
    expect(messages).toContain('login rejected: the token matches no configured token');
    expect(JSON.stringify(logLines())).not.toContain(wrong);
  });

  it('responds 401 to a wrong token', async () => {
    const { app, logLines } = await api();
    const wrong = 'w'.repeat(32);
    const { response, body } = await send(app, '/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: wrong }),
    });
    expect(response.status).toBe(401);
    expect(body).toEqual({
      error: {
        code: 'unauthorized',
        message: 'invalid token; use a token from GRAPHIUM_API_TOKENS',
        requestId: response.headers.get('x-request-id'),
      },
    });
    expect(response.headers.get('set-cookie')).toBeNull();
    expect(JSON.stringify(logLines())).not.toContain(wrong);
  });

  it('responds 400 naming a missing token', async () => {
    const { app } = await api();
    const { response, body } = await send(app, '/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'user=ops',
    });
    expect(response.status).toBe(400);
    expect(body.error.details.map((detail: { path: string }) => detail.path)).toEqual(['$.token']);
  });

  it('responds 415 to another content type', async () => {
    const { app } = await api();
    const { response } = await send(app, '/login', {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: CI.secret,
    });
    expect(response.status).toBe(415);
  });

  it('rejects a login posted by a page of another origin', async () => {
    const { app } = await api();
    const { response, body } = await send(app, '/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: OTHER_ORIGIN },
      body: new URLSearchParams({ token: CI.secret }).toString(),
    });
    expect(response.status).toBe(403);
    expect(body.error.code).toBe('origin_not_allowed');
    expect(body.error.message).toContain(`"${OTHER_ORIGIN}"`);
    expect(response.headers.get('set-cookie')).toBeNull();
  });

  it('serves the login page to GET', async () => {
    const { app } = await api();
    const response = await app.request('/login');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/html');
    expect(await response.text()).toContain('<form method="post" action="/login"');
  });

  it('is absent without a session key', async () => {
    const { app } = await api({ sessions: undefined });
    expect((await app.request('/login')).status).toBe(404);
    expect((await app.request('/login', { method: 'POST' })).status).toBe(404);
  });
});

describe('the session cookie', () => {
  it('authenticates a GET and is logged by token name', async () => {
    const { app, logLines } = await api();
    const cookie = await login(app, VIEWER);
    const { response } = await send(app, '/deployments', { headers: { cookie } });
    expect(response.status).toBe(200);
    const line = logLines().find((entry) => entry.path === '/deployments');
    expect(line?.token).toBe('viewer');
    expect(line?.auth).toBe('session');
  });

  it('authenticates a POST from the API origin', async () => {
    const { app } = await api();
    const cookie = await login(app, CI);
    const { response } = await send(app, '/stacks/validate', validateStack(cookie, { origin: API_ORIGIN }));
    expect(response.status).toBe(200);
  });

  it('accepts a Referer of the API origin in place of Origin', async () => {
    const { app } = await api();
    const cookie = await login(app, CI);
    const init = validateStack(cookie, { referer: `${API_ORIGIN}/dashboard/stacks` });
    const { response } = await send(app, '/stacks/validate', init);
    expect(response.status).toBe(200);
  });

  it('rejects a POST without Origin or Referer', async () => {
    const { app } = await api();
    const cookie = await login(app, CI);
    const { response, body } = await send(app, '/stacks/validate', validateStack(cookie));
    expect(response.status).toBe(403);
    expect(body.error.code).toBe('origin_not_allowed');
    expect(body.error.message).toContain('sent no Origin or Referer header');
  });

  it.each([
    ['another origin', OTHER_ORIGIN],
    ['the Temporal UI outside /codec', TEMPORAL_UI_URL],
    ['a sandboxed page', 'null'],
  ])('rejects a POST from %s, naming it', async (_case, origin) => {
    const { app } = await api();
    const cookie = await login(app, CI);
    const { response, body } = await send(app, '/stacks/validate', validateStack(cookie, { origin }));
    expect(response.status).toBe(403);
    expect(body.error.code).toBe('origin_not_allowed');
    expect(body.error.message).toContain(`origin "${origin}" may not send POST /stacks/validate`);
  });

  it('keeps the role check of its token', async () => {
    const { app } = await api();
    const cookie = await login(app, VIEWER);
    const { response, body } = await send(
      app,
      '/stacks/validate',
      validateStack(cookie, { origin: API_ORIGIN }),
    );
    expect(response.status).toBe(403);
    expect(body.error.code).toBe('forbidden');
    expect(body.error.message).toContain('token "viewer" has role read');
  });

  it('stops working when its token changes role, and is deleted', async () => {
    const { app } = await api();
    const cookie = await login(app, VIEWER);
    const later = await api({ apiTokens: [{ ...VIEWER, role: 'deploy' }, CI] });
    const { response, body } = await send(later.app, '/deployments', { headers: { cookie } });
    expect(response.status).toBe(401);
    expect(body.error.message).toContain('token "viewer" now has role deploy, not read as at login');
    expect(response.headers.get('set-cookie')).toMatch(/^graphium_session=; Max-Age=0;/);
  });

  it('stops working when its token is removed', async () => {
    const { app } = await api();
    const cookie = await login(app, VIEWER);
    const later = await api({ apiTokens: [CI] });
    const { response, body } = await send(later.app, '/deployments', { headers: { cookie } });
    expect(response.status).toBe(401);
    expect(body.error.message).toContain('token "viewer" of the session is no longer configured');
  });

  it('stops working once expired', async () => {
    const { app } = await api();
    const cookie = await login(app, VIEWER);
    const day = Date.now() + 86_400_000;
    const later = await api({ sessions: { key: KEY, now: () => day } });
    const { response, body } = await send(later.app, '/deployments', { headers: { cookie } });
    expect(response.status).toBe(401);
    expect(body.error.message).toMatch(/the session expired at .*; log in again with POST \/login/);
  });

  it('is ignored without session options', async () => {
    const { app } = await api();
    const cookie = await login(app, VIEWER);
    const without = await api({ sessions: undefined });
    const { response } = await send(without.app, '/deployments', { headers: { cookie } });
    expect(response.status).toBe(401);
  });

  it('leaves bearer requests from other origins alone', async () => {
    const { app } = await api();
    const init = validateStack('', { authorization: `Bearer ${CI.secret}`, origin: OTHER_ORIGIN });
    const { response } = await send(app, '/stacks/validate', init);
    expect(response.status).toBe(200);
  });
});

describe('POST /logout', () => {
  it('deletes the cookie', async () => {
    const { app } = await api();
    const cookie = await login(app, CI);
    const response = await app.request('/logout', {
      method: 'POST',
      headers: { cookie, origin: API_ORIGIN },
    });
    expect(response.status).toBe(204);
    const deleted = response.headers.get('set-cookie')!;
    expect(deleted).toMatch(/^graphium_session=; Max-Age=0;/);
    expect(deleted.split('; ')).toContain('Path=/');
  });

  it('rejects a logout posted by a page of another origin', async () => {
    const { app } = await api();
    const response = await app.request('/logout', { method: 'POST', headers: { origin: OTHER_ORIGIN } });
    expect(response.status).toBe(403);
    expect(response.headers.get('set-cookie')).toBeNull();
  });
});

describe('/codec from the Temporal UI', () => {
  function preflight(origin: string): RequestInit {
    return {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,x-namespace',
      },
    };
  }

  async function decode(app: App, headers: Record<string, string>) {
    const body = await encryptedPayloadBody({ password: SECRET_TEXT });
    return send(app, '/codec/decode?preserveStorageRefs=true', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-namespace': 'default', ...headers },
      body,
    });
  }

  it('allows the UI origin in the preflight', async () => {
    const { app } = await api();
    const response = await app.request('/codec/decode', preflight(TEMPORAL_UI_URL));
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe(TEMPORAL_UI_URL);
    expect(response.headers.get('access-control-allow-credentials')).toBe('true');
    expect(response.headers.get('access-control-allow-headers')).toBe(
      'Content-Type,Authorization,X-Namespace',
    );
    expect(response.headers.get('access-control-allow-methods')).toBe('POST,OPTIONS');
    expect(response.headers.get('vary')).toContain('Origin');
  });

  it('allows no other origin in the preflight', async () => {
    const { app } = await api();
    const response = await app.request('/codec/decode', preflight(OTHER_ORIGIN));
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('allows the configured UI origins in place of the default', async () => {
    const extra = 'https://temporal.example.com';
    const { app } = await api({ temporalUiOrigins: [extra] });
    const allowed = await app.request('/codec/decode', preflight(extra));
    const former = await app.request('/codec/decode', preflight(TEMPORAL_UI_URL));
    expect(allowed.headers.get('access-control-allow-origin')).toBe(extra);
    expect(former.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('rejects a decode for a read session', async () => {
    const { app } = await api();
    const cookie = await login(app, VIEWER);
    const { response, body } = await decode(app, { cookie, origin: TEMPORAL_UI_URL });
    expect(response.status).toBe(403);
    expect(body.error.code).toBe('forbidden');
    expect(response.headers.get('access-control-allow-origin')).toBe(TEMPORAL_UI_URL);
  });

  it('decodes for a deploy session from the UI origin', async () => {
    const { app } = await api();
    const cookie = await login(app, CI);
    const { response, body } = await decode(app, { cookie, origin: TEMPORAL_UI_URL });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe(TEMPORAL_UI_URL);
    expect(response.headers.get('access-control-allow-credentials')).toBe('true');
    expect(response.headers.get('vary')).toContain('Origin');
    const data = Buffer.from(body.payloads[0].data, 'base64').toString('utf8');
    expect(JSON.parse(data)).toEqual({ password: SECRET_TEXT });
  });

  it('rejects a decode with the cookie from another origin', async () => {
    const { app } = await api();
    const cookie = await login(app, VIEWER);
    const { response, body } = await decode(app, { cookie, origin: OTHER_ORIGIN });
    expect(response.status).toBe(403);
    expect(body.error.code).toBe('origin_not_allowed');
    expect(body.error.message).toContain(`origin "${OTHER_ORIGIN}" may not send POST /codec/decode`);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    expect(JSON.stringify(body)).not.toContain(SECRET_TEXT);
  });

  it('lets the UI read a 401', async () => {
    const { app } = await api();
    const { response } = await decode(app, { origin: TEMPORAL_UI_URL });
    expect(response.status).toBe(401);
    expect(response.headers.get('access-control-allow-origin')).toBe(TEMPORAL_UI_URL);
  });

  it('needs the deploy role to encode', async () => {
    const { app } = await api();
    const payloads = JSON.stringify({ payloads: [{ metadata: {}, data: '' }] });
    const init = (cookie: string): RequestInit => ({
      method: 'POST',
      headers: { cookie, origin: TEMPORAL_UI_URL, 'content-type': 'application/json' },
      body: payloads,
    });
    const asViewer = await send(app, '/codec/encode', init(await login(app, VIEWER)));
    const asCi = await send(app, '/codec/encode', init(await login(app, CI)));
    expect(asViewer.response.status).toBe(403);
    expect(asViewer.body.error.message).toContain('use a token with role deploy or admin');
    expect(asViewer.response.headers.get('access-control-allow-origin')).toBe(TEMPORAL_UI_URL);
    expect(asCi.response.status).toBe(200);
  });
});
