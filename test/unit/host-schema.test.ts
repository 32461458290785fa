import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../api/errors';
import { newHostSchema } from '../../api/host-schema';
import { validate } from '../../api/validation';

/** Validates a host body whose fields default to a valid unix host, and returns its details by path. */
function problems(fields: Record<string, unknown>): Record<string, string> {
  const body = { name: 'host1', docker: 'unix:///var/run/docker.sock', address: '10.0.0.5', ...fields };
  try {
    validate(newHostSchema, body, 'host');
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    return Object.fromEntries((error.details ?? []).map((detail) => [detail.path, detail.message]));
  }
  return {};
}

function accepted(fields: Record<string, unknown>) {
  const body = { name: 'host1', docker: 'unix:///var/run/docker.sock', address: '10.0.0.5', ...fields };
  return validate(newHostSchema, body, 'host');
}

describe('docker endpoint URL', () => {
  it.each([
    ['unix:///var/run/docker.sock', { protocol: 'unix', socketPath: '/var/run/docker.sock' }],
    ['UNIX:///run/docker.sock', { protocol: 'unix', socketPath: '/run/docker.sock' }],
    ['tcp://10.0.0.5:2375', { protocol: 'tcp', host: '10.0.0.5', port: 2375 }],
    ['tcp://10.0.0.5:2375/', { protocol: 'tcp', host: '10.0.0.5', port: 2375 }],
    ['TCP://docker.lab:2376', { protocol: 'tcp', host: 'docker.lab', port: 2376 }],
    ['tcp://[fd00::5]:2375', { protocol: 'tcp', host: 'fd00::5', port: 2375 }],
    ['tcp://h1:1', { protocol: 'tcp', host: 'h1', port: 1 }],
    ['tcp://h1:65535', { protocol: 'tcp', host: 'h1', port: 65535 }],
  ])('accepts %s', (docker, endpoint) => {
    expect(accepted({ docker }).docker).toEqual(endpoint);
  });

  it.each([
    ['ssh://user@docker.lab', '$.docker', /ssh endpoints are not supported yet; expose the daemon on tcp/],
    ['SSH://docker.lab', '$.docker', /ssh endpoints are not supported yet/],
    ['http://docker.lab:2375', '$.docker', /scheme "http" is not a Docker endpoint scheme; write tcp:/],
    ['https://docker.lab:2376', '$.docker', /scheme "https" .* give tls in the object form/],
    ['npipe:////./pipe/docker_engine', '$.docker', /scheme "npipe" is not supported; use unix:\/\/\/path/],
    ['fd://', '$.docker', /scheme "fd" is not supported/],
    ['/var/run/docker.sock', '$.docker', /must be a unix:\/\/\/path or tcp:\/\/host:port URL/],
    ['docker.lab:2375', '$.docker', /must be a unix:\/\/\/path or tcp:\/\/host:port URL/],
    ['', '$.docker', /must be a unix:\/\/\/path or tcp:\/\/host:port URL/],
    ['unix://', '$.docker.socketPath', /must not be empty; give the absolute path/],
    ['unix://var/run/docker.sock', '$.docker.socketPath', /must be an absolute path, .* three slashes/],
    ['unix:///run/../etc/docker.sock', '$.docker.socketPath', /must not contain "\.\." segments/],
    ['unix:///run/docker\n.sock', '$.docker.socketPath', /must not contain control characters/],
    [`unix:///${'s'.repeat(108)}`, '$.docker.socketPath', /is 109 bytes long, .* at most 108/],
    ['tcp://10.0.0.5', '$.docker', /must include the Docker port/],
    ['tcp://10.0.0.5:', '$.docker', /must include the Docker port/],
    ['tcp://10.0.0.5:0', '$.docker.port', /must be a whole number from 1 to 65535/],
    ['tcp://10.0.0.5:65536', '$.docker.port', /must be a whole number from 1 to 65535/],
    ['tcp://10.0.0.5:99999999999999999999', '$.docker.port', /from 1 to 65535/],
    ['tcp://10.0.0.5:2375/v1.43', '$.docker', /no user name, path or query/],
    ['tcp://root@10.0.0.5:2375', '$.docker', /no user name, path or query/],
    ['tcp://10.0.0.5:2375?tls=1', '$.docker', /no user name, path or query/],
    ['tcp://fd00::5:2375', '$.docker', /an IPv6 host in brackets/],
    ['tcp://[docker.lab]:2375', '$.docker', /only an IPv6 address takes/],
    ['tcp://[fd00::zz]:2375', '$.docker', /only an IPv6 address takes/],
    ['tcp://:2375', '$.docker.host', /must not be empty/],
    ['tcp://docker lab:2375', '$.docker.host', /must not contain spaces/],
    ['tcp://10.0.0.300:2375', '$.docker.host', /is not a valid IPv4 address/],
    ['tcp://0.0.0.0:2375', '$.docker.host', /not the unspecified address/],
  ])('rejects %j', (docker, path, message) => {
    const found = problems({ docker });

    expect(Object.keys(found)).toEqual([path]);
    expect(found[path]).toMatch(message);
  });
});

