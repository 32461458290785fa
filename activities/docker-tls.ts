/**
 * Mutual TLS for Docker endpoints: loading and checking a host's PEM files, and turning a failed
 * handshake into a message that names the host, the endpoint, the cause and the fix.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import type { DockerEndpoint } from '../core/model';

/** Paths of the PEM files a host is reached with, as registered. */
export interface TlsFiles {
  ca: string;
  cert: string;
  key: string;
}

export type TlsField = keyof TlsFiles;

/** Contents of a host's PEM files, checked by `loadTlsFiles`. */
export interface TlsMaterial {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

/**
 * Maximum size of one PEM file. Debian 12's bundle of 144 public root CAs
 * (/etc/ssl/certs/ca-certificates.crt) is 220 KB, so a larger file is no certificate or key.
 */
export const MAX_PEM_BYTES = 1024 * 1024;

/** Object identifier of the extended key usage `clientAuth` (RFC 5280, 4.2.1.12). */
const CLIENT_AUTH_OID = '1.3.6.1.5.5.7.3.2';
/** Object identifier of the extended key usage `anyExtendedKeyUsage`. */
const ANY_USAGE_OID = '2.5.29.37.0';

/** A PEM file of a host's TLS settings that cannot be read or is not what its field needs. */
export class TlsFileError extends Error {
  override name = 'TlsFileError';

  constructor(
    readonly field: TlsField,
    readonly path: string,
    /** The problem with the file, such as "does not exist on the Graphium server". */
    readonly problem: string,
    /** The change that makes the field usable, such as "give the certificate file". */
    readonly fix: string,
    /** The error code of the failed read or check, such as ENOENT or NOT_PEM. */
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(`the tls.${field} file ${path} ${problem}`, options);
  }
}

/**
 * Reads and checks a host's PEM files: `ca` contains one or more certificates, `cert` starts with a
 * certificate usable by a TLS client, and `key` is an unencrypted private key of that certificate.
 * Returns every problem found, or an empty list.
 */
export function checkTlsFiles(tls: TlsFiles): TlsFileError[] {
  return inspectTlsFiles(tls).problems;
}

/**
 * Reads a host's PEM files for a Docker client.
 *
 * @throws TlsFileError for the first file that `checkTlsFiles` finds unusable.
 */
export function loadTlsFiles(tls: TlsFiles): TlsMaterial {
  const { problems, contents } = inspectTlsFiles(tls);
  if (problems.length > 0) throw problems[0];
  return contents as TlsMaterial;
}

/**
 * Returns a text that changes whenever one of the files is replaced or rewritten, so a cached
 * client is rebuilt after a certificate is renewed at the same path.
 */
export function tlsFilesVersion(tls: TlsFiles): string {
  return [tls.ca, tls.cert, tls.key]
    .map((path) => {
      try {
        const stats = statSync(path);
        return `${stats.ino}:${stats.size}:${stats.mtimeMs}`;
      } catch {
        return 'unreadable';
      }
    })
    .join('/');
}

function inspectTlsFiles(tls: TlsFiles): { problems: TlsFileError[]; contents: Partial<TlsMaterial> } {
  const problems: TlsFileError[] = [];
  const contents: Partial<TlsMaterial> = {};
  for (const field of ['ca', 'cert', 'key'] as const) {
    try {
      contents[field] = readPemFile(field, tls[field]);
    } catch (error) {
      if (!(error instanceof TlsFileError)) throw error;
      problems.push(error);
    }
  }

  if (contents.ca) {
    const problem = certificatesProblem('ca', tls.ca, contents.ca.toString('utf8'));
    if (problem) problems.push(problem);
  }
  let certificate: X509Certificate | undefined;
  if (contents.cert) {
    const text = contents.cert.toString('utf8');
    const problem = certificatesProblem('cert', tls.cert, text);
    if (problem) problems.push(problem);
    else certificate = new X509Certificate(pemBlocks(text)[0]!.text);
  }
  if (certificate) {
    const problem = clientUsageProblem(tls.cert, certificate);
    if (problem) problems.push(problem);
  }
  if (contents.key) {
    const parsed = parsePrivateKey(tls.key, contents.key.toString('utf8'));
    if (parsed instanceof TlsFileError) {
      problems.push(parsed);
    } else if (certificate && !certificate.checkPrivateKey(parsed)) {
      const problem = `is not the private key of the certificate in tls.cert (${tls.cert})`;
      const fix = 'give the key that belongs to that certificate';
      problems.push(new TlsFileError('key', tls.key, problem, fix, 'KEY_MISMATCH'));
    }
  }
  return { problems, contents };
}

function readPemFile(field: TlsField, path: string): Buffer {
  let size: number;
  try {
    const stats = statSync(path);
    if (!stats.isFile()) {
      throw new TlsFileError(field, path, 'is not a regular file', 'give the path of a PEM file', 'ENOTFILE');
    }
    size = stats.size;
  } catch (error) {
    if (error instanceof TlsFileError) throw error;
    throw readFailure(field, path, error);
  }
  if (size > MAX_PEM_BYTES) {
    const problem = `is ${size} bytes, more than the ${MAX_PEM_BYTES} bytes a file of certificates or a key needs`;
    throw new TlsFileError(field, path, problem, 'give the PEM file itself', 'EFBIG');
  }
  try {
    return readFileSync(path);
  } catch (error) {
    throw readFailure(field, path, error);
  }
}

function readFailure(field: TlsField, path: string, error: unknown): TlsFileError {
  const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    const fix = 'give the absolute path of a PEM file on the Graphium server';
    return new TlsFileError(field, path, 'does not exist on the Graphium server', fix, code, {
      cause: error,
    });
  }
  if (code === 'EACCES' || code === 'EPERM') {
    const fix = 'let the user that Graphium runs as read the file';
    return new TlsFileError(field, path, 'is not readable by the Graphium process', fix, code, {
      cause: error,
    });
  }
  const fix = 'give the path of a readable PEM file';
  return new TlsFileError(field, path, `cannot be read (${code})`, fix, code, { cause: error });
}

