/**
 * Prometheus metrics at `GET /metrics`, in the text exposition format 0.0.4.
 *
 * Deployment, rollback and host figures are read from the database at each scrape, so they are
 * right when the API and the workers run as separate processes. HTTP request figures are counted
 * by this API process alone, since its start, with prom-client.
 */
import { isNotNull, sql } from 'drizzle-orm';
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import { Counter, Histogram, Registry } from 'prom-client';
import type { HostRecord } from '../core/model';
import type { Database } from '../db/client';
import { listHosts, toHostRecord } from '../db/repository';
import { DEPLOYMENT_STATUSES, deployments, hosts } from '../db/schema';
import { CANCELLED_ON_REQUEST } from '../workflows/contract';
import type { AppDeps, AppEnv } from './context';
import { readFacts } from './placement';

/** Upper bounds, in seconds, of the deploy duration buckets: 5 s to 1 h. */
export const DEPLOY_DURATION_BUCKETS = [5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600];

/** Upper bounds, in seconds, of the HTTP request duration buckets: 5 ms to 10 s. */
export const HTTP_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Outcomes of a finished deploy, the label of the duration histogram. */
export const DEPLOY_OUTCOMES = ['running', 'rolled_back', 'cancelled', 'failed'] as const;

/** A daemon check older than this is read again at the next scrape. */
export const DAEMON_CHECK_MAX_AGE_MS = 30_000;

/** A scrape waits at most this long for a new daemon check, then reports the previous one. */
export const DAEMON_CHECK_WAIT_MS = 500;

/** Route label of a request that matched no route, so unknown paths add no new series. */
const UNMATCHED_ROUTE = 'unmatched';

/** Method label values; any other method is counted as `other`. */
const HTTP_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** The request counting middleware and the `/metrics` sub-app, sharing one registry. */
export interface ApiMetrics {
  countRequests: MiddlewareHandler<AppEnv>;
  routes: Hono<AppEnv>;
}

/**
 * Creates the metrics of one API app. Each app gets its own prom-client registry, so apps
 * built side by side, as in tests, count apart.
 *
 * @example
 * const metrics = apiMetrics(deps);
 * app.use(metrics.countRequests);
 * app.route('/metrics', metrics.routes);
 */
export function apiMetrics(deps: AppDeps): ApiMetrics {
  const registry = new Registry();
  const requests = new Counter({
    name: 'graphium_http_requests_total',
    help: 'HTTP requests handled by this API process, by method, route pattern and status.',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
  });
  const durations = new Histogram({
    name: 'graphium_http_request_duration_seconds',
    help: 'Time this API process took to answer HTTP requests, by method, route pattern and status.',
    labelNames: ['method', 'route', 'status'],
    buckets: HTTP_DURATION_BUCKETS,
    registers: [registry],
  });

  const countRequests: MiddlewareHandler<AppEnv> = async (c, next) => {
    const started = performance.now();
    await next();
    const labels = {
      method: HTTP_METHODS.has(c.req.method) ? c.req.method : 'other',
      route: routePattern(c),
      status: String(c.res.status),
    };
    requests.inc(labels);
    durations.observe(labels, (performance.now() - started) / 1000);
  };

  const daemons = new DaemonChecks(deps);
  const routes = new Hono<AppEnv>();
  routes.get('/', async (c) => {
    const [stored, requestText] = await Promise.all([storedMetrics(deps.db, daemons), registry.metrics()]);
    return c.body(stored + requestText, 200, { 'Content-Type': registry.contentType });
  });
  return { countRequests, routes };
}

/**
 * Returns the pattern of the route that handles the request, such as `/deployments/:id`. This is
 * the last matched route registered for a method, because middleware registered with `use` matches
 * under the method `ALL` and runs first. Requests that only middleware matched count as
 * `unmatched`. `c.req.routePath` is not used, because it names the middleware when one of them,
 * such as the token check, responded to the request.
 */
function routePattern(c: Context<AppEnv>): string {
  const handler = matchedRoutes(c).findLast((route) => route.method !== 'ALL');
  return handler?.path ?? UNMATCHED_ROUTE;
}

