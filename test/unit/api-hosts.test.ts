import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../../db/client';
import { MAX_BODY_BYTES } from '../../api/app';
import { checkDaemon } from '../../api/hosts';
import { insertDeployment, replaceDeploymentContainers } from '../../db/repository';
import {
  PGLITE_START_TIMEOUT_MS,
  hostBody,
  openTestDatabase,
  resetApi,
  type TestApi,
  type TestResponse,
} from './api-helpers';
import { createCa, issueCertificate, type TestCa, type TestCertificate } from '../support/pki';

let handle: DatabaseHandle;
let api: TestApi;
/** Folder of the certificates that the TLS tests register. */
let pkiDir: string;
let ca: TestCa;
let client: TestCertificate;

beforeAll(async () => {
  handle = await openTestDatabase();
  pkiDir = mkdtempSync(join(tmpdir(), 'graphium-api-hosts-'));
  ca = createCa(pkiDir, 'ca');
  client = issueCertificate(pkiDir, ca, { name: 'client', usage: 'clientAuth' });
}, PGLITE_START_TIMEOUT_MS);

afterAll(async () => {
  await handle.close();
  if (pkiDir) rmSync(pkiDir, { recursive: true, force: true });
});

beforeEach(async () => {
  api = await resetApi(handle.db);
});

/** Returns the `details` of a 400 response as a map from path to message. */
async function detailsByPath(response: TestResponse): Promise<Record<string, string>> {
  const body = await response.json();
  const details: { path: string; message: string }[] = body.error.details;
  return Object.fromEntries(details.map((detail) => [detail.path, detail.message]));
}

