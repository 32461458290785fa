/**
 * TLS checks and error classification of Docker endpoints. The handshakes are real: a Docker
 * client built by `dockerFor` calls HTTPS servers on the loopback interface, with certificates
 * made by openssl in a temporary folder.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerFor, hostErrorMessage, isTransportError, onHost } from '../../activities/docker';
import {
  checkTlsFiles,
  classifyTlsError,
  MAX_PEM_BYTES,
  TlsFileError,
  tlsFailureMessage,
  type TlsFiles,
} from '../../activities/docker-tls';
import type { DockerEndpoint, HostRecord } from '../../core/model';
import { ERROR_TYPES, HOST_UNREACHABLE } from '../../workflows/contract';
import { createCa, issueCertificate, type TestCa, type TestCertificate } from '../support/pki';

let dir: string;
let ca: TestCa;
let rogueCa: TestCa;
let client: TestCertificate;
let rogueClient: TestCertificate;
let expiredClient: TestCertificate;
/** The certificate of the loopback daemon, for 127.0.0.1 and localhost. */
let serverCert: TestCertificate;
/** Files a client that trusts `ca` and presents `client` uses. */
let goodFiles: TlsFiles;
const servers: Server[] = [];
/** Port of an HTTPS server with a certificate for 127.0.0.1 that requires a client certificate. */
let daemonPort: number;
/** Port of an HTTPS server whose certificate names only host9, so 127.0.0.1 does not match it. */
let misnamedPort: number;
/** Port of an HTTPS server whose certificate has expired. */
let expiredPort: number;
/** Port of a plain HTTP server. */
let plainPort: number;
/** `openssl s_server` requiring a client certificate signed by `ca`, see startStrictDaemon. */
let strictDaemon: ChildProcess | undefined;
let strictPort: number;

/** Responds to every request as Docker's `/version` does. */
function versionHandler(_request: unknown, response: import('node:http').ServerResponse): void {
  response.setHeader('content-type', 'application/json');
  response.end(JSON.stringify({ Version: '20.10.24', ApiVersion: '1.41' }));
}

async function listen(server: Server): Promise<number> {
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

function daemonServer(serverCert: TestCertificate): Server {
  return createHttpsServer(
    {
      cert: readFileSync(serverCert.cert),
      key: readFileSync(serverCert.key),
      ca: readFileSync(ca.cert),
      requestCert: true,
      rejectUnauthorized: true,
    },
    versionHandler,
  );
}

/**
 * Starts `openssl s_server` with the loopback certificate, requiring a client certificate signed
 * by `ca`. Like dockerd, and unlike Node's TLS server, it sends a TLS alert when it rejects a
 * client certificate. It responds to every request with an HTML status page.
 */
async function startStrictDaemon(serverCert: TestCertificate): Promise<number> {
  const args = ['s_server', '-accept', '127.0.0.1:0', '-cert', serverCert.cert, '-key', serverCert.key];
  args.push('-CAfile', ca.cert, '-Verify', '1', '-verify_return_error', '-www');
  strictDaemon = spawn('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const child = strictDaemon;
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const accepted = /ACCEPT \S+:(\d+)/.exec(output);
      if (accepted) resolve(Number(accepted[1]));
    });
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`openssl s_server exited with code ${code}: ${output}`)));
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'graphium-tls-unit-'));
  ca = createCa(dir, 'ca');
  rogueCa = createCa(dir, 'rogue-ca');
  client = issueCertificate(dir, ca, { name: 'client', usage: 'clientAuth' });
  rogueClient = issueCertificate(dir, rogueCa, { name: 'rogue-client', usage: 'clientAuth' });
  expiredClient = issueCertificate(dir, ca, { name: 'expired-client', usage: 'clientAuth', days: -1 });
  goodFiles = { ca: ca.cert, cert: client.cert, key: client.key };

  serverCert = issueCertificate(dir, ca, {
    name: 'server',
    usage: 'serverAuth',
    altNames: ['IP:127.0.0.1', 'DNS:localhost'],
  });
  const misnamed = issueCertificate(dir, ca, {
    name: 'misnamed',
    usage: 'serverAuth',
    altNames: ['DNS:host9'],
  });
  const expired = issueCertificate(dir, ca, {
    name: 'expired-server',
    usage: 'serverAuth',
    altNames: ['IP:127.0.0.1'],
    days: -1,
  });
  daemonPort = await listen(daemonServer(serverCert));
  misnamedPort = await listen(daemonServer(misnamed));
  expiredPort = await listen(daemonServer(expired));
  plainPort = await listen(createHttpServer(versionHandler));
  strictPort = await startStrictDaemon(serverCert);
});

