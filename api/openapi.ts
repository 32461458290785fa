/**
 * The OpenAPI 3 document of the API, built from the zod schemas the routes validate requests
 * with and from the response schemas in schemas.ts. `ROUTES` lists every route once. A unit test
 * compares it with the routes the app serves, and the API unit tests check every response they
 * receive against the status and body listed here.
 */
import { z } from 'zod';
import { requiredRole, type TokenRole } from './auth';
import { payloadsRequestSchema } from './codec';
import { listQuerySchema } from './deployments';
import { loginSchema } from './login';
import { hostListQuerySchema } from './hosts';
import { newHostSchema } from './host-schema';
import { orphanRemoveSchema } from './orphans';
import { MAX_PAGE_SIZE } from './pagination';
import {
  cancelAcceptedSchema,
  deploymentAcceptedSchema,
  deploymentDetailSchema,
  deploymentListSchema,
  errorBodySchema,
  healthSchema,
  loginResultSchema,
  hostListSchema,
  hostSchema,
  orphanAuditSchema,
  orphanRemovalSchema,
  payloadsSchema,
  planResultSchema,
  registeredHostSchema,
  stackListSchema,
  stackRequestSchema,
  teardownAcceptedSchema,
  validateResultSchema,
} from './schemas';
import { stackListQuerySchema, teardownQuerySchema } from './stacks';

export type HttpMethod = 'get' | 'post' | 'delete';

export interface ResponseDoc {
  description: string;
  /** Schema of a JSON body; absent for bodies that are not JSON or for no body. */
  schema?: z.ZodType;
  /** Media type of a body that is not JSON. */
  mediaType?: string;
  /** Response headers worth naming, with what they carry. */
  headers?: Record<string, string>;
}

export interface RouteDoc {
  method: HttpMethod;
  /** OpenAPI path, with `{name}` for a path parameter. */
  path: string;
  operationId: string;
  tag: string;
  summary: string;
  description?: string;
  /** Lowest token role allowed to call the route; `none` needs no token. */
  role: TokenRole | 'none';
  /** Path parameters with their descriptions. */
  params?: Record<string, string>;
  query?: z.ZodObject;
  body?: { schema: z.ZodType; description: string };
  /** Statuses particular to this route; the shared ones are added by `allResponses`. */
  responses: Record<number, ResponseDoc>;
}

const ERROR = errorBodySchema;

function error(description: string): ResponseDoc {
  return { description, schema: ERROR };
}

const STACK_BODY = {
  schema: stackRequestSchema,
  description:
    'A stack document (schema.org `ItemList` of `SoftwareApplication` items, or a JSON-LD `@graph`), ' +
    'either as the whole body or under `stack` with the request fields beside it.',
};

const unplaceable = error(
  '`unplaceable`: some service fits on no host; `details` gives the reason per service and host.',
);
const invalidStack = error(
  '`invalid_json`: the body is not JSON; `validation_failed`: the stack or a request field is ' +
    'invalid, and `details` names each path.',
);

/** Responses of a dashboard page: the HTML, or a redirect to the login page without valid credentials. */
function pageResponses(description: string): Record<number, ResponseDoc> {
  return {
    200: { description, mediaType: 'text/html' },
    302: {
      description: 'No valid token or session: the browser is sent to the login page.',
      headers: { Location: '`/login`.' },
    },
  };
}

