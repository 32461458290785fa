/** Routes of the host registry: `/hosts`. */
import { Hono } from 'hono';
import { createHost, deleteHost, getHost, listHosts, type Host } from '../db/repository';
import type { AppDeps, AppEnv } from './context';
import { NotFoundError } from './errors';
import { newHostSchema, publicEndpoint } from './host-schema';
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

function hostNotFound(name: string): NotFoundError {
  const message = `host "${name}" is not registered; GET /hosts lists the registered hosts`;
  return new NotFoundError(message);
}

/** Creates the `/hosts` sub-app. */
export function hostRoutes(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.post('/', async (c) => {
    const body = validate(newHostSchema, await readJson(c), 'host');
    const host = await createHost(deps.db, body);
    deps.logger.info({ host: host.name, address: host.address }, 'host registered');
    c.header('Location', `/hosts/${encodeURIComponent(host.name)}`);
    return c.json(hostView(host), 201);
  });

  app.get('/', async (c) => {
    const hosts = await listHosts(deps.db);
    return c.json({ items: hosts.map(hostView) });
  });

  app.get('/:name', async (c) => {
    const name = c.req.param('name');
    const host = await getHost(deps.db, name);
    if (!host) throw hostNotFound(name);
    return c.json(hostView(host));
  });

  app.delete('/:name', async (c) => {
    const name = c.req.param('name');
    if (!(await deleteHost(deps.db, name))) throw hostNotFound(name);
    deps.logger.info({ host: name }, 'host deleted');
    return c.body(null, 204);
  });

  return app;
}
