/**
 * Token authentication of the API. A request presents a token as `Authorization: Bearer <token>`,
 * or through the session cookie that `POST /login` sets (see session.ts). Every token has a name,
 * for logs, and a role that decides which requests it may make:
 *
 * - `read`: GET and HEAD requests, and decoding payloads for the Temporal UI;
 * - `deploy`: also validate, plan, deploy, cancel and tear down stacks, and encode payloads;
 * - `admin`: everything, including registering and removing hosts and removing orphans.
 *
 * A missing or unknown token gets 401, a known token whose role does not allow the request 403.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import { ApiError } from './errors';
import type { AppEnv } from './context';
import { checkSessionOrigin } from './csrf';
import { SESSION_COOKIE, clearSessionCookie, verifySession, type SessionOptions } from './session';

export const TOKEN_ROLES = ['read', 'deploy', 'admin'] as const;
export type TokenRole = (typeof TOKEN_ROLES)[number];

export interface ApiToken {
  /** Name shown in logs and errors, never the secret. */
  name: string;
  role: TokenRole;
  secret: string;
}

/**
 * Paths anyone may request without a token: liveness, the API documentation, and logging in and
 * out, which check the token themselves.
 */
const OPEN_PATHS = new Set(['/healthz', '/docs', '/openapi.json', '/login', '/logout']);

/** Shortest secret accepted, so a token cannot be guessed by trying. */
export const MIN_SECRET_LENGTH = 16;

/** 401: the request carries no token, or one that matches no configured token. */
export class UnauthorizedError extends ApiError {
  override name = 'UnauthorizedError';

  constructor(message: string) {
    super(401, 'unauthorized', message);
  }
}

/** 403: the token is valid, but its role does not allow this request. */
export class ForbiddenError extends ApiError {
  override name = 'ForbiddenError';

  constructor(message: string) {
    super(403, 'forbidden', message);
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * Finds the token whose secret equals `presented`. Every configured token is compared, each in
 * constant time over fixed-length digests, so the time taken reveals neither which token
 * matched nor how much of a secret was right.
 */
export function matchToken(tokens: readonly ApiToken[], presented: string): ApiToken | undefined {
  const presentedDigest = digest(presented);
  let found: ApiToken | undefined;
  for (const token of tokens) {
    if (timingSafeEqual(digest(token.secret), presentedDigest) && !found) found = token;
  }
  return found;
}

/** Returns the least role that may make a request with this method to this path. */
export function requiredRole(method: string, path: string): TokenRole {
  if (method === 'GET' || method === 'HEAD') return 'read';
  // Decoding stays at deploy, the default for POST, because it reveals the values of secret
  // variables, which GET responses redact. Tokens that deploy stacks supply those values anyway.
  if (path.startsWith('/hosts') || path.startsWith('/orphans')) return 'admin';
  return 'deploy';
}

function allows(role: TokenRole, needed: TokenRole): boolean {
  return TOKEN_ROLES.indexOf(role) >= TOKEN_ROLES.indexOf(needed);
}

export interface AuthOptions {
  tokens: readonly ApiToken[];
  /** Signing key and lifetime of login sessions. Absent: the session cookie is ignored. */
  sessions?: SessionOptions;
  /** Origins of the Temporal UI pages that may call `/codec/*` with the session cookie. */
  temporalUiOrigins?: readonly string[];
}

/**
 * Rejects requests without a valid bearer token or session cookie, except to OPEN_PATHS and
 * CORS preflights. A request with an Authorization header is judged by that header alone.
 */
export function tokenAuth(options: AuthOptions): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (OPEN_PATHS.has(c.req.path) || c.req.method === 'OPTIONS') return next();

    // Set before any 401, so every rejection names the scheme to use.
    c.header('WWW-Authenticate', 'Bearer realm="graphium"');
    const token = authenticate(c, options);

    const needed = requiredRole(c.req.method, c.req.path);
    if (!allows(token.role, needed)) {
      throw new ForbiddenError(
        `token "${token.name}" has role ${token.role}, which cannot ${c.req.method} ${c.req.path}; ` +
          `use a token with role ${needed}${needed === 'admin' ? '' : ' or admin'}`,
      );
    }
    c.header('WWW-Authenticate', undefined);
    c.set('tokenName', token.name);
    return next();
  };
}

