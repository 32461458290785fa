/**
 * Login sessions kept in an HTTP-only cookie, so a browser can call the API, and the Temporal UI
 * its codec endpoint, without holding the bearer token in script-readable storage.
 *
 * The cookie value is `<payload>.<signature>`, both base64url. The payload is JSON with the token
 * name, its role, the expiry and a tag of the token's secret. The signature is HMAC-SHA256 of the
 * payload under the server's session key. The secret itself never leaves the server. The tag is an
 * HMAC under the same key, so it cannot be tested against guessed secrets without that key.
 *
 * Sessions are stateless: each request checks the signature, the expiry, and that the named token
 * is still configured with the same role and secret. Logging out only deletes the browser's copy.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import { deleteCookie, setCookie } from 'hono/cookie';
import { z } from 'zod';
import type { ApiToken } from './auth';
import { isHttps } from './csrf';

/** Name of the session cookie. */
export const SESSION_COOKIE = 'graphium_session';

/** Default session lifetime: 12 hours. */
export const DEFAULT_SESSION_SECONDS = 12 * 60 * 60;

/** Minimum session key length, in bytes: the output size of SHA-256. */
export const MIN_SESSION_KEY_BYTES = 32;

export interface SessionOptions {
  /** HMAC-SHA256 key of at least MIN_SESSION_KEY_BYTES bytes. */
  key: Buffer;
  /** Seconds from login until the session expires. Default: DEFAULT_SESSION_SECONDS. */
  lifetimeSeconds?: number;
  /** Current time in milliseconds since the epoch. Default: `Date.now`. */
  now?: () => number;
}

export interface IssuedSession {
  /** Value of the session cookie. */
  value: string;
  expiresAt: Date;
  /** Seconds until expiry, for the cookie's Max-Age. */
  maxAgeSeconds: number;
}

/** Result of checking a session cookie: its token, or the reason it is rejected. */
export type SessionCheck = { valid: true; token: ApiToken } | { valid: false; reason: string };

/** Separates the signature and the secret tag, so one can never be replayed as the other. */
const SIGNATURE_LABEL = 'graphium-session-v1\n';
const SECRET_TAG_LABEL = 'graphium-session-secret-v1\n';

const payloadSchema = z.strictObject({
  name: z.string().min(1),
  /** Compared with the role the token has now, so no list of roles is needed here. */
  role: z.string(),
  /** Expiry in whole seconds since the epoch. */
  exp: z.number().int(),
  /** base64url HMAC of the token secret. */
  tag: z.string(),
});

type SessionPayload = z.output<typeof payloadSchema>;

function hmac(key: Buffer, label: string, text: string): Buffer {
  return createHmac('sha256', key).update(label).update(text, 'utf8').digest();
}

function secretTag(key: Buffer, secret: string): string {
  return hmac(key, SECRET_TAG_LABEL, secret).toString('base64url');
}

function equalInConstantTime(left: Buffer, right: Buffer): boolean {
  return left.length === right.length && timingSafeEqual(left, right);
}

/** Signs a new session for `token`, valid for the configured lifetime from now. */
export function issueSession(token: ApiToken, options: SessionOptions): IssuedSession {
  const now = options.now?.() ?? Date.now();
  const lifetimeSeconds = options.lifetimeSeconds ?? DEFAULT_SESSION_SECONDS;
  const exp = Math.floor(now / 1000) + lifetimeSeconds;
  const payload: SessionPayload = {
    name: token.name,
    role: token.role,
    exp,
    tag: secretTag(options.key, token.secret),
  };
  const encoded = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
  const signature = hmac(options.key, SIGNATURE_LABEL, encoded).toString('base64url');
  return {
    value: `${encoded}.${signature}`,
    expiresAt: new Date(exp * 1000),
    maxAgeSeconds: lifetimeSeconds,
  };
}

/**
 * Checks a session cookie against the tokens configured now. A session stops working when it
 * expires, when its token is removed, or when the token's role or secret changes. Nothing from
 * an unsigned payload reaches the rejection reason.
 */
export function verifySession(
  value: string,
  tokens: readonly ApiToken[],
  options: SessionOptions,
): SessionCheck {
  const [encoded, signature, extra] = value.split('.');
  if (!encoded || !signature || extra !== undefined) {
    return { valid: false, reason: 'the session cookie is malformed' };
  }
  const expected = hmac(options.key, SIGNATURE_LABEL, encoded);
  if (!equalInConstantTime(Buffer.from(signature, 'base64url'), expected)) {
    return { valid: false, reason: "the session cookie was not signed with this server's session key" };
  }

  let payload: SessionPayload;
  try {
    payload = payloadSchema.parse(JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8')));
  } catch {
    // Only a server with the key signs payloads, so this means a format from another version.
    return { valid: false, reason: 'the session cookie has a payload this server cannot read' };
  }

  const now = options.now?.() ?? Date.now();
  if (payload.exp * 1000 <= now) {
    return { valid: false, reason: `the session expired at ${new Date(payload.exp * 1000).toISOString()}` };
  }
  const token = tokens.find((candidate) => candidate.name === payload.name);
  if (!token) {
    return { valid: false, reason: `token "${payload.name}" of the session is no longer configured` };
  }
  if (token.role !== payload.role) {
    return {
      valid: false,
      reason: `token "${token.name}" now has role ${token.role}, not ${payload.role} as at login`,
    };
  }
  const tag = Buffer.from(secretTag(options.key, token.secret), 'base64url');
  if (!equalInConstantTime(Buffer.from(payload.tag, 'base64url'), tag)) {
    return { valid: false, reason: `token "${token.name}" has a new secret since the login` };
  }
  return { valid: true, token };
}

/** Options that `setCookie` of hono/cookie takes. */
type SessionCookieOptions = NonNullable<Parameters<typeof setCookie>[3]>;

/**
 * Attributes of the session cookie. HttpOnly keeps it from scripts, Path=/ sends it to every
 * route, and Secure is set when the request came over HTTPS. SameSite=Lax withholds it from
 * requests that other sites' pages send, except top-level GET navigation. A Temporal UI on
 * another port of the same host still receives it, because browsers treat every port of a
 * host as the same site.
 */
function cookieOptions(c: Context): SessionCookieOptions {
  return { path: '/', httpOnly: true, sameSite: 'Lax', secure: isHttps(c) };
}

/** Adds the Set-Cookie header that stores `session` in the browser. */
export function setSessionCookie(c: Context, session: IssuedSession): void {
  setCookie(c, SESSION_COOKIE, session.value, { ...cookieOptions(c), maxAge: session.maxAgeSeconds });
}

/** Adds the Set-Cookie header that deletes the session cookie in the browser. */
export function clearSessionCookie(c: Context): void {
  deleteCookie(c, SESSION_COOKIE, cookieOptions(c));
}
