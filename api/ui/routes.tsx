/**
 * The web dashboard, served by the API itself: server-rendered pages under `/ui`, their module
 * scripts under `/ui/assets`, and the login page. The pages read the database as the JSON routes
 * do, and their scripts call the JSON API with the browser's session cookie.
 */
import { readFileSync } from 'node:fs';
import { Hono, type Handler, type MiddlewareHandler } from 'hono';
import { stackSlug } from '../../core/names';
import { deploymentsUsingHost, listHosts, listStacksPage, newestDeployment } from '../../db/repository';
import type { AppDeps, AppEnv } from '../context';
import { NotFoundError } from '../errors';
import { LOGIN_PAGE_PATH } from '../login';
import { pageFields } from '../pagination';
import { readFacts } from '../placement';
import { stackListQuerySchema } from '../stacks';
import { validate } from '../validation';
import { deploymentDetail } from '../views';
import { DeployPage } from './deploy-page';
import { HostsPage } from './hosts-page';
import { LoginPage } from './login-page';
import { StackNotFoundPage, StackPage } from './stack-page';
import { StacksPage } from './stacks-page';

/** The page scripts, read once at start; they are static files, so no build step is needed. */
const ASSETS: Record<string, string> = Object.fromEntries(
  ['common.js', 'hosts.js', 'deploy.js', 'stack.js'].map((file) => [
    file,
    readFileSync(new URL(`./assets/${file}`, import.meta.url), 'utf8'),
  ]),
);

/**
 * Sends a browser that requests a page without valid credentials to the login page, in place
 * of the JSON 401 body. Register it before the authentication middleware, so it receives that
 * middleware's response. Scripts and other requests keep the 401.
 */
export function loginRedirect(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    if (c.res.status !== 401 || c.req.method !== 'GET' || c.req.path.startsWith('/ui/assets/')) return;
    const headers = new Headers({ Location: LOGIN_PAGE_PATH });
    const requestId = c.res.headers.get('X-Request-Id');
    if (requestId) headers.set('X-Request-Id', requestId);
    // The 401 of an invalid session cookie deletes that cookie, and the redirect must too.
    for (const cookie of c.res.headers.getSetCookie()) headers.append('Set-Cookie', cookie);
    // Cleared first, so the new response does not take over the headers of the 401.
    c.res = undefined;
    c.res = new Response(null, { status: 302, headers });
  };
}

/** Creates the `/ui` sub-app: the stacks, stack, hosts and deploy pages and their scripts. */
export function dashboardRoutes(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const temporalUiUrl = deps.temporalUiUrl;

  const stacksPage: Handler<AppEnv> = async (c) => {
    const query = validate(stackListQuerySchema, c.req.query(), 'query', 'query');
    const page = await listStacksPage(deps.db, { limit: query.limit, after: query.cursor });
    const { links } = pageFields('/ui/stacks', page.nextCursor, query);
    return c.html(<StacksPage stacks={page.items} nextHref={links.next} temporalUiUrl={temporalUiUrl} />);
  };
  app.get('/', stacksPage);
  app.get('/stacks', stacksPage);

  app.get('/stacks/:name', async (c) => {
    const name = c.req.param('name');
    const row = await newestDeployment(deps.db, stackSlug(name));
    if (!row) return c.html(<StackNotFoundPage name={name} temporalUiUrl={temporalUiUrl} />, 404);
    const detail = await deploymentDetail(deps, row);
    return c.html(<StackPage detail={detail} temporalUiUrl={temporalUiUrl} />);
  });

  // NOTE: the hosts and deploy pages read every registered host's figures at once, unlike the
  // paged GET /hosts, so they take longer the more hosts are registered.
  app.get('/hosts', async (c) => {
    const hosts = await listHosts(deps.db);
    const facts = await readFacts(deps, hosts);
    const rows = await Promise.all(
      hosts.map(async (host) => ({
        host,
        facts: facts[host.name],
        usedBy: await deploymentsUsingHost(deps.db, host.name),
      })),
    );
    return c.html(<HostsPage rows={rows} temporalUiUrl={temporalUiUrl} />);
  });

  app.get('/deploy', async (c) => {
    const hosts = await listHosts(deps.db);
    const facts = await readFacts(deps, hosts);
    const entries = hosts.map((host) => ({ host, facts: facts[host.name] }));
    return c.html(<DeployPage hosts={entries} temporalUiUrl={temporalUiUrl} />);
  });

  app.get('/assets/:file', (c) => {
    const file = c.req.param('file');
    const body = Object.hasOwn(ASSETS, file) ? ASSETS[file] : undefined;
    if (body === undefined) {
      throw new NotFoundError(
        `dashboard asset "${file}" does not exist; the pages name every asset they use`,
      );
    }
    c.header('Content-Type', 'text/javascript; charset=utf-8');
    // The browser revalidates each time and gets 304 while the ETag matches, so a new version loads at once.
    c.header('Cache-Control', 'no-cache');
    return c.body(body);
  });

  return app;
}

/**
 * Creates the route of the login page, whose form posts to `POST /login` (login.ts). That route
 * sends the browser back here with `?error=invalid_token` when the token is wrong.
 */
export function loginPageRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get('/', (c) => c.html(<LoginPage invalidToken={c.req.query('error') === 'invalid_token'} />));
  return app;
}
