/**
 * Runs the main job on the embedded default. It starts Temporal, the worker and
 * the API in this process, brings up three lab Docker hosts and registers them.
 * Then it deploys examples/three-hosts.json through the HTTP API and prints the
 * host map and the app's proof that it reached PostgreSQL and Redis on the other
 * hosts. It keeps serving until interrupted.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import { demuxBuffer } from '../activities/health';
import { loadConfig } from '../lib/config';
import type { DockerEndpoint } from '../core/model';
import { ensureLab, labDockerEndpoint, type LabHost } from '../lib/lab';
import { createLogger } from '../lib/logger';
import { startService } from '../lib/service';

const LAB_EXAMPLE = new URL('../examples/three-hosts.json', import.meta.url);
const LOCAL_EXAMPLE = new URL('../examples/local-docker.json', import.meta.url);
const LOCAL_SOCKET = '/var/run/docker.sock';

/** A host the demo registers: a lab host reached over mutual TLS, or the local Docker daemon. */
type DemoHost = Pick<LabHost, 'name' | 'socket' | 'address' | 'datacenter' | 'labels'> & {
  docker: DockerEndpoint;
};

function say(message: string): void {
  process.stdout.write(`${message}\n`);
}

/**
 * Start the lab, which needs root for network namespaces. Without root, the local Docker
 * daemon is the one host, and the example uses public images it can pull.
 */
async function startHosts(): Promise<{ hosts: DemoHost[]; example: URL }> {
  if (process.getuid?.() === 0) return { hosts: await startLab(), example: LAB_EXAMPLE };
  // NOTE: this path is for machines without root; the project's own machines run as root, so
  // no test covers it.
  if (!existsSync(LOCAL_SOCKET)) {
    throw new Error(
      `not running as root and no Docker daemon at ${LOCAL_SOCKET}; run as root to use the lab`,
    );
  }
  say(`==> not root: using the local Docker daemon at ${LOCAL_SOCKET} as the only host`);
  // Containers reach ports published on their own host through the default bridge's gateway.
  const bridge = await new Docker({ socketPath: LOCAL_SOCKET }).getNetwork('bridge').inspect();
  const address: string = bridge.IPAM?.Config?.[0]?.Gateway ?? '172.17.0.1';
  const docker: DockerEndpoint = { protocol: 'unix', socketPath: LOCAL_SOCKET };
  const local = { name: 'local', socket: LOCAL_SOCKET, docker, address, datacenter: 'local', labels: {} };
  return { hosts: [local], example: LOCAL_EXAMPLE };
}

async function startLab(): Promise<DemoHost[]> {
  say('==> starting three lab Docker hosts (the first run builds the images, about two minutes)');
  const lab = await ensureLab(3);
  return lab.map((host) => ({ ...host, docker: labDockerEndpoint(host) }));
}

/** The admin token of the API this demo started, sent with every call. */
let apiToken = '';

