/**
 * Protection against cross-site request forgery for requests a browser authenticates with the
 * session cookie. A browser attaches the cookie to requests that any page sends. With every
 * request other than GET and HEAD it also sends the page's origin in `Origin`, as the Fetch
 * standard requires, and often the page's URL in `Referer`. So a request that changes state must
 * come from an origin the API trusts: its own, or for `/codec/*` a Temporal UI origin.
 *
 * SameSite does not replace this check. The Temporal UI must reach the codec from another port of
 * the same host, and every port of a host is the same site, so any other web server on this host
 * could send requests that carry the cookie.
 */
import type { Context } from 'hono';
import { ApiError } from './errors';

/** Methods that change no state in this API, so a forged request with one does no harm. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Path prefix of the codec endpoint, the only one that Temporal UI origins may call. */
const CODEC_PATH_PREFIX = '/codec/';

/** 403: a cookie-authenticated request came from an origin that may not send it. */
export class OriginNotAllowedError extends ApiError {
  override name = 'OriginNotAllowedError';

  constructor(message: string) {
    super(403, 'origin_not_allowed', message);
  }
}

/**
 * Returns the API's own origin as the client addressed it, such as `http://127.0.0.1:8080`. The
 * host comes from the request's Host header, which a page cannot set on a cross-site request.
 * The scheme is https only when this process terminated the TLS connection.
 */
export function ownOrigin(c: Context): string {
  return new URL(c.req.url).origin;
}

/** Returns whether the request reached the API over HTTPS. */
export function isHttps(c: Context): boolean {
  return new URL(c.req.url).protocol === 'https:';
}

/**
 * Returns the origin of the page that sent the request: the Origin header, else the origin of
 * the Referer. Returns undefined when neither is present, and the header text as sent when it is
 * not a URL with an origin, such as `null` from a sandboxed page.
 */
export function requestOrigin(c: Context): string | undefined {
  const origin = c.req.header('origin');
  if (origin !== undefined) return origin;
  const referer = c.req.header('referer');
  if (referer === undefined) return undefined;
  try {
    const { origin: refererOrigin } = new URL(referer);
    return refererOrigin === 'null' ? referer : refererOrigin;
  } catch {
    return referer;
  }
}

/**
 * Rejects a cookie-authenticated request that changes state unless it names the API's own origin,
 * or a Temporal UI origin for `/codec/*`.
 *
 * @throws OriginNotAllowedError naming the origin, or saying that none was sent.
 */
export function checkSessionOrigin(c: Context, temporalUiOrigins: readonly string[]): void {
  if (SAFE_METHODS.has(c.req.method)) return;
  const own = ownOrigin(c);
  const origin = requestOrigin(c);
  const request = `${c.req.method} ${c.req.path}`;
  if (origin === undefined) {
    throw new OriginNotAllowedError(
      `${request} was authenticated by the session cookie but sent no Origin or Referer header, so it ` +
        `may come from another site; send "Origin: ${own}", or authenticate with "Authorization: Bearer <token>"`,
    );
  }
  if (origin === own) return;
  if (c.req.path.startsWith(CODEC_PATH_PREFIX) && temporalUiOrigins.includes(origin)) return;
  throw new OriginNotAllowedError(
    `origin ${JSON.stringify(origin)} may not send ${request} with the session cookie; only ${own}` +
      (c.req.path.startsWith(CODEC_PATH_PREFIX)
        ? ` and the Temporal UI origins ${temporalUiOrigins.join(', ')}`
        : '') +
      ` may, and other clients authenticate with "Authorization: Bearer <token>"`,
  );
}

/**
 * Rejects a login or logout sent from a page of another origin, which could otherwise log the
 * browser in as the page's choice of token. A request without Origin or Referer, such as one
 * from curl, is accepted. Browsers that follow the Fetch standard send Origin with every request
 * whose method is neither GET nor HEAD (Firefox since version 70, Edge since 79), so a page
 * cannot send such a login.
 *
 * @throws OriginNotAllowedError naming the origin.
 */
export function checkLoginOrigin(c: Context): void {
  const origin = requestOrigin(c);
  const own = ownOrigin(c);
  if (origin === undefined || origin === own) return;
  throw new OriginNotAllowedError(
    `origin ${JSON.stringify(origin)} may not send ${c.req.method} ${c.req.path}; log in from ${own}`,
  );
}
