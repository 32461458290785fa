/**
 * The Docker Swarm peer: joins the lab hosts into one swarm, deploys each stack with
 * `docker stack deploy` from the file `swarmStackFile` builds, and times it until every task
 * runs.
 *
 * Swarm reports a task as `running` only once its container is healthy. On Docker 20.10 the task
 * stays `starting` while the container's health is `starting`. On the lab, a PostgreSQL task
 * turned `running` together with its container's first passing probe. So "every task running"
 * here means every container healthy, as for the other peers.
 */
import { performance } from 'node:perf_hooks';
import type Docker from 'dockerode';
import type { LabHost } from '../../lib/lab';
import { SWARM_NETWORK, swarmStackFile } from '../compose-file';
import type { BenchStack, LabHostName, Peer, PeerResult } from '../types';
import { containerName, dockerClient, requireLocalImages, runDocker, sleep, writeTempJson } from './command';

export interface SwarmPeerOptions {
  /** The lab hosts that form the swarm. The first one is its only manager. */
  hosts: LabHost[];
  /** Time allowed from `stack deploy` until every task runs, in milliseconds. Default 300,000. */
  deployTimeoutMs?: number;
  /** Time allowed for `stack rm` and the removal of its containers and network, in milliseconds. Default 120,000. */
  removeTimeoutMs?: number;
}

export interface SwarmPeer extends Peer {
  /**
   * Creates the swarm: the first host initializes it, and the others join as workers. `deploy`
   * calls it when it has not run yet.
   *
   * @throws Error when a host is already part of a swarm, and leaves that swarm alone.
   */
  setup(): Promise<void>;
  /** Makes every host leave the swarm; see `leaveSwarm`. */
  teardown(): Promise<void>;
}

/** Label that `docker stack deploy` puts on the stack's services, tasks, containers and networks. */
const STACK_LABEL = 'com.docker.stack.namespace';

/**
 * Address pool for the swarm's overlay networks, ingress included. Swarm's default, 10.0.0.0/8,
 * overlaps the lab's bridge (10.213.0.0/24) and the lab daemons' pools (10.221.0.0/16 upward, see
 * scripts/lab.sh), so the swarm takes /24 subnets from a range the lab leaves unused.
 */
const OVERLAY_ADDRESS_POOL = '10.212.0.0/16';
const OVERLAY_SUBNET_BITS = 24;

/** Port of the swarm's control plane (Docker's default). */
const SWARM_PORT = 2377;

/** Bridge network Docker creates on each node that joins a swarm and keeps after it leaves. */
const GATEWAY_BRIDGE = 'docker_gwbridge';

/** Pause between two looks at the swarm's tasks or nodes, in milliseconds. */
const POLL_MS = 50;

/** Time allowed for one swarm CLI call (init, join, leave), in milliseconds. */
const SWARM_COMMAND_TIMEOUT_MS = 60_000;

/** Time allowed for every node to report `ready` after joining, in milliseconds. */
const NODES_READY_TIMEOUT_MS = 60_000;

/**
 * Task states that end a task. On a fresh deploy each means its container stopped (`complete` when
 * it exited with 0) or never started, and Swarm would start a new task, which the timing must not
 * hide. So the deploy fails at the first one.
 */
const FAILED_TASK_STATES = new Set(['complete', 'failed', 'rejected', 'orphaned']);

/**
 * Creates the Swarm peer over `options.hosts`. Each service runs on the node of its
 * `BenchService.host`, which must be one of these hosts.
 */
