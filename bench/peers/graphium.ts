/**
 * Graphium as a benchmark peer: each `BenchStack` becomes a schema.org ItemList document with
 * manual placement, posted to `POST /deployments` of a running API. The time of a deploy runs
 * from just before the POST to the moment the worker recorded the deployment as running
 * (its `finishedAt`), so the client's poll interval does not count.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import Docker from 'dockerode';
import { LABELS, stackSlug } from '../../core/names';
import { labDockerEndpoint, type LabHost } from '../../lib/lab';
import type { BenchStack, Peer, PeerResult } from '../types';
import { removeContainersByLabel } from './remove';

const DEFAULT_POLL_MS = 250;
const DEFAULT_TIMEOUT_MS = 600_000;

/** Deployment statuses in which the deploy workflow may still run. */
const ACTIVE_STATUSES = ['accepted', 'deploying'];

/**
 * Health check timing of every service, in seconds. Graphium probes at once, then after pauses
 * of 50 ms, 75 ms, then 100 ms, and fails a service that is not healthy after
 * startPeriod + (retries + 1) × (interval + timeout) = 10 + 31 × 4 = 134 s.
 */
const HEALTH_TIMING = { interval: 1, timeout: 3, retries: 30, startPeriod: 10 };

export interface GraphiumPeerOptions {
  /** Base URL of the API, such as `http://127.0.0.1:8480`. */
  apiUrl: string;
  /** Secret of a token with role admin, which registering hosts needs. */
  apiToken: string;
  /** The lab hosts, registered with their TLS endpoints. */
  hosts: LabHost[];
  /** Milliseconds between polls of a deployment or teardown. Default: 250. */
  pollMs?: number;
  /** Milliseconds a deploy or teardown may take before the peer gives up. Default: 600000. */
  timeoutMs?: number;
}

/** The fields of a deployment that `GET /deployments` lists. */
export interface DeploymentSummary {
  deploymentId: string;
  stackSlug: string;
  status: string;
  updatedAt: string;
  finishedAt: string | null;
}

