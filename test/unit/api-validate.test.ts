import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../../db/client';
import { listDeployments } from '../../db/repository';
import type { StackSpec } from '../../core/model';
import {
  PGLITE_START_TIMEOUT_MS,
  hostBody,
  openTestDatabase,
  resetApi,
  stackDocument,
  type TestApi,
} from './api-helpers';

let handle: DatabaseHandle;
let api: TestApi;

beforeAll(async () => {
  handle = await openTestDatabase();
}, PGLITE_START_TIMEOUT_MS);

afterAll(async () => {
  await handle.close();
});

beforeEach(async () => {
  api = await resetApi(handle.db);
  for (const name of ['host1', 'host2']) {
    expect((await api.send('POST', '/hosts', hostBody(name))).status).toBe(201);
  }
});

function graphDocument(): Record<string, unknown> {
  return {
    '@context': 'https://schema.org',
    '@graph': [
      {
        '@type': 'datacenter:Stack',
        name: 'shop',
        network: { name: 'backend' },
        hasPart: [
          {
            '@id': 'urn:db',
            '@type': 'datacenter:Container',
            name: 'db',
            image: 'graphium/services:lab',
            locatedInHost: { '@id': 'host1' },
            containerPort: [{ '@type': 'Port', portNumber: 5432 }],
            environment: { POSTGRES_PASSWORD: '${DB_PASSWORD}' },
          },
          {
            '@type': 'datacenter:Container',
            name: 'app',
            image: 'graphium/busybox:lab',
            locatedInHost: { '@id': 'host2' },
            dependsOn: ['urn:db'],
          },
        ],
      },
    ],
  };
}

describe('POST /stacks/validate', () => {
  it('returns the normalized stack of a valid document and deploys nothing', async () => {
    const response = await api.send('POST', '/stacks/validate', {
      stack: graphDocument(),
      variables: { DB_PASSWORD: 'pa$$word' },
    });
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body.valid).toBe(true);
    expect(body.errors).toEqual([]);
    expect(body.warnings).toEqual([]);
    const stack = body.stack as StackSpec;
    expect(stack.placement).toBe('manual');
    expect(stack.network?.name).toBe('backend');
    expect(stack.services.map((service) => [service.name, service.targetHost])).toEqual([
      ['db', 'host1'],
      ['app', 'host2'],
    ]);
    expect(stack.services[0].environment).toEqual({ POSTGRES_PASSWORD: 'pa$$word' });
    expect(stack.services[1].dependencies).toEqual([{ name: 'db', waitForHealthy: false }]);
    expect(api.deployer.calls).toEqual([]);
    expect((await listDeployments(api.db)).items).toEqual([]);
  });

  it('returns every error and warning of an invalid document with 200', async () => {
    const document = stackDocument('Web App', ['host1', 'host9']);
    (document.itemListElement as Record<string, unknown>[])[0].colour = 'red';
    const response = await api.send('POST', '/stacks/validate', document);
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body.valid).toBe(false);
    expect(body.stack).toBeNull();
    expect(body.errors).toEqual([
      {
        path: '$.itemListElement[1].targetHost',
        message: 'host "host9" is not registered. Registered hosts: host1, host2.',
      },
    ]);
    expect(body.warnings).toEqual([
      { path: '$.itemListElement[0].colour', message: expect.stringContaining('unknown key "colour"') },
    ]);
  });

  it('names a missing variable with item, key and variable', async () => {
    const response = await api.send('POST', '/stacks/validate', graphDocument());
    const body = await response.json();
    expect(body.valid).toBe(false);
    expect(body.errors).toEqual([
      {
        path: "$['@graph'][0].hasPart[0].environment.POSTGRES_PASSWORD",
        message: expect.stringContaining(
          'service "db", variable POSTGRES_PASSWORD: ${DB_PASSWORD} has no value',
        ),
      },
    ]);
  });

  it('reads request fields beside a stackDefinition document', async () => {
    const response = await api.send('POST', '/stacks/validate', {
      stackDefinition: graphDocument(),
      variables: { DB_PASSWORD: 'x' },
      targetHosts: ['host1'],
    });
    const body = await response.json();
    expect(body.errors).toEqual([
      {
        path: "$.stackDefinition['@graph'][0].hasPart[1].locatedInHost",
        message: expect.stringContaining("not among the request's targetHosts"),
      },
    ]);
  });

  it('answers 415 for a body that is not JSON', async () => {
    const response = await api.app.request('/stacks/validate', { method: 'POST', body: 'name: shop' });
    expect(response.status).toBe(415);
  });
});

describe('POST /deployments request fields', () => {
  it('passes filled variables and request pins to the workflow', async () => {
    api.deployer.startError = new Error('stop after recording the start');
    const response = await api.send('POST', '/deployments', {
      stack: graphDocument(),
      variables: { DB_PASSWORD: 'p$$w "quoted"\n' },
      hostConstraints: [{ containerName: 'app', targetHost: 'host1' }],
    });
    expect(response.status).toBe(500);
    const [[input]] = api.deployer.callsOf('start') as [[{ stack: StackSpec }]];
    expect(input.stack.services[0].environment.POSTGRES_PASSWORD).toBe('p$$w "quoted"\n');
    expect(input.stack.services[1].targetHost).toBe('host1');
  });

  it('rejects a request field of the wrong type at its request path', async () => {
    const response = await api.send('POST', '/deployments', {
      stack: graphDocument(),
      variables: 'DB_PASSWORD=x',
    });
    expect(response.status).toBe(400);
    const body = await response.json();
    expect(body.error.details).toContainEqual({
      path: 'request.variables',
      message: expect.stringContaining('object of strings'),
    });
  });
});

describe('POST /stacks/validate placement', () => {
  it('includes the plan of a valid stack', async () => {
    const response = await api.send('POST', '/stacks/validate', {
      stack: graphDocument(),
      variables: { DB_PASSWORD: 'x' },
    });
    const body = await response.json();
    expect(body.plan.assignments).toEqual({ db: 'host1', app: 'host2' });
  });

  it('reports a stack that fits nowhere as invalid', async () => {
    const response = await api.send('POST', '/stacks/validate', {
      stack: graphDocument(),
      variables: { DB_PASSWORD: 'x' },
      datacenter: 'mars',
    });
    const body = await response.json();
    expect(body.valid).toBe(false);
    expect(body.stack).toBeNull();
    expect(body.errors).toContainEqual({
      path: "$['@graph'][0].hasPart[0]",
      message: 'db cannot run on host host1: in datacenter default, not mars',
    });
  });
});
