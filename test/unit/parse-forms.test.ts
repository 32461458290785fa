import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { containerName } from '../../core/names';
import { parseStack, type ParseOptions } from '../../core/parse';
import { fill } from '../../core/variables';
import { expectIssue, item, stackFrom, stackOf, type Json } from './stack-documents';

const FIRST = '$.itemListElement[0]';

function parseItem(extra: Json, options?: ParseOptions) {
  return parseStack(stackOf([item('web', 1, extra)]), options);
}

function serviceOf(extra: Json, options?: ParseOptions) {
  return stackFrom(parseItem(extra, options)).services[0];
}

describe('port forms', () => {
  it.each([
    [
      { ports: [{ containerPort: 80, hostPort: 8080, hostIP: '127.0.0.1' }] },
      { containerPort: 80, hostPort: 8080, hostIp: '127.0.0.1', protocol: 'tcp' },
    ],
    [
      { containerPort: [{ '@type': 'Port', portNumber: 80, hostPort: 8080, protocol: 'TCP' }] },
      { containerPort: 80, hostPort: 8080, protocol: 'tcp' },
    ],
    [
      { containerPort: [{ '@type': 'Port', portNumber: 53, protocol: 'UDP' }] },
      { containerPort: 53, protocol: 'udp' },
    ],
    [
      { containerPort: [{ '@type': 'PropertyValue', value: '80', description: '8080:80' }] },
      { containerPort: 80, hostPort: 8080, protocol: 'tcp' },
    ],
    [{ containerPort: [{ '@type': 'PropertyValue', value: 80 }] }, { containerPort: 80, protocol: 'tcp' }],
    [{ containerPort: 9000 }, { containerPort: 9000, protocol: 'tcp' }],
  ])('reads %j', (extra, port) => {
    expect(serviceOf(extra).ports).toEqual([port]);
  });

  it('keeps ports and containerPort together in order', () => {
    const extra = { ports: [{ containerPort: 80 }], containerPort: [{ '@type': 'Port', portNumber: 443 }] };
    expect(serviceOf(extra).ports.map((port) => port.containerPort)).toEqual([80, 443]);
  });

  it('warns when a PropertyValue description does not publish its port', () => {
    const result = parseItem({
      containerPort: [{ '@type': 'PropertyValue', value: '80', description: '8080:81' }],
    });
    expectIssue(result.warnings, `${FIRST}.containerPort[0].description`, 'not published');
    expect(stackFrom(result).services[0].ports).toEqual([{ containerPort: 80, protocol: 'tcp' }]);
  });

  it('names the portNumber of a bad Port', () => {
    const result = parseItem({ containerPort: [{ '@type': 'Port', portNumber: 70000 }] });
    expectIssue(result.errors, `${FIRST}.containerPort[0].portNumber`, 'from 1 to 65535');
  });

  it('rejects a host address that is not an IP address', () => {
    const result = parseItem({ ports: [{ containerPort: 80, hostPort: 80, hostIP: 'localhost' }] });
    expectIssue(result.errors, `${FIRST}.ports[0].hostIP`, 'IP address');
  });
});

describe('environment forms', () => {
  it.each([
    [{ environment: { A: '1' } }],
    [{ environment: [{ name: 'A', value: '1' }] }],
    [{ environmentVariable: [{ '@type': 'PropertyValue', name: 'A', value: '1' }] }],
  ])('reads %j', (extra) => {
    expect(serviceOf(extra).environment).toEqual({ A: '1' });
  });

  it('merges environment and environmentVariable, the later value winning with a warning', () => {
    const result = parseItem({
      environment: { A: '1', B: '2' },
      environmentVariable: [{ name: 'A', value: '3' }],
    });
    expect(stackFrom(result).services[0].environment).toEqual({ A: '3', B: '2' });
    expectIssue(result.warnings, `${FIRST}.environmentVariable[0]`, 'replaces');
  });

  it('rejects an entry without a name', () => {
    const result = parseItem({ environmentVariable: [{ value: '1' }] });
    expectIssue(result.errors, `${FIRST}.environmentVariable[0].name`, 'variable name');
  });
});