export interface GraphiumPeer extends Peer {
  readonly name: 'graphium';
  /** Posts every stack at once and returns the seconds from the first POST until the last one ran. */
  deployMany(stacks: BenchStack[]): Promise<number>;
  /** Posts one stack and returns its deployment id, without waiting for it. */
  post(stack: BenchStack): Promise<string>;
  /** Polls until the deployments finish, and throws naming each one that did not end running. */
  awaitRunning(deploymentIds: string[]): Promise<DeploymentSummary[]>;
  request(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  /**
   * Force-removes the stack's containers, found by Graphium's stack label, over the hosts' unix
   * sockets. An interrupted run uses it, because the worker and Temporal may be gone by then.
   */
  removeContainers(stack: BenchStack): Promise<void>;
}

/** Converts a benchmark stack into the Graphium ItemList document that deploys it. */
export function toItemList(stack: BenchStack): Record<string, unknown> {
  return {
    '@context': 'https://schema.org',
    '@type': 'ItemList',
    name: stack.name,
    placement: 'manual',
    itemListElement: stack.services.map((service, index) => ({
      '@type': 'SoftwareApplication',
      position: index + 1,
      name: service.name,
      image: service.image,
      command: service.command,
      targetHost: service.host,
      environment: service.environment,
      ports: service.ports.map((port) => ({
        containerPort: port.containerPort,
        hostPort: port.hostPort,
        protocol: 'tcp',
      })),
      healthCheck: { type: 'command', command: service.healthCommand, ...HEALTH_TIMING },
      softwareRequirements: service.dependencies.map((dependency) => ({
        name: dependency.name,
        waitForHealthy: dependency.waitForHealthy,
      })),
    })),
  };
}

/** Creates the Graphium peer and registers the lab hosts with the API, unless they already are. */
export async function graphiumPeer(options: GraphiumPeerOptions): Promise<GraphiumPeer> {
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  const request = async (method: string, path: string, body?: unknown) => {
    const headers: Record<string, string> = { authorization: `Bearer ${options.apiToken}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${options.apiUrl}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  };

  for (const host of options.hosts) {
    const response = await request('POST', '/hosts', {
      name: host.name,
      docker: labDockerEndpoint(host),
      address: host.address,
      datacenter: host.datacenter,
      labels: host.labels,
      imagePull: 'never',
    });
    if (response.status === 409) continue;
    if (response.status !== 201 || response.body?.daemon?.reachable !== true) {
      throw new Error(
        `registering ${host.name} returned ${response.status}: ${JSON.stringify(response.body)}`,
      );
    }
  }

  const post = async (stack: BenchStack): Promise<string> => {
    const response = await request('POST', '/deployments', toItemList(stack));
    if (response.status !== 202) {
      throw new Error(
        `POST /deployments of stack ${stack.name} returned ${response.status}: ${JSON.stringify(response.body)}`,
      );
    }
    return response.body.deploymentId as string;
  };

  /**
   * Reads the deployments from the list route, which reads only the database. The detail
   * route would also query the workflow's progress, and each query is work for the worker. The
   * list is newest first, so paging stops once every wanted deployment is found.
   */
  const listDeployments = async (ids: string[]): Promise<Map<string, DeploymentSummary>> => {
    const found = new Map<string, DeploymentSummary>();
    let path: string | undefined = '/deployments?limit=200';
    while (path && !ids.every((id) => found.has(id))) {
      const response = await request('GET', path);
      if (response.status !== 200) {
        throw new Error(`GET ${path} returned ${response.status}: ${JSON.stringify(response.body)}`);
      }
      for (const item of response.body.items as DeploymentSummary[]) found.set(item.deploymentId, item);
      path = response.body.links?.next;
    }
    return found;
  };

  const awaitRunning = async (deploymentIds: string[]): Promise<DeploymentSummary[]> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const listed = await listDeployments(deploymentIds);
      const summaries = deploymentIds.map((id) => listed.get(id));
      if (summaries.every((summary) => summary && !ACTIVE_STATUSES.includes(summary.status))) {
        const failed = summaries.filter((summary) => summary!.status !== 'running');
        if (failed.length > 0) throw new Error(await describeFailures(failed as DeploymentSummary[]));
        return summaries as DeploymentSummary[];
      }
      if (Date.now() >= deadline) {
        const pending = deploymentIds.filter((_, index) => summaries[index]?.status !== 'running');
        throw new Error(`deployments ${pending.join(', ')} did not finish within ${timeoutMs} ms`);
      }
      await sleep(pollMs);
    }
  };

  const describeFailures = async (failed: DeploymentSummary[]): Promise<string> => {
    const lines = await Promise.all(
      failed.map(async (summary) => {
        const detail = await request('GET', `/deployments/${summary.deploymentId}`);
        const failure = (detail.body?.failure as string[] | null) ?? [];
        return `deployment ${summary.deploymentId} of ${summary.stackSlug} ended ${summary.status}: ${failure.join(' <- ')}`;
      }),
    );
    return lines.join('\n');
  };

  const deployMany = async (stacks: BenchStack[]): Promise<number> => {
    const startedAt = Date.now();
    const ids = await Promise.all(stacks.map(post));
    const summaries = await awaitRunning(ids);
    return (Math.max(...summaries.map(runningAt)) - startedAt) / 1000;
  };

  const remove = async (stack: BenchStack): Promise<void> => {
    const slug = stackSlug(stack.name);
    const existing = await request('GET', `/stacks/${slug}`);
    // No deployment was ever accepted, so there is nothing to remove.
    if (existing.status === 404) return;
    const response = await request('DELETE', `/stacks/${slug}`);
    if (response.status !== 202) {
      throw new Error(`DELETE /stacks/${slug} returned ${response.status}: ${JSON.stringify(response.body)}`);
    }
    const deadline = Date.now() + timeoutMs;
    let last: any;
    while (Date.now() < deadline) {
      last = (await request('GET', `/stacks/${slug}`)).body;
      if (last?.status === 'removed') return;
      await sleep(pollMs);
    }
    throw new Error(
      `the teardown of ${slug} did not finish within ${timeoutMs} ms; status ${last?.status}, ` +
        `failure: ${JSON.stringify(last?.failure)}`,
    );
  };

  const removeContainers = (stack: BenchStack): Promise<void> =>
    removeContainersByLabel(
      options.hosts.map((host) => new Docker({ socketPath: host.socket })),
      `${LABELS.stack}=${stackSlug(stack.name)}`,
    );

  return {
    name: 'graphium',
    async deploy(stack: BenchStack): Promise<PeerResult> {
      const startedAt = Date.now();
      const [summary] = await awaitRunning([await post(stack)]);
      return { seconds: (runningAt(summary!) - startedAt) / 1000, containers: stack.services.length };
    },
    deployMany,
    post,
    awaitRunning,
    remove,
    request,
    removeContainers,
  };
}

/** Epoch milliseconds at which the worker recorded the deployment as running. */
function runningAt(summary: DeploymentSummary): number {
  // Entering `running` sets finishedAt and updatedAt to the same instant, but later writes move updatedAt.
  return Date.parse(summary.finishedAt ?? summary.updatedAt);
}
