/**
 * Login sessions: signing and checking the cookie value against the configured tokens, the
 * session key file, and the configuration of sessions and Temporal UI origins.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ApiToken } from '../../api/auth';
import { issueSession, verifySession, type SessionOptions } from '../../api/session';
import { loadConfig } from '../../lib/config';
import { codecEndpointUrl } from '../../lib/service';
import { resolveSessionKey } from '../../lib/session-key';

const VIEWER: ApiToken = { name: 'viewer', role: 'read', secret: 'r'.repeat(32) };
const OPS: ApiToken = { name: 'ops', role: 'admin', secret: 'a'.repeat(32) };
const TOKENS = [VIEWER, OPS];
const KEY = Buffer.alloc(32, 7);
/** 2026-01-01T00:00:00Z, so expiry arithmetic does not depend on the clock. */
const LOGIN_AT = Date.UTC(2026, 0, 1);

function at(ms: number, lifetimeSeconds?: number): SessionOptions {
  return { key: KEY, lifetimeSeconds, now: () => ms };
}

/** Re-encodes the payload of a cookie value with `change` applied, keeping the old signature. */
function withPayload(value: string, change: (payload: Record<string, unknown>) => void): string {
  const [encoded, signature] = value.split('.');
  const payload = JSON.parse(Buffer.from(encoded!, 'base64url').toString('utf8'));
  change(payload);
  return `${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${signature}`;
}

describe('issueSession', () => {
  it('expires after 12 hours by default', () => {
    const session = issueSession(VIEWER, at(LOGIN_AT));
    expect(session.expiresAt.toISOString()).toBe('2026-01-01T12:00:00.000Z');
    expect(session.maxAgeSeconds).toBe(43_200);
  });

  it('keeps the secret out of the cookie value', () => {
    const { value } = issueSession(VIEWER, at(LOGIN_AT));
    const decoded = value
      .split('.')
      .map((part) => Buffer.from(part, 'base64url').toString('latin1'))
      .join('');
    expect(value).not.toContain(VIEWER.secret);
    expect(decoded).not.toContain(VIEWER.secret);
    expect(decoded).toContain('"name":"viewer"');
  });
});

describe('verifySession', () => {
  it('accepts a valid session', () => {
    const { value } = issueSession(VIEWER, at(LOGIN_AT));
    expect(verifySession(value, TOKENS, at(LOGIN_AT + 1000))).toEqual({ valid: true, token: VIEWER });
  });

  it('accepts a session until its last second', () => {
    const { value } = issueSession(VIEWER, at(LOGIN_AT, 600));
    expect(verifySession(value, TOKENS, at(LOGIN_AT + 599_999)).valid).toBe(true);
  });

  it('rejects an expired session', () => {
    const { value } = issueSession(VIEWER, at(LOGIN_AT, 600));
    const check = verifySession(value, TOKENS, at(LOGIN_AT + 600_000));
    expect(check).toEqual({ valid: false, reason: 'the session expired at 2026-01-01T00:10:00.000Z' });
  });

  it('rejects a payload changed after signing', () => {
    const { value } = issueSession(VIEWER, at(LOGIN_AT));
    const promoted = withPayload(value, (payload) => (payload.name = 'ops'));
    const extended = withPayload(value, (payload) => (payload.exp = Number(payload.exp) + 86_400));
    for (const forged of [promoted, extended]) {
      const check = verifySession(forged, TOKENS, at(LOGIN_AT));
      expect(check).toEqual({
        valid: false,
        reason: "the session cookie was not signed with this server's session key",
      });
    }
  });

  it('rejects a changed signature', () => {
    const { value } = issueSession(VIEWER, at(LOGIN_AT));
    const [payload, signature] = value.split('.') as [string, string];
    // The first character carries six bits of the HMAC; the last one also carries unused bits.
    const first = signature[0] === 'A' ? 'B' : 'A';
    const check = verifySession(`${payload}.${first}${signature.slice(1)}`, TOKENS, at(LOGIN_AT));
    expect(check.valid).toBe(false);
  });

  it('rejects a session signed with another key', () => {
    const { value } = issueSession(VIEWER, { key: Buffer.alloc(32, 8), now: () => LOGIN_AT });
    expect(verifySession(value, TOKENS, at(LOGIN_AT)).valid).toBe(false);
  });

  it.each([['no-dot'], ['a.b.c'], ['.sig'], ['']])('rejects the malformed value %j', (value) => {
    expect(verifySession(value, TOKENS, at(LOGIN_AT))).toEqual({
      valid: false,
      reason: 'the session cookie is malformed',
    });
  });

  it('rejects a session of a removed token', () => {
    const { value } = issueSession(VIEWER, at(LOGIN_AT));
    const check = verifySession(value, [OPS], at(LOGIN_AT));
    expect(check).toEqual({
      valid: false,
      reason: 'token "viewer" of the session is no longer configured',
    });
  });

  it('rejects a session whose token changed role', () => {
    const { value } = issueSession(VIEWER, at(LOGIN_AT));
    const promoted = { ...VIEWER, role: 'admin' as const };
    const check = verifySession(value, [promoted, OPS], at(LOGIN_AT));
    expect(check).toEqual({
      valid: false,
      reason: 'token "viewer" now has role admin, not read as at login',
    });
  });

  it('rejects a session whose token has a new secret', () => {
    const { value } = issueSession(VIEWER, at(LOGIN_AT));
    const rotated = { ...VIEWER, secret: 'n'.repeat(32) };
    const check = verifySession(value, [rotated, OPS], at(LOGIN_AT));
    expect(check).toEqual({ valid: false, reason: 'token "viewer" has a new secret since the login' });
  });
});