describe('mount forms', () => {
  const data = { type: 'volume', source: 'data', target: '/data', readOnly: false };

  it.each([
    [{ volumeMounts: [{ source: 'data', target: '/data' }] }, data],
    [{ volumeMount: { source: 'data', target: '/data' } }, data],
    [{ volumeMount: [{ name: 'data', mountPath: '/data' }] }, data],
    [{ volumes: [{ name: 'data', mountPath: '/data' }] }, data],
    [{ storageRequirement: [{ '@type': 'PropertyValue', description: 'data:/data' }] }, data],
    [
      { storageRequirement: [{ '@type': 'PropertyValue', description: 'data:/data:ro' }] },
      { ...data, readOnly: true },
    ],
    [
      { volumeMounts: [{ source: '/srv/conf', target: '/conf', type: 'bind', readOnly: true }] },
      { type: 'bind', source: '/srv/conf', target: '/conf', readOnly: true },
    ],
    [
      { volumeMounts: [{ target: '/cache', type: 'tmpfs' }] },
      { type: 'tmpfs', target: '/cache', readOnly: false },
    ],
    [{ volumeMounts: [{ target: '/scratch' }] }, { type: 'volume', target: '/scratch', readOnly: false }],
  ])('reads %j', (extra, mount) => {
    expect(serviceOf(extra).mounts).toEqual([mount]);
  });

  it('lists mounted volumes on the stack, with the driver an item asks for', () => {
    const stack = stackFrom(parseItem({ volumes: [{ name: 'data', mountPath: '/data', driver: 'local' }] }));
    expect(stack.volumes).toEqual([
      { name: 'data', driver: 'local', options: {}, labels: {}, external: false },
    ]);
  });

  it('reads declared volumes, with createIfNotExists false as external', () => {
    const document = stackOf([item('web', 1, { volumeMounts: [{ source: 'data', target: '/data' }] })], {
      volumes: [{ name: 'data', driver: 'local', createIfNotExists: false, labels: { team: 'a' } }],
    });
    expect(stackFrom(parseStack(document)).volumes).toEqual([
      { name: 'data', driver: 'local', options: {}, labels: { team: 'a' }, external: true },
    ]);
  });

  it('warns about a declared volume nobody mounts', () => {
    const result = parseStack(stackOf([item('web', 1)], { volumes: [{ name: 'spare' }] }));
    expectIssue(result.warnings, '$.volumes[0]', 'not mounted');
    expect(stackFrom(result).volumes).toEqual([]);
  });

  it('leaves out a relative bind with a warning', () => {
    const result = parseItem({ volumeMounts: [{ source: './conf', target: '/conf', type: 'bind' }] });
    expectIssue(result.warnings, `${FIRST}.volumeMounts[0].source`, 'relative path');
    expect(stackFrom(result).services[0].mounts).toEqual([]);
  });

  it.each([
    [{ volumeMounts: [{ source: '/srv', target: '/data' }] }, 'volumeMounts[0].source', 'is a path'],
    [{ volumeMounts: [{ source: 'data', target: 'data' }] }, 'volumeMounts[0].target', 'absolute path'],
    [{ volumeMounts: [{ source: 'data', target: '/d', type: 'nfs' }] }, 'volumeMounts[0].type', '"tmpfs"'],
    [{ volumeMounts: [{ source: 'bad name', target: '/d' }] }, 'volumeMounts[0].source', 'invalid'],
    [{ storageRequirement: [{ description: 'data' }] }, 'storageRequirement[0].description', 'source:/path'],
    [
      { volumeMounts: [{ source: 'a', target: '/d' }], volumeMount: { source: 'b', target: '/d' } },
      'volumeMount',
      'already mounted',
    ],
  ])('rejects %j', (extra, path, word) => {
    expectIssue(parseItem(extra).errors, `${FIRST}.${path}`, word);
  });

  it('rejects two drivers for one volume', () => {
    const document = stackOf(
      [item('web', 1, { volumes: [{ name: 'data', mountPath: '/d', driver: 'nfs' }] })],
      {
        volumes: [{ name: 'data', driver: 'local' }],
      },
    );
    expectIssue(parseStack(document).errors, `${FIRST}.volumes[0].driver`, 'differs');
  });

  it('ignores the driver of an unnamed volume with a warning', () => {
    const result = parseItem({ volumes: [{ mountPath: '/d', driver: 'nfs' }] });
    const stack = stackFrom(result);

    expectIssue(result.warnings, `${FIRST}.volumes[0].driver`, 'has no name');
    expect(stack.services[0].mounts).toEqual([{ type: 'volume', target: '/d', readOnly: false }]);
    expect(stack.volumes).toEqual([]);
  });
});

