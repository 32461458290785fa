/**
 * The container, network, volume and action activities against the real Docker daemons of the
 * local lab, and a deploy workflow with a network, a volume and actions on the real Temporal dev
 * server with those activities. Only placement and the database are doubles there. Everything
 * the tests create carries this run's stack label, or a test label, and is removed by label.
 */
import { mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runAction, type RunActionInput } from '../../activities/actions';
import {
  ensureImage,
  removeServiceContainer,
  startContainer,
  type StartContainerInput,
} from '../../activities/containers';
import { awaitHealthy } from '../../activities/health';
import {
  ensureNetwork,
  ensureVolume,
  removeResource,
  type EnsureNetworkInput,
  type EnsureVolumeInput,
} from '../../activities/resources';
import type { HostRecord, PostStartAction, ServiceSpec, StackSpec } from '../../core/model';
import { containerName, LABELS, resourceName, stackSlug } from '../../core/names';
import { ensureLab, labAvailable, labDockerEndpoint, type LabHost } from '../../lib/lab';
import { installRuntime, workflowBundle } from '../../lib/worker';
import type { DeployInput, ServiceProgress } from '../../workflows/contract';
import { labDocker } from '../support/graphium';

const RUN = randomUUID().slice(0, 6);
const STACK = `Runtime ${RUN}`;
const SLUG = stackSlug(STACK);
/** Label of the resources the tests create as someone else's, so cleanup finds them too. */
const TEST_LABEL = 'io.graphium.test.run';
const IMAGE = 'graphium/busybox:lab';

let lab: LabHost[];
let hosts: HostRecord[];
const bindDirs: string[] = [];
/** Slugs of every stack the tests deploy, whose labels cleanup looks for. */
const slugs = new Set([SLUG]);

function hostRecord(host: LabHost): HostRecord {
  return {
    name: host.name,
    docker: labDockerEndpoint(host),
    address: host.address,
    datacenter: host.datacenter,
    labels: host.labels,
    imagePull: 'never',
    status: 'active',
  };
}

/** Runs an activity with a real activity context, so heartbeats and logging work. */
function activity<P, R>(fn: (input: P) => Promise<R>, input: P): Promise<R> {
  return new MockActivityEnvironment().run(fn, input);
}

async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApplicationFailure);
  return error as ApplicationFailure;
}

function containerInput(host: HostRecord, service: string, extra: Partial<StartContainerInput> = {}) {
  const input: StartContainerInput = {
    host,
    deploymentId: `dep_${RUN}`,
    stackName: STACK,
    stackSlug: SLUG,
    service,
    containerName: containerName(STACK, service),
    image: IMAGE,
    command: ['sleep', '1000'],
    environment: {},
    publish: [],
    extraHosts: [],
    labels: {},
    ...extra,
  };
  return input;
}

function resourceInput(host: HostRecord, dockerName: string, deploymentId = `dep_${RUN}`) {
  return { host, deploymentId, stackName: STACK, stackSlug: SLUG, dockerName };
}

function networkInput(host: HostRecord, name: string, extra: Partial<EnsureNetworkInput['network']> = {}) {
  const network = { name, options: {}, labels: {}, external: false, ...extra };
  return { ...resourceInput(host, resourceName(STACK, name)), network } satisfies EnsureNetworkInput;
}

function volumeInput(host: HostRecord, name: string, extra: Partial<EnsureVolumeInput['volume']> = {}) {
  const volume = { name, options: {}, labels: {}, external: false, ...extra };
  return { ...resourceInput(host, resourceName(STACK, name)), volume } satisfies EnsureVolumeInput;
}

/** Picks a random port in 20000-29999, so reruns and leftovers rarely collide. */
function randomPort(): number {
  return 20_000 + Math.floor(Math.random() * 10_000);
}

async function networkNamed(host: LabHost, name: string) {
  const found = await labDocker(host).listNetworks({ filters: { name: [name] } });
  return found.filter((network) => network.Name === name);
}

async function volumeExists(host: LabHost, name: string): Promise<boolean> {
  return labDocker(host)
    .getVolume(name)
    .inspect()
    .then(
      () => true,
      () => false,
    );
}