describe('POST /hosts', () => {
  it('registers a host from a unix URL', async () => {
    const response = await api.send('POST', '/hosts', hostBody('host1', { labels: { zone: 'a' } }));

    expect(response.status).toBe(201);
    expect(response.headers.get('Location')).toBe('/hosts/host1');
    const host = await response.json();
    expect(host.name).toBe('host1');
    expect(host.docker).toEqual({ protocol: 'unix', socketPath: '/run/graphium-test/absent.sock' });
    expect(host.address).toBe('10.0.0.1');
    expect(host.datacenter).toBe('default');
    expect(host.labels).toEqual({ zone: 'a' });
    expect(host.imagePull).toBe('missing');
    expect(host.status).toBe('active');
  });

  it('reads a tcp URL with an IPv6 host', async () => {
    const body = hostBody('host6', { docker: 'tcp://[fd00::5]:2375', address: 'fd00::5' });
    const response = await api.send('POST', '/hosts', body);

    expect(response.status).toBe(201);
    const host = await response.json();
    expect(host.docker).toEqual({ protocol: 'tcp', host: 'fd00::5', port: 2375 });
  });

  it('returns TLS file paths only', async () => {
    const tls = { ca: ca.cert, cert: client.cert, key: client.key };
    const docker = { protocol: 'tcp', host: 'docker.lab', port: 2376, tls };
    const created = await api.send('POST', '/hosts', hostBody('secure', { docker }));
    const fetched = await api.send('GET', '/hosts/secure');

    expect(created.status).toBe(201);
    const createdText = await created.text();
    const fetchedText = await fetched.clone().text();
    expect(JSON.parse(createdText).docker.tls).toEqual(tls);
    expect((await fetched.json()).docker.tls).toEqual(tls);
    for (const text of [createdText, fetchedText]) {
      expect(text).not.toContain('PRIVATE KEY');
      expect(text).not.toContain('BEGIN CERTIFICATE');
    }
  });

  it('rejects TLS files that cannot be used with 400', async () => {
    const tls = { ca: join(pkiDir, 'absent.pem'), cert: client.key, key: ca.key };
    const docker = { protocol: 'tcp', host: 'docker.lab', port: 2376, tls };
    const response = await api.send('POST', '/hosts', hostBody('secure', { docker }));

    expect(response.status).toBe(400);
    const body = await response.clone().json();
    expect(body.error.code).toBe('validation_failed');
    expect(body.error.message).toBe('host has 2 unusable TLS files; see details');
    const details = await detailsByPath(response);
    expect(details['$.docker.tls.ca']).toBe(
      `${tls.ca} does not exist on the Graphium server; give the absolute path of a PEM file on the Graphium server`,
    );
    expect(details['$.docker.tls.cert']).toMatch(
      /contains a "PRIVATE KEY" block where a certificate belongs/,
    );
    expect(details['$.docker.tls.key']).toBeUndefined();
    expect((await api.send('GET', '/hosts/secure')).status).toBe(404);
  });

  it('rejects a key that does not belong to the certificate', async () => {
    const tls = { ca: ca.cert, cert: client.cert, key: ca.key };
    const docker = { protocol: 'tcp', host: 'docker.lab', port: 2376, tls };
    const details = await detailsByPath(await api.send('POST', '/hosts', hostBody('secure', { docker })));

    expect(Object.keys(details)).toEqual(['$.docker.tls.key']);
    expect(details['$.docker.tls.key']).toBe(
      `${ca.key} is not the private key of the certificate in tls.cert (${client.cert}); ` +
        'give the key that belongs to that certificate',
    );
  });

  it('rejects inline PEM text in place of a key path', async () => {
    const pem = '-----BEGIN PRIVATE KEY-----\nMIIEvQ\n-----END PRIVATE KEY-----';
    const tls = { ca: '/ca.pem', cert: '/cert.pem', key: pem };
    const docker = { protocol: 'tcp', host: 'docker.lab', port: 2376, tls };
    const response = await api.send('POST', '/hosts', hostBody('secure', { docker }));

    expect(response.status).toBe(400);
    const text = await response.clone().text();
    expect(text).not.toContain('MIIEvQ');
    const details = await detailsByPath(response);
    expect(details['$.docker.tls.key']).toMatch(/path of a PEM file/);
  });

  it('rejects a duplicate name with 409', async () => {
    await api.send('POST', '/hosts', hostBody('host1'));
    const response = await api.send('POST', '/hosts', hostBody('host1', { address: '10.0.0.2' }));

    expect(response.status).toBe(409);
    const body = await response.json();
    expect(body.error.code).toBe('host_exists');
    expect(body.error.message).toContain('"host1"');
  });

  it('names every invalid field', async () => {
    const body = {
      name: 'Host_1',
      docker: 'http://docker:2375',
      address: 'not an address',
      extra: true,
    };
    const response = await api.send('POST', '/hosts', body);

    expect(response.status).toBe(400);
    const details = await detailsByPath(response.clone());
    expect(details['$.name']).toMatch(/lowercase letters, digits or hyphens/);
    expect(details['$.docker']).toMatch(/not a Docker endpoint scheme; write tcp:\/\/host:port/);
    expect(details['$.address']).toMatch(/must not contain spaces/);
    expect(details['$.extra']).toMatch(/not a known field/);
    expect((await response.json()).error.code).toBe('validation_failed');
  });

  it('reports missing required fields', async () => {
    const details = await detailsByPath(await api.send('POST', '/hosts', {}));

    expect(details['$.name']).toBe('is required');
    expect(details['$.docker']).toBe('is required');
    expect(details['$.address']).toBe('is required');
  });

  it('rejects a port outside 1..65535', async () => {
    const docker = { protocol: 'tcp', host: '10.0.0.9', port: 70000 };
    const response = await api.send('POST', '/hosts', hostBody('h', { docker }));
    const details = await detailsByPath(response);

    expect(details['$.docker.port']).toBe('must be a whole number from 1 to 65535');
  });

  it('rejects a tcp URL without a port', async () => {
    const body = hostBody('h', { docker: 'tcp://10.0.0.9' });
    const details = await detailsByPath(await api.send('POST', '/hosts', body));

    expect(details['$.docker']).toMatch(/must include the Docker port/);
  });

  it('rejects an unknown endpoint protocol', async () => {
    const body = hostBody('h', { docker: { protocol: 'ftp', host: 'x' } });
    const details = await detailsByPath(await api.send('POST', '/hosts', body));

    expect(details['$.docker.protocol']).toBe('must be "unix" or "tcp"');
  });

  it('rejects an unknown imagePull value', async () => {
    const details = await detailsByPath(
      await api.send('POST', '/hosts', hostBody('h', { imagePull: 'always' })),
    );

    expect(details['$.imagePull']).toBe('must be "missing" or "never"');
  });

  it('rejects a body that is not an object', async () => {
    const response = await api.send('POST', '/hosts', ['host1']);

    expect(response.status).toBe(400);
    const details = await detailsByPath(response);
    expect(Object.keys(details)).toEqual(['$']);
  });
});