describe('network', () => {
  it('reads every field', () => {
    const network = {
      name: 'backend',
      driver: 'bridge',
      subnet: '172.30.0.0/16',
      gateway: '172.30.0.1',
      ipRange: '172.30.1.0/24',
      options: { 'com.docker.network.bridge.enable_icc': 'true' },
      labels: { team: 'a' },
    };
    const stack = stackFrom(parseStack(stackOf([item('web', 1)], { network })));
    expect(stack.network).toEqual({ ...network, external: false });
  });

  it.each([
    [{ name: 'n', subnet: '172.30.0.0' }, '$.network.subnet', 'CIDR'],
    [{ name: 'n', gateway: '172.30.0.1' }, '$.network.subnet', 'missing'],
    [{ driver: 'bridge' }, '$.network.name', 'missing'],
    [{ name: 'n', external: true, createIfNotExists: true }, '$.network.createIfNotExists', 'Remove one'],
  ])('rejects %j', (network, path, word) => {
    expectIssue(parseStack(stackOf([item('web', 1)], { network })).errors, path, word);
  });
});

describe('resources', () => {
  it.each([
    [
      { cpu: '0.5', memory: '512M' },
      { cpus: 0.5, memoryBytes: 512 * 2 ** 20 },
    ],
    [
      { cpu: 2, memory: 1073741824 },
      { cpus: 2, memoryBytes: 2 ** 30 },
    ],
    [
      { cpu: '500m', memory: '1Gi' },
      { cpus: 0.5, memoryBytes: 2 ** 30 },
    ],
    [
      { cpus: '1.5', memory: '64MB' },
      { cpus: 1.5, memoryBytes: 64 * 2 ** 20 },
    ],
    [
      { limits: { cpus: '1', memory: '1G', memorySwap: '2G', pids: 100 } },
      { cpus: 1, memoryBytes: 2 ** 30, memorySwapBytes: 2 ** 31, pids: 100 },
    ],
    [{ limits: { memory: '1G', memorySwap: -1 } }, { memoryBytes: 2 ** 30, memorySwapBytes: -1 }],
  ])('reads %j', (resources, expected) => {
    expect(serviceOf({ resources }).resources).toEqual(expected);
  });

  it('lets limits replace the outer value with a warning', () => {
    const result = parseItem({ resources: { memory: '256M', limits: { memory: '512M' } } });
    expect(stackFrom(result).services[0].resources).toEqual({ memoryBytes: 512 * 2 ** 20 });
    expectIssue(result.warnings, `${FIRST}.resources.limits.memory`, 'replaces');
  });

  it.each([
    [{ cpu: 'half' }, 'resources.cpu', 'number of CPUs'],
    [{ cpu: 0 }, 'resources.cpu', 'number of CPUs'],
    [{ memory: '512X' }, 'resources.memory', 'size'],
    [{ memory: '1k' }, 'resources.memory', 'at least 6M'],
    [{ limits: { memory: '1G', memorySwap: '512M' } }, 'resources.limits.memorySwap', 'at least'],
    [{ limits: { pids: 0 } }, 'resources.limits.pids', 'integer'],
    [{ limits: 'big' }, 'resources.limits', 'object'],
  ])('rejects %j', (resources, path, word) => {
    expectIssue(parseItem({ resources }).errors, `${FIRST}.${path}`, word);
  });
});

