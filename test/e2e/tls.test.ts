/**
 * Mutual TLS between Graphium and the lab's Docker daemons. The daemons serve their API only on
 * port 2376 with --tlsverify, so every lab test already deploys over TLS.
 *
 * This file checks what the lab promises: no plain-TCP port, no client without a certificate,
 * and a restart of a daemon started with an outdated configuration. It also checks what Graphium
 * does with a host whose TLS fails. Such a host is registered but reported unusable with the
 * cause and the fix, placement rejects it, and a deploy pinned to it gets 422 and creates
 * nothing. The rogue CA and client certificate are made with openssl for this run.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { LABELS, stackSlug } from '../../core/names';
import { ensureLab, labAvailable, labDockerEndpoint, type LabHost } from '../../lib/lab';
import { findPostgresBinaries, startTestPostgres, type TestPostgres } from '../db/postgres-server';
import {
  containersWithLabel,
  labDocker,
  registerLabHosts,
  startTestGraphium,
  waitForStatus,
  type TestGraphium,
} from '../support/graphium';
import { createCa, issueCertificate, type TestCa, type TestCertificate } from '../support/pki';

const run = promisify(execFile);
const LAB_SCRIPT = new URL('../../scripts/lab.sh', import.meta.url).pathname;
const RUN = randomUUID().slice(0, 6);
const IDLE = ['sh', '-c', "trap 'exit 0' TERM; while :; do sleep 1; done"];

let lab: LabHost[];
let postgres: TestPostgres;
let graphium: TestGraphium;
let pkiDir: string;
let rogueCa: TestCa;
let rogueClient: TestCertificate;
/** Stack names this file deploys or tries to deploy, whose containers cleanup removes. */
const stacks = new Set<string>();

function stack(name: string, items: Record<string, unknown>[]) {
  stacks.add(name);
  return {
    '@context': 'https://schema.org',
    '@type': 'ItemList',
    name,
    placement: 'manual',
    itemListElement: items.map((item, index) => ({
      '@type': 'SoftwareApplication',
      position: index + 1,
      name: `s${index + 1}`,
      image: 'graphium/busybox:lab',
      command: IDLE,
      ...item,
    })),
  };
}

/** Registers host3's daemon under `name` with `tls` in place of the lab's files. */
async function registerHost3As(name: string, tls: Record<string, string> | undefined) {
  const endpoint = labDockerEndpoint(lab[2]!);
  const docker = tls === undefined ? { ...endpoint, tls: undefined } : { ...endpoint, tls };
  return graphium.request('POST', '/hosts', {
    name,
    docker,
    address: lab[2]!.address,
    datacenter: lab[2]!.datacenter,
    imagePull: 'never',
  });
}

async function removeStackContainers(): Promise<void> {
  for (const host of lab ?? []) {
    for (const name of stacks) {
      for (const container of await containersWithLabel(host, `${LABELS.stack}=${stackSlug(name)}`)) {
        await labDocker(host).getContainer(container.Id).remove({ force: true });
      }
    }
  }
}

/** Returns the pid in host K's dockerd pid file. */
function dockerdPid(k: number): string {
  return readFileSync(`/run/graphium-lab/h${k}/dockerd.pid`, 'utf8').trim();
}

