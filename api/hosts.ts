/** Routes of the host registry: `/hosts`. */
import { Hono } from 'hono';
import { dockerFor, dockerMessage, withTimeout } from '../activities/docker';
import { checkTlsFiles, classifyTlsError, tlsFailureMessage } from '../activities/docker-tls';
import {
  createHost,
  deleteHost,
  deploymentsUsingHost,
  getHost,
  listHostsPage,
  type Host,
} from '../db/repository';
import type { AppDeps, AppEnv, DaemonCheck } from './context';
import { ApiError, NotFoundError, ValidationError } from './errors';
import { newHostSchema, publicEndpoint, type NewHostBody } from './host-schema';
import { pageFields, pageQuerySchema } from './pagination';
import { factsView, readFacts } from './placement';
import { readJson, validate } from './validation';

/** Builds the API view of a host, which carries TLS file paths but never key material. */
function hostView(host: Host) {
  return {
    name: host.name,
    docker: publicEndpoint(host.docker),
    address: host.address,
    datacenter: host.datacenter,
    labels: host.labels,
    imagePull: host.imagePull,
    status: host.status,
    createdAt: host.createdAt,
    updatedAt: host.updatedAt,
    links: { self: `/hosts/${encodeURIComponent(host.name)}` },
  };
}

/** Query of `GET /hosts`; cursors are host names, in name order. */
export const hostListQuerySchema = pageQuerySchema(/^[a-z0-9-]{1,63}$/);

/** Time limit for a newly registered daemon's version call; a slower daemon still registers. */
const DAEMON_CHECK_TIMEOUT_MS = 3_000;

/**
 * Ask the daemon for its version, so a mistyped endpoint shows at once. The host is
 * registered either way, because a host may be down only for the moment. A failed TLS
 * handshake is reported with its cause and fix and `errorKind: 'tls'`.
 */
export async function checkDaemon(host: Pick<Host, 'name' | 'docker'>): Promise<DaemonCheck> {
  try {
    const version = await withTimeout(dockerFor(host).version(), DAEMON_CHECK_TIMEOUT_MS, 'docker version');
    return { reachable: true, version: version.Version, apiVersion: version.ApiVersion };
  } catch (error) {
    const tls = classifyTlsError(error, host.docker);
    if (tls) {
      return { reachable: false, error: tlsFailureMessage(host.name, host.docker, tls), errorKind: 'tls' };
    }
    return {
      reachable: false,
      error: `Docker daemon did not answer: ${dockerMessage(error)}`,
      errorKind: 'unreachable',
    };
  }
}

/**
 * Rejects TLS files that cannot be read or are not the PEM certificates and key their fields
 * need, because no daemon could ever be reached with them. A daemon that rejects the handshake is
 * a fact about the daemon, which `checkDaemon` reports instead.
 *
 * @throws ValidationError naming each unusable file by its path in the body.
 */
function rejectUnusableTlsFiles(body: NewHostBody): void {
  if (body.docker.protocol !== 'tcp' || !body.docker.tls) return;
  const details = checkTlsFiles(body.docker.tls).map((problem) => ({
    path: `$.docker.tls.${problem.field}`,
    message: `${problem.path} ${problem.problem}; ${problem.fix}`,
  }));
  if (details.length === 0) return;
  const count = details.length === 1 ? '1 unusable TLS file' : `${details.length} unusable TLS files`;
  throw new ValidationError(`host has ${count}; see details`, details);
}

function hostNotFound(name: string): NotFoundError {
  const message = `host "${name}" is not registered; GET /hosts lists the registered hosts`;
  return new NotFoundError(message);
}

/** Creates the `/hosts` sub-app. */
export function hostRoutes(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.post('/', async (c) => {
    const body = validate(newHostSchema, await readJson(c), 'host');
    rejectUnusableTlsFiles(body);
    const host = await createHost(deps.db, body);
    const check = await (deps.checkDaemon ?? checkDaemon)(host);
    deps.logger.info({ host: host.name, address: host.address, ...check }, 'host registered');
    c.header('Location', `/hosts/${encodeURIComponent(host.name)}`);
    return c.json({ ...hostView(host), daemon: check }, 201);
  });

  // Each host of the page comes with its live figures, read in parallel and cached for a few seconds.
  app.get('/', async (c) => {
    const query = validate(hostListQuerySchema, c.req.query(), 'query', 'query');
    const page = await listHostsPage(deps.db, { limit: query.limit, after: query.cursor });
    const facts = await readFacts(deps, page.items);
    return c.json({
      items: page.items.map((host) => ({ ...hostView(host), facts: factsView(facts[host.name]) })),
      ...pageFields('/hosts', page.nextCursor, query),
    });
  });

  app.get('/:name', async (c) => {
    const name = c.req.param('name');
    const host = await getHost(deps.db, name);
    if (!host) throw hostNotFound(name);
    const facts = await readFacts(deps, [host]);
    return c.json({ ...hostView(host), facts: factsView(facts[host.name]) });
  });

  app.delete('/:name', async (c) => {
    const name = c.req.param('name');
    if (!(await getHost(deps.db, name))) throw hostNotFound(name);
    const users = await deploymentsUsingHost(deps.db, name);
    if (users.length > 0) {
      const listedUsers = users
        .slice(0, 5)
        .map((u) => `${u.deploymentId} (stack "${u.stackName.slice(0, 80)}", ${u.status})`);
      const more = users.length > listedUsers.length ? ` and ${users.length - listedUsers.length} more` : '';
      const list = `${listedUsers.join(', ')}${more}`;
      throw new ApiError(
        409,
        'host_in_use',
        `host "${name}" is used by ${list}; remove those stacks with DELETE /stacks/<name>, ` +
          'or wait for deployments in progress to finish, then delete the host',
      );
    }
    if (!(await deleteHost(deps.db, name))) throw hostNotFound(name);
    deps.logger.info({ host: name }, 'host deleted');
    return c.body(null, 204);
  });

  return app;
}