describe('container fields', () => {
  it.each([
    ['always', { name: 'always' }],
    ['unless-stopped', { name: 'unless-stopped' }],
    ['on-failure:5', { name: 'on-failure', maximumRetryCount: 5 }],
    [
      { name: 'on-failure', maximumRetryCount: 2 },
      { name: 'on-failure', maximumRetryCount: 2 },
    ],
  ])('reads restartPolicy %j', (restartPolicy, expected) => {
    expect(serviceOf({ restartPolicy }).restartPolicy).toEqual(expected);
  });

  it.each(['sometimes', 'always:3', 3])('rejects restartPolicy %j', (restartPolicy) => {
    expectIssue(parseItem({ restartPolicy }).errors, `${FIRST}.restartPolicy`, 'restart policy');
  });

  it('appends args to the command', () => {
    expect(serviceOf({ command: ['node'], args: ['server.js', '--port', '80'] }).command).toEqual([
      'node',
      'server.js',
      '--port',
      '80',
    ]);
  });

  it('uses args alone as the command', () => {
    expect(serviceOf({ args: ['--verbose'] }).command).toEqual(['--verbose']);
  });

  it('reads workingDir and user', () => {
    expect(serviceOf({ workingDir: '/app', user: '1000:1000' })).toMatchObject({
      workingDir: '/app',
      user: '1000:1000',
    });
  });

  it.each([
    [{ workingDir: 'app' }, 'workingDir', 'absolute path'],
    [{ user: 'root user' }, 'user', 'user name or id'],
    [{ args: '--verbose' }, 'args', 'array of strings'],
  ])('rejects %j', (extra, path, word) => {
    expectIssue(parseItem(extra).errors, `${FIRST}.${path}`, word);
  });

  it('reads constraints as labels in both forms', () => {
    expect(serviceOf({ constraints: ['disk=ssd'] }).constraints).toEqual({ labels: { disk: 'ssd' } });
    expect(serviceOf({ constraints: { disk: 'ssd' } }).constraints).toEqual({ labels: { disk: 'ssd' } });
  });
});

describe('post-start actions', () => {
  const db = item('db', 1);

  it('reads an action with its defaults', () => {
    expect(serviceOf({ potentialAction: [{ name: 'seed', command: ['./seed'] }] }).actions).toEqual([
      { name: 'seed', command: ['./seed'], timeoutMs: 60_000, target: 'web' },
    ]);
  });

  it('reads timeout, working directory and a target', () => {
    const action = {
      '@type': 'Action',
      name: 'migrate',
      actionType: 'migration',
      command: ['psql', '-c', 'select 1'],
      timeout: '2m',
      workingDirectory: '/srv',
      target: 'db',
    };
    const stack = stackFrom(parseStack(stackOf([db, item('web', 2, { potentialAction: action })])));
    expect(stack.services[1].actions).toEqual([
      {
        name: 'migrate',
        actionType: 'migration',
        command: ['psql', '-c', 'select 1'],
        timeoutMs: 120_000,
        workingDirectory: '/srv',
        target: 'db',
      },
    ]);
  });

  it.each([
    [{ name: 'x' }, 'potentialAction[0].command', 'missing'],
    [{ command: 'make' }, 'potentialAction[0].command', 'array'],
    [{ command: ['x'], timeout: 0 }, 'potentialAction[0].timeout', 'above 0'],
    [{ command: ['x'], timeout: 7200 }, 'potentialAction[0].timeout', 'at most 1h'],
    [{ command: ['x'], workingDirectory: 'srv' }, 'potentialAction[0].workingDirectory', 'absolute'],
    [{ command: ['x'], target: 'cache' }, 'potentialAction[0].target', 'not a service'],
  ])('rejects %j', (action, path, word) => {
    expectIssue(parseItem({ potentialAction: [action] }).errors, `${FIRST}.${path}`, word);
  });

  it('rejects a target that waits for the action service', () => {
    const web = item('web', 1, { potentialAction: [{ command: ['x'], target: 'app' }] });
    const app = item('app', 2, { softwareRequirements: [{ name: 'web', waitForHealthy: true }] });
    expectIssue(parseStack(stackOf([web, app])).errors, `${FIRST}.potentialAction[0].target`, 'waits for');
  });
});