/** Renders every figure read from the database, and the daemon checks, as exposition text. */
async function storedMetrics(db: Database, daemons: DaemonChecks): Promise<string> {
  const hosts = (await listHosts(db)).map(toHostRecord);
  const [statuses, durations, rollbacks, hostErrors, daemonUp] = await Promise.all([
    deploymentsByStatus(db),
    deployDurations(db),
    rollbackCounts(db),
    hostErrorCounts(db),
    daemons.read(hosts),
  ]);
  return [
    family(
      'graphium_deployments',
      'gauge',
      'Deployments in the database, by current status.',
      statuses.map(({ status, count }) => ({ labels: { status }, value: count })),
    ),
    durationHistogram(durations),
    family(
      'graphium_rollbacks',
      'gauge',
      'Deployments whose rollback ran, by the outcome of the deploy: rolled_back or cancelled.',
      rollbacks.byOutcome.map(({ outcome, count }) => ({ labels: { outcome }, value: count })),
    ),
    family(
      'graphium_rollbacks_incomplete',
      'gauge',
      'Rollbacks that could not remove a container, network or volume, by the status of the ' +
        'reconciliation that removes it later: pending, done, incomplete, or none when none started.',
      rollbacks.incomplete.map(({ reconciliation, count }) => ({ labels: { reconciliation }, value: count })),
    ),
    family(
      'graphium_host_deployment_errors',
      'gauge',
      'Deployments whose failure chain or rollback failures name the registered host.',
      hostErrors.map(({ host, count }) => ({ labels: { host }, value: count })),
    ),
    family(
      'graphium_host_daemon_up',
      'gauge',
      `1 when the host's Docker daemon responded to the last read of its facts, 0 when it did not. ` +
        `A read is at most ${DAEMON_CHECK_MAX_AGE_MS / 1000} s old, and a host not read yet has no sample.`,
      [...daemonUp].map(([host, up]) => ({ labels: { host }, value: up ? 1 : 0 })),
    ),
  ].join('');
}

// --- Database figures ---------------------------------------------------------------------------

/**
 * The outcome of a finished deploy. A teardown later sets the status to `removing` or `removed`,
 * so for those rows the outcome is read from what the deploy recorded. A rollback report means
 * `cancelled` when the failure chain starts with CANCELLED_ON_REQUEST, and `rolled_back` otherwise.
 * A failure alone means the workflow ended without an outcome (`failed`). Neither means `running`.
 */
const deployOutcome = sql<string>`case
  when ${deployments.status} in ('running', 'rolled_back', 'cancelled', 'failed') then ${deployments.status}
  when ${deployments.compensation} is not null and ${deployments.failure}->>0 = ${CANCELLED_ON_REQUEST}
    then 'cancelled'
  when ${deployments.compensation} is not null then 'rolled_back'
  when ${deployments.failure} is not null then 'failed'
  else 'running'
end`;

const count = sql<number>`count(*)::int`.mapWith(Number);

async function deploymentsByStatus(db: Database): Promise<{ status: string; count: number }[]> {
  const rows = await db
    .select({ status: deployments.status, count })
    .from(deployments)
    .groupBy(deployments.status);
  const counts = new Map<string, number>(DEPLOYMENT_STATUSES.map((status) => [status, 0]));
  for (const row of rows) counts.set(row.status, row.count);
  return [...counts].map(([status, value]) => ({ status, count: value }));
}

interface DurationFigures {
  outcome: string;
  /** Deployments at or under each bound of DEPLOY_DURATION_BUCKETS, in the same order. */
  buckets: number[];
  sum: number;
  count: number;
}