describe('GET and DELETE /hosts', () => {
  it('lists hosts sorted by name', async () => {
    await api.send('POST', '/hosts', hostBody('host2'));
    await api.send('POST', '/hosts', hostBody('host1'));
    const response = await api.send('GET', '/hosts');

    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body.items.map((host: { name: string }) => host.name)).toEqual(['host1', 'host2']);
  });

  it('returns 404 for an unknown host', async () => {
    const response = await api.send('GET', '/hosts/nowhere');

    expect(response.status).toBe(404);
    const body = await response.json();
    expect(body.error.code).toBe('not_found');
    expect(body.error.message).toContain('"nowhere"');
  });

  it('deletes a host with 204', async () => {
    await api.send('POST', '/hosts', hostBody('host1'));
    const deleted = await api.send('DELETE', '/hosts/host1');
    const fetched = await api.send('GET', '/hosts/host1');

    expect(deleted.status).toBe(204);
    expect(await deleted.text()).toBe('');
    expect(fetched.status).toBe(404);
  });

  it('returns 404 when deleting an unknown host', async () => {
    const response = await api.send('DELETE', '/hosts/nowhere');

    expect(response.status).toBe(404);
  });
});

describe('request handling', () => {
  it('answers the health check', async () => {
    const response = await api.send('GET', '/healthz');

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true });
  });

  it('rejects invalid JSON naming the problem', async () => {
    const response = await api.send('POST', '/hosts', '{"name": "host1",');

    expect(response.status).toBe(400);
    const body = await response.json();
    expect(body.error.code).toBe('invalid_json');
    expect(body.error.message).toMatch(/^request body is not valid JSON: /);
  });

  it('rejects a body not declared as JSON', async () => {
    const body = JSON.stringify({ name: 'host1', docker: 'unix:///run/docker.sock', address: '10.0.0.1' });
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', undefined]) {
      const headers: Record<string, string> = type ? { 'content-type': type } : {};
      const response = await api.app.request('/hosts', { method: 'POST', body, headers });

      expect(response.status).toBe(415);
      const { error } = (await response.json()) as { error: { code: string; message: string } };
      expect(error.code).toBe('unsupported_media_type');
      expect(error.message).toContain('Content-Type: application/json');
    }
    expect((await api.send('GET', '/hosts')).status).toBe(200);
    expect((await (await api.send('GET', '/hosts')).json()).items).toEqual([]);
  });

  it('rejects an empty body', async () => {
    const response = await api.send('POST', '/hosts', '');

    expect(response.status).toBe(400);
    expect((await response.json()).error.message).toMatch(/request body is empty/);
  });

  it('rejects a body over the size limit with 413', async () => {
    const padding = 'x'.repeat(MAX_BODY_BYTES);
    const response = await api.send('POST', '/hosts', hostBody('big', { labels: { padding } }));

    expect(response.status).toBe(413);
    const body = await response.json();
    expect(body.error.code).toBe('payload_too_large');
    expect(body.error.message).toContain(String(MAX_BODY_BYTES));
  });

  it('sets X-Request-Id on success and error responses', async () => {
    const ok = await api.send('GET', '/healthz');
    const missing = await api.send('GET', '/hosts/nowhere');

    expect(ok.headers.get('X-Request-Id')).toMatch(/^[\w-]+$/);
    expect(missing.headers.get('X-Request-Id')).toMatch(/^[\w-]+$/);
  });

  it('keeps a request id sent by the client', async () => {
    const headers = { 'X-Request-Id': 'trace-123' };
    const response = await api.app.request('/healthz', { headers });

    expect(response.headers.get('X-Request-Id')).toBe('trace-123');
  });

  it('answers an unknown route with the error shape', async () => {
    const response = await api.send('GET', '/nothing-here');

    expect(response.status).toBe(404);
    const body = await response.json();
    expect(body.error.code).toBe('not_found');
    expect(body.error.message).toBe('no route matches GET /nothing-here');
  });
});

