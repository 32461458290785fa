import { describe, expect, it } from 'vitest';
import { HEALTH_DEFAULTS } from '../../core/health';
import type { ServiceSpec, StackSpec } from '../../core/model';
import {
  fillConnectionString,
  isHostname,
  isIpAddress,
  publishRequests,
  wireEnvironment,
  type ResolvedDependency,
} from '../../core/wiring';

function service(name: string, extra: Partial<ServiceSpec> = {}): ServiceSpec {
  return {
    name,
    position: 1,
    image: 'graphium/services:lab',
    environment: {},
    ports: [],
    dependencies: [],
    labels: {},
    resources: {},
    mounts: [],
    actions: [],
    sourcePath: '$.itemListElement[0]',
    ...extra,
  };
}

const postgres: ResolvedDependency = {
  name: 'postgres',
  hostName: 'host-1',
  address: '10.0.0.1',
  port: 5432,
};
const cache: ResolvedDependency = {
  name: 'cache',
  hostName: 'host-3',
  address: '10.0.0.3',
  port: 6379,
};

const app = service('app', {
  dependencies: [
    {
      name: 'postgres',
      waitForHealthy: true,
      connectionString: 'postgres://app@{host}:{port}/app',
    },
    { name: 'cache', waitForHealthy: false, connectionString: 'redis://{{HOST}}:{{PORT}}/0' },
  ],
});

describe('wireEnvironment', () => {
  it('sets host, port and URL variables', () => {
    const { environment } = wireEnvironment(app, 'host-3', [postgres, cache]);
    expect(environment).toEqual({
      POSTGRES_HOST: '10.0.0.1',
      POSTGRES_PORT: '5432',
      POSTGRES_URL: 'postgres://app@10.0.0.1:5432/app',
      CACHE_HOST: '10.0.0.3',
      CACHE_PORT: '6379',
      CACHE_URL: 'redis://10.0.0.3:6379/0',
    });
  });

  it('never overwrites set values', () => {
    const own = { ...app, environment: { POSTGRES_HOST: 'db.internal', POSTGRES_URL: '' } };
    const { environment } = wireEnvironment(own, 'host-3', [postgres]);
    expect(environment.POSTGRES_HOST).toBe('db.internal');
    expect(environment.POSTGRES_URL).toBe('');
    expect(environment.POSTGRES_PORT).toBe('5432');
  });

  it('does not change the service', () => {
    wireEnvironment(app, 'host-3', [postgres]);
    expect(app.environment).toEqual({});
  });

  it('omits the port when unknown', () => {
    const worker = service('worker', { dependencies: [{ name: 'queue', waitForHealthy: false }] });
    const queue = { name: 'queue', hostName: 'host-2', address: '10.0.0.2' };
    const { environment } = wireEnvironment(worker, 'host-2', [queue]);
    expect(environment).toEqual({ QUEUE_HOST: '10.0.0.2' });
  });

  it('upper-cases dependency names into variable names', () => {
    const web = service('web', { dependencies: [{ name: 'auth-service', waitForHealthy: false }] });
    const auth = { name: 'auth-service', hostName: 'h', address: '10.0.0.9', port: 8001 };
    const { environment } = wireEnvironment(web, 'h', [auth]);
    expect(environment).toMatchObject({ AUTH_SERVICE_HOST: '10.0.0.9', AUTH_SERVICE_PORT: '8001' });
  });

  it('adds extra hosts only for other hosts', () => {
    const { extraHosts } = wireEnvironment(app, 'host-3', [postgres, cache]);
    expect(extraHosts).toEqual(['postgres:10.0.0.1']);
  });

  it('skips extra hosts for a moved port', () => {
    const moved = { ...postgres, port: 32771, reachableByName: false };
    const { extraHosts, environment } = wireEnvironment(app, 'host-3', [moved]);
    expect(extraHosts).toEqual([]);
    expect(environment.POSTGRES_PORT).toBe('32771');
  });

  it('skips extra hosts for invalid hostnames', () => {
    const odd = { name: 'auth service', hostName: 'host-1', address: '10.0.0.1', port: 8001 };
    expect(wireEnvironment(app, 'host-3', [odd]).extraHosts).toEqual([]);
  });

  it('skips extra hosts for non-IP addresses', () => {
    const named = { ...postgres, address: 'host-1.lab' };
    expect(wireEnvironment(app, 'host-3', [named]).extraHosts).toEqual([]);
  });

  it('adds extra hosts for IPv6 addresses', () => {
    const v6 = { ...postgres, address: 'fd00::1' };
    expect(wireEnvironment(app, 'host-3', [v6]).extraHosts).toEqual(['postgres:fd00::1']);
  });

  it('lists connections', () => {
    const queue = { name: 'queue', hostName: 'host-2', address: '10.0.0.2' };
    const { connections } = wireEnvironment(app, 'host-3', [postgres, queue]);
    expect(connections).toEqual([
      { name: 'postgres', address: '10.0.0.1', port: 5432 },
      { name: 'queue', address: '10.0.0.2' },
    ]);
  });
});