/** Counts every finished deployment into cumulative buckets of `finishedAt - createdAt` seconds. */
async function deployDurations(db: Database): Promise<DurationFigures[]> {
  // createdAt comes from the database clock and finishedAt from the clock of the process that
  // recorded the outcome, so a skew between them is clamped at zero.
  const seconds = sql`greatest(0, extract(epoch from ${deployments.finishedAt} - ${deployments.createdAt}))::float8`;
  const rows = await db
    .select({
      outcome: deployOutcome,
      count,
      sum: sql<number>`coalesce(sum(${seconds}), 0)::float8`.mapWith(Number),
      buckets: sql<number[]>`array[${sql.join(
        DEPLOY_DURATION_BUCKETS.map((bound) => sql`count(*) filter (where ${seconds} <= ${bound})::int`),
        sql`, `,
      )}]`,
    })
    .from(deployments)
    .where(isNotNull(deployments.finishedAt))
    .groupBy(sql`1`);

  const byOutcome = new Map(rows.map((row) => [row.outcome, row]));
  return DEPLOY_OUTCOMES.map((outcome) => {
    const row = byOutcome.get(outcome);
    return {
      outcome,
      buckets: DEPLOY_DURATION_BUCKETS.map((_bound, index) => Number(row?.buckets[index] ?? 0)),
      sum: row?.sum ?? 0,
      count: row?.count ?? 0,
    };
  });
}

interface RollbackFigures {
  byOutcome: { outcome: string; count: number }[];
  incomplete: { reconciliation: string; count: number }[];
}

/** True when the rollback report's `key` is an array with at least one entry. */
function reportLists(key: string) {
  const list = sql`${deployments.compensation}->${key}`;
  return sql`(jsonb_typeof(${list}) = 'array' and ${list} <> '[]'::jsonb)`;
}

/**
 * Counts the deployments with a rollback report, and those whose rollback left something: a
 * container, network or volume it could not remove, or a reconciliation not `done`.
 */
async function rollbackCounts(db: Database): Promise<RollbackFigures> {
  const reconciliationStatus = sql`${deployments.compensation}->'reconciliation'->>'status'`;
  const left = sql`${reportLists('failed')} or ${reportLists('failedResources')}
    or ${reconciliationStatus} in ('pending', 'incomplete')`;
  const rows = await db
    .select({
      outcome: deployOutcome,
      reconciliation: sql<string>`coalesce(${reconciliationStatus}, 'none')`,
      count,
      left: sql<number>`count(*) filter (where ${left})::int`.mapWith(Number),
    })
    .from(deployments)
    .where(sql`jsonb_typeof(${deployments.compensation}) = 'object'`)
    .groupBy(sql`1`, sql`2`);

  const byOutcome = new Map([
    ['rolled_back', 0],
    ['cancelled', 0],
  ]);
  const incomplete = new Map(['none', 'pending', 'done', 'incomplete'].map((status) => [status, 0]));
  for (const row of rows) {
    byOutcome.set(row.outcome, (byOutcome.get(row.outcome) ?? 0) + row.count);
    incomplete.set(row.reconciliation, (incomplete.get(row.reconciliation) ?? 0) + row.left);
  }
  return {
    byOutcome: [...byOutcome].map(([outcome, value]) => ({ outcome, count: value })),
    incomplete: [...incomplete].map(([status, value]) => ({ reconciliation: status, count: value })),
  };
}

/** Paths in a rollback report that name a host whose removals failed. */
const REPORT_HOST_FAILURES =
  '$.failed[*].host == $host || $.failedResources[*].host == $host || ' +
  '$.reconciliation.hosts[*] == $host || $.reconciliation.failed[*].host == $host';

/**
 * Counts, for each registered host, the deployments that name it in their failure chain (as
 * `host NAME`, the form the deploy's host error messages use) or in the failures of their rollback
 * report: `failed`, `failedResources`, and the reconciliation's `hosts` and `failed`.
 */
async function hostErrorCounts(db: Database): Promise<{ host: string; count: number }[]> {
  // Every character outside a-z and 0-9 gets a backslash, so the name matches only itself: in
  // the replacement, `\\` is a backslash and `\1` the matched character.
  const escapedName = sql`regexp_replace(${hosts.name}, '([^a-z0-9])', ${String.raw`\\\1`}, 'g')`;
  const namePattern = sql`'(^|[^a-z0-9-])host ' || ${escapedName} || '($|[^a-z0-9-])'`;
  const named = sql<number>`(
    select count(*)::int from deployments d
    where (
      jsonb_typeof(d.failure) = 'array' and exists (
        select 1 from jsonb_array_elements_text(d.failure) as chain(message)
        where chain.message ~* (${namePattern})
      )
    ) or (
      jsonb_typeof(d.compensation) = 'object'
      and jsonb_path_match(d.compensation, ${REPORT_HOST_FAILURES}::jsonpath, jsonb_build_object('host', ${hosts.name}))
    )
  )`.mapWith(Number);
  return db.select({ host: hosts.name, count: named }).from(hosts).orderBy(hosts.name);
}