/** Waits until no lab host has a container of the stack `name`, for at most a minute. */
async function waitForNoContainers(name: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const left = await Promise.all(
      lab.map((host) => containersWithLabel(host, `${LABELS.stack}=${stackSlug(name)}`)),
    );
    if (left.every((containers) => containers.length === 0)) return;
    if (Date.now() > deadline) throw new Error(`the teardown of ${name} left containers`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Resolves with the error code of a TCP connection to `host:port`, or "connected". */
function connectOutcome(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

/** Sends GET /version over TLS with `options` and resolves with the status or the error code. */
function tlsOutcome(host: LabHost, options: { ca: Buffer; cert?: Buffer; key?: Buffer }): Promise<string> {
  const endpoint = labDockerEndpoint(host);
  if (endpoint.protocol !== 'tcp') throw new Error(`${host.name} has no TCP endpoint`);
  return new Promise((resolve) => {
    const request = httpsRequest(
      { host: endpoint.host, port: endpoint.port, path: '/version', agent: false, ...options },
      (response) => {
        response.resume();
        resolve(`HTTP ${response.statusCode}`);
      },
    );
    request.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    request.end();
  });
}

describe.skipIf(!labAvailable())('mutual TLS on the lab hosts', () => {
  beforeAll(async () => {
    lab = await ensureLab(3);
    pkiDir = mkdtempSync(join(tmpdir(), 'graphium-e2e-tls-'));
    rogueCa = createCa(pkiDir, 'rogue-ca');
    rogueClient = issueCertificate(pkiDir, rogueCa, { name: 'rogue-client', usage: 'clientAuth' });
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
    await removeStackContainers();
    await graphium?.stop();
    await postgres?.stop();
    if (pkiDir) rmSync(pkiDir, { recursive: true, force: true });
  });

  describe('the lab daemons', () => {
    it('no longer listen on plain TCP', async () => {
      for (const host of lab) {
        expect(await connectOutcome(host.address, 2375), host.name).toBe('ECONNREFUSED');
      }
    });

    it('respond to the lab client certificate', async () => {
      const files = lab[0]!.tls;
      const outcome = await tlsOutcome(lab[0]!, {
        ca: readFileSync(files.ca),
        cert: readFileSync(files.cert),
        key: readFileSync(files.key),
      });

      expect(outcome).toBe('HTTP 200');
    });

    it('reject a client without a certificate', async () => {
      const outcome = await tlsOutcome(lab[0]!, { ca: readFileSync(lab[0]!.tls.ca) });

      // dockerd 20.10 rejects a missing client certificate with the alert "bad certificate".
      expect(outcome).toBe('ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE');
    });

    it('reject a client certificate from another CA', async () => {
      const outcome = await tlsOutcome(lab[0]!, {
        ca: readFileSync(lab[0]!.tls.ca),
        cert: readFileSync(rogueClient.cert),
        key: readFileSync(rogueClient.key),
      });

      expect(outcome).toBe('ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE');
    });

    it('restart when started with another configuration', async () => {
      // A daemon started by an older lab.sh, which served plain TCP on 2375, has no marker.
      const marker = '/run/graphium-lab/h3/dockerd.config';
      const before = dockerdPid(3);
      rmSync(marker);
      await run('bash', [LAB_SCRIPT, 'up', '3']);
      const after = dockerdPid(3);

      expect(after).not.toBe(before);
      expect(readFileSync(marker, 'utf8')).toMatch(
        new RegExp(`^pid=${after} tcp://10\\.213\\.0\\.13:2376 tlsverify `),
      );
      const files = lab[2]!.tls;
      const outcome = await tlsOutcome(lab[2]!, {
        ca: readFileSync(files.ca),
        cert: readFileSync(files.cert),
        key: readFileSync(files.key),
      });
      expect(outcome).toBe('HTTP 200');
    });

    it('stay up when their configuration is current', async () => {
      const before = [1, 2, 3].map(dockerdPid);
      await run('bash', [LAB_SCRIPT, 'up', '3']);

      expect([1, 2, 3].map(dockerdPid)).toEqual(before);
    });
  });

  describe('Graphium', () => {
    it('registers the lab hosts with their TLS files', async () => {
      const response = await graphium.request('GET', '/hosts/host1');

      expect(response.status).toBe(200);
      expect(response.body.docker).toEqual({
        protocol: 'tcp',
        host: '10.213.0.11',
        port: 2376,
        tls: lab[0]!.tls,
      });
      expect(response.body.facts.reachable).toBe(true);
    });

    it('deploys over mutual TLS', async () => {
      const name = `tls-deploy-${RUN}`;
      const accepted = await graphium.request(
        'POST',
        '/deployments',
        stack(name, [{ targetHost: 'host1' }, { targetHost: 'host3', requirements: ['s1'] }]),
      );
      expect(accepted.status).toBe(202);
      const detail = await waitForStatus(graphium, accepted.body.deploymentId, ['running', 'rolled_back']);

      expect(detail.status).toBe('running');
      const hostsUsed = detail.containers.map((c: { hostName: string }) => c.hostName).sort();
      expect(hostsUsed).toEqual(['host1', 'host3']);
      expect(await containersWithLabel(lab[0]!, `${LABELS.stack}=${stackSlug(name)}`)).toHaveLength(1);
      expect(await containersWithLabel(lab[2]!, `${LABELS.stack}=${stackSlug(name)}`)).toHaveLength(1);

      const teardown = await graphium.request('DELETE', `/stacks/${stackSlug(name)}`);
      expect(teardown.status).toBe(202);
      await waitForNoContainers(name);
    });

    it('reports a CA that did not sign the daemon certificate', async () => {
      const files = { ...lab[2]!.tls, ca: rogueCa.cert };
      const response = await registerHost3As('rogue-ca', files);

      expect(response.status).toBe(201);
      expect(response.body.daemon).toEqual({
        reachable: false,
        errorKind: 'tls',
        error:
          "TLS handshake with rogue-ca at tcp://10.213.0.13:2376 failed: the daemon's certificate is not " +
          `signed by the CA in ${rogueCa.cert} (UNABLE_TO_VERIFY_LEAF_SIGNATURE); give the CA that signed ` +
          "the daemon's certificate (its --tlscert) as tls.ca",
      });
    });

    it('reports a client certificate the daemon rejects', async () => {
      const files = { ca: lab[2]!.tls.ca, cert: rogueClient.cert, key: rogueClient.key };
      const response = await registerHost3As('rogue-client', files);

      expect(response.status).toBe(201);
      expect(response.body.daemon).toEqual({
        reachable: false,
        errorKind: 'tls',
        error:
          'TLS handshake with rogue-client at tcp://10.213.0.13:2376 failed: the daemon rejected the ' +
          `client certificate in ${rogueClient.cert} (ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE); give a client ` +
          'certificate signed by the CA that the daemon trusts (its --tlscacert)',
      });
    });

    it('reports a host registered without TLS at the TLS port', async () => {
      const response = await registerHost3As('no-tls', undefined);

      expect(response.status).toBe(201);
      expect(response.body.daemon.errorKind).toBe('tls');
      expect(response.body.daemon.error).toMatch(
        /^Docker daemon of no-tls at tcp:\/\/10\.213\.0\.13:2376 requires TLS: .* \(HTTP 400\); delete the host/,
      );
    });

    it('rejects TLS files that do not exist with 400', async () => {
      const files = { ...lab[2]!.tls, ca: join(pkiDir, 'absent.pem') };
      const response = await registerHost3As('absent-ca', files);

      expect(response.status).toBe(400);
      expect(response.body.error.details).toEqual([
        {
          path: '$.docker.tls.ca',
          message: `${files.ca} does not exist on the Graphium server; give the absolute path of a PEM file on the Graphium server`,
        },
      ]);
      expect((await graphium.request('GET', '/hosts/absent-ca')).status).toBe(404);
    });

    it('lists the hosts whose TLS fails as unusable', async () => {
      const response = await graphium.request('GET', '/hosts');
      const facts = Object.fromEntries(
        response.body.items.map((item: { name: string; facts: any }) => [item.name, item.facts]),
      );

      for (const name of ['rogue-ca', 'rogue-client', 'no-tls']) {
        expect(facts[name].reachable, name).toBe(false);
        expect(facts[name].errorKind, name).toBe('tls');
      }
      expect(facts['rogue-ca'].error).toMatch(
        /^TLS handshake with rogue-ca .*UNABLE_TO_VERIFY_LEAF_SIGNATURE/,
      );
      expect(facts['rogue-client'].error).toMatch(
        /^TLS handshake with rogue-client .*the daemon rejected the client certificate/,
      );
      expect(facts.host3.reachable).toBe(true);
    });

    it('plans around the hosts whose TLS fails', async () => {
      const response = await graphium.request('POST', '/stacks/plan', {
        ...stack(`tls-plan-${RUN}`, [{}]),
        placement: 'auto',
      });

      expect(response.status).toBe(200);
      const [placed] = response.body.plan.services;
      expect(['host1', 'host2', 'host3']).toContain(placed.host);
      const reasons = Object.fromEntries(
        placed.rejected.map((entry: { host: string; reason: string }) => [entry.host, entry.reason]),
      );
      expect(reasons['rogue-ca']).toMatch(/^host is unusable: TLS handshake with rogue-ca at /);
      expect(reasons['rogue-client']).toMatch(/^host is unusable: TLS handshake with rogue-client at /);
      expect(reasons['no-tls']).toMatch(/^host is unusable: Docker daemon of no-tls at .* requires TLS/);
    });

    it('rejects a plan pinned to a host whose TLS fails with 422', async () => {
      const response = await graphium.request(
        'POST',
        '/stacks/plan',
        stack(`tls-plan-pinned-${RUN}`, [{ targetHost: 'rogue-ca' }]),
      );

      expect(response.status).toBe(422);
      expect(response.body.error.code).toBe('unplaceable');
      expect(response.body.error.details).toEqual([
        {
          path: '$.itemListElement[0]',
          message: expect.stringMatching(
            /^s1 cannot run on host rogue-ca: host is unusable: TLS handshake with rogue-ca at tcp:\/\/10\.213\.0\.13:2376 failed: the daemon's certificate is not signed by the CA in /,
          ),
        },
      ]);
    });

    it('refuses a deploy pinned to a host whose TLS fails and creates nothing', async () => {
      const name = `tls-refused-${RUN}`;
      const response = await graphium.request(
        'POST',
        '/deployments',
        stack(name, [{ targetHost: 'host1' }, { targetHost: 'rogue-client', requirements: ['s1'] }]),
      );

      expect(response.status).toBe(422);
      expect(response.body.error.code).toBe('unplaceable');
      expect(response.body.error.details).toEqual([
        {
          path: '$.itemListElement[1]',
          message: expect.stringMatching(
            /^s2 cannot run on host rogue-client: host is unusable: TLS handshake with rogue-client at .*the daemon rejected the client certificate/,
          ),
        },
      ]);
      const deployments = await graphium.request('GET', `/deployments?stack=${encodeURIComponent(name)}`);
      expect(deployments.body.items).toEqual([]);
      for (const host of lab) {
        expect(await containersWithLabel(host, `${LABELS.stack}=${stackSlug(name)}`), host.name).toEqual([]);
      }
    });
  });
});