/** Removes every container, network and volume of this run, found by its labels. */
async function removeByLabels(): Promise<void> {
  const labels = [...[...slugs].map((slug) => `${LABELS.stack}=${slug}`), `${TEST_LABEL}=${RUN}`];
  for (const host of lab ?? []) {
    const docker = labDocker(host);
    for (const label of labels) {
      const filters = { label: [label] };
      for (const container of await docker.listContainers({ all: true, filters })) {
        await docker.getContainer(container.Id).remove({ force: true, v: true });
      }
      for (const network of await docker.listNetworks({ filters })) {
        await docker.getNetwork(network.Id).remove();
      }
      for (const volume of (await docker.listVolumes({ filters })).Volumes ?? []) {
        await docker.getVolume(volume.Name).remove();
      }
    }
  }
}

describe.skipIf(!labAvailable())('activities on the lab hosts', () => {
  beforeAll(async () => {
    lab = await ensureLab(3);
    hosts = lab.map(hostRecord);
  });

  afterAll(async () => {
    await removeByLabels();
    for (const dir of bindDirs) rmSync(dir, { recursive: true, force: true });
  });

  it('startContainer applies every option', async () => {
    const host = hosts[0]!;
    const third = 100 + Math.floor(Math.random() * 100);
    const network = await activity(
      ensureNetwork,
      networkInput(host, 'backend', {
        subnet: `10.251.${third}.0/24`,
        gateway: `10.251.${third}.1`,
        ipRange: `10.251.${third}.128/25`,
        options: { 'com.docker.network.driver.mtu': '1400' },
        labels: { team: 'qa' },
      }),
    );
    const volume = await activity(ensureVolume, volumeInput(host, 'data'));
    const bindDir = mkdtempSync(join(tmpdir(), 'graphium-bind-'));
    bindDirs.push(bindDir);
    writeFileSync(join(bindDir, 'hello.txt'), `hello from ${RUN}\n`);
    chmodSync(bindDir, 0o755);

    const started = await activity(
      startContainer,
      containerInput(host, 'web', {
        command: ['httpd', '-f', '-p', '8080', '-h', '/config'],
        publish: [{ containerPort: 8080, hostPort: 0, protocol: 'tcp', hostIp: host.address }],
        mounts: [
          { type: 'volume', source: volume.name, target: '/data', readOnly: false },
          { type: 'bind', source: bindDir, target: '/config', readOnly: true },
          { type: 'tmpfs', target: '/scratch', readOnly: false },
          { type: 'volume', target: '/anonymous', readOnly: false },
        ],
        resources: { cpus: 0.5, memoryBytes: 64 * 1024 * 1024, memorySwapBytes: 128 * 1024 * 1024, pids: 64 },
        restartPolicy: { name: 'on-failure', maximumRetryCount: 2 },
        user: '1234:1234',
        workingDir: '/work',
        endpoint: { network: network.name, alias: 'web' },
      }),
    );
    const info = await labDocker(lab[0]!).getContainer(started.containerId).inspect();

    expect(info.HostConfig.NanoCpus).toBe(500_000_000);
    expect(info.HostConfig.Memory).toBe(64 * 1024 * 1024);
    expect(info.HostConfig.MemorySwap).toBe(128 * 1024 * 1024);
    expect(info.HostConfig.PidsLimit).toBe(64);
    expect(info.HostConfig.RestartPolicy).toEqual({ Name: 'on-failure', MaximumRetryCount: 2 });
    expect(info.Config.User).toBe('1234:1234');
    expect(info.Config.WorkingDir).toBe('/work');
    expect(info.NetworkSettings.Ports['8080/tcp']![0]!.HostIp).toBe(host.address);
    expect(started.ports[0]!.hostPort).toBeGreaterThan(0);
    expect(info.NetworkSettings.Networks[network.name]!.Aliases).toContain('web');

    const mounts = Object.fromEntries(info.Mounts.map((mount) => [mount.Destination, mount]));
    expect(mounts['/data']).toMatchObject({ Type: 'volume', Name: volume.name, RW: true });
    expect(mounts['/config']).toMatchObject({ Type: 'bind', Source: bindDir, RW: false });
    expect(mounts['/anonymous']).toMatchObject({ Type: 'volume', RW: true });
    expect(mounts['/anonymous']!.Name).not.toBe(volume.name);
    expect(info.HostConfig.Mounts).toContainEqual(
      expect.objectContaining({ Type: 'tmpfs', Target: '/scratch' }),
    );

    // Another container on the network reaches web by its alias and reads the bind-mounted file.
    const client = await activity(
      startContainer,
      containerInput(host, 'client', { endpoint: { network: network.name, alias: 'client' } }),
    );
    const fetched = await activity(runAction, {
      host,
      deploymentId: `dep_${RUN}`,
      service: 'client',
      action: action('fetch', ['wget', '-q', '-O', '-', 'http://web:8080/hello.txt']),
      containerId: client.containerId,
      containerName: client.containerName,
    });
    expect(fetched.output).toContain(`hello from ${RUN}`);

    const netInfo = await labDocker(lab[0]!).getNetwork(network.name).inspect();
    expect(netInfo.IPAM?.Config?.[0]).toMatchObject({
      Subnet: `10.251.${third}.0/24`,
      Gateway: `10.251.${third}.1`,
      IPRange: `10.251.${third}.128/25`,
    });
    expect(netInfo.Options?.['com.docker.network.driver.mtu']).toBe('1400');
    expect(netInfo.Labels).toMatchObject({
      team: 'qa',
      [LABELS.stack]: SLUG,
      'io.graphium.resource': 'backend',
    });
  });

  it('ensureNetwork reuses its own and rejects a foreign one', async () => {
    const host = hosts[1]!;
    const input = networkInput(host, 'shared');
    expect(await activity(ensureNetwork, input)).toEqual({ name: input.dockerName, created: true });
    // A retry of the same deployment still counts the network as its own.
    expect(await activity(ensureNetwork, input)).toEqual({ name: input.dockerName, created: true });
    const later = { ...input, deploymentId: `dep_later_${RUN}` };
    expect(await activity(ensureNetwork, later)).toEqual({ name: input.dockerName, created: false });
    expect(await networkNamed(lab[1]!, input.dockerName)).toHaveLength(1);

    const foreignName = `${SLUG}_foreign`;
    await labDocker(lab[1]!).createNetwork({ Name: foreignName, Labels: { [TEST_LABEL]: RUN } });
    const conflict = await failureOf(activity(ensureNetwork, { ...input, dockerName: foreignName }));
    expect(conflict.type).toBe('ResourceConflict');
    expect(conflict.nonRetryable).toBe(true);
    expect(conflict.message).toContain(`network ${foreignName} exists on host ${host.name}`);
    expect(conflict.message).toContain('declare the network external');

    const external = { ...input, dockerName: foreignName, network: { ...input.network, external: true } };
    expect(await activity(ensureNetwork, external)).toEqual({ name: foreignName, created: false });
    const missing = { ...external, dockerName: `missing-${RUN}` };
    const notFound = await failureOf(activity(ensureNetwork, missing));
    expect(notFound.type).toBe('ResourceNotFound');
    expect(notFound.message).toContain(`external network missing-${RUN}`);
    expect(notFound.message).toContain(`host ${host.name}`);

    // Only the deployment that created the network removes it.
    const removal = { host, kind: 'network' as const, name: input.dockerName };
    const byLater = { ...removal, labels: { [LABELS.deployment]: later.deploymentId } };
    expect(await activity(removeResource, byLater)).toEqual({ removed: false });
    expect(await networkNamed(lab[1]!, input.dockerName)).toHaveLength(1);
    const byCreator = { ...removal, labels: { [LABELS.deployment]: input.deploymentId } };
    expect(await activity(removeResource, byCreator)).toEqual({ removed: true });
    expect(await networkNamed(lab[1]!, input.dockerName)).toHaveLength(0);
    expect(await activity(removeResource, byCreator)).toEqual({ removed: false });
    const foreign = { ...removal, name: foreignName, labels: { [LABELS.stack]: SLUG } };
    expect(await activity(removeResource, foreign)).toEqual({ removed: false });
    expect(await networkNamed(lab[1]!, foreignName)).toHaveLength(1);
  });

  it('ensureVolume reuses its own and rejects a foreign one', async () => {
    const host = hosts[1]!;
    const input = volumeInput(host, 'cache', { labels: { tier: 'hot' } });
    expect(await activity(ensureVolume, input)).toEqual({ name: input.dockerName, created: true });
    expect(await activity(ensureVolume, input)).toEqual({ name: input.dockerName, created: true });
    const later = { ...input, deploymentId: `dep_later_${RUN}` };
    expect(await activity(ensureVolume, later)).toEqual({ name: input.dockerName, created: false });
    const info = await labDocker(lab[1]!).getVolume(input.dockerName).inspect();
    expect(info.Labels).toMatchObject({ tier: 'hot', [LABELS.deployment]: input.deploymentId });

    const foreignName = `${SLUG}_foreign-volume`;
    await labDocker(lab[1]!).createVolume({ Name: foreignName, Labels: { [TEST_LABEL]: RUN } });
    const conflict = await failureOf(activity(ensureVolume, { ...input, dockerName: foreignName }));
    expect(conflict.type).toBe('ResourceConflict');
    expect(conflict.message).toContain(`volume ${foreignName} exists on host ${host.name}`);
    const external = { ...input, dockerName: foreignName, volume: { ...input.volume, external: true } };
    expect(await activity(ensureVolume, external)).toEqual({ name: foreignName, created: false });
    const notFound = await failureOf(activity(ensureVolume, { ...external, dockerName: `missing-${RUN}` }));
    expect(notFound.type).toBe('ResourceNotFound');

    // A volume mounted by a container is in use, which a retry cannot fix.
    const user = await activity(
      startContainer,
      containerInput(host, 'volume-user', {
        mounts: [{ type: 'volume', source: input.dockerName, target: '/cache', readOnly: false }],
      }),
    );
    const removal = {
      host,
      kind: 'volume' as const,
      name: input.dockerName,
      labels: { [LABELS.deployment]: input.deploymentId },
    };
    const inUse = await failureOf(activity(removeResource, removal));
    expect(inUse.type).toBe('ResourceInUse');
    await labDocker(lab[1]!).getContainer(user.containerId).remove({ force: true });
    expect(await activity(removeResource, removal)).toEqual({ removed: true });
    expect(await volumeExists(lab[1]!, input.dockerName)).toBe(false);
  });

  it('runAction returns output and exit code', async () => {
    const host = hosts[2]!;
    const target = await activity(startContainer, containerInput(host, 'exec-target'));
    const run = (command: string[], extra: Partial<PostStartAction> = {}) =>
      activity(runAction, {
        host,
        deploymentId: `dep_${RUN}`,
        service: 'owner',
        action: { ...action('check', command), ...extra },
        containerId: target.containerId,
        containerName: target.containerName,
      } satisfies RunActionInput);

    const ok = await run(['sh', '-c', 'echo out; echo err >&2; pwd'], { workingDirectory: '/tmp' });
    expect(ok.exitCode).toBe(0);
    expect(ok.output).toContain('out\n');
    expect(ok.output).toContain('err\n');
    expect(ok.output).toContain('/tmp\n');

    const failed = await failureOf(run(['sh', '-c', 'echo boom; exit 3']));
    expect(failed.type).toBe('ActionFailed');
    expect(failed.nonRetryable).toBe(true);
    expect(failed.message).toContain('action "check" of service owner');
    expect(failed.message).toContain(`in container ${target.containerName} on host ${host.name}`);
    expect(failed.message).toContain('exited with code 3');
    expect(failed.message).toContain('boom');
    expect(failed.details?.[0]).toEqual({ exitCode: 3, output: 'boom\n' });

    // Only the tail of a long output goes into the failure.
    const noisy = await failureOf(
      run(['sh', '-c', 'i=0; while [ $i -lt 3000 ]; do echo line $i; i=$((i+1)); done; exit 1']),
    );
    expect(noisy.message).toContain('line 2999');
    expect(noisy.message).not.toContain('line 10\n');
    expect(noisy.message.length).toBeLessThan(5_000);
  });

  it('runAction times out with the output so far', async () => {
    const host = hosts[2]!;
    const target = await activity(startContainer, containerInput(host, 'slow-target'));
    const began = Date.now();
    const timedOut = await failureOf(
      activity(runAction, {
        host,
        deploymentId: `dep_${RUN}`,
        service: 'owner',
        action: { ...action('wait', ['sh', '-c', 'echo started; sleep 30']), timeoutMs: 1_500 },
        containerId: target.containerId,
        containerName: target.containerName,
      }),
    );
    const elapsed = Date.now() - began;

    expect(timedOut.type).toBe('ActionTimedOut');
    expect(timedOut.nonRetryable).toBe(true);
    expect(timedOut.message).toContain('timed out after 1500 ms');
    expect(timedOut.message).toContain('started');
    expect(elapsed).toBeGreaterThanOrEqual(1_500);
    expect(elapsed).toBeLessThan(10_000);
  });

  it('preferred host port falls back when taken', async () => {
    const port = randomPort();
    const [first, second] = [hosts[0]!, hosts[1]!];
    await activity(
      startContainer,
      containerInput(first, 'holder', { publish: [{ containerPort: 80, hostPort: port, protocol: 'tcp' }] }),
    );
    const preferred = [
      { containerPort: port, hostPort: 0, protocol: 'tcp' as const, preferredHostPort: port },
    ];

    const fallback = await activity(
      startContainer,
      containerInput(first, 'fallback', { publish: preferred }),
    );
    expect(fallback.ports).toHaveLength(1);
    expect(fallback.ports[0]!.hostPort).toBeGreaterThan(0);
    expect(fallback.ports[0]!.hostPort).not.toBe(port);
    const fallbackContainers = await labDocker(lab[0]!).listContainers({
      all: true,
      filters: { label: [`${LABELS.stack}=${SLUG}`, `${LABELS.service}=fallback`] },
    });
    expect(fallbackContainers.map((c) => c.State)).toEqual(['running']);

    const free = await activity(startContainer, containerInput(second, 'preferred', { publish: preferred }));
    expect(free.ports[0]!.hostPort).toBe(port);

    const explicit = [{ containerPort: 81, hostPort: port, protocol: 'tcp' as const }];
    const taken = await failureOf(
      activity(startContainer, containerInput(first, 'explicit', { publish: explicit })),
    );
    expect(taken.type).toBe('PortAllocated');
    expect(taken.nonRetryable).toBe(true);
    expect(taken.message).toContain(String(port));
  });
});