/** One `-----BEGIN label-----` to `-----END label-----` block of a PEM file. */
interface PemBlock {
  label: string;
  text: string;
}

function pemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const match of text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g)) {
    blocks.push({ label: match[1]!, text: match[0] });
  }
  return blocks;
}

/** Returns what is wrong with `text` as a PEM file of one or more certificates, if anything. */
function certificatesProblem(field: 'ca' | 'cert', path: string, text: string): TlsFileError | undefined {
  const blocks = pemBlocks(text);
  if (blocks.length === 0) {
    const fix = 'give a certificate in PEM form, which starts with -----BEGIN CERTIFICATE-----';
    return new TlsFileError(field, path, 'contains no PEM block', fix, 'NOT_PEM');
  }
  for (const [index, block] of blocks.entries()) {
    if (block.label !== 'CERTIFICATE') {
      const problem = `contains a "${block.label}" block where a certificate belongs`;
      return new TlsFileError(field, path, problem, 'give the certificate file', 'NOT_CERTIFICATE');
    }
    try {
      new X509Certificate(block.text);
    } catch (error) {
      const problem = `contains a certificate (block ${index + 1}) that cannot be parsed: ${(error as Error).message}`;
      const code = errorCode(error, 'INVALID_CERTIFICATE');
      return new TlsFileError(field, path, problem, 'give a valid PEM certificate', code, { cause: error });
    }
  }
  return undefined;
}

/**
 * Returns a problem when the certificate's extended key usage excludes TLS clients, as in a
 * server certificate given by mistake, which dockerd with --tlsverify rejects.
 */
function clientUsageProblem(path: string, certificate: X509Certificate): TlsFileError | undefined {
  const usages = certificate.keyUsage;
  if (!usages || usages.includes(CLIENT_AUTH_OID) || usages.includes(ANY_USAGE_OID)) return undefined;
  const problem = 'is not a client certificate: its extended key usage lacks clientAuth';
  const fix = 'give a certificate issued for TLS clients, because a daemon with --tlsverify rejects this one';
  return new TlsFileError('cert', path, problem, fix, 'NOT_CLIENT_CERTIFICATE');
}

/** PEM forms of a private key encrypted with a passphrase: PKCS #8, and OpenSSL's older form. */
const ENCRYPTED_KEY = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type:\s*4,ENCRYPTED/;

