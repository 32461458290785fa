/** The request body of `POST /hosts`, validated with zod. */
import { isIPv4, isIPv6 } from 'node:net';
import { z } from 'zod';
import type { DockerEndpoint } from '../core/model';
import { requiredOr } from './validation';

/** DNS-label rules, so a host name is safe in container names, labels and URLs. */
const HOST_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

const hostName = z
  .string({ error: requiredOr('must be a string') })
  .regex(
    HOST_NAME,
    'must be 1 to 63 lowercase letters, digits or hyphens, and start and end with a letter or digit',
  );

const ADDRESS_EXAMPLE = 'such as 10.0.0.5, fd00::5 or docker.lab';

/** One DNS label: letters, digits and inner hyphens, at most 63 characters. */
const DNS_LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/**
 * Returns what is wrong with `value` as an address other machines can reach, with the fix, or
 * undefined for an IPv4 address, an IPv6 address or a host name. A name that ends in an
 * all-digit label, such as `10.0.0.300` or `1.2.3`, is a mistyped IPv4 address, because no
 * top-level domain is all digits.
 */
export function networkAddressProblem(value: string): string | undefined {
  if (value === '') {
    return `must not be empty; give an IP address or a host name, ${ADDRESS_EXAMPLE}`;
  }
  if (/\s/.test(value)) {
    return `must not contain spaces; give one IP address or host name, ${ADDRESS_EXAMPLE}`;
  }
  if (value.includes('://')) {
    return `must be a bare address without a scheme, ${ADDRESS_EXAMPLE}`;
  }
  if (value.startsWith('[')) {
    return 'must be an IPv6 address without brackets, such as fd00::5';
  }
  if (value.includes('%')) {
    return 'must not have an IPv6 zone index such as %eth0, which only this machine understands';
  }

  if (isIPv4(value) || isIPv6(value)) {
    const unspecified = value === '0.0.0.0' || /^[0:]+$/.test(value);
    return unspecified ? 'must be an address other hosts can reach, not the unspecified address' : undefined;
  }

  if (/^[^:]+:\d*$/.test(value)) {
    return `must not include a port; give the address alone, ${ADDRESS_EXAMPLE}`;
  }
  if (value.includes(':')) {
    return 'is not a valid IPv6 address; write up to eight groups of hex digits, such as fd00::5';
  }

  const labels = value.replace(/\.$/, '').split('.');
  if (/^\d+$/.test(labels.at(-1)!)) {
    return (
      'is not a valid IPv4 address; write four numbers from 0 to 255 without leading zeros, ' +
      'such as 10.0.0.5'
    );
  }
  if (value.length > 253) {
    return 'must be at most 253 characters, the maximum length of a DNS name';
  }
  if (!labels.every((label) => DNS_LABEL.test(label))) {
    return (
      'must be an IP address or a host name of dot-separated labels of 1 to 63 letters, digits or ' +
      `hyphens that start and end with a letter or digit, ${ADDRESS_EXAMPLE}`
    );
  }
  return undefined;
}

