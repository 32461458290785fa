/**
 * A stack file in the JSON-LD graph dialect, end to end on the lab hosts. The tests check its
 * network, named volume, post-start action and variables, and a dependent on another host that
 * reaches its dependency by service name. A teardown then finds everything by labels.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { demuxBuffer } from '../../activities/health';
import { LABELS, resourceName, stackSlug } from '../../core/names';
import { ensureLab, type LabHost } from '../../lib/lab';
import { findPostgresBinaries, startTestPostgres, type TestPostgres } from '../db/postgres-server';
import {
  containersWithLabel,
  labDocker,
  registerLabHosts,
  startTestGraphium,
  waitForStatus,
  type TestGraphium,
} from '../support/graphium';

const ORDERS = JSON.parse(
  readFileSync(new URL('../fixtures/stacks/graph-orders.json', import.meta.url), 'utf8'),
) as Record<string, unknown>;
const STACK_NAME = 'Orders Graph';
// The `$` checks that a variable's value arrives unchanged, since only the stack's own `$$` is special.
const PASSWORD = 'pa$word-2';

let lab: LabHost[];
let postgres: TestPostgres;
let graphium: TestGraphium;

beforeAll(async () => {
  lab = await ensureLab(3);
  await removeLeftovers();
  const binDir = findPostgresBinaries();
  if (!binDir) throw new Error('PostgreSQL server binaries are missing; run npm run setup');
  postgres = await startTestPostgres(binDir);
  graphium = await startTestGraphium({
    temporalAddress: inject('temporalAddress'),
    databaseUrl: postgres.url,
  });
  await graphium.startWorker();
  await registerLabHosts(graphium, lab);
});

afterAll(async () => {
  await graphium?.stop();
  await postgres?.stop();
});

/** Removes what an interrupted earlier run may have left: containers, then networks and volumes. */
async function removeLeftovers(): Promise<void> {
  const filters = { label: [`${LABELS.managed}=true`] };
  for (const host of lab) {
    const docker = labDocker(host);
    for (const container of await containersWithLabel(host, `${LABELS.managed}=true`)) {
      await docker.getContainer(container.Id).remove({ force: true, v: true });
    }
    for (const network of await docker.listNetworks({ filters }))
      await docker.getNetwork(network.Id).remove();
    const { Volumes } = await docker.listVolumes({ filters });
    for (const volume of Volumes ?? []) await docker.getVolume(volume.Name).remove();
  }
}

function hostNamed(name: string): LabHost {
  return lab.find((host) => host.name === name)!;
}

async function stackResources(host: LabHost) {
  const docker = labDocker(host);
  const filters = { label: [`${LABELS.stack}=${stackSlug(STACK_NAME)}`] };
  const [containers, networks, volumes] = await Promise.all([
    docker.listContainers({ all: true, filters }),
    docker.listNetworks({ filters }),
    docker.listVolumes({ filters }),
  ]);
  return { containers, networks, volumes: volumes.Volumes ?? [] };
}

async function exec(host: LabHost, containerId: string, command: string[]): Promise<string> {
  const execution = await labDocker(host)
    .getContainer(containerId)
    .exec({ Cmd: command, AttachStdout: true, AttachStderr: true });
  const stream = await execution.start({});
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return demuxBuffer(Buffer.concat(chunks));
}