export function swarmPeer(options: SwarmPeerOptions): SwarmPeer {
  const { hosts } = options;
  if (hosts.length === 0) throw new Error('swarmPeer needs at least one lab host; got none');
  const manager = hosts[0]!;
  const managerDocker = dockerClient(manager);
  const deployTimeoutMs = options.deployTimeoutMs ?? 300_000;
  const removeTimeoutMs = options.removeTimeoutMs ?? 120_000;
  let nodeNames: Record<LabHostName, string> | undefined;

  async function setup(): Promise<void> {
    if (nodeNames) return;
    const names = await readNodeNames(hosts);
    try {
      await createSwarm(manager, hosts.slice(1));
      await awaitNodesReady(managerDocker, hosts.length);
    } catch (error) {
      await leaveSwarm(hosts).catch((leaveError: unknown) => {
        console.error(`swarm: leaving the partly created swarm failed: ${(leaveError as Error).message}`);
      });
      throw error;
    }
    nodeNames = names;
  }

  return {
    name: 'swarm',
    setup,

    async teardown(): Promise<void> {
      nodeNames = undefined;
      await leaveSwarm(hosts);
    },

    async deploy(stack: BenchStack): Promise<PeerResult> {
      await setup();
      for (const host of hosts) {
        const images = stack.services.filter((service) => service.host === host.name).map((s) => s.image);
        await requireLocalImages(host, images);
      }
      const unknown = stack.services.filter((service) => !hosts.some((host) => host.name === service.host));
      if (unknown.length > 0) {
        throw new Error(
          `services of stack ${stack.name} are placed on hosts outside the swarm: ` +
            `${unknown.map((service) => `${service.name} on ${service.host}`).join(', ')}; ` +
            `the swarm has ${hosts.map((host) => host.name).join(', ')}`,
        );
      }

      const written = await writeTempJson(
        'graphium-bench-swarm-',
        'stack.json',
        swarmStackFile(stack, { nodeNames }),
      );
      try {
        const start = performance.now();
        const deadline = Date.now() + deployTimeoutMs;
        await runDocker(
          manager,
          ['stack', 'deploy', '--resolve-image', 'never', '-c', written.path, stack.name],
          deployTimeoutMs,
        );
        const containers = await awaitTasksRunning(managerDocker, stack, deadline);
        return { seconds: (performance.now() - start) / 1000, containers };
      } finally {
        await written.cleanup();
      }
    },

    async remove(stack: BenchStack): Promise<void> {
      const info = await managerDocker.info();
      // Without a swarm there is no stack to remove: setup never ran or failed.
      if (info.Swarm?.LocalNodeState !== 'active') return;
      await runDocker(manager, ['stack', 'rm', stack.name], removeTimeoutMs);
      await awaitStackGone(hosts, stack.name, Date.now() + removeTimeoutMs);
    },
  };
}

/**
 * Makes every host of `hosts` leave its swarm (`docker swarm leave --force`), workers first,
 * then removes the `docker_gwbridge` network that joining created. A host that is in no swarm is
 * left as it is. Tries every host, then throws one error listing every failure.
 */
export async function leaveSwarm(hosts: LabHost[]): Promise<void> {
  const failures: string[] = [];
  const states = await Promise.all(
    hosts.map(async (host) => {
      const info = await dockerClient(host).info();
      return {
        host,
        state: info.Swarm?.LocalNodeState as string,
        manager: Boolean(info.Swarm?.ControlAvailable),
      };
    }),
  );
  const ordered = [...states.filter((entry) => !entry.manager), ...states.filter((entry) => entry.manager)];

  for (const { host, state } of ordered) {
    if (state === 'inactive') continue;
    try {
      await runDocker(host, ['swarm', 'leave', '--force'], SWARM_COMMAND_TIMEOUT_MS);
    } catch (error) {
      failures.push(`${host.name}: ${(error as Error).message}`);
    }
  }

  for (const host of hosts) {
    try {
      await removeGatewayBridge(host);
    } catch (error) {
      failures.push(`${host.name}: ${(error as Error).message}`);
    }
  }
  if (failures.length > 0) {
    throw new Error(`leaving the swarm failed on ${failures.length} hosts:\n${failures.join('\n')}`);
  }
}

/** Returns each host's swarm node hostname, the `Name` its daemon reports, after checking that no host is in a swarm. */
async function readNodeNames(hosts: LabHost[]): Promise<Record<LabHostName, string>> {
  const names: Record<LabHostName, string> = {};
  for (const host of hosts) {
    const info = await dockerClient(host).info();
    const state = info.Swarm?.LocalNodeState as string;
    if (state !== 'inactive') {
      throw new Error(
        `${host.name} is already in a swarm (state ${state}); if no one else uses it, leave it with: ` +
          `docker -H unix://${host.socket} swarm leave --force`,
      );
    }
    names[host.name] = info.Name as string;
  }
  return names;
}

/** Initializes the swarm on `manager` and joins `workers`, every node advertising its lab address. */
async function createSwarm(manager: LabHost, workers: LabHost[]): Promise<void> {
  await runDocker(
    manager,
    [
      'swarm',
      'init',
      '--advertise-addr',
      manager.address,
      '--listen-addr',
      `${manager.address}:${SWARM_PORT}`,
      '--default-addr-pool',
      OVERLAY_ADDRESS_POOL,
      '--default-addr-pool-mask-length',
      String(OVERLAY_SUBNET_BITS),
    ],
    SWARM_COMMAND_TIMEOUT_MS,
  );
  const token = (
    await runDocker(manager, ['swarm', 'join-token', '-q', 'worker'], SWARM_COMMAND_TIMEOUT_MS)
  ).trim();

  await Promise.all(
    workers.map((worker) =>
      runDocker(
        worker,
        [
          'swarm',
          'join',
          '--token',
          token,
          '--advertise-addr',
          worker.address,
          '--listen-addr',
          `${worker.address}:${SWARM_PORT}`,
          `${manager.address}:${SWARM_PORT}`,
        ],
        SWARM_COMMAND_TIMEOUT_MS,
      ),
    ),
  );
}