describe('variables', () => {
  it('fills placeholders and turns $$ into $', () => {
    const environment = { URL: 'postgres://app:${PASSWORD}@db/${DB}', PRICE: '$$5', RAW: 'a$b' };
    const variables = { PASSWORD: 'p@ss', DB: 'shop' };
    expect(serviceOf({ environment }, { variables }).environment).toEqual({
      URL: 'postgres://app:p@ss@db/shop',
      PRICE: '$5',
      RAW: 'a$b',
    });
  });

  it('names item, key and variable when one is missing', () => {
    const result = parseItem({ environment: { URL: 'x${PASSWORD}' } });
    expectIssue(
      result.errors,
      `${FIRST}.environment.URL`,
      'service "web", variable URL: ${PASSWORD} has no value',
    );
  });

  it('names the key in the PropertyValue form', () => {
    const result = parseItem({ environmentVariable: [{ name: 'URL', value: '${X}' }] });
    expectIssue(result.errors, `${FIRST}.environment.URL`, '${X} has no value');
  });

  it.each(['${}', '${1X}', '${A-B}', 'x${A'])('rejects the malformed placeholder in %j', (value) => {
    expectIssue(
      parseItem({ environment: { V: value } }, { variables: { A: 'a' } }).errors,
      `${FIRST}.environment.V`,
      'not a placeholder',
    );
  });

  it('warns about unused variables and rejects bad ones', () => {
    const result = parseItem({}, { variables: { SPARE: 'x' } });
    expectIssue(result.warnings, 'request.variables.SPARE', 'not used');
    expectIssue(parseItem({}, { variables: { A: 1 } }).errors, 'request.variables.A', 'string');
    expectIssue(parseItem({}, { variables: ['A'] }).errors, 'request.variables', 'object');
  });

  it('inserts values byte for byte, never expanding them again', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (value, text) => {
        const filled = fill(`${text.replaceAll('$', '$$$$')}\${V}`, { V: value });
        expect(filled.problems).toEqual([]);
        expect(filled.value).toBe(`${text}${value}`);
      }),
    );
  });
});

