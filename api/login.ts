/**
 * Login with a token, kept in an HTTP-only session cookie: `POST /login` and `POST /logout`.
 * A browser that logged in sends the cookie with every request to the API, and with every
 * codec request of a Temporal UI on the same host (see csrf.ts for the origins allowed).
 *
 * An HTML form post gets a 303 redirect in place of the JSON body: to the dashboard after a
 * login, or back to the login page (`GET /login`, in ui/routes.tsx) when the token is wrong.
 */
import type { Context } from 'hono';
import { Hono } from 'hono';
import { z } from 'zod';
import { UnauthorizedError, matchToken, type ApiToken } from './auth';
import type { AppDeps, AppEnv } from './context';
import { checkLoginOrigin } from './csrf';
import { UnsupportedMediaTypeError } from './errors';
import { clearSessionCookie, issueSession, setSessionCookie, type SessionOptions } from './session';
import { readJson, validate } from './validation';

/** Body of `POST /login`, as JSON or as an HTML form. */
export const loginSchema = z.strictObject({
  token: z.string({ error: 'is required: the secret of a token from GRAPHIUM_API_TOKENS' }).min(1),
});

/** Media types of the HTML forms that may post a login. */
const FORM_TYPES = new Set(['application/x-www-form-urlencoded', 'multipart/form-data']);

/** Path of the dashboard's login page, whose form posts to `POST /login`. */
export const LOGIN_PAGE_PATH = '/login';

/** Redirect target of a form login: the dashboard. */
export const FORM_LOGIN_TARGET = '/ui';

/** Redirect target of a form login with a wrong token: the login page, which shows the reason. */
export const FORM_LOGIN_FAILED_TARGET = `${LOGIN_PAGE_PATH}?error=invalid_token`;

/** The token a login presents, and whether it came from an HTML form. */
interface LoginRequest {
  presented: string;
  fromForm: boolean;
}

/** Reads the presented token from a JSON body or an HTML form post. */
async function readLogin(c: Context<AppEnv>): Promise<LoginRequest> {
  const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (FORM_TYPES.has(type)) {
    const form = await c.req.parseBody();
    const token = typeof form.token === 'string' ? form.token : undefined;
    return { presented: validate(loginSchema, { token }, 'login form').token, fromForm: true };
  }
  if (type === 'application/json' || type.endsWith('+json')) {
    const presented = validate(loginSchema, await readJson(c), 'login request').token;
    return { presented, fromForm: false };
  }
  throw new UnsupportedMediaTypeError(
    `Content-Type is "${type || 'missing'}"; send {"token": "..."} as application/json, ` +
      'or an HTML form with a token field',
  );
}

/**
 * Creates the sub-app of `/login` and `/logout`, mounted at the root. `sessions` signs the
 * cookie, and `tokens` are the tokens a login may present.
 */
export function loginRoutes(
  deps: Pick<AppDeps, 'logger'>,
  tokens: readonly ApiToken[],
  sessions: SessionOptions,
): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.post('/login', async (c) => {
    checkLoginOrigin(c);
    const { presented, fromForm } = await readLogin(c);
    const token = matchToken(tokens, presented);
    if (!token) {
      deps.logger.warn(
        { requestId: c.get('requestId') },
        'login rejected: the token matches no configured token',
      );
      if (fromForm) return c.redirect(FORM_LOGIN_FAILED_TARGET, 303);
      c.header('WWW-Authenticate', 'Bearer realm="graphium"');
      throw new UnauthorizedError('invalid token; use a token from GRAPHIUM_API_TOKENS');
    }

    const session = issueSession(token, sessions);
    setSessionCookie(c, session);
    c.set('tokenName', token.name);
    c.set('authMethod', 'session');
    c.header('Cache-Control', 'no-store');
    deps.logger.info(
      { requestId: c.get('requestId'), token: token.name, expiresAt: session.expiresAt.toISOString() },
      'logged in',
    );
    if (fromForm) return c.redirect(FORM_LOGIN_TARGET, 303);
    return c.json({ token: token.name, role: token.role, expiresAt: session.expiresAt.toISOString() });
  });

  // Deleting the cookie needs no valid session, so an expired one can be cleared too. A copy of
  // the cookie value taken before stays valid until it expires, because sessions are not stored.
  app.post('/logout', (c) => {
    checkLoginOrigin(c);
    clearSessionCookie(c);
    c.header('Cache-Control', 'no-store');
    return c.body(null, 204);
  });

  return app;
}
