/**
 * The floor: the least work that deploys a `BenchStack` on the lab hosts. Dockerode creates and
 * starts each container over its host's unix socket as soon as its dependencies run, or are
 * healthy when it waits for health. Its health command then runs through `docker exec` every
 * 50 ms until it exits 0. Nothing is recorded and no workflow runs, so the time is what the
 * Docker daemons and the critical path of the stack cost.
 */
import Docker from 'dockerode';
import { setTimeout as sleep } from 'node:timers/promises';
import { collectOutput } from '../../activities/health';
import { envName } from '../../core/names';
import type { LabHost } from '../../lib/lab';
import type { BenchService, BenchStack, Peer, PeerResult } from '../types';
import { removeContainersByLabel } from './remove';

/** Label on every container the floor creates, with the stack name as its value. */
export const FLOOR_STACK_LABEL = 'io.graphium.bench.floor-stack';

const DEFAULT_HEALTH_POLL_MS = 50;
const DEFAULT_HEALTH_DEADLINE_MS = 120_000;
/** Time limit of one health command. */
const HEALTH_EXEC_TIMEOUT_MS = 3_000;

export interface FloorPeerOptions {
  /** The lab hosts, reached through their unix sockets. */
  hosts: LabHost[];
  /** Milliseconds between health commands. Default: 50. */
  healthPollMs?: number;
  /** Milliseconds after its start by which a service must be healthy. Default: 120000. */
  healthDeadlineMs?: number;
  /** Once aborted, no further container is created, so an interrupted run can clean up. */
  signal?: AbortSignal;
}

interface Started {
  host: LabHost;
  containerId: string;
}

interface Gate {
  running: Promise<Started>;
  healthy: Promise<void>;
}