/** Returns the token of the request's Authorization header or session cookie, or raises 401 or 403. */
function authenticate(c: Context<AppEnv>, options: AuthOptions): ApiToken {
  const header = c.req.header('authorization');
  if (header) return bearerToken(header, options.tokens, c);
  if (options.sessions) {
    const cookie = getCookie(c, SESSION_COOKIE);
    if (cookie) return sessionToken(c, cookie, options.sessions, options);
  }
  throw new UnauthorizedError(
    'missing Authorization header; send "Authorization: Bearer <token>" with a token from GRAPHIUM_API_TOKENS' +
      (options.sessions ? ', or log in with POST /login' : ''),
  );
}

function bearerToken(header: string, tokens: readonly ApiToken[], c: Context<AppEnv>): ApiToken {
  const match = /^Bearer +(\S+) *$/i.exec(header);
  if (!match) {
    throw new UnauthorizedError('malformed Authorization header; expected "Bearer <token>"');
  }
  const token = matchToken(tokens, match[1]!);
  if (!token) {
    throw new UnauthorizedError('invalid token; use a token from GRAPHIUM_API_TOKENS');
  }
  c.set('authMethod', 'bearer');
  return token;
}

/**
 * Returns the token of a valid session cookie. An invalid one is deleted in the browser, so it
 * is not sent again. A cookie-authenticated request that changes state must also come from an
 * allowed origin (see csrf.ts).
 */
function sessionToken(
  c: Context<AppEnv>,
  cookie: string,
  sessions: SessionOptions,
  options: AuthOptions,
): ApiToken {
  const check = verifySession(cookie, options.tokens, sessions);
  if (!check.valid) {
    clearSessionCookie(c);
    throw new UnauthorizedError(`${check.reason}; log in again with POST /login`);
  }
  checkSessionOrigin(c, options.temporalUiOrigins ?? []);
  c.set('authMethod', 'session');
  return check.token;
}

/**
 * Reads tokens written as `name:role:secret`, separated by commas or new lines, as in the
 * GRAPHIUM_API_TOKENS setting. Raises an error naming the entry and the fix; the error never
 * contains a secret.
 */
export function parseTokens(text: string): ApiToken[] {
  const tokens: ApiToken[] = [];
  const entries = text
    .split(/[,\n]/)
    .map((entry) => entry.trim())
    .filter(Boolean);
  for (const [index, entry] of entries.entries()) {
    const [name, role, ...rest] = entry.split(':');
    const secret = rest.join(':');
    const where = `token entry ${index + 1}${name ? ` ("${name}")` : ''}`;
    if (!name || !/^[A-Za-z0-9_.-]{1,64}$/.test(name)) {
      throw new Error(
        `${where}: the name must be 1 to 64 letters, digits, ".", "_" or "-"; write name:role:secret`,
      );
    }
    if (!(TOKEN_ROLES as readonly string[]).includes(role ?? '')) {
      throw new Error(`${where}: the role must be one of ${TOKEN_ROLES.join(', ')}; write name:role:secret`);
    }
    if (secret.length < MIN_SECRET_LENGTH || /\s/.test(secret)) {
      throw new Error(
        `${where}: the secret must be at least ${MIN_SECRET_LENGTH} characters without spaces; ` +
          'generate one with "openssl rand -hex 32"',
      );
    }
    if (tokens.some((token) => token.name === name)) {
      throw new Error(`${where}: the name is used by an earlier entry; give each token its own name`);
    }
    // Two entries with one secret would always authenticate as the first, so the second is unusable.
    if (tokens.some((token) => token.secret === secret)) {
      throw new Error(`${where}: the secret is used by an earlier entry; give each token its own secret`);
    }
    tokens.push({ name, role: role as TokenRole, secret });
  }
  return tokens;
}

/** File in the data directory that contains the token created when none is configured. */
export const LOCAL_TOKEN_FILE = 'api-token';

/**
 * Returns the token in `<dataDir>/api-token`, creating the file with a new random admin token
 * (owner read and write only) when it does not exist, so a local start is authenticated too.
 */
export function localToken(dataDir: string): ApiToken {
  const file = join(dataDir, LOCAL_TOKEN_FILE);
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true });
    const secret = randomBytes(32).toString('hex');
    // `wx` fails when another process created the file first; that process's token is read below.
    try {
      writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  const secret = readFileSync(file, 'utf8').trim();
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new Error(`${file} contains no valid token; delete it to have a new one created`);
  }
  return { name: 'local', role: 'admin', secret };
}