/** Every route the API serves. */
export const ROUTES: readonly RouteDoc[] = [
  {
    method: 'get',
    path: '/healthz',
    operationId: 'health',
    tag: 'Service',
    summary: 'Liveness of the API process',
    role: 'none',
    responses: { 200: { description: 'The API is up.', schema: healthSchema } },
  },
  {
    method: 'get',
    path: '/openapi.json',
    operationId: 'openApiDocument',
    tag: 'Service',
    summary: 'This document',
    role: 'none',
    responses: { 200: { description: 'The OpenAPI 3 document.', mediaType: 'application/json' } },
  },
  {
    method: 'get',
    path: '/docs',
    operationId: 'docsPage',
    tag: 'Service',
    summary: 'This document as a web page',
    role: 'none',
    responses: { 200: { description: 'HTML page of every route.', mediaType: 'text/html' } },
  },
  {
    method: 'post',
    path: '/login',
    operationId: 'login',
    tag: 'Service',
    summary: 'Log in with a token, kept in an HTTP-only session cookie',
    description:
      'Sets the signed cookie `graphium_session`, which browsers then send instead of the bearer ' +
      'header. Takes JSON or an HTML form post with a `token` field. A form post is answered with ' +
      'a redirect, to the dashboard or back to the login page. Cookie requests that change ' +
      "state must come from the API's own origin, or from a Temporal UI origin for `/codec/*`.",
    role: 'none',
    body: { schema: loginSchema, description: 'The secret of a configured token.' },
    responses: {
      200: {
        description: 'Logged in.',
        schema: loginResultSchema,
        headers: { 'Set-Cookie': 'The session cookie.' },
      },
      303: {
        description:
          'An HTML form post: logged in and sent to the dashboard, or sent back to the login page ' +
          'because the token matches no configured token.',
        headers: {
          Location: '`/ui` after a login, `/login?error=invalid_token` after a wrong token.',
          'Set-Cookie': 'The session cookie, after a login.',
        },
      },
      401: error('`unauthorized`: the token of a JSON body matches no configured token.'),
      403: error('`origin_not_allowed`: the request came from another origin.'),
    },
  },
  {
    method: 'post',
    path: '/logout',
    operationId: 'logout',
    tag: 'Service',
    summary: 'Delete the session cookie',
    role: 'none',
    responses: {
      204: { description: 'The cookie is deleted.', headers: { 'Set-Cookie': 'An expired session cookie.' } },
      403: error('`origin_not_allowed`: the request came from another origin.'),
    },
  },
  {
    method: 'get',
    path: '/metrics',
    operationId: 'metrics',
    tag: 'Service',
    summary: 'Prometheus metrics',
    description:
      'Deployments by outcome, deploy durations, rollbacks, per-host errors, daemon reachability ' +
      'and HTTP requests, in the Prometheus text format.',
    role: 'read',
    responses: { 200: { description: 'Metrics in the text exposition format.', mediaType: 'text/plain' } },
  },
  {
    method: 'post',
    path: '/hosts',
    operationId: 'registerHost',
    tag: 'Hosts',
    summary: 'Register a Docker host',
    description:
      'Stores the host and asks its daemon for its version. The host is registered even when the ' +
      'daemon does not answer, and `daemon.error` says why.',
    role: 'admin',
    body: { schema: newHostSchema, description: 'The host. `docker` is a URL or the object form.' },
    responses: {
      201: {
        description: 'Registered.',
        schema: registeredHostSchema,
        headers: { Location: 'Path of the new host.' },
      },
      409: error('`host_exists`: a host with this name is registered.'),
    },
  },
  {
    method: 'get',
    path: '/hosts',
    operationId: 'listHosts',
    tag: 'Hosts',
    summary: 'List hosts with their live figures',
    description: `Sorted by name, at most ${MAX_PAGE_SIZE} per page. Figures are read from every daemon of the page in parallel.`,
    role: 'read',
    query: hostListQuerySchema,
    responses: { 200: { description: 'One page of hosts.', schema: hostListSchema } },
  },
  {
    method: 'get',
    path: '/hosts/{name}',
    operationId: 'getHost',
    tag: 'Hosts',
    summary: 'One host with its live figures',
    role: 'read',
    params: { name: 'Host name.' },
    responses: { 200: { description: 'The host.', schema: hostSchema } },
  },
  {
    method: 'delete',
    path: '/hosts/{name}',
    operationId: 'deleteHost',
    tag: 'Hosts',
    summary: 'Remove a host from the registry',
    role: 'admin',
    params: { name: 'Host name.' },
    responses: {
      204: { description: 'Removed.' },
      409: error('`host_in_use`: deployments that are not removed use the host; the message lists them.'),
    },
  },
  {
    method: 'post',
    path: '/deployments',
    operationId: 'deploy',
    tag: 'Deployments',
    summary: 'Deploy a stack',
    description:
      'Validates and plans the stack, then starts its deploy workflow and returns at once. Poll ' +
      'the deployment, which answers 304 while its ETag still matches.',
    role: 'deploy',
    body: STACK_BODY,
    responses: {
      202: {
        description: 'Accepted; the workflow runs.',
        schema: deploymentAcceptedSchema,
        headers: { Location: 'Path of the deployment.' },
      },
      400: invalidStack,
      409: error(
        '`stack_busy`: a workflow of the stack is running; `stack_running`: the stack runs and must be removed first.',
      ),
      422: unplaceable,
      503: error(
        '`temporal_unavailable`: Temporal did not respond; `search_attribute_not_registered`: the ' +
          'Temporal namespace lacks the search attributes. Nothing was started.',
      ),
    },
  },
  {
    method: 'get',
    path: '/deployments',
    operationId: 'listDeployments',
    tag: 'Deployments',
    summary: 'List deployments, newest first',
    role: 'read',
    query: listQuerySchema,
    responses: { 200: { description: 'One page of deployments.', schema: deploymentListSchema } },
  },
  {
    method: 'get',
    path: '/deployments/{id}',
    operationId: 'getDeployment',
    tag: 'Deployments',
    summary: 'One deployment: status, live progress, the map of what runs where, failure and rollback',
    role: 'read',
    params: { id: 'Deployment id, such as `dep_01j...`.' },
    responses: { 200: { description: 'The deployment.', schema: deploymentDetailSchema } },
  },
  {
    method: 'post',
    path: '/deployments/{id}/cancel',
    operationId: 'cancelDeployment',
    tag: 'Deployments',
    summary: 'Cancel a deploy in progress; what it created is rolled back',
    role: 'deploy',
    params: { id: 'Deployment id.' },
    responses: {
      202: { description: 'Cancellation requested.', schema: cancelAcceptedSchema },
      409: error('`deployment_finished`: the deploy has already finished.'),
      503: error('`temporal_unavailable`: Temporal did not respond, so nothing was cancelled.'),
    },
  },
  {
    method: 'post',
    path: '/stacks/validate',
    operationId: 'validateStack',
    tag: 'Stacks',
    summary: 'Read a stack as a deploy would, and report every error and warning',
    description: 'Problems of the stack come back in the 200 body; nothing is deployed.',
    role: 'deploy',
    body: STACK_BODY,
    responses: {
      200: { description: 'The verdict, the normalized stack and its plan.', schema: validateResultSchema },
    },
  },
  {
    method: 'post',
    path: '/stacks/plan',
    operationId: 'planStack',
    tag: 'Stacks',
    summary: 'Show where each service would run and why, without deploying',
    role: 'deploy',
    body: STACK_BODY,
    responses: {
      200: { description: 'The plan with scores and reasons.', schema: planResultSchema },
      400: invalidStack,
      422: unplaceable,
    },
  },
  {
    method: 'get',
    path: '/stacks',
    operationId: 'listStacks',
    tag: 'Stacks',
    summary: 'List stacks with the status of their newest deployment',
    role: 'read',
    query: stackListQuerySchema,
    responses: { 200: { description: 'One page of stacks, sorted by slug.', schema: stackListSchema } },
  },
  {
    method: 'get',
    path: '/stacks/{name}',
    operationId: 'getStack',
    tag: 'Stacks',
    summary: 'The newest deployment of a stack',
    role: 'read',
    params: { name: 'Stack name or slug.' },
    responses: { 200: { description: 'The deployment.', schema: deploymentDetailSchema } },
  },
  {
    method: 'delete',
    path: '/stacks/{name}',
    operationId: 'teardownStack',
    tag: 'Stacks',
    summary: 'Tear a stack down on every host it used',
    description:
      'Cancels a deploy still in progress, then removes containers, networks and volumes by label.',
    role: 'deploy',
    params: { name: 'Stack name or slug.' },
    query: teardownQuerySchema,
    responses: {
      202: {
        description: 'The teardown workflow started.',
        schema: teardownAcceptedSchema,
        headers: { Location: 'Path of the stack.' },
      },
      409: error('`stack_busy`: a teardown of the stack is already running.'),
      503: error(
        '`temporal_unavailable`: Temporal did not respond; `search_attribute_not_registered`: the ' +
          'Temporal namespace lacks the search attributes. Nothing was started.',
      ),
    },
  },
  {
    method: 'post',
    path: '/stacks/{name}/redeploy',
    operationId: 'redeployStack',
    tag: 'Stacks',
    summary: 'Deploy a stack again from the spec its newest deployment stored',
    description:
      'For a stack that was removed, rolled back, cancelled or failed: plans the stored spec on the ' +
      'hosts as they are now and starts a new deploy workflow, as `POST /deployments` does.',
    role: 'deploy',
    params: { name: 'Stack name or slug.' },
    responses: {
      202: {
        description: 'Accepted; the workflow runs.',
        schema: deploymentAcceptedSchema,
        headers: { Location: 'Path of the new deployment.' },
      },
      409: error(
        '`stack_running`: the stack runs and must be removed first; `stack_busy`: a workflow of the ' +
          'stack is running; `secrets_not_stored`: the stack has secret values, which are stored redacted.',
      ),
      422: unplaceable,
      503: error(
        '`temporal_unavailable`: Temporal did not respond; `search_attribute_not_registered`: the ' +
          'Temporal namespace lacks the search attributes. Nothing was started.',
      ),
    },
  },
  {
    method: 'get',
    path: '/orphans',
    operationId: 'auditOrphans',
    tag: 'Orphans',
    summary: 'List Graphium containers that belong to no live deployment',
    description:
      'Reads every host; a host whose daemon does not respond within 5 s is listed as unreachable.',
    role: 'read',
    responses: { 200: { description: 'The audit.', schema: orphanAuditSchema } },
  },
  {
    method: 'post',
    path: '/orphans/remove',
    operationId: 'removeOrphans',
    tag: 'Orphans',
    summary: 'Remove orphans, audited again first',
    role: 'admin',
    body: { schema: orphanRemoveSchema, description: '`containerIds` from the audit, or `all: true`.' },
    responses: { 200: { description: 'What was removed, failed or skipped.', schema: orphanRemovalSchema } },
  },
  {
    method: 'post',
    path: '/codec/encode',
    operationId: 'encodePayloads',
    tag: 'Codec',
    summary: 'Encrypt Temporal payloads',
    role: 'deploy',
    body: { schema: payloadsRequestSchema, description: 'Payloads in the Temporal remote codec format.' },
    responses: {
      200: { description: 'The encrypted payloads.', schema: payloadsSchema },
      503: error('`codec_unavailable`: the API has no encryption keys.'),
    },
  },
  {
    method: 'post',
    path: '/codec/decode',
    operationId: 'decodePayloads',
    tag: 'Codec',
    summary: 'Decrypt Temporal payloads, for the Temporal web UI',
    role: 'deploy',
    body: { schema: payloadsRequestSchema, description: 'Payloads in the Temporal remote codec format.' },
    responses: {
      200: { description: 'The decrypted payloads.', schema: payloadsSchema },
      422: error('`payload_not_decrypted`: no configured key decrypts a payload.'),
      503: error('`codec_unavailable`: the API has no encryption keys.'),
    },
  },
  // The dashboard's HTML pages and scripts need the same tokens and roles as the JSON routes, so
  // they are listed as text/html and text/javascript routes rather than left out of the document.
  {
    method: 'get',
    path: '/ui',
    operationId: 'dashboard',
    tag: 'Dashboard',
    summary: 'The web dashboard: the stacks page',
    role: 'read',
    responses: pageResponses('Every stack with its status, strategy, host count and last change.'),
  },
  {
    method: 'get',
    path: '/ui/stacks',
    operationId: 'stacksPage',
    tag: 'Dashboard',
    summary: 'Page of every stack',
    role: 'read',
    query: stackListQuerySchema,
    responses: pageResponses('Every stack with its status, strategy, host count and last change.'),
  },
  {
    method: 'get',
    path: '/ui/stacks/{name}',
    operationId: 'stackPage',
    tag: 'Dashboard',
    summary: 'Page of one stack: the deployment map, live progress, failure and rollback',
    role: 'read',
    params: { name: 'Stack name or slug.' },
    responses: {
      ...pageResponses('The newest deployment of the stack, grouped by host.'),
      404: {
        description: 'No deployment of a stack of this name was found, and the HTML page says so.',
        mediaType: 'text/html',
      },
    },
  },
  {
    method: 'get',
    path: '/ui/hosts',
    operationId: 'hostsPage',
    tag: 'Dashboard',
    summary: 'Page of the hosts with their live figures, and a form to add one',
    role: 'read',
    responses: pageResponses('Every host with datacenter, labels, status, CPUs, memory and containers.'),
  },
  {
    method: 'get',
    path: '/ui/deploy',
    operationId: 'deployPage',
    tag: 'Dashboard',
    summary: 'Page to write, plan and deploy a stack',
    role: 'read',
    responses: pageResponses('The deploy form, with the free CPU and memory of every host.'),
  },
  {
    method: 'get',
    path: '/ui/assets/{file}',
    operationId: 'dashboardAsset',
    tag: 'Dashboard',
    summary: 'A script of the dashboard pages',
    role: 'read',
    params: { file: 'File name, such as `stack.js`.' },
    responses: { 200: { description: 'The JavaScript module.', mediaType: 'text/javascript' } },
  },
  {
    method: 'get',
    path: '/login',
    operationId: 'loginPage',
    tag: 'Dashboard',
    summary: 'Login page: a form that posts an API token to `POST /login`',
    description:
      'Served with `POST /login`. With `?error=invalid_token`, where a form login with a wrong ' +
      'token lands, the page says that the token matched no configured token.',
    role: 'none',
    responses: { 200: { description: 'The login form.', mediaType: 'text/html' } },
  },
];