describe('docker endpoint object', () => {
  it.each([
    [{ protocol: 'ssh', host: 'docker.lab' }, '$.docker.protocol', /ssh endpoints are not supported yet/],
    [{ protocol: 'http', host: 'docker.lab', port: 80 }, '$.docker.protocol', /must be "unix" or "tcp"/],
    [{ protocol: 'unix', socketPath: '' }, '$.docker.socketPath', /must not be empty/],
    [{ protocol: 'unix', socketPath: 'docker.sock' }, '$.docker.socketPath', /must be an absolute path/],
    [{ protocol: 'unix', socketPath: 5 }, '$.docker.socketPath', /must be a string/],
    [{ protocol: 'unix' }, '$.docker.socketPath', /^is required$/],
    [{ protocol: 'tcp', host: '10.0.0.5', port: 0 }, '$.docker.port', /from 1 to 65535/],
    [{ protocol: 'tcp', host: '10.0.0.5', port: -1 }, '$.docker.port', /from 1 to 65535/],
    [{ protocol: 'tcp', host: '10.0.0.5', port: 65536 }, '$.docker.port', /from 1 to 65535/],
    [{ protocol: 'tcp', host: '10.0.0.5', port: 2375.5 }, '$.docker.port', /whole number/],
    [{ protocol: 'tcp', host: '10.0.0.5', port: '2375' }, '$.docker.port', /whole number/],
    [{ protocol: 'tcp', host: '[fd00::5]', port: 2375 }, '$.docker.host', /without brackets/],
    [{ protocol: 'tcp', host: 'tcp://10.0.0.5', port: 2375 }, '$.docker.host', /without a scheme/],
    [{ protocol: 'tcp', host: 'docker.lab:2375', port: 2375 }, '$.docker.host', /must not include a port/],
  ])('rejects %j', (docker, path, message) => {
    const found = problems({ docker });

    expect(Object.keys(found)).toEqual([path]);
    expect(found[path]).toMatch(message);
  });
});

describe('host address', () => {
  it.each([
    '10.0.0.5',
    '192.168.1.255',
    '127.0.0.1',
    'fd00::5',
    '::1',
    '::ffff:10.0.0.5',
    'docker.lab',
    'docker.lab.',
    'host-1',
    'localhost',
    'xn--bcher-kva.example',
    `${'a'.repeat(63)}.example`,
  ])('accepts %s', (address) => {
    expect(accepted({ address }).address).toBe(address);
  });

  it.each([
    ['', /must not be empty; give an IP address or a host name/],
    [' 10.0.0.5', /must not contain spaces/],
    ['docker lab', /must not contain spaces/],
    ['10.0.0.5\n', /must not contain spaces/],
    ['http://10.0.0.5', /without a scheme/],
    ['[fd00::5]', /without brackets/],
    ['fe80::1%eth0', /zone index/],
    ['10.0.0.5:2375', /must not include a port/],
    ['docker.lab:', /must not include a port/],
    ['fd00::5::6', /is not a valid IPv6 address/],
    ['fd00:zz::5', /is not a valid IPv6 address/],
    ['10.0.0.300', /is not a valid IPv4 address; write four numbers from 0 to 255/],
    ['1.2.3', /is not a valid IPv4 address/],
    ['1.2.3.4.5', /is not a valid IPv4 address/],
    ['010.0.0.1', /without leading zeros/],
    ['12345', /is not a valid IPv4 address/],
    ['0.0.0.0', /not the unspecified address/],
    ['::', /not the unspecified address/],
    ['0:0:0:0:0:0:0:0', /not the unspecified address/],
    ['host_1', /labels of 1 to 63 letters, digits or hyphens/],
    ['-docker.lab', /start and end with a letter or digit/],
    ['docker-.lab', /start and end with a letter or digit/],
    ['docker..lab', /labels of 1 to 63/],
    [`${'a'.repeat(64)}.example`, /labels of 1 to 63/],
    [`${'a.'.repeat(127)}ab`, /at most 253 characters/],
    ['dockér.lab', /labels of 1 to 63 letters/],
    ['a/b', /labels of 1 to 63 letters/],
  ])('rejects %j', (address, message) => {
    const found = problems({ address });

    expect(Object.keys(found)).toEqual(['$.address']);
    expect(found['$.address']).toMatch(message);
  });

  it.each([null, 5, ['10.0.0.5'], { ip: '10.0.0.5' }])('rejects the non-string %j', (address) => {
    expect(problems({ address })).toEqual({
      '$.address': 'must be a string, such as 10.0.0.5, fd00::5 or docker.lab',
    });
  });
});

describe('host name', () => {
  it.each([
    ['Host1', /lowercase letters, digits or hyphens/],
    ['host 1', /lowercase letters, digits or hyphens/],
    ['host_1', /lowercase letters, digits or hyphens/],
    ['-host', /start and end with a letter or digit/],
    ['', /lowercase letters/],
    ['h'.repeat(64), /1 to 63/],
  ])('rejects %j', (name, message) => {
    const found = problems({ name });

    expect(Object.keys(found)).toEqual(['$.name']);
    expect(found['$.name']).toMatch(message);
  });
});
