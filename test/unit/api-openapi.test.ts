/**
 * The OpenAPI document and the docs page: every route the app serves is documented with the role
 * the auth middleware requires, the document is valid OpenAPI 3.0, and both are open without a token.
 * The other API tests check each response they get against the document (api-helpers.ts).
 */
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../api/app';
import { openApiDocument, roleMatches, ROUTES } from '../../api/openapi';
import type { DatabaseHandle } from '../../db/client';
import { silentLogger } from '../../lib/logger';
import {
  DeployerDouble,
  PGLITE_START_TIMEOUT_MS,
  TEMPORAL_UI_URL,
  hostBody,
  openTestDatabase,
  resetApi,
  type TestApi,
} from './api-helpers';

let handle: DatabaseHandle;
let api: TestApi;

beforeAll(async () => {
  handle = await openTestDatabase();
}, PGLITE_START_TIMEOUT_MS);

afterAll(async () => {
  await handle?.close();
});

beforeEach(async () => {
  api = await resetApi(handle.db);
});

/** Routes the app serves, as `METHOD /path/{param}`. */
function servedRoutes(): string[] {
  const app = createApp({
    db: handle.db,
    logger: silentLogger(),
    deployer: new DeployerDouble(),
    temporalUiUrl: TEMPORAL_UI_URL,
    namespace: 'default',
    // With tokens and a session key the app also serves the login routes.
    apiTokens: [{ name: 'ci', role: 'admin', secret: 'a-secret-of-sixteen-or-more' }],
    sessions: { key: Buffer.alloc(32, 1) },
  });
  const served = app.routes
    .filter((route) => route.method !== 'ALL' && route.method !== 'OPTIONS')
    .map((route) => `${route.method} ${route.path.replace(/:(\w+)/g, '{$1}')}`);
  return [...new Set(served)].sort();
}

describe('the OpenAPI document', () => {
  it('lists exactly the routes the app serves', () => {
    const documented = ROUTES.map((route) => `${route.method.toUpperCase()} ${route.path}`).sort();

    expect(documented).toEqual(servedRoutes());
  });

  it('matches the auth roles', () => {
    const mismatched = ROUTES.filter((route) => !roleMatches(route)).map((route) => route.path);

    expect(mismatched).toEqual([]);
  });

  it('is a valid OpenAPI 3.0 document', async () => {
    const validator = new Validator();
    const result = await validator.validate(
      openApiDocument() as unknown as Parameters<Validator['validate']>[0],
    );

    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('documents the error shape with the request id on every failure status', () => {
    const document = openApiDocument();
    const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.values(methods).map((operation) => ({ path, operation })),
    );
    const failures = operations.flatMap(({ path, operation }) =>
      Object.entries((operation as { responses: Record<string, { content?: object }> }).responses)
        .filter(([status]) => Number(status) >= 400)
        .map(([status, response]) => ({ path, status, content: JSON.stringify(response.content) })),
    );
    // Dashboard pages respond to a browser with an HTML page where the JSON routes send an error body.
    const pages = failures.filter((failure) => failure.content === JSON.stringify({ 'text/html': {} }));
    expect(pages.map((page) => `${page.status} ${page.path}`)).toEqual(['404 /ui/stacks/{name}']);

    expect(failures.length).toBeGreaterThan(ROUTES.length);
    expect(
      new Set(failures.filter((failure) => !pages.includes(failure)).map((failure) => failure.content)),
    ).toEqual(
      new Set([JSON.stringify({ 'application/json': { schema: { $ref: '#/components/schemas/Error' } } })]),
    );
    const error = document.components.schemas.Error as { properties: { error: { required: string[] } } };
    expect(error.properties.error.required).toEqual(['code', 'message', 'requestId']);
  });
});

describe('GET /openapi.json and GET /docs', () => {
  it('serve the document and the page without a token', async () => {
    const secured = await resetApi(handle.db, {
      apiTokens: [{ name: 'ci', role: 'read', secret: 'a-secret-of-sixteen-or-more' }],
    });

    const document = await secured.send('GET', '/openapi.json');
    const page = await secured.send('GET', '/docs');

    expect(document.status).toBe(200);
    expect((await document.json()).openapi).toBe('3.0.3');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect((await secured.send('GET', '/hosts')).status).toBe(401);
  });

  it('shows every route, its statuses and the schemas they link to', async () => {
    const page = await (await api.send('GET', '/docs')).text();

    for (const route of ROUTES) {
      expect(page).toContain(`id="${route.operationId}"`);
      expect(page).toContain(`<code>${route.path}</code>`);
    }
    const schemaLinks = [...page.matchAll(/href="#(schema-[\w]+)"/g)].map((match) => match[1]!);
    const missing = [...new Set(schemaLinks)].filter((anchor) => !page.includes(`id="${anchor}"`));
    expect(schemaLinks.length).toBeGreaterThan(ROUTES.length);
    expect(missing).toEqual([]);
    expect(page).toContain('<dt>422</dt>');
    expect(page).toContain('<code>requestId</code>');
  });
});

describe('list pages', () => {
  it('pages hosts by name with a cursor', async () => {
    for (const name of ['h4', 'h1', 'h3', 'h2', 'h5']) {
      expect((await api.send('POST', '/hosts', hostBody(name))).status).toBe(201);
    }
    const names = (body: { items: { name: string }[] }) => body.items.map((item) => item.name);

    const first = await (await api.send('GET', '/hosts?limit=2')).json();
    const second = await (await api.send('GET', first.links.next)).json();
    const third = await (await api.send('GET', second.links.next)).json();

    expect([names(first), names(second), names(third)]).toEqual([['h1', 'h2'], ['h3', 'h4'], ['h5']]);
    expect(first.nextCursor).toBe('h2');
    expect(first.links.next).toBe('/hosts?limit=2&cursor=h2');
    expect(third.nextCursor).toBeUndefined();
    expect(third.links).toEqual({});
  });

  it('rejects bad limit and cursor', async () => {
    const tooBig = await api.send('GET', '/stacks?limit=201');
    const badCursor = await api.send('GET', '/hosts?cursor=..%2F');

    expect(tooBig.status).toBe(400);
    expect((await tooBig.json()).error.details).toEqual([
      { path: 'query.limit', message: 'must be from 1 to 200' },
    ]);
    expect(badCursor.status).toBe(400);
    expect((await badCursor.json()).error.details[0].path).toBe('query.cursor');
  });
});