/**
 * Every status a route may return: its own, then those every route of its kind shares. A status
 * the route lists itself keeps its own description.
 */
export function allResponses(route: RouteDoc): Record<number, ResponseDoc> {
  const shared: Record<number, ResponseDoc> = {};
  if (route.body) {
    shared[400] = error('`invalid_json` or `validation_failed`: `details` names each invalid path.');
    shared[413] = error('`payload_too_large`: the body exceeds 1 MiB.');
    shared[415] = error('`unsupported_media_type`: the body is not sent as `application/json`.');
  }
  if (route.query) shared[400] ??= error('`validation_failed`: a query field is invalid.');
  if (route.params) shared[404] = error('`not_found`: no such object; the message names the list to check.');
  if (route.role !== 'none') {
    shared[401] = error('`unauthorized`: no token, or an unknown one.');
    shared[403] = error("`forbidden`: the token's role does not allow this request.");
  }
  if (route.method === 'get') {
    shared[304] = { description: 'Not modified: the `If-None-Match` ETag still matches.' };
  }
  shared[500] = error('`internal_error`: logged with its cause under the request id.');
  return { ...shared, ...route.responses };
}

const JSON_SCHEMA_OPTIONS = { target: 'openapi-3.0', io: 'input', unrepresentable: 'any' } as const;