async function awaitNodesReady(managerDocker: Docker, count: number): Promise<void> {
  const deadline = Date.now() + NODES_READY_TIMEOUT_MS;
  for (;;) {
    const nodes = await managerDocker.listNodes();
    const ready = nodes.filter((node) => node.Status?.State === 'ready');
    if (ready.length >= count) return;
    if (Date.now() > deadline) {
      throw new Error(
        `only ${ready.length} of ${count} swarm nodes ready after ${NODES_READY_TIMEOUT_MS} ms: ` +
          nodes.map((node) => `${node.Description?.Hostname} ${node.Status?.State}`).join(', '),
      );
    }
    await sleep(POLL_MS);
  }
}

/**
 * Polls the manager until every service of `stack` has a task in state `running`, and returns
 * the number of running tasks.
 *
 * @throws Error when a task fails or is rejected, or when `deadline` (epoch milliseconds) passes.
 */
async function awaitTasksRunning(
  managerDocker: Docker,
  stack: BenchStack,
  deadline: number,
): Promise<number> {
  const filters = { label: [`${STACK_LABEL}=${stack.name}`] };
  const services = await managerDocker.listServices({ filters });
  const serviceNames = new Map(services.map((service) => [service.ID, service.Spec?.Name ?? service.ID]));
  if (services.length !== stack.services.length) {
    throw new Error(
      `docker stack deploy created ${services.length} services for stack ${stack.name}, expected ${stack.services.length}`,
    );
  }

  for (;;) {
    const tasks = await managerDocker.listTasks({ filters });
    const running = new Set<string>();
    for (const task of tasks) {
      const state = task.Status?.State as string | undefined;
      const service = serviceNames.get(task.ServiceID) ?? task.ServiceID;
      if (state && FAILED_TASK_STATES.has(state)) {
        throw new Error(
          `task ${task.ID} of service ${service} is ${state}: ${task.Status?.Err ?? task.Status?.Message ?? 'no message'}`,
        );
      }
      if (state === 'running' && task.DesiredState === 'running') running.add(task.ServiceID);
    }
    if (running.size === services.length) return running.size;

    if (Date.now() > deadline) {
      const waiting = [...serviceNames].filter(([id]) => !running.has(id)).map(([, name]) => name);
      throw new Error(`tasks of stack ${stack.name} not running in time: ${waiting.join(', ')}`);
    }
    await sleep(POLL_MS);
  }
}

/**
 * Waits until no host has a container of the stack, of any state, and its overlay network is
 * gone from every host. Swarm removes both in the background after `stack rm` returns.
 */
async function awaitStackGone(hosts: LabHost[], stackName: string, deadline: number): Promise<void> {
  const label = `${STACK_LABEL}=${stackName}`;
  const networkName = `${stackName}_${SWARM_NETWORK}`;
  for (;;) {
    const leftovers: string[] = [];
    for (const host of hosts) {
      const docker = dockerClient(host);
      const containers = await docker.listContainers({ all: true, filters: { label: [label] } });
      const networks = await docker.listNetworks({ filters: { name: [networkName] } });
      for (const container of containers)
        leftovers.push(`container ${containerName(container)} on ${host.name}`);
      for (const network of networks) {
        if (network.Name === networkName) leftovers.push(`network ${network.Name} on ${host.name}`);
      }
    }
    if (leftovers.length === 0) return;
    if (Date.now() > deadline) {
      throw new Error(`docker stack rm ${stackName} left: ${leftovers.join(', ')}`);
    }
    await sleep(POLL_MS * 4);
  }
}

/** Removes `docker_gwbridge` from `host` when it exists and no container is attached to it. */
async function removeGatewayBridge(host: LabHost): Promise<void> {
  const docker = dockerClient(host);
  const networks = await docker.listNetworks({ filters: { name: [GATEWAY_BRIDGE] } });
  const bridge = networks.find((network) => network.Name === GATEWAY_BRIDGE);
  if (!bridge) return;
  const details = await docker.getNetwork(bridge.Id).inspect();
  const attached = Object.keys(details.Containers ?? {});
  if (attached.length > 0) {
    throw new Error(
      `${GATEWAY_BRIDGE} still has ${attached.length} endpoints attached; remove them, then: ` +
        `docker -H unix://${host.socket} network rm ${GATEWAY_BRIDGE}`,
    );
  }
  await docker.getNetwork(bridge.Id).remove();
}