function action(name: string, command: string[]): PostStartAction {
  return { name, command, timeoutMs: 30_000, target: 'owner' };
}

/**
 * A deploy of a stack with a network, a volume and actions, with the real container, health,
 * network, volume and action activities on the lab hosts. Placement and the database are
 * doubles, because the stack is built by hand rather than parsed from a document.
 */
describe.skipIf(!labAvailable())('deploy with a network, a volume and actions on the lab', () => {
  let connection: Connection;
  let nativeConnection: NativeConnection;
  let client: Client;

  beforeAll(async () => {
    lab = await ensureLab(3);
    hosts = lab.map(hostRecord);
    installRuntime();
    const address = inject('temporalAddress');
    connection = await Connection.connect({ address });
    nativeConnection = await NativeConnection.connect({ address });
    client = new Client({ connection });
  });

  afterAll(async () => {
    await removeByLabels();
    await connection?.close();
    await nativeConnection?.close();
  });

  function item(name: string, position: number, host: string, extra: Partial<ServiceSpec> = {}): ServiceSpec {
    return {
      name,
      position,
      image: IMAGE,
      command: ['sleep', '1000'],
      environment: {},
      ports: [],
      dependencies: [],
      targetHost: host,
      labels: {},
      resources: {},
      mounts: [],
      actions: [],
      sourcePath: `$.itemListElement[${position - 1}]`,
      ...extra,
    };
  }

  async function deploy(stack: StackSpec) {
    slugs.add(stackSlug(stack.name));
    const outcomes: {
      status: string;
      failure?: string[];
      compensation?: any;
      services: ServiceProgress[];
    }[] = [];
    const byName = Object.fromEntries(hosts.map((host) => [host.name, host]));
    const activities = {
      ensureImage,
      startContainer,
      awaitHealthy,
      removeServiceContainer,
      ensureNetwork,
      ensureVolume,
      removeResource,
      runAction,
      async planPlacement() {
        const assignments = Object.fromEntries(stack.services.map((s) => [s.name, s.targetHost!]));
        const used = new Set(Object.values(assignments));
        const planHosts = Object.fromEntries([...used].map((name) => [name, byName[name]!]));
        return { plan: { strategy: 'manual', assignments, services: [] }, hosts: planHosts };
      },
      async recordOutcome(outcome: (typeof outcomes)[number]) {
        outcomes.push(outcome);
      },
    };
    const taskQueue = `runtime-${randomUUID()}`;
    const worker = await Worker.create({
      connection: nativeConnection,
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities,
      maxHeartbeatThrottleInterval: '1s',
    });
    const input: DeployInput = { deploymentId: `dep_${randomUUID()}`, stack };
    const result = await worker.runUntil(
      client.workflow
        .execute('deployStack', { taskQueue, workflowId: `runtime-deploy-${randomUUID()}`, args: [input] })
        .then(
          (value) => ({ value, error: undefined }),
          (error: unknown) => ({ value: undefined, error }),
        ),
    );
    return { ...result, outcomes, deploymentId: input.deploymentId };
  }

  /**
   * Builds a stack where an action of db writes the schema into the volume, and api, on the same
   * host, runs `apiCheck` once db is healthy and its action is done.
   */
  function stackWith(name: string, apiCheck: string): StackSpec {
    return {
      name,
      placement: 'manual',
      network: { name: 'backend', options: {}, labels: {}, external: false },
      volumes: [{ name: 'data', options: {}, labels: {}, external: false }],
      services: [
        item('db', 1, 'host1', {
          healthCheck: {
            kind: 'command',
            command: ['true'],
            intervalMs: 500,
            timeoutMs: 2_000,
            retries: 3,
            startPeriodMs: 0,
          },
          mounts: [{ type: 'volume', source: 'data', target: '/data', readOnly: false }],
          actions: [
            {
              name: 'migrate',
              command: ['sh', '-c', 'echo v1 > /data/schema && echo migrated'],
              timeoutMs: 10_000,
              target: 'db',
            },
          ],
        }),
        item('api', 2, 'host1', {
          dependencies: [{ name: 'db', waitForHealthy: true }],
          mounts: [{ type: 'volume', source: 'data', target: '/data', readOnly: true }],
          actions: [{ name: 'check', command: ['sh', '-c', apiCheck], timeoutMs: 10_000, target: 'api' }],
        }),
        item('cache', 3, 'host2'),
      ],
    };
  }

  it('deploys and wires resources and actions', async () => {
    const name = `${STACK} ok`;
    const check = 'test "$(cat /data/schema)" = v1 && ping -c 1 -W 2 db >/dev/null && echo reached db';
    const { value, error, outcomes } = await deploy(stackWith(name, check));

    expect(error).toBeUndefined();
    const services = (value as { services: ServiceProgress[] }).services;
    const actions = Object.fromEntries(services.map((s) => [s.service, s.actions]));
    expect(actions.db).toEqual([
      { name: 'migrate', target: 'db', status: 'succeeded', exitCode: 0, output: 'migrated\n' },
    ]);
    expect(actions.api).toEqual([
      { name: 'check', target: 'api', status: 'succeeded', exitCode: 0, output: 'reached db\n' },
    ]);
    expect(outcomes.at(-1)!.status).toBe('running');
    const networkName = resourceName(name, 'backend');
    expect(await networkNamed(lab[0]!, networkName)).toHaveLength(1);
    expect(await networkNamed(lab[1]!, networkName)).toHaveLength(1);
    expect(await networkNamed(lab[2]!, networkName)).toHaveLength(0);
    expect(await volumeExists(lab[0]!, resourceName(name, 'data'))).toBe(true);
    expect(await volumeExists(lab[1]!, resourceName(name, 'data'))).toBe(false);
  });

  it('rolls back resources when an action fails', async () => {
    const name = `${STACK} fail`;
    const { error, outcomes } = await deploy(stackWith(name, 'echo schema is wrong; exit 7'));

    expect(error).toBeInstanceOf(WorkflowFailedError);
    const outcome = outcomes.at(-1)!;
    expect(outcome.status).toBe('rolled_back');
    expect(outcome.failure!.at(-1)).toContain('action "check" of service api');
    expect(outcome.failure!.at(-1)).toContain('exited with code 7');
    expect(outcome.failure!.at(-1)).toContain('schema is wrong');
    expect(outcome.compensation.removed.map((r: { service: string }) => r.service).sort()).toEqual([
      'api',
      'cache',
      'db',
    ]);
    expect(outcome.compensation.failedResources).toEqual([]);
    expect(outcome.compensation.removedResources).toHaveLength(3);

    const slug = stackSlug(name);
    for (const host of lab) {
      const left = await labDocker(host).listContainers({
        all: true,
        filters: { label: [`${LABELS.stack}=${slug}`] },
      });
      expect(left).toEqual([]);
      expect(await networkNamed(host, resourceName(name, 'backend'))).toHaveLength(0);
      expect(await volumeExists(host, resourceName(name, 'data'))).toBe(false);
    }
  });
});