const networkAddress = z
  .string({ error: requiredOr(`must be a string, ${ADDRESS_EXAMPLE}`) })
  .superRefine((value, ctx) => {
    const problem = networkAddressProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

const PORT_RANGE = 'must be a whole number from 1 to 65535';

const tcpPort = z
  .number({ error: requiredOr(PORT_RANGE) })
  .int(PORT_RANGE)
  .min(1, PORT_RANGE)
  .max(65535, PORT_RANGE);

/**
 * Maximum length of a unix socket path in bytes, the size of `sun_path` on Linux. Node 20.20 on
 * Linux cuts a longer path to this length without an error, so it would reach another socket.
 */
export const MAX_SOCKET_PATH_BYTES = 108;

const SOCKET_EXAMPLE =
  'such as /var/run/docker.sock (unix:///var/run/docker.sock as a URL, with three slashes)';

const socketPath = z
  .string({ error: requiredOr(`must be a string, ${SOCKET_EXAMPLE}`) })
  .superRefine((value, ctx) => {
    const problem = socketPathProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

function socketPathProblem(value: string): string | undefined {
  if (value === '') {
    return `must not be empty; give the absolute path of the Docker socket, ${SOCKET_EXAMPLE}`;
  }
  if (!value.startsWith('/')) {
    return `must be an absolute path, ${SOCKET_EXAMPLE}`;
  }
  if (value.split('/').includes('..')) {
    return 'must not contain ".." segments; give the path itself';
  }
  if (/[\u0000-\u001f\u007f]/.test(value)) {
    return 'must not contain control characters such as line breaks';
  }
  const bytes = Buffer.byteLength(value);
  if (bytes > MAX_SOCKET_PATH_BYTES) {
    return (
      `is ${bytes} bytes long, but a unix socket path has at most ${MAX_SOCKET_PATH_BYTES}; ` +
      'link the socket from a shorter path'
    );
  }
  return undefined;
}

/** A PEM file path; inline PEM text is rejected so key material never reaches the database. */
const pemPath = z
  .string({ error: requiredOr('must be a string') })
  .refine((value) => !value.includes('-----BEGIN'), {
    message: 'must be the path of a PEM file on the Graphium server, not the PEM text',
    abort: true,
  })
  .startsWith('/', 'must be an absolute path');

const unixEndpoint = z.strictObject({
  protocol: z.literal('unix'),
  socketPath,
});

const tcpEndpoint = z.strictObject({
  protocol: z.literal('tcp'),
  host: networkAddress,
  port: tcpPort,
  tls: z.strictObject({ ca: pemPath, cert: pemPath, key: pemPath }).optional(),
});

const ENDPOINT_FORMS =
  'must be a unix:///path or tcp://host:port URL, or an object with protocol "unix" or "tcp"';

// NOTE: ssh:// endpoints need an SSH client, SSH key handling and an ssh form of DockerEndpoint,
// none of which Graphium has, so they are rejected with this message until they are built.
const SSH_UNSUPPORTED =
  'ssh endpoints are not supported yet; expose the daemon on tcp://host:port, with tls for a ' +
  'daemon on another machine, or give a unix socket path on this machine';

const endpointObject = z.discriminatedUnion('protocol', [unixEndpoint, tcpEndpoint], {
  error: (issue) => {
    if (issue.input === undefined) return 'is required';
    const isObject = typeof issue.input === 'object' && issue.input !== null;
    if (!isObject) return ENDPOINT_FORMS;
    const protocol = (issue.input as { protocol?: unknown }).protocol;
    return typeof protocol === 'string' && protocol.toLowerCase() === 'ssh'
      ? SSH_UNSUPPORTED
      : 'must be "unix" or "tcp"';
  },
});

/** A URL's scheme and the rest after `://`. URL schemes are case-insensitive. */
const URL_FORM = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/s;

/** The part after `tcp://`: a host or an IPv6 host in brackets, then `:port` and an optional final slash. */
const TCP_AUTHORITY = /^(\[[^\]]*\]|[^:/?#@[\]]*)(?::([^/?#@:]*))?\/?$/s;

/**
 * Converts a Docker URL (`unix:///path` or `tcp://host:port`) into the object form, so both
 * forms go through the same field checks. Other schemes and malformed URLs become an issue
 * that lists the accepted forms.
 */
function endpointFromUrl(text: string, ctx: z.RefinementCtx): unknown {
  const url = URL_FORM.exec(text);
  const scheme = url?.[1]!.toLowerCase();
  if (url && scheme === 'unix') return { protocol: 'unix', socketPath: url[2] };
  if (url && scheme === 'tcp') return tcpEndpointFromUrl(url[2]!, ctx);

  ctx.addIssue({ code: 'custom', message: unsupportedUrlMessage(scheme) });
  return z.NEVER;
}

function unsupportedUrlMessage(scheme: string | undefined): string {
  if (scheme === undefined) return ENDPOINT_FORMS;
  if (scheme === 'ssh') return SSH_UNSUPPORTED;
  if (scheme === 'http' || scheme === 'https') {
    return (
      `scheme "${scheme}" is not a Docker endpoint scheme; write tcp://host:port, ` +
      'and give tls in the object form for HTTPS'
    );
  }
  return `scheme "${scheme}" is not supported; use unix:///path or tcp://host:port`;
}

function tcpEndpointFromUrl(authority: string, ctx: z.RefinementCtx): unknown {
  const parts = TCP_AUTHORITY.exec(authority);
  if (!parts) {
    const message =
      'must be tcp://host:port with no user name, path or query, and an IPv6 host in brackets, ' +
      'such as tcp://10.0.0.5:2375 or tcp://[fd00::5]:2375';
    ctx.addIssue({ code: 'custom', message });
    return z.NEVER;
  }
  const [, host, port] = parts;
  if (port === undefined || port === '') {
    ctx.addIssue({ code: 'custom', message: 'must include the Docker port, such as tcp://10.0.0.5:2375' });
    return z.NEVER;
  }
  const bracketed = host!.startsWith('[');
  const bareHost = bracketed ? host!.slice(1, -1) : host!;
  if (bracketed && !isIPv6(bareHost)) {
    const message = `"${bareHost}" is in brackets, which only an IPv6 address takes, such as tcp://[fd00::5]:2375`;
    ctx.addIssue({ code: 'custom', message });
    return z.NEVER;
  }
  // A port that is not all digits stays a string, so the port check names it as not a number.
  const portValue = /^\d+$/.test(port) ? Number(port) : port;
  return { protocol: 'tcp', host: bareHost, port: portValue };
}

const dockerEndpoint = z
  .preprocess(
    (value, ctx) => (typeof value === 'string' ? endpointFromUrl(value, ctx) : value),
    endpointObject,
  )
  .describe(
    'A `unix:///path` or `tcp://host:port` URL, or the object form below; `tls` (PEM file paths ' +
      'on the Graphium server) needs the object form.',
  );

/** Body of `POST /hosts`. Unknown fields are rejected so a misspelt option is not ignored. */
export const newHostSchema = z.strictObject({
  name: hostName,
  docker: dockerEndpoint,
  address: networkAddress,
  datacenter: z
    .string({ error: 'must be a string' })
    .min(1, 'must not be empty')
    .max(63, 'must be at most 63 characters')
    .optional(),
  labels: z
    .record(z.string().min(1, 'keys must not be empty'), z.string({ error: 'must be a string' }))
    .optional(),
  imagePull: z.enum(['missing', 'never'], { error: 'must be "missing" or "never"' }).optional(),
});

export type NewHostBody = z.output<typeof newHostSchema>;

/** Keeps only the endpoint fields, so nothing but the TLS file paths is ever returned. */
export function publicEndpoint(endpoint: DockerEndpoint): DockerEndpoint {
  if (endpoint.protocol === 'unix') {
    return { protocol: 'unix', socketPath: endpoint.socketPath };
  }
  const { host, port, tls } = endpoint;
  if (!tls) return { protocol: 'tcp', host, port };
  return { protocol: 'tcp', host, port, tls: { ca: tls.ca, cert: tls.cert, key: tls.key } };
}