async function call(apiUrl: string, method: string, path: string, body?: unknown) {
  const headers: Record<string, string> = { authorization: `Bearer ${apiToken}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${apiUrl}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

async function registerHosts(apiUrl: string, lab: DemoHost[]): Promise<void> {
  for (const host of lab) {
    const body = {
      name: host.name,
      docker: host.docker,
      address: host.address,
      datacenter: host.datacenter,
      labels: host.labels,
      // Lab hosts have no registry to pull from; a local daemon may pull public images.
      imagePull: host.docker.protocol === 'tcp' ? 'never' : 'missing',
    };
    let response = await call(apiUrl, 'POST', '/hosts', body);
    if (response.status === 409 && (await replaceOutdatedHost(apiUrl, host))) {
      response = await call(apiUrl, 'POST', '/hosts', body);
    }
    if (response.status === 201) say(`    registered ${host.name} (${host.address}, ${host.datacenter})`);
    else if (response.status === 409) say(`    ${host.name} is already registered`);
    else throw new Error(`registering ${host.name} failed: ${JSON.stringify(response.body)}`);
  }
}

/**
 * Deletes the registration of `host` when it names another Docker endpoint, such as the plain
 * TCP port 2375 that the lab served before it used mutual TLS. Returns whether it was deleted.
 *
 * @throws Error when the host is outdated but a stack still uses it, which the demo cannot fix.
 */
async function replaceOutdatedHost(apiUrl: string, host: DemoHost): Promise<boolean> {
  const registered = await call(apiUrl, 'GET', `/hosts/${host.name}`);
  if (registered.status !== 200) return false;
  if (endpointKey(registered.body.docker) === endpointKey(host.docker)) return false;
  const was = JSON.stringify(registered.body.docker);
  say(`    ${host.name} is registered with ${was}; registering it again with its current endpoint`);
  const deleted = await call(apiUrl, 'DELETE', `/hosts/${host.name}`);
  if (deleted.status === 204) return true;
  throw new Error(
    `${host.name} is registered with the Docker endpoint ${was}, which the lab no longer serves, ` +
      `and cannot be registered again (${deleted.body?.error?.message ?? deleted.status}); ` +
      'start the demo with an empty GRAPHIUM_DATA_DIR, or move the data folder away',
  );
}

/** Returns the fields of an endpoint in a fixed order, so two endpoints compare as text. */
function endpointKey(docker: any): string {
  const { protocol, socketPath, host, port, tls } = docker;
  return JSON.stringify([protocol, socketPath, host, port, tls?.ca, tls?.cert, tls?.key]);
}

/** Poll the deployment, printing each service's step when it changes, until it finishes. */
async function followDeployment(apiUrl: string, deploymentId: string): Promise<any> {
  const seen = new Map<string, string>();
  for (;;) {
    const { body } = await call(apiUrl, 'GET', `/deployments/${deploymentId}`);
    for (const service of body.progress?.services ?? []) {
      const line = `${service.step}${service.host ? ` on ${service.host}` : ''}`;
      if (seen.get(service.service) !== line) {
        seen.set(service.service, line);
        say(`    ${service.service.padEnd(10)} ${line}`);
      }
    }
    if (!['accepted', 'deploying'].includes(body.status)) return body;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function printHostMap(deployment: any): void {
  say('==> host map');
  const byHost = new Map<string, any[]>();
  for (const container of deployment.containers) {
    byHost.set(container.hostName, [...(byHost.get(container.hostName) ?? []), container]);
  }
  for (const [host, containers] of [...byHost].sort()) {
    say(`    ${host} (${containers[0].hostAddress})`);
    for (const container of containers) {
      const ports = container.ports
        .map((p: any) => `${p.hostPort}->${p.containerPort}/${p.protocol}`)
        .join(', ');
      say(
        `      ${container.service.padEnd(10)} ${container.health.padEnd(8)} ${container.containerName}  ${ports}`,
      );
      for (const connection of container.connections) {
        say(`        -> ${connection.name} @ ${connection.address}:${connection.port ?? '?'}`);
      }
    }
  }
}

async function printProof(lab: DemoHost[], deployment: any): Promise<void> {
  const app = deployment.containers.find((c: any) => c.service === 'app');
  const host = lab.find((h) => h.name === app?.hostName);
  if (!app || !host) return;
  const docker = new Docker({ socketPath: host.socket });
  const logs = (await docker
    .getContainer(app.containerId)
    .logs({ stdout: true, stderr: true })) as unknown as Buffer;
  say(`==> the app on ${host.name} says:`);
  for (const line of demuxBuffer(logs)
    .split('\n')
    .filter((l) => l.startsWith('proof:')))
    say(`    ${line}`);
}

let stopService: (() => Promise<void>) | undefined;
let stopping = false;

/** Stop on SIGINT or SIGTERM at any point; exiting also stops the Temporal dev server child. */
function handleSignals(): void {
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void (stopService?.() ?? Promise.resolve()).finally(() => process.exit(130));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

/**
 * Make room for a new deployment of the example: let a deploy left open by an
 * interrupted run finish, and remove the stack when an earlier run left it running.
 */
async function clearPreviousRun(apiUrl: string, slug: string): Promise<void> {
  const { status, body } = await call(apiUrl, 'GET', `/stacks/${slug}`);
  if (status !== 200) return;
  if (['accepted', 'deploying'].includes(body.status)) {
    // The workflow is durable, so this process's worker picks it up where it stopped.
    say(`==> deployment ${body.deploymentId} of an interrupted run resumes; waiting for it to finish`);
    await waitForStackStatus(apiUrl, slug, ['cancelled', 'rolled_back', 'running', 'removed']);
  }
  const current = await call(apiUrl, 'GET', `/stacks/${slug}`);
  if (current.body.status === 'running') {
    say(`==> removing the stack an earlier run left running`);
    await call(apiUrl, 'DELETE', `/stacks/${slug}`);
    await waitForStackStatus(apiUrl, slug, ['removed']);
  }
}

async function waitForStackStatus(apiUrl: string, slug: string, statuses: string[]): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const { body } = await call(apiUrl, 'GET', `/stacks/${slug}`);
    if (statuses.includes(body?.status)) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`stack ${slug} did not reach ${statuses.join(' or ')} within two minutes`);
}

async function main(): Promise<void> {
  handleSignals();
  const config = loadConfig();
  const { hosts: lab, example } = await startHosts();
  say('==> starting Temporal, the worker and the API');
  // The service's JSON log goes to a file, so this console shows only the demo's own lines.
  const logFile = join(config.dataDir, 'graphium.log');
  const logger = createLogger({ level: config.logLevel, file: logFile });
  const service = await startService({ config, api: true, worker: true, logger });
  stopService = service.stop;
  const apiUrl = service.apiUrl!;
  apiToken = service.apiToken!;
  say(`    API          ${apiUrl}`);
  say(`    Temporal UI  ${service.temporalUiUrl}`);
  say(`    log          ${logFile}`);
  if (!config.apiTokens) {
    say(
      `    API token    ${join(config.dataDir, 'api-token')} (send "Authorization: Bearer <its contents>")`,
    );
  }

  say('==> registering the lab hosts');
  await registerHosts(apiUrl, lab);

  await clearPreviousRun(apiUrl, 'distributed-app');
  say(`==> deploying ${example.pathname.split('/').slice(-2).join('/')}`);
  const stack = JSON.parse(readFileSync(example, 'utf8'));
  const accepted = await call(apiUrl, 'POST', '/deployments', stack);
  if (accepted.status !== 202) throw new Error(`deploy was rejected: ${JSON.stringify(accepted.body)}`);
  say(`    deployment ${accepted.body.deploymentId}, workflow ${accepted.body.workflowId}`);
  say(`    history: ${accepted.body.links.temporalUi}`);
  const started = Date.now();
  const deployment = await followDeployment(apiUrl, accepted.body.deploymentId);
  say(`==> ${deployment.status} after ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (deployment.status !== 'running') {
    say(`    failure: ${(deployment.failure ?? []).join(' <- ')}`);
  } else {
    printHostMap(deployment);
    await printProof(lab, deployment);
  }

  say('');
  say(`Graphium keeps serving at ${apiUrl}; press Ctrl-C to stop it (the stack stays up).`);
  const header = config.apiTokens
    ? 'Authorization: Bearer <a deploy or admin token>'
    : `Authorization: Bearer $(cat ${join(config.dataDir, 'api-token')})`;
  say(`Tear the stack down with: curl -X DELETE -H "${header}" ${apiUrl}/stacks/${deployment.stackSlug}`);
}

main().catch((error) => {
  // Requests in flight fail while the API shuts down; that is the stop, not an error.
  if (stopping) return;
  console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