function parsePrivateKey(path: string, text: string): KeyObject | TlsFileError {
  if (ENCRYPTED_KEY.test(text)) {
    const problem = 'is encrypted with a passphrase, which Graphium cannot supply';
    const fix = 'give an unencrypted key that only the Graphium user can read';
    return new TlsFileError('key', path, problem, fix, 'ENCRYPTED_KEY');
  }
  try {
    return createPrivateKey({ key: text, format: 'pem' });
  } catch (error) {
    const problem = `is not a PEM private key (${(error as Error).message})`;
    const fix = "give the client certificate's private key file";
    return new TlsFileError('key', path, problem, fix, errorCode(error, 'INVALID_KEY'), { cause: error });
  }
}

function errorCode(error: unknown, fallback: string): string {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' ? code : fallback;
}

/** A reason Graphium cannot use a daemon over TLS, with the change that removes it. */
export interface TlsFailure {
  /**
   * `files`: the host's PEM files are unusable; `handshake`: the TLS handshake failed;
   * `plaintext`: a host registered without TLS reached a daemon that requires it.
   */
  kind: 'files' | 'handshake' | 'plaintext';
  /** The error code, such as UNABLE_TO_VERIFY_LEAF_SIGNATURE or ENOENT. */
  code: string;
  /** The failure, naming the file involved. */
  cause: string;
  /** The change the operator should make. */
  fix: string;
}

/** Verification errors that OpenSSL raises when no certificate in the CA file signed the daemon's. */
const UNTRUSTED_SERVER_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'INVALID_CA',
]);

/**
 * TLS alerts with which a daemon rejects the client certificate. dockerd 20.10 sends
 * `bad certificate` both for a certificate it does not trust and for none at all.
 * NOTE: a server that closes the connection without sending the alert, as Node's own TLS server
 * does, leaves only ECONNRESET, so such a rejection is reported as an unreachable host.
 */
const CLIENT_REJECTED_CODES = new Set([
  'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE',
  'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
  'ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN',
  'ERR_SSL_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE',
  'ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED',
  'ERR_SSL_SSLV3_ALERT_CERTIFICATE_REVOKED',
  'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
  'ERR_SSL_TLSV1_ALERT_ACCESS_DENIED',
]);

/** Errors of a TLS client whose peer does not speak TLS, such as a plain-TCP Docker port. */
const NOT_TLS_CODES = new Set([
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_SSL_PACKET_LENGTH_TOO_LONG',
  'ERR_SSL_HTTP_REQUEST',
]);

/** The text dockerd's Go HTTP server sends, with status 400, to a plain request on its TLS port. */
const PLAIN_REQUEST_ON_TLS_PORT = /HTTP request to an HTTPS server/i;

/**
 * Classifies an error of a call to `endpoint` as a TLS failure, or returns undefined for any
 * other error, such as a refused connection, a timeout or an error reply of the Docker API.
 * Causes are followed, so a wrapped error is classified too.
 */
export function classifyTlsError(error: unknown, endpoint: DockerEndpoint): TlsFailure | undefined {
  if (endpoint.protocol !== 'tcp') return undefined;
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const failure = classifyOne(current, endpoint);
    if (failure) return failure;
    current = current.cause;
  }
  return undefined;
}