describe('placement hints', () => {
  const pinned = (host: string) => item('db', 1, { targetHost: host });

  it('reads a file-level deployment object', () => {
    const deployment = {
      placementStrategy: 'spread',
      targetDatacenter: 'lab-a',
      maxInstancesPerHost: 2,
      networkMode: 'host-port',
      hostConstraints: [{ containerName: 'web', minCpu: 1, minMemory: '1G', labels: { disk: 'ssd' } }],
    };
    const stack = stackFrom(parseStack(stackOf([item('web', 1)], { deployment })));
    expect(stack).toMatchObject({ placement: 'spread', datacenter: 'lab-a', maxServicesPerHost: 2 });
    expect(stack.services[0].constraints).toEqual({
      labels: { disk: 'ssd' },
      minCpus: 1,
      minMemoryBytes: 2 ** 30,
    });
  });

  it('prefers placement over placementStrategy with a warning', () => {
    const result = parseStack(
      stackOf([item('web', 1)], { placement: 'single', deployment: { placementStrategy: 'spread' } }),
    );
    expect(stackFrom(result).placement).toBe('single');
    expectIssue(result.warnings, '$.deployment.placementStrategy', 'ignored');
  });

  it('lets request fields replace the file with a warning', () => {
    const document = stackOf([item('web', 1)], { placement: 'single', datacenter: 'lab-a' });
    const result = parseStack(document, {
      request: { strategy: 'spread', datacenter: 'lab-b', targetHosts: ['host1', 'host2'] },
    });
    expect(stackFrom(result)).toMatchObject({
      placement: 'spread',
      datacenter: 'lab-b',
      candidateHosts: ['host1', 'host2'],
    });
    expectIssue(result.warnings, 'request.strategy', 'replaces "single"');
  });

  it('pins through request hostConstraints, over a file pin with a warning', () => {
    const result = parseStack(stackOf([pinned('host1')]), {
      request: {
        hostConstraints: [{ containerName: 'db', targetHost: 'host2', requiredDatacenter: 'lab-b' }],
      },
    });
    const [db] = stackFrom(result).services;
    expect(db.targetHost).toBe('host2');
    expect(db.constraints).toEqual({ labels: {}, datacenter: 'lab-b' });
    expectIssue(result.warnings, 'request.hostConstraints[0].targetHost', 'replaces "host1"');
  });

  it('rejects a file constraint that contradicts the item pin', () => {
    const deployment = { hostConstraints: [{ containerName: 'db', targetHost: 'host2' }] };
    const result = parseStack(stackOf([pinned('host1')], { deployment }));
    expectIssue(result.errors, '$.deployment.hostConstraints[0].targetHost', 'differs');
  });

  it.each([
    [{ strategy: 'random' }, 'request.strategy', 'must be one of'],
    [{ targetHosts: [] }, 'request.targetHosts', 'non-empty array'],
    [
      { hostConstraints: [{ containerName: 'cache' }] },
      'request.hostConstraints[0].containerName',
      'not a service',
    ],
    [
      { hostConstraints: [{ containerName: 'web', minMemory: 'lots' }] },
      'request.hostConstraints[0].minMemory',
      'bytes',
    ],
    [{ hostConstraints: [{ targetHost: 'h' }] }, 'request.hostConstraints[0].containerName', 'missing'],
  ])('rejects request %j', (request, path, word) => {
    expectIssue(parseItem({}, { request }).errors, path, word);
  });

  it('rejects a pin outside the request targetHosts', () => {
    const result = parseStack(stackOf([pinned('host3')]), { request: { targetHosts: ['host1'] } });
    expectIssue(result.errors, `${FIRST}.targetHost`, 'not among');
  });

  it('checks every named host against the registered ones', () => {
    const result = parseStack(stackOf([pinned('host9')]), {
      request: { targetHosts: ['host7'] },
      knownHosts: ['host9'],
    });
    expectIssue(result.errors, 'request.targetHosts[0]', 'host "host7" is not registered');
    expectIssue(result.errors, `${FIRST}.targetHost`, 'not among');
  });

  it('reads the legacy location', () => {
    const stack = stackFrom(
      parseStack(stackOf([item('web', 1)], { location: { datacenter: 'lab-a', host: 'host2' } })),
    );
    expect(stack).toMatchObject({ datacenter: 'lab-a', placement: 'manual' });
    expect(stack.services[0].targetHost).toBe('host2');
  });
});

describe('names', () => {
  it('rejects two service names that give one container name', () => {
    const result = parseStack(stackOf([item('web app', 1), item('web-app', 2)]));
    expectIssue(result.errors, '$.itemListElement[1].name', 'gives the container name');
  });

  it('keeps long names apart after shortening them', () => {
    const long = 'x'.repeat(70);
    const stack = stackFrom(parseStack(stackOf([item(`${long} a`, 1), item(`${long}-a`, 2)])));
    const names = stack.services.map((service) => containerName(stack.name, service.name));
    expect(names[0]).not.toBe(names[1]);
    expect(names.every((name) => name.length <= 63)).toBe(true);
  });

  it('keeps a stack name with spaces as written', () => {
    expect(stackFrom(parseStack(stackOf([item('web', 1)], { name: 'Infisical Stack' }))).name).toBe(
      'Infisical Stack',
    );
  });
});

describe('action wait cycles', () => {
  it('rejects a cycle through another service action', () => {
    const s = item('s', 1, { potentialAction: [{ command: ['x'], target: 't' }] });
    const t = item('t', 2, { softwareRequirements: [{ name: 'u', waitForHealthy: true }] });
    const u = item('u', 3, { potentialAction: [{ command: ['x'], target: 'v' }] });
    const v = item('v', 4, { softwareRequirements: [{ name: 's', waitForHealthy: true }] });
    const result = parseStack(stackOf([s, t, u, v]));
    expectIssue(result.errors, `${FIRST}.potentialAction[0].target`, 'waits for');
  });

  it('accepts a target that only waits for its owner to run', () => {
    const web = item('web', 1, { potentialAction: [{ command: ['x'], target: 'app' }] });
    const app = item('app', 2, { dependsOn: ['web'] });
    expect(parseStack(stackOf([web, app])).errors).toEqual([]);
  });

  it('accepts an action in a dependency', () => {
    const db = item('db', 1);
    const app = item('app', 2, { dependsOn: ['db'], potentialAction: [{ command: ['x'], target: 'db' }] });
    expect(parseStack(stackOf([db, app])).errors).toEqual([]);
  });
});