describe('fillConnectionString', () => {
  it('fills both placeholder forms', () => {
    const dependency = { address: '10.0.0.1', port: 5432 };
    expect(fillConnectionString('pg://{host}:{port}', dependency)).toBe('pg://10.0.0.1:5432');
    expect(fillConnectionString('pg://{{HOST}}:{{PORT}}', dependency)).toBe('pg://10.0.0.1:5432');
  });

  it('fills every occurrence', () => {
    expect(fillConnectionString('{host}/{host}', { address: 'a' })).toBe('a/a');
  });

  it('returns nothing when the port is unknown', () => {
    expect(fillConnectionString('redis://{host}:{port}', { address: '10.0.0.1' })).toBeUndefined();
  });

  it('fills a host-only template without a port', () => {
    const url = fillConnectionString('redis://{host}', { address: '10.0.0.1' });
    expect(url).toBe('redis://10.0.0.1');
  });
});

describe('publishRequests', () => {
  const db = service('db', { ports: [{ containerPort: 5432, protocol: 'tcp' }] });
  const api = service('api', {
    ports: [
      { containerPort: 3000, hostPort: 3000, protocol: 'tcp' },
      { containerPort: 9090, protocol: 'tcp' },
    ],
    dependencies: [{ name: 'db', waitForHealthy: true }],
  });
  const stack: StackSpec = { name: 'shop', placement: 'auto', volumes: [], services: [db, api] };

  it('keeps a service named __proto__', () => {
    const proto = service('__proto__', { ports: [{ containerPort: 80, hostPort: 8080, protocol: 'tcp' }] });
    const requests = publishRequests(
      { name: 'shop', placement: 'single', volumes: [], services: [proto] },
      {},
    );
    expect(Object.getOwnPropertyDescriptor(requests, '__proto__')?.value).toEqual([
      { containerPort: 80, hostPort: 8080, protocol: 'tcp' },
    ]);
    expect(Object.getPrototypeOf(requests)).toBe(Object.prototype);
  });

  it('publishes ports with a host port', () => {
    const requests = publishRequests(stack, { db: 'h1', api: 'h1' });
    expect(requests).toEqual({
      db: [],
      api: [{ containerPort: 3000, hostPort: 3000, protocol: 'tcp' }],
    });
  });

  it('auto-publishes for a dependent on another host', () => {
    const requests = publishRequests(stack, { db: 'h1', api: 'h2' });
    expect(requests.db).toEqual([{ containerPort: 5432, hostPort: 0, protocol: 'tcp' }]);
  });

  it('does not repeat a published first port', () => {
    const ports = [{ containerPort: 5432, hostPort: 5432, protocol: 'tcp' as const }];
    const published = service('db', { ports });
    const assignments = { db: 'h1', api: 'h2' };
    const requests = publishRequests({ ...stack, services: [published, api] }, assignments);
    expect(requests.db).toEqual([{ containerPort: 5432, hostPort: 5432, protocol: 'tcp' }]);
  });

  it('ignores services without an assignment', () => {
    expect(publishRequests(stack, { db: 'h1' }).db).toEqual([]);
  });

  it('publishes the port a health check probes', () => {
    const web = service('web', {
      ports: [{ containerPort: 80, protocol: 'tcp' }],
      healthCheck: { kind: 'http', path: '/', headers: {}, ...HEALTH_DEFAULTS },
    });
    const requests = publishRequests({ ...stack, services: [web] }, { web: 'h1' });
    expect(requests.web).toEqual([{ containerPort: 80, hostPort: 0, protocol: 'tcp' }]);
  });
});

describe('address checks', () => {
  it.each(['postgres', 'auth-service', 'db.internal', 'a1'])('accepts hostname %s', (name) => {
    expect(isHostname(name)).toBe(true);
  });

  it.each(['', 'auth service', '-db', 'db-', 'a..b', 'under_score', 'x'.repeat(64)])(
    'rejects hostname %j',
    (name) => {
      expect(isHostname(name)).toBe(false);
    },
  );

  it.each(['10.0.0.1', '::1', 'fd00::1', '2001:db8:0:0:0:0:0:1', '::ffff:10.0.0.1'])(
    'accepts IP %s',
    (address) => {
      expect(isIpAddress(address)).toBe(true);
    },
  );

  it.each(['host-1', '256.0.0.1', '10.0.0', '1:2:3:4:5:6:7:8:9', '1::2::3', 'fd00::xyz'])(
    'rejects address %s',
    (address) => {
      expect(isIpAddress(address)).toBe(false);
    },
  );
});