/** Creates the floor peer. */
export function floorPeer(
  options: FloorPeerOptions,
): Peer & { deployMany(stacks: BenchStack[]): Promise<number> } {
  const clients = new Map(options.hosts.map((host) => [host.name, new Docker({ socketPath: host.socket })]));
  const hosts = new Map(options.hosts.map((host) => [host.name, host]));
  const pollMs = options.healthPollMs ?? DEFAULT_HEALTH_POLL_MS;
  const deadlineMs = options.healthDeadlineMs ?? DEFAULT_HEALTH_DEADLINE_MS;

  const hostOf = (service: BenchService): { host: LabHost; docker: Docker } => {
    const host = hosts.get(service.host);
    const docker = clients.get(service.host);
    if (!host || !docker) {
      throw new Error(`service ${service.name} names host "${service.host}", which is not a lab host`);
    }
    return { host, docker };
  };

  /** Starts every service of the stack along its dependency graph and resolves once all are healthy. */
  const deployStack = async (stack: BenchStack): Promise<void> => {
    const gates = new Map<string, Gate>();
    const byName = new Map(stack.services.map((service) => [service.name, service]));

    const gateOf = (name: string): Gate => {
      const existing = gates.get(name);
      if (existing) return existing;
      const service = byName.get(name);
      if (!service) throw new Error(`a service of stack ${stack.name} depends on "${name}", which it lacks`);
      const running = startWhenReady(service);
      const healthy = running.then((started) => awaitHealthy(service, started));
      // Every gate is awaited below. These handlers only keep an early rejection from counting as
      // unhandled while no dependent has awaited it yet.
      running.catch(() => undefined);
      healthy.catch(() => undefined);
      const gate = { running, healthy };
      gates.set(name, gate);
      return gate;
    };

    const startWhenReady = async (service: BenchService): Promise<Started> => {
      const dependencies = await Promise.all(
        service.dependencies.map(async (dependency) => {
          const gate = gateOf(dependency.name);
          if (dependency.waitForHealthy) await gate.healthy;
          return { service: byName.get(dependency.name)!, started: await gate.running };
        }),
      );
      const environment = { ...service.environment };
      for (const dependency of dependencies) {
        const prefix = envName(dependency.service.name);
        environment[`${prefix}_HOST`] ??= dependency.started.host.address;
        const port = dependency.service.ports[0];
        if (port) environment[`${prefix}_PORT`] ??= String(port.hostPort);
      }
      return startContainer(service, environment);
    };

    const startContainer = async (
      service: BenchService,
      environment: Record<string, string>,
    ): Promise<Started> => {
      const { host, docker } = hostOf(service);
      options.signal?.throwIfAborted();
      const exposed: Record<string, object> = {};
      const bindings: Record<string, { HostPort: string }[]> = {};
      for (const port of service.ports) {
        exposed[`${port.containerPort}/tcp`] = {};
        bindings[`${port.containerPort}/tcp`] = [{ HostPort: String(port.hostPort) }];
      }
      const container = await docker.createContainer({
        name: `${stack.name}-${service.name}`,
        Image: service.image,
        Cmd: service.command,
        Env: Object.entries(environment).map(([key, value]) => `${key}=${value}`),
        Labels: { [FLOOR_STACK_LABEL]: stack.name },
        ExposedPorts: exposed,
        HostConfig: { PortBindings: bindings },
      });
      await container.start();
      return { host, containerId: container.id };
    };

    const awaitHealthy = async (service: BenchService, started: Started): Promise<void> => {
      const docker = clients.get(started.host.name)!;
      const container = docker.getContainer(started.containerId);
      const deadline = Date.now() + deadlineMs;
      let lastOutput = 'no check has run yet';
      for (;;) {
        const result = await runHealthCommand(docker, container, service.healthCommand);
        if (result.exitCode === 0) return;
        lastOutput = result.output;
        const state = (await container.inspect()).State;
        if (!state.Running) {
          throw new Error(
            `floor: service ${service.name} on ${started.host.name} exited with code ${state.ExitCode} ` +
              `before turning healthy; last health output: ${lastOutput}`,
          );
        }
        if (Date.now() >= deadline) {
          throw new Error(
            `floor: service ${service.name} on ${started.host.name} was not healthy after ` +
              `${deadlineMs} ms; last health output: ${lastOutput}`,
          );
        }
        await sleep(pollMs);
      }
    };

    // Every service is settled before a failure is raised, so no container is created after the
    // caller's `remove` has looked for them.
    const outcomes = await Promise.allSettled(stack.services.map((service) => gateOf(service.name).healthy));
    const failed = outcomes.find((outcome) => outcome.status === 'rejected');
    if (failed) throw failed.reason;
  };

  const removeStack = (stack: BenchStack): Promise<void> =>
    removeContainersByLabel([...clients.values()], `${FLOOR_STACK_LABEL}=${stack.name}`);

  return {
    name: 'floor',
    async deploy(stack: BenchStack): Promise<PeerResult> {
      const startedAt = performance.now();
      await deployStack(stack);
      return { seconds: elapsedSeconds(startedAt), containers: stack.services.length };
    },
    /** Deploys every stack at once and returns the seconds until the last one is healthy. */
    async deployMany(stacks: BenchStack[]): Promise<number> {
      const startedAt = performance.now();
      await Promise.all(stacks.map(deployStack));
      return elapsedSeconds(startedAt);
    },
    async remove(stack: BenchStack): Promise<void> {
      await removeStack(stack);
    },
  };
}

/** Returns the seconds since `startedAt`, a `performance.now()` reading, to the millisecond like Graphium's timestamps. */
function elapsedSeconds(startedAt: number): number {
  return Math.round(performance.now() - startedAt) / 1000;
}

/** Runs a command inside the container and returns its exit code, or -1 when the exec failed. */
async function runHealthCommand(
  docker: Docker,
  container: Docker.Container,
  command: string[],
): Promise<{ exitCode: number; output: string }> {
  try {
    const exec = await container.exec({ Cmd: command, AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: false });
    const output = await collectOutput(docker, stream, HEALTH_EXEC_TIMEOUT_MS);
    const { ExitCode } = await exec.inspect();
    return { exitCode: ExitCode ?? -1, output: output.trim().slice(-300) };
  } catch (error) {
    return { exitCode: -1, output: `${command.join(' ')} failed: ${(error as Error).message}` };
  }
}