function classifyOne(
  error: Error,
  endpoint: Extract<DockerEndpoint, { protocol: 'tcp' }>,
): TlsFailure | undefined {
  if (error instanceof TlsFileError) {
    return {
      kind: 'files',
      code: error.code,
      cause: error.message,
      fix: `put a usable file at that path, or delete the host and register it again (${error.fix})`,
    };
  }
  const tls = endpoint.tls;
  if (!tls) {
    const status = (error as { statusCode?: unknown }).statusCode;
    if (status === 400 && PLAIN_REQUEST_ON_TLS_PORT.test(error.message)) {
      return {
        kind: 'plaintext',
        code: 'HTTP 400',
        cause: 'the daemon requires TLS on this port, but the host is registered without docker.tls',
        fix:
          'delete the host and register it again with docker.tls giving the CA, client certificate ' +
          'and key files',
      };
    }
    return undefined;
  }

  const code = tlsErrorCode(error);
  if (code === undefined) return undefined;
  if (UNTRUSTED_SERVER_CODES.has(code)) {
    return {
      kind: 'handshake',
      code,
      cause: `the daemon's certificate is not signed by the CA in ${tls.ca}`,
      fix: "give the CA that signed the daemon's certificate (its --tlscert) as tls.ca",
    };
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    const names = (error as { cert?: { subjectaltname?: unknown } }).cert?.subjectaltname;
    const listed =
      typeof names === 'string' && names !== '' ? `it lists ${names}` : 'it lists no subjectAltName';
    return {
      kind: 'handshake',
      code,
      cause: `the daemon's certificate is not issued for ${endpoint.host}: ${listed}`,
      fix:
        "register the host by a name or address in the certificate's subjectAltName, or give the " +
        `daemon a certificate that lists ${endpoint.host}`,
    };
  }
  if (code === 'CERT_HAS_EXPIRED') {
    return {
      kind: 'handshake',
      code,
      cause: "the daemon's certificate has expired",
      fix: "renew the daemon's certificate (its --tlscert) and restart the daemon",
    };
  }
  if (code === 'CERT_NOT_YET_VALID') {
    return {
      kind: 'handshake',
      code,
      cause: "the daemon's certificate is not valid yet",
      fix: 'check the clocks of the Graphium server and the Docker host',
    };
  }
  if (CLIENT_REJECTED_CODES.has(code)) {
    return {
      kind: 'handshake',
      code,
      cause: `the daemon rejected the client certificate in ${tls.cert}${expiryNote(tls.cert)}`,
      fix: 'give a client certificate signed by the CA that the daemon trusts (its --tlscacert)',
    };
  }
  if (NOT_TLS_CODES.has(code)) {
    return {
      kind: 'handshake',
      code,
      cause: 'the endpoint does not answer with TLS, so the port is probably a plain-TCP Docker port',
      fix: 'give the port where the daemon serves TLS (dockerd --tlsverify, 2376 by convention)',
    };
  }
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || code.startsWith('ERR_OSSL_')) {
    const reason = (error as { reason?: unknown }).reason;
    return {
      kind: 'handshake',
      code,
      cause: `the handshake failed: ${typeof reason === 'string' ? reason : error.message.trim()}`,
      fix: "check the daemon's TLS settings against the files in docker.tls",
    };
  }
  return undefined;
}

/**
 * Returns the error's code. Node 20 reports some OpenSSL errors, such as a plain HTTP reply to a
 * TLS client, as a bare EPROTO with the OpenSSL reason in the message. For those the code is
 * derived from the reason as Node derives its other codes: "wrong version number" becomes
 * ERR_SSL_WRONG_VERSION_NUMBER.
 */
function tlsErrorCode(error: Error): string | undefined {
  const code = (error as { code?: unknown }).code;
  if (code === 'EPROTO') {
    const reason = /SSL routines:[^:]*:([^:]+):/.exec(error.message)?.[1];
    if (reason) return `ERR_SSL_${reason.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}`;
  }
  return typeof code === 'string' ? code : undefined;
}

/** Returns ", which expired on DATE" for an expired certificate file, or an empty text. */
function expiryNote(path: string): string {
  try {
    const certificate = new X509Certificate(readFileSync(path));
    const validTo = new Date(certificate.validTo);
    return validTo.getTime() < Date.now() ? `, which expired on ${validTo.toISOString()}` : '';
  } catch {
    return '';
  }
}

/**
 * Builds the message of a TLS failure, such as "TLS handshake with host3 at
 * tcp://10.213.0.13:2376 failed: the daemon's certificate is not signed by the CA in /ca.pem
 * (UNABLE_TO_VERIFY_LEAF_SIGNATURE); give the CA that signed the daemon's certificate ...".
 */
export function tlsFailureMessage(host: string, endpoint: DockerEndpoint, failure: TlsFailure): string {
  const url = endpointUrl(endpoint);
  const lead =
    failure.kind === 'files'
      ? `TLS files of ${host} at ${url} are unusable`
      : failure.kind === 'plaintext'
        ? `Docker daemon of ${host} at ${url} requires TLS`
        : `TLS handshake with ${host} at ${url} failed`;
  return `${lead}: ${failure.cause} (${failure.code}); ${failure.fix}`;
}

/** Formats an endpoint as a URL, with an IPv6 host in brackets. */
export function endpointUrl(endpoint: DockerEndpoint): string {
  if (endpoint.protocol === 'unix') return `unix://${endpoint.socketPath}`;
  const host = isIPv6(endpoint.host) ? `[${endpoint.host}]` : endpoint.host;
  return `tcp://${host}:${endpoint.port}`;
}
