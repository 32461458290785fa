/**
 * How startContainer treats the container name on a lab daemon. A first attempt creates the
 * container without looking first, so these tests check what it does when Docker reports the
 * name taken, and that a later attempt adopts what the first one made.
 */
import { randomUUID } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startContainer, type StartContainerInput } from '../../activities/containers';
import type { HostRecord } from '../../core/model';
import { containerName, LABELS, stackSlug } from '../../core/names';
import { ensureLab, labAvailable, type LabHost } from '../../lib/lab';
import { ERROR_TYPES } from '../../workflows/contract';
import { labDocker, labSocketHost } from '../support/graphium';

const RUN = randomUUID().slice(0, 6);
const STACK = `Names ${RUN}`;
const SLUG = stackSlug(STACK);
const IMAGE = 'graphium/busybox:lab';
const TEST_LABEL = 'io.graphium.test.run';
const SLEEPER = ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'];

let lab: LabHost;
let host: HostRecord;

function input(deploymentId: string, service: string): StartContainerInput {
  return {
    host,
    deploymentId,
    stackName: STACK,
    stackSlug: SLUG,
    service,
    containerName: containerName(STACK, service),
    image: IMAGE,
    command: SLEEPER,
    environment: {},
    publish: [],
    extraHosts: [],
    labels: {},
  };
}

function inAttempt<R>(attempt: number, fn: () => Promise<R>): Promise<R> {
  return new MockActivityEnvironment({ attempt }).run(fn) as Promise<R>;
}

async function containersNamed(name: string) {
  return labDocker(lab).listContainers({ all: true, filters: { name: [`^/${name}$`] } });
}

describe.skipIf(!labAvailable())('container names on the lab', () => {
  beforeAll(async () => {
    [lab] = (await ensureLab(1)) as [LabHost];
    host = labSocketHost(lab);
  });

  afterAll(async () => {
    if (!lab) return;
    const docker = labDocker(lab);
    for (const label of [`${LABELS.stack}=${SLUG}`, `${TEST_LABEL}=${RUN}`]) {
      for (const container of await docker.listContainers({ all: true, filters: { label: [label] } })) {
        await docker.getContainer(container.Id).remove({ force: true });
      }
    }
  });

  it('replaces the container an earlier deployment of the stack left under the name', async () => {
    const first = await inAttempt(1, () => startContainer(input(`dep_a_${RUN}`, 'web')));
    const second = await inAttempt(1, () => startContainer(input(`dep_b_${RUN}`, 'web')));

    expect(second.containerId).not.toBe(first.containerId);
    expect(second.adopted).toBe(false);
    const named = await containersNamed(containerName(STACK, 'web'));
    expect(named.map((c) => c.Id)).toEqual([second.containerId]);
    expect(named[0]!.Labels[LABELS.deployment]).toBe(`dep_b_${RUN}`);
  });

  it('rejects a foreign container name', async () => {
    const name = containerName(STACK, 'db');
    const foreign = await labDocker(lab).createContainer({
      name,
      Image: IMAGE,
      Cmd: SLEEPER,
      Labels: { [TEST_LABEL]: RUN },
    });

    const attempt = inAttempt(1, () => startContainer(input(`dep_c_${RUN}`, 'db')));

    await expect(attempt).rejects.toMatchObject({
      type: ERROR_TYPES.nameConflict,
      nonRetryable: true,
      message: expect.stringContaining(`is taken by container ${foreign.id.slice(0, 12)}`),
    });
    expect((await containersNamed(name)).map((c) => c.Id)).toEqual([foreign.id]);
  });

  it('adopts the running container of an earlier attempt of the same deployment', async () => {
    const deploymentId = `dep_d_${RUN}`;
    const first = await inAttempt(1, () => startContainer(input(deploymentId, 'cache')));
    const retry = await inAttempt(2, () => startContainer(input(deploymentId, 'cache')));

    expect(retry).toMatchObject({ containerId: first.containerId, adopted: true });
  });

  it('starts the stopped container of an earlier attempt instead of making another', async () => {
    const deploymentId = `dep_e_${RUN}`;
    const first = await inAttempt(1, () => startContainer(input(deploymentId, 'queue')));
    await labDocker(lab).getContainer(first.containerId).stop({ t: 1 });

    const retry = await inAttempt(3, () => startContainer(input(deploymentId, 'queue')));

    expect(retry).toMatchObject({ containerId: first.containerId, adopted: true });
    const state = await labDocker(lab).getContainer(first.containerId).inspect();
    expect(state.State.Running).toBe(true);
  });
});