// --- Daemon checks ------------------------------------------------------------------------------

/**
 * Whether each host's daemon responded to the last read of its facts. A scrape starts a new read when
 * the last one is older than DAEMON_CHECK_MAX_AGE_MS or missed a registered host, and waits for it
 * at most DAEMON_CHECK_WAIT_MS. A read that takes longer, such as one that waits for a dead host's
 * timeout, goes on in the background and serves a later scrape.
 */
class DaemonChecks {
  private last?: { at: number; up: Map<string, boolean> };
  private pending?: Promise<void>;

  constructor(private readonly deps: AppDeps) {}

  async read(hosts: readonly HostRecord[]): Promise<Map<string, boolean>> {
    if (hosts.length > 0 && this.isStale(hosts) && !this.pending) {
      this.pending = this.refresh(hosts).finally(() => {
        this.pending = undefined;
      });
    }
    if (this.pending) await waitAtMost(this.pending, DAEMON_CHECK_WAIT_MS);

    const registered = new Set(hosts.map((host) => host.name));
    const up = [...(this.last?.up ?? [])].filter(([name]) => registered.has(name));
    return new Map(up.sort(([a], [b]) => a.localeCompare(b)));
  }

  private isStale(hosts: readonly HostRecord[]): boolean {
    if (!this.last || Date.now() - this.last.at > DAEMON_CHECK_MAX_AGE_MS) return true;
    return hosts.some((host) => !this.last!.up.has(host.name));
  }

  private async refresh(hosts: readonly HostRecord[]): Promise<void> {
    try {
      const facts = await readFacts(this.deps, hosts);
      const up = new Map(hosts.map((host) => [host.name, facts[host.name]?.reachable === true]));
      this.last = { at: Date.now(), up };
    } catch (error) {
      this.deps.logger.warn({ err: error }, 'reading host facts for /metrics failed');
    }
  }
}

/** Resolves when `promise` settles or after `ms`, whichever comes first. */
async function waitAtMost(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  try {
    await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// --- Exposition text ----------------------------------------------------------------------------

interface Sample {
  /** Appended to the family name, such as `_bucket`. Default: none. */
  suffix?: string;
  labels: Record<string, string>;
  value: number;
}

/** Renders one metric family: its HELP and TYPE lines, then one line per sample. */
function family(name: string, type: 'gauge' | 'histogram', help: string, samples: Sample[]): string {
  const lines = [
    `# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`,
    `# TYPE ${name} ${type}`,
  ];
  for (const sample of samples) {
    const labels = Object.entries(sample.labels)
      .map(([key, value]) => `${key}="${escapeLabelValue(value)}"`)
      .join(',');
    const labelText = labels ? `{${labels}}` : '';
    lines.push(`${name}${sample.suffix ?? ''}${labelText} ${formatValue(sample.value)}`);
  }
  return `${lines.join('\n')}\n`;
}

function durationHistogram(figures: DurationFigures[]): string {
  const samples = figures.flatMap(({ outcome, buckets, sum, count }): Sample[] => [
    ...DEPLOY_DURATION_BUCKETS.map((bound, index) => ({
      suffix: '_bucket',
      labels: { outcome, le: String(bound) },
      value: buckets[index]!,
    })),
    { suffix: '_bucket', labels: { outcome, le: '+Inf' }, value: count },
    { suffix: '_sum', labels: { outcome }, value: sum },
    { suffix: '_count', labels: { outcome }, value: count },
  ]);
  return family(
    'graphium_deployment_duration_seconds',
    'histogram',
    'Seconds from the deploy request to the outcome of every finished deployment, by outcome: ' +
      'running, rolled_back, cancelled or failed. A deployment keeps its outcome after a teardown.',
    samples,
  );
}

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}