/** Drops what zod emits that OpenAPI 3.0 does not define. */
function cleanSchema(context: { jsonSchema: unknown }): void {
  const schema = context.jsonSchema as Record<string, unknown>;
  delete schema.$id;
  delete schema.id;
  if (schema.format === 'starts_with') delete schema.format;
  // OpenAPI 3.0 checks `enum` before `nullable`, so a nullable enum must list null itself.
  if (schema.nullable === true && Array.isArray(schema.enum) && !schema.enum.includes(null)) {
    schema.enum = [...(schema.enum as unknown[]), null];
  }
}

/** Converts one parameter field to an inline schema, without `$ref`s. */
function fieldSchema(schema: z.ZodType): Record<string, unknown> {
  const result = z.toJSONSchema(schema, { ...JSON_SCHEMA_OPTIONS, override: cleanSchema });
  delete result.$schema;
  return result as Record<string, unknown>;
}

/**
 * Names every body schema of `routes` in zod's global registry, which `.meta({ id })` also fills,
 * so each becomes one entry of `components.schemas` and shared parts are referenced, not repeated.
 * Returns the name of each schema.
 */
function nameSchemas(routes: readonly RouteDoc[]): Map<z.ZodType, string> {
  const names = new Map<z.ZodType, string>();
  const name = (schema: z.ZodType, fallback: string) => {
    if (names.has(schema)) return;
    const id = z.globalRegistry.get(schema)?.id;
    if (id) {
      names.set(schema, id);
      return;
    }
    // A schema shared by several routes keeps the name its first route gave it.
    const named = schema.meta({ ...z.globalRegistry.get(schema), id: fallback });
    names.set(schema, fallback);
    names.set(named, fallback);
    registered.set(schema, named);
  };
  for (const route of routes) {
    const base = route.operationId[0]!.toUpperCase() + route.operationId.slice(1);
    if (route.body) name(route.body.schema, `${base}Request`);
    for (const [status, response] of Object.entries(route.responses)) {
      if (response.schema) name(response.schema, `${base}${status}`);
    }
  }
  return names;
}