describe('a JSON-LD graph stack on the lab hosts', () => {
  let deploymentId: string;
  let detail: any;

  it('deploys with its variables', async () => {
    const accepted = await graphium.request('POST', '/deployments', {
      stack: ORDERS,
      variables: { DB_PASSWORD: PASSWORD },
    });
    expect(accepted.status).toBe(202);
    expect(accepted.body.warnings).toEqual([]);
    deploymentId = accepted.body.deploymentId;

    detail = await waitForStatus(graphium, deploymentId, ['running', 'rolled_back']);
    expect(detail.failure).toBeNull();
    expect(detail.status).toBe('running');
    const placed = Object.fromEntries(detail.containers.map((c: any) => [c.service, c.hostName]));
    expect(placed).toEqual({ db: 'host1', client: 'host2' });
  });

  it('created the table through the post-start action', async () => {
    const [db] = (await stackResources(hostNamed('host1'))).containers;
    const output = await exec(hostNamed('host1'), db.Id, [
      'psql',
      '-U',
      'orders',
      '-d',
      'orders',
      '-tAc',
      'SELECT item FROM orders ORDER BY id',
    ]);
    expect(output.trim()).toBe('first order');
  });

  it('let the client on host2 reach db by name', async () => {
    const [client] = (await stackResources(hostNamed('host2'))).containers;
    const logs = (await labDocker(hostNamed('host2'))
      .getContainer(client.Id)
      .logs({ stdout: true, stderr: true })) as unknown as Buffer;
    expect(demuxBuffer(logs)).toContain('client stored order 1');
    const info = await labDocker(hostNamed('host2')).getContainer(client.Id).inspect();
    expect(info.HostConfig.ExtraHosts).toContain('db:10.213.0.11');
    expect(info.Config.Env).toContain(`DATABASE_URL=postgres://orders:${PASSWORD}@db:5432/orders`);
    expect(info.Config.User).toBe('nobody');
  });

  it('records the action and the resources with the deployment', async () => {
    const stored = (await graphium.request('GET', `/deployments/${deploymentId}`)).body;
    const db = stored.containers.find((c: any) => c.service === 'db');
    expect(db.actions).toEqual([
      expect.objectContaining({
        name: 'Create the orders table',
        target: 'db',
        status: 'succeeded',
        exitCode: 0,
      }),
    ]);
    const resources = stored.resources.map((r: any) => `${r.kind} ${r.host} ${r.name} ${r.created}`).sort();
    const network = resourceName(STACK_NAME, 'orders-net');
    const volume = resourceName(STACK_NAME, 'orders-data');
    expect(resources).toEqual([
      `network host1 ${network} true`,
      `network host2 ${network} true`,
      `volume host1 ${volume} true`,
    ]);
  });

  it('published db on its own port for the remote client', async () => {
    const db = detail.containers.find((c: any) => c.service === 'db');
    expect(db.ports).toEqual([{ containerPort: 5432, hostPort: 5432, protocol: 'tcp' }]);
  });

  it('applied the container settings to db', async () => {
    const [db] = (await stackResources(hostNamed('host1'))).containers;
    const info = await labDocker(hostNamed('host1')).getContainer(db.Id).inspect();
    expect(info.Config.Env).toContain(`POSTGRES_PASSWORD=${PASSWORD}`);
    expect(info.HostConfig.NanoCpus).toBe(1_000_000_000);
    expect(info.HostConfig.Memory).toBe(256 * 1024 * 1024);
    expect(info.HostConfig.RestartPolicy).toEqual({ Name: 'on-failure', MaximumRetryCount: 3 });
    const mount = info.Mounts.find((entry) => entry.Destination === '/var/lib/postgresql/data');
    expect(mount?.Name).toBe(resourceName(STACK_NAME, 'orders-data'));
  });

  it('created the network on both hosts and the volume beside db', async () => {
    const networkName = resourceName(STACK_NAME, 'orders-net');
    for (const host of ['host1', 'host2']) {
      const { networks } = await stackResources(hostNamed(host));
      expect(networks.map((network) => network.Name)).toEqual([networkName]);
      expect(networks[0]?.Labels?.team).toBe('orders');
    }
    expect((await stackResources(hostNamed('host3'))).networks).toEqual([]);
    const volumes = (await stackResources(hostNamed('host1'))).volumes.map((volume) => volume.Name);
    expect(volumes).toEqual([resourceName(STACK_NAME, 'orders-data')]);
    expect((await stackResources(hostNamed('host2'))).volumes).toEqual([]);
  });

  it('joins db to the network under its service name', async () => {
    const [db] = (await stackResources(hostNamed('host1'))).containers;
    const info = await labDocker(hostNamed('host1')).getContainer(db.Id).inspect();
    const endpoint = info.NetworkSettings.Networks[resourceName(STACK_NAME, 'orders-net')];
    expect(endpoint?.Aliases).toContain('db');
  });

  it('tears down containers, networks and volumes by labels', async () => {
    const response = await graphium.request('DELETE', `/stacks/${encodeURIComponent(stackSlug(STACK_NAME))}`);
    expect(response.status).toBe(202);
    const deadline = Date.now() + 60_000;
    for (;;) {
      const left = await Promise.all(lab.map(stackResources));
      const count = left.reduce(
        (sum, r) => sum + r.containers.length + r.networks.length + r.volumes.length,
        0,
      );
      if (count === 0) break;
      if (Date.now() > deadline) throw new Error(`teardown left ${JSON.stringify(left)}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  });
});

describe('a graph stack whose action fails', () => {
  it('rolls back with the action output in the failure', async () => {
    const name = 'Failing Action';
    const document = {
      '@context': 'https://schema.org',
      '@graph': [
        {
          '@type': 'datacenter:Stack',
          name,
          network: { name: 'net' },
          locatedInHost: 'host3',
          hasPart: [
            {
              '@type': 'datacenter:Container',
              name: 'web',
              image: 'graphium/busybox:lab',
              command: ['sh', '-c', "trap 'exit 0' TERM; while :; do sleep 1; done"],
              volumes: [{ name: 'scratch', mountPath: '/scratch' }],
              potentialAction: [
                { name: 'seed', command: ['sh', '-c', 'echo seeding; echo table missing >&2; exit 3'] },
              ],
            },
          ],
        },
      ],
    };
    const accepted = await graphium.request('POST', '/deployments', document);
    expect(accepted.status).toBe(202);
    const detail = await waitForStatus(graphium, accepted.body.deploymentId, ['running', 'rolled_back']);
    expect(detail.status).toBe('rolled_back');
    const failure = detail.failure.join('\n');
    expect(failure).toContain('seed');
    expect(failure).toContain('exited with code 3');
    expect(failure).toContain('table missing');

    const docker = labDocker(hostNamed('host3'));
    const filters = { label: [`${LABELS.stack}=${stackSlug(name)}`] };
    expect(await docker.listContainers({ all: true, filters })).toEqual([]);
    expect(await docker.listNetworks({ filters })).toEqual([]);
    expect((await docker.listVolumes({ filters })).Volumes ?? []).toEqual([]);
  });
});