afterAll(async () => {
  strictDaemon?.kill();
  for (const server of servers) {
    server.closeAllConnections?.();
    server.close();
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function tlsEndpoint(port: number, tls: TlsFiles): DockerEndpoint {
  return { protocol: 'tcp', host: '127.0.0.1', port, tls };
}

/** Returns the error of a `docker version` call through `dockerFor`, or fails when it succeeds. */
async function versionError(name: string, endpoint: DockerEndpoint): Promise<unknown> {
  try {
    const version = await dockerFor({ name, docker: endpoint }).version();
    throw new Error(`docker version succeeded unexpectedly: ${JSON.stringify(version)}`);
  } catch (error) {
    return error;
  }
}

/** Writes `text` into a new file of the test folder and returns its path. */
function fileWith(name: string, text: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('checkTlsFiles', () => {
  it('accepts a CA, a client certificate and its key', () => {
    expect(checkTlsFiles(goodFiles)).toEqual([]);
  });

  it('accepts a CA file with several certificates', () => {
    const bundle = fileWith('bundle.pem', readFileSync(rogueCa.cert, 'utf8') + readFileSync(ca.cert, 'utf8'));

    expect(checkTlsFiles({ ...goodFiles, ca: bundle })).toEqual([]);
  });

  it('names a file that does not exist', () => {
    const [problem, ...rest] = checkTlsFiles({ ...goodFiles, ca: join(dir, 'absent.pem') });

    expect(rest).toEqual([]);
    expect(problem).toBeInstanceOf(TlsFileError);
    expect(problem!.field).toBe('ca');
    expect(problem!.code).toBe('ENOENT');
    expect(problem!.message).toBe(
      `the tls.ca file ${join(dir, 'absent.pem')} does not exist on the Graphium server`,
    );
  });

  it('rejects a folder', () => {
    const folder = join(dir, 'folder.pem');
    mkdirSync(folder, { recursive: true });
    const problems = checkTlsFiles({ ...goodFiles, cert: folder });

    expect(problems.map((p) => [p.field, p.code])).toEqual([['cert', 'ENOTFILE']]);
  });

  it('rejects a file larger than a PEM file needs', () => {
    const big = fileWith('big.pem', Buffer.alloc(MAX_PEM_BYTES + 1, 0x41));
    const problems = checkTlsFiles({ ...goodFiles, ca: big });

    expect(problems.map((p) => [p.field, p.code])).toEqual([['ca', 'EFBIG']]);
  });

  it('rejects text that is not PEM', () => {
    const text = fileWith('text.pem', 'hello\n');
    const problems = checkTlsFiles({ ...goodFiles, ca: text });

    expect(problems.map((p) => [p.field, p.code])).toEqual([['ca', 'NOT_PEM']]);
    expect(problems[0]!.fix).toContain('-----BEGIN CERTIFICATE-----');
  });

  it('rejects a key where a certificate belongs', () => {
    const problems = checkTlsFiles({ ...goodFiles, cert: client.key });

    expect(problems.map((p) => [p.field, p.code])).toEqual([['cert', 'NOT_CERTIFICATE']]);
    expect(problems[0]!.problem).toBe('contains a "PRIVATE KEY" block where a certificate belongs');
  });

  it('rejects a damaged certificate', () => {
    const pem = readFileSync(ca.cert, 'utf8').replace(/\n[A-Za-z0-9+/]{20}/, '\nAAAAAAAAAAAAAAAAAAAA');
    const problems = checkTlsFiles({ ...goodFiles, ca: fileWith('damaged.pem', pem) });

    expect(problems.map((p) => p.field)).toEqual(['ca']);
    expect(problems[0]!.problem).toMatch(/^contains a certificate \(block 1\) that cannot be parsed/);
  });

  it('rejects a server certificate as the client certificate', () => {
    const problems = checkTlsFiles({ ca: ca.cert, ...serverCert });

    expect(problems.map((p) => [p.field, p.code])).toEqual([['cert', 'NOT_CLIENT_CERTIFICATE']]);
  });

  it('rejects a key of another certificate', () => {
    const problems = checkTlsFiles({ ...goodFiles, key: rogueClient.key });

    expect(problems.map((p) => [p.field, p.code])).toEqual([['key', 'KEY_MISMATCH']]);
    expect(problems[0]!.problem).toContain(client.cert);
  });

  it('rejects an encrypted key', () => {
    const encrypted = join(dir, 'encrypted-key.pem');
    execFileSync('openssl', [
      'pkey',
      '-in',
      client.key,
      '-aes256',
      '-passout',
      'pass:secret',
      '-out',
      encrypted,
    ]);
    const problems = checkTlsFiles({ ...goodFiles, key: encrypted });

    expect(problems.map((p) => [p.field, p.code])).toEqual([['key', 'ENCRYPTED_KEY']]);
  });

  it('reports every unusable file', () => {
    const problems = checkTlsFiles({ ca: join(dir, 'absent.pem'), cert: client.key, key: ca.cert });

    expect(problems.map((p) => p.field)).toEqual(['ca', 'cert', 'key']);
  });
});

describe('TLS handshakes through dockerFor', () => {
  it('reaches a daemon with the right files', async () => {
    const version = await dockerFor({ name: 'good', docker: tlsEndpoint(daemonPort, goodFiles) }).version();

    expect(version.Version).toBe('20.10.24');
  });

  it('names a CA that did not sign the daemon certificate', async () => {
    const endpoint = tlsEndpoint(daemonPort, { ...goodFiles, ca: rogueCa.cert });
    const error = await versionError('rogue-ca', endpoint);
    const failure = classifyTlsError(error, endpoint);

    expect(failure?.kind).toBe('handshake');
    // Node's TLS server sends its CA after its certificate; dockerd sends its certificate alone,
    // which makes the code UNABLE_TO_VERIFY_LEAF_SIGNATURE.
    expect(failure?.code).toBe('SELF_SIGNED_CERT_IN_CHAIN');
    expect(tlsFailureMessage('host3', endpoint, failure!)).toBe(
      `TLS handshake with host3 at tcp://127.0.0.1:${daemonPort} failed: the daemon's certificate is ` +
        `not signed by the CA in ${rogueCa.cert} (SELF_SIGNED_CERT_IN_CHAIN); give the CA that ` +
        "signed the daemon's certificate (its --tlscert) as tls.ca",
    );
    expect(isTransportError(error)).toBe(false);
  });

  it('names a client certificate the daemon rejects', async () => {
    const endpoint = tlsEndpoint(strictPort, { ...goodFiles, cert: rogueClient.cert, key: rogueClient.key });
    const failure = classifyTlsError(await versionError('rogue-client', endpoint), endpoint);

    // OpenSSL rejects an unknown issuer with the alert "unknown ca", dockerd with "bad certificate".
    expect(failure?.code).toBe('ERR_SSL_TLSV1_ALERT_UNKNOWN_CA');
    expect(failure?.cause).toBe(`the daemon rejected the client certificate in ${rogueClient.cert}`);
    expect(failure?.fix).toContain('--tlscacert');
  });

  it('dates an expired client certificate that the daemon rejects', async () => {
    const endpoint = tlsEndpoint(strictPort, { ...goodFiles, ...expiredClient });
    const failure = classifyTlsError(await versionError('expired-client', endpoint), endpoint);

    expect(failure?.code).toBe('ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED');
    expect(failure?.cause).toMatch(
      /^the daemon rejected the client certificate in .*, which expired on \d{4}-/,
    );
  });

  it('names a daemon certificate issued for another host', async () => {
    const endpoint = tlsEndpoint(misnamedPort, goodFiles);
    const failure = classifyTlsError(await versionError('misnamed', endpoint), endpoint);

    expect(failure?.code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    expect(failure?.cause).toBe("the daemon's certificate is not issued for 127.0.0.1: it lists DNS:host9");
  });

  it('names an expired daemon certificate', async () => {
    const endpoint = tlsEndpoint(expiredPort, goodFiles);
    const failure = classifyTlsError(await versionError('expired-server', endpoint), endpoint);

    expect(failure?.code).toBe('CERT_HAS_EXPIRED');
    expect(failure?.cause).toBe("the daemon's certificate has expired");
  });

  it('names a port that does not speak TLS', async () => {
    const endpoint = tlsEndpoint(plainPort, goodFiles);
    const failure = classifyTlsError(await versionError('plain-port', endpoint), endpoint);

    expect(failure?.code).toBe('ERR_SSL_WRONG_VERSION_NUMBER');
    expect(failure?.cause).toMatch(/does not answer with TLS/);
  });

  it('reports unusable files before connecting', async () => {
    const endpoint = tlsEndpoint(daemonPort, { ...goodFiles, key: join(dir, 'absent-key.pem') });
    const error = await versionError('absent-key', endpoint);
    const failure = classifyTlsError(error, endpoint);

    expect(error).toBeInstanceOf(TlsFileError);
    expect(failure?.kind).toBe('files');
    expect(failure?.code).toBe('ENOENT');
    expect(tlsFailureMessage('host1', endpoint, failure!)).toMatch(
      new RegExp(
        `^TLS files of host1 at tcp://127\\.0\\.0\\.1:${daemonPort} are unusable: the tls\\.key file `,
      ),
    );
  });

  it('leaves a refused connection to the transport rules', async () => {
    const closed = await listen(createHttpServer(versionHandler));
    const server = servers.pop()!;
    server.close();
    await once(server, 'close');
    const endpoint = tlsEndpoint(closed, goodFiles);
    const error = await versionError('closed', endpoint);

    expect(classifyTlsError(error, endpoint)).toBeUndefined();
    expect(isTransportError(error)).toBe(true);
  });

  it('uses a certificate renewed at the same path', async () => {
    const renewDir = join(dir, 'renew');
    mkdirSync(renewDir, { recursive: true });
    const files = { ...goodFiles, cert: join(renewDir, 'client.pem'), key: join(renewDir, 'client-key.pem') };
    writeFileSync(files.cert, readFileSync(rogueClient.cert));
    writeFileSync(files.key, readFileSync(rogueClient.key));
    const endpoint = tlsEndpoint(strictPort, files);
    const host = { name: 'renewed', docker: endpoint };
    const rejected = classifyTlsError(await versionError('renewed', endpoint), endpoint);
    expect(rejected?.code).toBe('ERR_SSL_TLSV1_ALERT_UNKNOWN_CA');

    writeFileSync(files.cert, readFileSync(client.cert));
    writeFileSync(files.key, readFileSync(client.key));

    // s_server responds with an HTML page, which the client returns as it is.
    await expect(dockerFor(host).version()).resolves.toBeDefined();
  });
});

describe('classifyTlsError without a handshake', () => {
  const endpoint = tlsEndpoint(2376, { ca: '/ca.pem', cert: '/cert.pem', key: '/key.pem' });

  function codeError(code: string): Error {
    return Object.assign(new Error(`failure ${code}`), { code });
  }

  it.each([
    ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', "the daemon's certificate is not signed by the CA in /ca.pem"],
    ['SELF_SIGNED_CERT_IN_CHAIN', "the daemon's certificate is not signed by the CA in /ca.pem"],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', "the daemon's certificate is not signed by the CA in /ca.pem"],
    ['CERT_NOT_YET_VALID', "the daemon's certificate is not valid yet"],
    ['ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', 'the daemon rejected the client certificate in /cert.pem'],
    ['ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', 'the daemon rejected the client certificate in /cert.pem'],
  ])('explains %s', (code, cause) => {
    expect(classifyTlsError(codeError(code), endpoint)?.cause).toBe(cause);
  });

  it('finds a TLS error among the causes', () => {
    const wrapped = new Error('docker version failed', { cause: codeError('CERT_HAS_EXPIRED') });

    expect(classifyTlsError(wrapped, endpoint)?.code).toBe('CERT_HAS_EXPIRED');
  });

  it('ignores errors that are not about TLS', () => {
    for (const code of ['ECONNREFUSED', 'ETIMEDOUT', 'ECONNRESET', 'ENOENT']) {
      expect(classifyTlsError(codeError(code), endpoint), code).toBeUndefined();
    }
    const apiError = Object.assign(new Error('(HTTP code 404) no such container'), { statusCode: 404 });
    expect(classifyTlsError(apiError, endpoint)).toBeUndefined();
  });

  it('names a plain request to a TLS port', () => {
    const plain: DockerEndpoint = { protocol: 'tcp', host: '10.213.0.13', port: 2376 };
    const reply = Object.assign(
      new Error('(HTTP code 400) unexpected - Client sent an HTTP request to an HTTPS server.\n '),
      { statusCode: 400 },
    );
    const failure = classifyTlsError(reply, plain);

    expect(failure?.kind).toBe('plaintext');
    expect(tlsFailureMessage('host3', plain, failure!)).toMatch(
      /^Docker daemon of host3 at tcp:\/\/10\.213\.0\.13:2376 requires TLS: .* register it again with docker\.tls/,
    );
  });

  it('ignores unix sockets', () => {
    const socket: DockerEndpoint = { protocol: 'unix', socketPath: '/run/docker.sock' };

    expect(classifyTlsError(codeError('CERT_HAS_EXPIRED'), socket)).toBeUndefined();
  });

  it('brackets an IPv6 host in messages', () => {
    const v6 = { ...endpoint, host: 'fd00::5' } as DockerEndpoint;
    const failure = classifyTlsError(codeError('CERT_HAS_EXPIRED'), v6)!;

    expect(tlsFailureMessage('h', v6, failure)).toMatch(
      /^TLS handshake with h at tcp:\/\/\[fd00::5\]:2376 failed/,
    );
  });
});

describe('onHost', () => {
  const host: Pick<HostRecord, 'name' | 'docker'> = {
    name: 'host3',
    docker: tlsEndpoint(2376, { ca: '/ca.pem', cert: '/cert.pem', key: '/key.pem' }),
  };

  async function failureOf(error: Error): Promise<ApplicationFailure> {
    const caught = await onHost(host, () => Promise.reject(error)).catch((e: unknown) => e);
    expect(caught).toBeInstanceOf(ApplicationFailure);
    return caught as ApplicationFailure;
  }

  it('raises a TLS failure as HostTlsFailed with the cause kept', async () => {
    const error = Object.assign(new Error('unable to verify the first certificate'), {
      code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    });
    const failure = await failureOf(error);

    expect(failure.type).toBe(ERROR_TYPES.hostTlsFailed);
    expect(failure.message).toMatch(/^TLS handshake with host3 at tcp:\/\/127\.0\.0\.1:2376 failed: /);
    expect(failure.cause).toBe(error);
    expect(failure.details).toEqual([{ host: 'host3', code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }]);
    // The workflows list the type as non-retryable; the reconciliation may still retry it.
    expect(failure.nonRetryable).toBe(false);
  });

  it('raises unusable files as HostTlsFailed, not as an unreachable host', async () => {
    const error = new TlsFileError('ca', '/ca.pem', 'does not exist on the Graphium server', 'fix', 'ENOENT');
    const failure = await failureOf(error);

    expect(failure.type).toBe(ERROR_TYPES.hostTlsFailed);
    expect(failure.message).toMatch(
      /^TLS files of host3 at .* are unusable: the tls\.ca file \/ca\.pem does not/,
    );
  });

  it('still raises a refused connection as HostUnreachable', async () => {
    const error = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:2376'), { code: 'ECONNREFUSED' });
    const failure = await failureOf(error);

    expect(failure.type).toBe(HOST_UNREACHABLE);
  });

  it('gives hostErrorMessage the TLS message', () => {
    const error = Object.assign(new Error('x'), { code: 'CERT_HAS_EXPIRED' });

    expect(hostErrorMessage(host, error)).toMatch(
      /^TLS handshake with host3 .*has expired \(CERT_HAS_EXPIRED\)/,
    );
  });
});