describe('host registration checks', () => {
  it('rejects the unspecified address', async () => {
    for (const address of ['0.0.0.0', '::']) {
      const response = await api.send('POST', '/hosts', hostBody('h', { address }));

      expect(response.status).toBe(400);
      expect((await detailsByPath(response))['$.address']).toContain('not the unspecified address');
    }
  });

  it('rejects a socket path with .. segments', async () => {
    const response = await api.send('POST', '/hosts', hostBody('h', { docker: 'unix:///tmp/../etc/passwd' }));

    expect(response.status).toBe(400);
    expect((await detailsByPath(response))['$.docker.socketPath']).toContain('".."');
  });

  it('reports a daemon that does not answer', async () => {
    // A socket path that does not exist, so the check fails here without leaving the machine.
    const check = await checkDaemon({
      name: 'h',
      docker: { protocol: 'unix', socketPath: '/run/graphium-test/absent.sock' },
    });

    expect(check.reachable).toBe(false);
    expect(check.errorKind).toBe('unreachable');
    expect(check.error).toContain('Docker daemon did not answer');
    expect(check.error).toContain('ENOENT');
  });

  it('reports a daemon whose certificate the CA did not sign', async () => {
    const rogueCa = createCa(pkiDir, 'rogue-ca');
    const serverCert = issueCertificate(pkiDir, rogueCa, {
      name: 'rogue-server',
      usage: 'serverAuth',
      altNames: ['IP:127.0.0.1'],
    });
    const server = createServer(
      { cert: readFileSync(serverCert.cert), key: readFileSync(serverCert.key) },
      (_, r) => r.end('{}'),
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    try {
      const tls = { ca: ca.cert, cert: client.cert, key: client.key };
      const check = await checkDaemon({
        name: 'h',
        docker: { protocol: 'tcp', host: '127.0.0.1', port, tls },
      });

      expect(check.reachable).toBe(false);
      expect(check.errorKind).toBe('tls');
      expect(check.error).toBe(
        `TLS handshake with h at tcp://127.0.0.1:${port} failed: the daemon's certificate is not signed ` +
          `by the CA in ${ca.cert} (UNABLE_TO_VERIFY_LEAF_SIGNATURE); give the CA that signed the ` +
          "daemon's certificate (its --tlscert) as tls.ca",
      );
    } finally {
      server.close();
    }
  });

  it('keeps a host that a running stack uses', async () => {
    expect((await api.send('POST', '/hosts', hostBody('busy'))).status).toBe(201);
    await insertDeployment(api.db, {
      id: 'dep_busy',
      stackName: 'Busy',
      stackSlug: 'busy',
      workflowId: 'graphium-deploy-busy',
      status: 'running',
      strategy: 'manual',
      spec: { name: 'Busy', placement: 'manual', volumes: [], services: [] },
    });
    await replaceDeploymentContainers(api.db, 'dep_busy', [
      {
        service: 'db',
        hostName: 'busy',
        hostAddress: '10.0.0.1',
        containerId: 'c1',
        containerName: 'busy-db',
        image: 'postgres:16',
        ports: [],
        connections: [],
        health: 'healthy',
        position: 1,
      },
    ]);
    const response = await api.send('DELETE', '/hosts/busy');

    expect(response.status).toBe(409);
    const { error } = (await response.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe('host_in_use');
    expect(error.message).toContain('dep_busy (stack "Busy", running)');
    expect((await api.send('GET', '/hosts/busy')).status).toBe(200);
  });
});
