/** The request body of `POST /hosts`, validated with zod. */
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

const networkAddress = z
  .union([z.ipv4(), z.ipv6(), z.hostname()], {
    error: requiredOr('must be an IPv4 address, an IPv6 address or a host name'),
  })
  .refine((value) => !['0.0.0.0', '::', '[::]'].includes(value), {
    message: 'must be an address other hosts can reach, not the unspecified address',
  });

const tcpPort = z
  .number({ error: requiredOr('must be a number') })
  .int('must be an integer')
  .min(1, 'must be from 1 to 65535')
  .max(65535, 'must be from 1 to 65535');

const absolutePath = z
  .string({ error: requiredOr('must be a string') })
  .startsWith('/', 'must be an absolute path')
  .refine((value) => !value.split('/').includes('..'), { message: 'must not contain ".." segments' });

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
  socketPath: absolutePath,
});

const tcpEndpoint = z.strictObject({
  protocol: z.literal('tcp'),
  host: networkAddress,
  port: tcpPort,
  tls: z.strictObject({ ca: pemPath, cert: pemPath, key: pemPath }).optional(),
});

const ENDPOINT_FORMS =
  'must be a unix:///path or tcp://host:port URL, or an object with protocol "unix" or "tcp"';

const endpointObject = z.discriminatedUnion('protocol', [unixEndpoint, tcpEndpoint], {
  error: (issue) => {
    if (issue.input === undefined) return 'is required';
    const isObject = typeof issue.input === 'object' && issue.input !== null;
    return isObject ? 'must be "unix" or "tcp"' : ENDPOINT_FORMS;
  },
});

const UNIX_URL = /^unix:\/\/(\/.*)$/;
const TCP_URL = /^tcp:\/\/(\[[^\]]+\]|[^:/[\]]+)(?::(\d+))?\/?$/;

/**
 * Converts a Docker URL (`unix:///path` or `tcp://host:port`) into the object form, so both
 * forms go through the same field checks.
 */
function endpointFromUrl(text: string, ctx: z.RefinementCtx): unknown {
  const unix = UNIX_URL.exec(text);
  if (unix) return { protocol: 'unix', socketPath: unix[1] };

  const tcp = TCP_URL.exec(text);
  if (tcp && tcp[2] !== undefined) {
    return { protocol: 'tcp', host: tcp[1].replace(/^\[|\]$/g, ''), port: Number(tcp[2]) };
  }
  const message = tcp ? 'must include the Docker port, such as tcp://10.0.0.5:2375' : ENDPOINT_FORMS;
  ctx.addIssue({ code: 'custom', message });
  return z.NEVER;
}

const dockerEndpoint = z.preprocess(
  (value, ctx) => (typeof value === 'string' ? endpointFromUrl(value, ctx) : value),
  endpointObject,
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
