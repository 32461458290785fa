/**
 * Certificates for tests, made with the openssl command line as scripts/lab.sh makes the lab's:
 * a CA, and server and client certificates it signs, with P-256 keys, written into a folder the
 * caller creates and removes.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestCa {
  name: string;
  /** Path of the CA certificate. */
  cert: string;
  /** Path of the CA's private key. */
  key: string;
}

export interface TestCertificate {
  /** Path of the certificate. */
  cert: string;
  /** Path of its private key. */
  key: string;
}

export interface CertificateOptions {
  /** Subject common name, also the stem of the file names. */
  name: string;
  /** Extended key usage. */
  usage: 'serverAuth' | 'clientAuth';
  /** subjectAltName entries such as `IP:127.0.0.1` or `DNS:host1`. */
  altNames?: string[];
  /** Validity in days from now; a negative number makes a certificate that has already expired. */
  days?: number;
}

function openssl(args: string[], input?: string): string {
  return execFileSync('openssl', args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

function newKey(path: string): void {
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path]);
}

/** Creates a self-signed CA named `name` in `dir`. */
export function createCa(dir: string, name: string): TestCa {
  const ca = { name, cert: join(dir, `${name}.pem`), key: join(dir, `${name}-key.pem`) };
  newKey(ca.key);
  openssl([
    'req',
    '-x509',
    '-new',
    '-key',
    ca.key,
    '-sha256',
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-out',
    ca.cert,
  ]);
  return ca;
}

/** Issues a certificate signed by `ca`, with its key, into `dir`. */
export function issueCertificate(dir: string, ca: TestCa, options: CertificateOptions): TestCertificate {
  const files = { cert: join(dir, `${options.name}.pem`), key: join(dir, `${options.name}-key.pem`) };
  const extensions = join(dir, `${options.name}.ext`);
  const lines = [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    `extendedKeyUsage=${options.usage}`,
  ];
  if (options.altNames?.length) lines.push(`subjectAltName=${options.altNames.join(',')}`);
  writeFileSync(extensions, `${lines.join('\n')}\n`);
  newKey(files.key);
  const request = openssl(['req', '-new', '-key', files.key, '-subj', `/CN=${options.name}`]);
  openssl(
    [
      'x509',
      '-req',
      '-CA',
      ca.cert,
      '-CAkey',
      ca.key,
      '-set_serial',
      `0x${randomBytes(16).toString('hex')}`,
      '-days',
      String(options.days ?? 2),
      '-sha256',
      '-extfile',
      extensions,
      '-out',
      files.cert,
    ],
    request,
  );
  return files;
}