describe('anti-affinity', () => {
  it('reads names and rejects unknown ones', () => {
    const stack = stackFrom(parseStack(stackOf([item('a', 1, { antiAffinity: ['b'] }), item('b', 2)])));
    expect(stack.services[0].antiAffinity).toEqual(['b']);
    const result = parseStack(stackOf([item('a', 1, { antiAffinity: ['a', 'z'] })]));
    expectIssue(result.errors, `${FIRST}.antiAffinity[0]`, 'cannot avoid itself');
    expectIssue(result.errors, `${FIRST}.antiAffinity[1]`, 'not a service');
  });
});

describe('reachability warnings', () => {
  it('warns about a remote dependency without ports', () => {
    const db = item('db', 1, { targetHost: 'h1' });
    const app = item('app', 2, { targetHost: 'h2', dependsOn: ['db'] });
    const result = parseStack(stackOf([db, app]));
    expectIssue(result.warnings, '$.itemListElement[1].dependsOn[0]', '"db" on h1 has no ports');
  });

  it('warns about a service name that is not a hostname', () => {
    const result = parseStack(stackOf([item('my db', 1), item('app', 2, { dependsOn: ['my db'] })]));
    expectIssue(result.warnings, `${FIRST}.name`, 'reach it as "my-db"');
  });

  it('warns about a probed port on loopback', () => {
    const ports = [{ containerPort: 80, hostPort: 8080, hostIP: '127.0.0.1' }];
    const result = parseItem({ ports, healthCheck: { type: 'http', path: '/' } });
    expectIssue(result.warnings, `${FIRST}.ports[0].hostIP`, 'loopback');
  });
});

describe('network and mount checks', () => {
  it.each([
    [{ name: 'n', subnet: '10.50.0.0/24', gateway: '10.60.0.1' }, '$.network.gateway', 'outside the subnet'],
    [{ name: 'n', subnet: '10.50.0.0/24', ipRange: '10.50.1.0/24' }, '$.network.ipRange', 'not inside'],
    [{ name: 'n', driver: 'host' }, '$.network.driver', 'built-in'],
    [
      { name: 'n', labels: { 'io.graphium.stack': 'x' } },
      "$.network.labels['io.graphium.stack']",
      'reserved',
    ],
  ])('rejects network %j', (network, path, word) => {
    expectIssue(parseStack(stackOf([item('web', 1)], { network })).errors, path, word);
  });

  it('rejects a CPU limit Docker refuses', () => {
    expectIssue(parseItem({ resources: { cpu: 0.001 } }).errors, `${FIRST}.resources.cpu`, 'at least 0.01');
  });

  it('rejects a mount over / and one path mounted twice', () => {
    expectIssue(
      parseItem({ volumeMounts: [{ source: 'a', target: '/' }] }).errors,
      `${FIRST}.volumeMounts[0].target`,
      'cannot mount over',
    );
    const twice = {
      volumeMounts: [
        { source: 'a', target: '/data' },
        { source: 'b', target: '/data/' },
      ],
    };
    expectIssue(parseItem(twice).errors, `${FIRST}.volumeMounts[1]`, 'already mounted');
  });
});

describe('wrapped ItemList', () => {
  it('reads an ItemList inside stackDefinition with paths under it', () => {
    const result = parseStack({ stackDefinition: stackOf([item('web', 1, { image: 'Bad Image' })]) });
    expectIssue(result.errors, '$.stackDefinition.itemListElement[0].image', 'whitespace');
    const ok = parseStack({ stackDefinition: stackOf([item('web', 1)]) });
    expect(stackFrom(ok).services[0].sourcePath).toBe('$.stackDefinition.itemListElement[0]');
  });
});
