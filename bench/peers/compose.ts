/**
 * The Docker Compose peer: runs the whole stack on one lab host with Debian's docker-compose
 * 1.29, from the file `composeFile` builds, and times it from `up` until every container is
 * healthy.
 */
import { performance } from 'node:perf_hooks';
import type Docker from 'dockerode';
import type { LabHost } from '../../lib/lab';
import { composeFile } from '../compose-file';
import type { BenchStack, Peer, PeerResult } from '../types';
import { containerName, dockerClient, requireLocalImages, runCommand, sleep, writeTempJson } from './command';

export interface ComposePeerOptions {
  /** The lab host every service runs on. */
  host: LabHost;
  /** Time allowed from `up` until every container is healthy, in milliseconds. Default 300,000. */
  deployTimeoutMs?: number;
  /** Time allowed for `down`, in milliseconds. Default 120,000. */
  removeTimeoutMs?: number;
}

const COMPOSE_CLI = 'docker-compose';

/** Label Compose 1.29 puts on each container with the project name. */
const PROJECT_LABEL = 'com.docker.compose.project';
const SERVICE_LABEL = 'com.docker.compose.service';

/** Pause between two looks at the containers' health, in milliseconds. */
const POLL_MS = 50;

/**
 * Seconds `down` gives each container to stop before killing it. A command that runs as PID 1
 * without a SIGTERM handler, such as a bare `sleep`, stops only by SIGKILL. Removal is not timed,
 * so a short grace period only shortens the run.
 */
const STOP_TIMEOUT_SECONDS = 2;

/**
 * Creates the Compose peer for `options.host`.
 *
 * `deploy` runs `docker-compose -p <project> -f <file> up -d --no-build`, which starts the
 * services in dependency order and itself waits for each `service_healthy` dependency, then
 * polls the daemon until every container of the project is healthy, or running when it has no
 * health check. `remove` runs `docker-compose down -v --remove-orphans`.
 */
export function composePeer(options: ComposePeerOptions): Peer {
  const { host } = options;
  const deployTimeoutMs = options.deployTimeoutMs ?? 300_000;
  const removeTimeoutMs = options.removeTimeoutMs ?? 120_000;
  const docker = dockerClient(host);

  const compose = (args: string[], timeoutMs: number) =>
    runCommand(COMPOSE_CLI, args, {
      timeoutMs,
      env: { DOCKER_HOST: `unix://${host.socket}` },
      // Settings the calling shell may carry for another daemon.
      unsetEnv: ['DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH', 'DOCKER_CONTEXT'],
    });

  return {
    name: 'compose',

    async deploy(stack: BenchStack): Promise<PeerResult> {
      const file = composeFile(stack);
      // Compose 1.29 pulls every missing image and ignores `pull_policy`: its schema accepts the
      // key, but no code reads it. So a missing image fails here, before a pull is tried.
      await requireLocalImages(
        host,
        stack.services.map((service) => service.image),
      );
      const written = await writeTempJson('graphium-bench-compose-', 'docker-compose.json', file);
      const project = projectName(stack.name);
      try {
        const start = performance.now();
        const deadline = Date.now() + deployTimeoutMs;
        await compose(['-p', project, '-f', written.path, 'up', '-d', '--no-build'], deployTimeoutMs);
        const containers = await awaitHealthy(docker, host, project, stack, deadline);
        return { seconds: (performance.now() - start) / 1000, containers };
      } finally {
        await written.cleanup();
      }
    },

    async remove(stack: BenchStack): Promise<void> {
      const written = await writeTempJson(
        'graphium-bench-compose-',
        'docker-compose.json',
        composeFile(stack),
      );
      const project = projectName(stack.name);
      try {
        await compose(
          [
            '-p',
            project,
            '-f',
            written.path,
            'down',
            '-v',
            '--remove-orphans',
            '--timeout',
            String(STOP_TIMEOUT_SECONDS),
          ],
          removeTimeoutMs,
        );
      } finally {
        await written.cleanup();
      }
      const left = await docker.listContainers({
        all: true,
        filters: { label: [`${PROJECT_LABEL}=${project}`] },
      });
      if (left.length > 0) {
        throw new Error(
          `docker-compose down left ${left.length} containers of project ${project} on ${host.name}: ` +
            `${left.map((container) => containerName(container)).join(', ')}`,
        );
      }
    },
  };
}

/**
 * Returns the project name Compose 1.29 uses for `stackName`: lower-cased, with every character
 * other than a-z, 0-9, `-` and `_` removed. Compose applies the same rule to `-p`, and the
 * containers' project label carries the result.
 */
export function projectName(stackName: string): string {
  const name = stackName.toLowerCase().replace(/[^-_a-z0-9]/g, '');
  if (name === '') {
    throw new Error(`stack name "${stackName}" has no character Compose accepts in a project name`);
  }
  return name;
}

/**
 * Polls `host` until every service of `stack` has a running container that is healthy, or has
 * no health check, and returns the number of containers in the project.
 *
 * @throws Error when a container exits or turns unhealthy, or when `deadline` (epoch
 *   milliseconds) passes first.
 */
async function awaitHealthy(
  docker: Docker,
  host: LabHost,
  project: string,
  stack: BenchStack,
  deadline: number,
): Promise<number> {
  const label = `${PROJECT_LABEL}=${project}`;
  for (;;) {
    const [all, ready] = await Promise.all([
      docker.listContainers({ all: true, filters: { label: [label] } }),
      docker.listContainers({ filters: { label: [label], health: ['healthy', 'none'] } }),
    ]);

    for (const container of all) {
      if (container.State !== 'running' || container.Status.includes('(unhealthy)')) {
        throw new Error(
          `container ${containerName(container)} of project ${project} on ${host.name} is ${container.Status}; ` +
            `${await lastHealthOutput(docker, container.Id)}`,
        );
      }
    }

    const readyServices = new Set(ready.map((container) => container.Labels[SERVICE_LABEL]));
    const waiting = stack.services.filter((service) => !readyServices.has(service.name));
    if (waiting.length === 0) return all.length;

    if (Date.now() > deadline) {
      throw new Error(
        `services of project ${project} on ${host.name} not healthy in time: ` +
          `${waiting.map((service) => service.name).join(', ')}`,
      );
    }
    await sleep(POLL_MS);
  }
}

async function lastHealthOutput(docker: Docker, containerId: string): Promise<string> {
  try {
    const info = await docker.getContainer(containerId).inspect();
    const last = info.State.Health?.Log?.at(-1);
    if (!last) return `exit code ${info.State.ExitCode}, no health check result`;
    return `exit code ${info.State.ExitCode}, last health check output: ${last.Output.trim() || '(none)'}`;
  } catch (error) {
    return `inspect failed: ${(error as Error).message}`;
  }
}
