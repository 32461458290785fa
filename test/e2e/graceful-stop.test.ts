/**
 * Container removal on the lab daemons stops each container with a grace period before it
 * removes it. The containers trap SIGTERM and write a marker to a named volume, which
 * outlives them, so the marker shows whether the process got to shut down cleanly.
 */
import { randomUUID } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  removeById,
  removeServiceContainer,
  startContainer,
  type StartContainerInput,
} from '../../activities/containers';
import { demuxBuffer } from '../../activities/health';
import type { HostRecord } from '../../core/model';
import { containerName, LABELS, stackSlug } from '../../core/names';
import { ensureLab, labAvailable, type LabHost } from '../../lib/lab';
import { labDocker, labSocketHost } from '../support/graphium';

const RUN = randomUUID().slice(0, 6);
const STACK = `Graceful ${RUN}`;
const SLUG = stackSlug(STACK);
const DEPLOYMENT = `dep_graceful_${RUN}`;
const IMAGE = 'graphium/busybox:lab';
const TEST_LABEL = 'io.graphium.test.run';

/**
 * Writes "started", then "stopped by SIGTERM" when it gets SIGTERM. The shell runs the trap
 * once the current one-second sleep ends, well within any grace period used here.
 */
const TRAPPING_COMMAND = [
  'sh',
  '-c',
  'trap "echo stopped by SIGTERM > /data/marker; exit 0" TERM; ' +
    'echo started > /data/marker; while true; do sleep 1; done',
];

let lab: LabHost;
let host: HostRecord;
let volume: string;

function containerInput(service: string, command: string[]): StartContainerInput {
  return {
    host,
    deploymentId: DEPLOYMENT,
    stackName: STACK,
    stackSlug: SLUG,
    service,
    containerName: containerName(STACK, service),
    image: IMAGE,
    command,
    environment: {},
    publish: [],
    extraHosts: [],
    labels: {},
    mounts: [{ type: 'volume', source: volume, target: '/data', readOnly: false }],
  };
}

/** Runs `fn` in an activity context and counts the heartbeats it sends. */
async function inActivity<R>(fn: () => Promise<R>): Promise<{ result: R; heartbeats: number }> {
  const environment = new MockActivityEnvironment();
  let heartbeats = 0;
  environment.on('heartbeat', () => (heartbeats += 1));
  const result = (await environment.run(fn)) as R;
  return { result, heartbeats };
}

/** Returns the marker the trapping command left in the volume, read by a throwaway container. */
async function readMarker(): Promise<string> {
  const docker = labDocker(lab);
  const reader = await docker.createContainer({
    Image: IMAGE,
    Cmd: ['cat', '/data/marker'],
    Labels: { [TEST_LABEL]: RUN },
    HostConfig: { Mounts: [{ Type: 'volume', Source: volume, Target: '/data', ReadOnly: true }] },
  });
  try {
    await reader.start();
    await reader.wait();
    const output = (await reader.logs({ stdout: true, stderr: true })) as unknown as Buffer;
    return demuxBuffer(output).trim();
  } finally {
    await reader.remove({ force: true });
  }
}

async function serviceContainers(service: string) {
  return labDocker(lab).listContainers({
    all: true,
    filters: { label: [`${LABELS.deployment}=${DEPLOYMENT}`, `${LABELS.service}=${service}`] },
  });
}

describe.skipIf(!labAvailable())('container removal on the lab', () => {
  beforeAll(async () => {
    [lab] = (await ensureLab(1)) as [LabHost];
    host = labSocketHost(lab);
    volume = `graceful-${RUN}`;
    await labDocker(lab).createVolume({ Name: volume, Labels: { [TEST_LABEL]: RUN } });
  });

  afterAll(async () => {
    if (!lab) return;
    const docker = labDocker(lab);
    for (const label of [`${LABELS.stack}=${SLUG}`, `${TEST_LABEL}=${RUN}`]) {
      for (const container of await docker.listContainers({ all: true, filters: { label: [label] } })) {
        await docker.getContainer(container.Id).remove({ force: true });
      }
    }
    await docker
      .getVolume(volume)
      .remove()
      .catch(() => undefined);
  });

  it('teardown removal lets the process handle SIGTERM', async () => {
    const started = await inActivity(() => startContainer(containerInput('teardown', TRAPPING_COMMAND)));
    expect(await readMarker()).toBe('started');

    await inActivity(() => removeById(labDocker(lab), started.result.containerId));

    expect(await readMarker()).toBe('stopped by SIGTERM');
    expect(await serviceContainers('teardown')).toEqual([]);
  });

  it('rollback removal lets the process handle SIGTERM', async () => {
    await inActivity(() => startContainer(containerInput('rollback', TRAPPING_COMMAND)));
    expect(await readMarker()).toBe('started');

    const removal = await inActivity(() =>
      removeServiceContainer({ host, deploymentId: DEPLOYMENT, service: 'rollback' }),
    );

    expect(removal.result.removed).toBe(containerName(STACK, 'rollback'));
    expect(await readMarker()).toBe('stopped by SIGTERM');
    expect(await serviceContainers('rollback')).toEqual([]);
  });

  it('waits out the grace period and heartbeats', async () => {
    // PID 1 of a container gets no default action for SIGTERM, so sleep ignores it until the kill.
    const started = await inActivity(() => startContainer(containerInput('stubborn', ['sleep', '1000'])));
    const began = Date.now();

    const removal = await inActivity(() => removeById(labDocker(lab), started.result.containerId, 5));
    const elapsed = Date.now() - began;

    expect(elapsed).toBeGreaterThanOrEqual(5_000);
    expect(elapsed).toBeLessThan(15_000);
    // One heartbeat when the stop starts, then one every 2 s while Docker waits.
    expect(removal.heartbeats).toBeGreaterThanOrEqual(3);
    expect(await serviceContainers('stubborn')).toEqual([]);
  });

  it('treats a stopped or missing container as done', async () => {
    const started = await inActivity(() => startContainer(containerInput('stopped', ['sleep', '1000'])));
    await labDocker(lab).getContainer(started.result.containerId).kill();

    await inActivity(() => removeById(labDocker(lab), started.result.containerId));
    await inActivity(() => removeById(labDocker(lab), started.result.containerId));

    expect(await serviceContainers('stopped')).toEqual([]);
  });
});
