/**
 * The HTTP API as a Hono app. `createApp` wires the middleware, one sub-app per resource
 * and the error handler; `startApiServer` in server.ts serves it.
 */
import { Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { etag, RETAINED_304_HEADERS } from 'hono/etag';
import { requestId } from 'hono/request-id';
import { withLogFields, type Logger } from '../lib/logger';
import { tokenAuth } from './auth';
import { codecCors, codecRoutes } from './codec';
import type { AppDeps, AppEnv } from './context';
import { deploymentRoutes } from './deployments';
import { docsRoutes } from './docs';
import { NotFoundError, PayloadTooLargeError, createErrorHandler, notFoundHandler } from './errors';
import { hostRoutes } from './hosts';
import { loginRoutes } from './login';
import { apiMetrics } from './metrics';
import { orphanRoutes } from './orphans';
import { stackRoutes } from './stacks';
import { dashboardRoutes, loginPageRoutes, loginRedirect } from './ui/routes';

export type { AppDeps, AppEnv } from './context';

/** Largest request body accepted, in bytes: 1 MiB, far above any stack document. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** Logs one line per request with its method, path, status and duration. */
function requestLogger(logger: Logger): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    await next();
    logger.info(
      {
        requestId: c.get('requestId'),
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        token: c.get('tokenName'),
        auth: c.get('authMethod'),
        elapsedMs: Math.round(performance.now() - started),
      },
      'request handled',
    );
  };
}

/**
 * Creates the API app.
 *
 * @example
 * const app = createApp({ db, logger, deployer, temporalUiUrl, namespace: 'default' });
 * const response = await app.request('/healthz');
 */
export function createApp(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const logger = deps.logger.child({ component: 'api' });
  const routeDeps = { ...deps, logger };
  const metrics = apiMetrics(routeDeps);

  app.use(requestId());
  // Every line logged while the request runs carries its id, also lines from helpers it calls.
  app.use((c, next) => withLogFields({ requestId: c.get('requestId') }, next));
  app.use(requestLogger(logger));
  // PostgreSQL cannot compare text with a NUL character, and no name or id contains one.
  app.use(async (c, next) => {
    if (/%00/i.test(c.req.path) || c.req.path.includes('\u0000')) {
      throw new NotFoundError(`no object has a name or id with a NUL character (path ${c.req.path})`);
    }
    await next();
  });
  app.use(metrics.countRequests);
  app.use(
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new PayloadTooLargeError(MAX_BODY_BYTES);
      },
    }),
  );

  // Registered before authentication, so it receives the 401 and sends a browser to the login
  // page. Without a session key there is no login page, and pages keep the 401.
  if (deps.apiTokens && deps.sessions) app.use('/ui/*', loginRedirect());
  const temporalUiOrigins = deps.temporalUiOrigins ?? [new URL(deps.temporalUiUrl).origin];
  // Before authentication, so a Temporal UI page can read the 401 or 403 of a codec request.
  app.use('/codec/*', codecCors(temporalUiOrigins));
  if (deps.apiTokens) {
    app.use(tokenAuth({ tokens: deps.apiTokens, sessions: deps.sessions, temporalUiOrigins }));
  }
  // A client polling a deployment sends back the ETag it got and receives 304 while nothing changed.
  app.use(etag({ weak: true, retainedHeaders: [...RETAINED_304_HEADERS, 'x-request-id'] }));

  app.get('/healthz', (c) => c.json({ ok: true }));
  app.route('/', docsRoutes());
  // The login page is served only with the POST /login its form posts to.
  if (deps.apiTokens && deps.sessions) {
    app.route('/', loginRoutes(routeDeps, deps.apiTokens, deps.sessions));
    app.route('/login', loginPageRoutes());
  }
  app.route('/hosts', hostRoutes(routeDeps));
  app.route('/deployments', deploymentRoutes(routeDeps));
  app.route('/stacks', stackRoutes(routeDeps));
  app.route('/orphans', orphanRoutes(routeDeps));
  app.route('/codec', codecRoutes(routeDeps));
  app.route('/metrics', metrics.routes);
  app.route('/ui', dashboardRoutes(routeDeps));

  app.onError(createErrorHandler(logger));
  app.notFound(notFoundHandler);
  return app;
}