/** Schemas without an id of their own, and the named copies `nameSchemas` registered for them. */
const registered = new Map<z.ZodType, z.ZodType>();

let components: { names: Map<z.ZodType, string>; schemas: Record<string, unknown> } | undefined;

/** Builds `components.schemas` once per process: registering a name twice is an error in zod. */
function schemaComponents() {
  if (components) return components;
  const names = nameSchemas(ROUTES);
  const converted = z.toJSONSchema(z.globalRegistry, {
    ...JSON_SCHEMA_OPTIONS,
    uri: (id) => `#/components/schemas/${id}`,
    override: cleanSchema,
  });
  // zod adds `$id` to each top-level schema after `override` has run.
  for (const schema of Object.values(converted.schemas)) delete (schema as { $id?: string }).$id;
  components = { names, schemas: converted.schemas };
  return components;
}

function schemaRef(schema: z.ZodType): Record<string, unknown> {
  const name = schemaComponents().names.get(schema);
  if (!name)
    throw new Error('a route schema has no name in the OpenAPI components; list its route in ROUTES');
  return { $ref: `#/components/schemas/${name}` };
}

function parameters(route: RouteDoc): unknown[] {
  const path = Object.entries(route.params ?? {}).map(([name, description]) => ({
    name,
    in: 'path',
    required: true,
    description,
    schema: { type: 'string' },
  }));
  const query = route.query
    ? Object.entries(route.query.shape as Record<string, z.ZodType>).map(([name, schema]) => {
        const described = fieldSchema(schema);
        const { description, ...rest } = described;
        return {
          name,
          in: 'query',
          required: !schema.safeParse(undefined).success,
          description,
          schema: rest,
        };
      })
    : [];
  return [...path, ...query];
}