describe('resolveSessionKey', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'graphium-session-key-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates an owner-only key file once', () => {
    const first = resolveSessionKey({ dataDir: dir });
    const second = resolveSessionKey({ dataDir: dir });
    expect(first.length).toBe(32);
    expect(second.equals(first)).toBe(true);
    expect(statSync(join(dir, 'session-key')).mode & 0o777).toBe(0o600);
  });

  it('prefers the configured key', () => {
    const configured = Buffer.alloc(32, 1);
    expect(resolveSessionKey({ configured, dataDir: dir })).toBe(configured);
  });

  it('rejects a key file other users may read', () => {
    resolveSessionKey({ dataDir: dir });
    chmodSync(join(dir, 'session-key'), 0o644);
    expect(() => resolveSessionKey({ dataDir: dir })).toThrow(/has mode 0644.*chmod 600/);
  });

  it('rejects a short key without echoing it', () => {
    writeFileSync(join(dir, 'session-key'), 'c2hvcnQta2V5\n', { mode: 0o600 });
    const attempt = () => resolveSessionKey({ dataDir: dir });
    expect(attempt).toThrow(/session-key must be at least 32 bytes in base64/);
    expect(attempt).not.toThrow(/c2hvcnQta2V5/);
    expect(readFileSync(join(dir, 'session-key'), 'utf8')).toBe('c2hvcnQta2V5\n');
  });
});

describe('session configuration', () => {
  it('reads GRAPHIUM_SESSION_SECONDS', () => {
    expect(loadConfig({}, '/srv').sessionSeconds).toBe(43_200);
    expect(loadConfig({ GRAPHIUM_SESSION_SECONDS: '3600' }, '/srv').sessionSeconds).toBe(3600);
  });

  it.each(['59', '2592001', '1.5', 'soon'])('rejects GRAPHIUM_SESSION_SECONDS=%s', (value) => {
    expect(() => loadConfig({ GRAPHIUM_SESSION_SECONDS: value }, '/srv')).toThrow(
      /GRAPHIUM_SESSION_SECONDS must/,
    );
  });

  it('reads GRAPHIUM_SESSION_KEY', () => {
    const key = Buffer.alloc(48, 3);
    const config = loadConfig({ GRAPHIUM_SESSION_KEY: key.toString('base64') }, '/srv');
    expect(config.sessionKey?.equals(key)).toBe(true);
  });

  it('hides the value of an invalid GRAPHIUM_SESSION_KEY', () => {
    const attempt = () => loadConfig({ GRAPHIUM_SESSION_KEY: 'hunter2hunter2' }, '/srv');
    expect(attempt).toThrow('GRAPHIUM_SESSION_KEY must be at least 32 bytes in base64');
    expect(attempt).not.toThrow(/hunter2/);
  });

  it('reads GRAPHIUM_TEMPORAL_UI_ORIGINS as origins', () => {
    const config = loadConfig(
      { GRAPHIUM_TEMPORAL_UI_ORIGINS: 'http://127.0.0.1:8233/, https://temporal.example.com:443' },
      '/srv',
    );
    expect(config.temporalUiOrigins).toEqual(['http://127.0.0.1:8233', 'https://temporal.example.com']);
  });

  it.each(['http://127.0.0.1:8233/ui', 'ftp://x', '127.0.0.1:8233', 'http://u:p@x', '*'])(
    'rejects the origin %j',
    (value) => {
      expect(() => loadConfig({ GRAPHIUM_TEMPORAL_UI_ORIGINS: value }, '/srv')).toThrow(
        /GRAPHIUM_TEMPORAL_UI_ORIGINS must be comma-separated origins/,
      );
    },
  );
});

describe('codecEndpointUrl', () => {
  it.each([
    ['127.0.0.1', 'http://127.0.0.1:8080/codec'],
    ['0.0.0.0', 'http://127.0.0.1:8080/codec'],
    ['::', 'http://127.0.0.1:8080/codec'],
    ['::1', 'http://[::1]:8080/codec'],
    ['graphium.internal', 'http://graphium.internal:8080/codec'],
  ])('serves a browser of the API on %s at %s', (host, url) => {
    expect(codecEndpointUrl(host, 8080)).toBe(url);
  });
});