function responseObject(response: ResponseDoc): Record<string, unknown> {
  const result: Record<string, unknown> = { description: response.description };
  if (response.schema) {
    result.content = { 'application/json': { schema: schemaRef(response.schema) } };
  } else if (response.mediaType) {
    result.content = { [response.mediaType]: {} };
  }
  const headers = { 'X-Request-Id': 'Id of this request, also in its log lines.', ...response.headers };
  result.headers = Object.fromEntries(
    Object.entries(headers).map(([name, description]) => [name, { description, schema: { type: 'string' } }]),
  );
  return result;
}

function operation(route: RouteDoc): Record<string, unknown> {
  const description = [
    route.description,
    route.role === 'none' ? 'No token needed.' : `Needs a token with role \`${route.role}\` or higher.`,
  ]
    .filter(Boolean)
    .join('\n\n');
  const result: Record<string, unknown> = {
    operationId: route.operationId,
    tags: [route.tag],
    summary: route.summary,
    description,
    parameters: parameters(route),
    responses: Object.fromEntries(
      Object.entries(allResponses(route)).map(([status, response]) => {
        // Every successful GET carries a weak ETag for If-None-Match.
        if (route.method !== 'get' || status !== '200') return [status, responseObject(response)];
        const etag =
          'Weak validator of the body; send it back in `If-None-Match` to get 304 while it matches.';
        return [status, responseObject({ ...response, headers: { ETag: etag, ...response.headers } })];
      }),
    ),
  };
  if (route.body) {
    result.requestBody = {
      required: true,
      description: route.body.description,
      content: { 'application/json': { schema: schemaRef(route.body.schema) } },
    };
  }
  if (route.role === 'none') result.security = [];
  return result;
}

/** Builds the OpenAPI document of every route in ROUTES. */
export function openApiDocument(version = '0.1.0') {
  const routes = ROUTES;
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    paths[route.path] ??= {};
    paths[route.path]![route.method] = operation(route);
  }
  return {
    openapi: '3.0.3',
    info: {
      title: 'Graphium API',
      version,
      description:
        'Deploys stacks of containers across Docker hosts as durable Temporal workflows. Every ' +
        'failure has the body `{"error": {"code", "message", "details"?, "requestId"}}`.',
    },
    tags: [...new Set(routes.map((route) => route.tag))].map((name) => ({ name })),
    components: {
      schemas: schemaComponents().schemas,
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'A token `name:role:secret` from GRAPHIUM_API_TOKENS; send its secret.',
        },
      },
    },
    security: [{ bearer: [] }],
    paths,
  };
}

/** The route documented for a request, matched by method and path; undefined when none is. */
export function findRoute(method: string, path: string, routes: readonly RouteDoc[] = ROUTES) {
  const lower = method.toLowerCase();
  return routes.find((route) => {
    if (route.method !== lower) return false;
    const pattern = route.path.replace(/\{[^}]+\}/g, '[^/]+');
    return new RegExp(`^${pattern}$`).test(path);
  });
}

/** Returns whether `role` is the role the auth middleware requires for the route's method and path. */
export function roleMatches(route: RouteDoc): boolean {
  if (route.role === 'none') return true;
  const examplePath = route.path.replace(/\{[^}]+\}/g, 'x');
  return requiredRole(route.method.toUpperCase(), examplePath) === route.role;
}
