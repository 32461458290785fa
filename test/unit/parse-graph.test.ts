import { describe, expect, it } from 'vitest';
import { parseStack } from '../../core/parse';
import { expectIssue, stackFrom, type Json } from './stack-documents';

const STACK = "$['@graph'][0]";

function container(name: string, extra: Json = {}): Json {
  return {
    '@id': `urn:container:${name}`,
    '@type': 'datacenter:Container',
    name,
    image: 'graphium/busybox:lab',
    ...extra,
  };
}

function graphOf(
  parts: unknown[],
  stack: Json = {},
  others: Json[] = [],
  context: unknown = 'https://schema.org',
): Json {
  const node = {
    '@id': 'urn:stack:shop',
    '@type': ['datacenter:Stack', 'SoftwareApplication'],
    name: 'shop',
    hasPart: parts,
    ...stack,
  };
  return { '@context': context, '@graph': [node, ...others] };
}

describe('JSON-LD graph stacks', () => {
  it('reads a bare graph with positions from hasPart order', () => {
    const stack = stackFrom(parseStack(graphOf([container('db'), container('app')])));
    expect(stack.name).toBe('shop');
    expect(stack.services.map((service) => [service.name, service.position])).toEqual([
      ['db', 1],
      ['app', 2],
    ]);
  });

  it('reads a graph wrapped in stackDefinition, with paths under it', () => {
    const result = parseStack({ stackDefinition: graphOf([container('db', { image: 'Bad Image' })]) });
    expectIssue(result.errors, "$.stackDefinition['@graph'][0].hasPart[0].image", 'whitespace');
    const ok = parseStack({ stackDefinition: graphOf([container('db')]) });
    expect(stackFrom(ok).services.map((service) => service.name)).toEqual(['db']);
  });

  it('accepts a context array that includes schema.org', () => {
    const context = ['https://schema.org', { datacenter: 'https://graphium.io/vocab/datacenter#' }];
    const result = parseStack(graphOf([container('db')], {}, [], context));
    expect(result.warnings).toEqual([]);
  });

  it('warns about a context without schema.org', () => {
    const result = parseStack(graphOf([container('db')], {}, [], { ex: 'https://example.org/' }));
    expectIssue(result.warnings, "$['@context']", 'schema.org');
  });

  it('resolves dependsOn by @id and by name', () => {
    const app = container('app', { dependsOn: ['urn:container:db', { '@id': 'urn:container:cache' }, 'db'] });
    const stack = stackFrom(parseStack(graphOf([container('db'), container('cache'), app])));
    expect(stack.services[2].dependencies.map((dependency) => dependency.name)).toEqual(['db', 'cache']);
  });

  it('resolves hasPart references to nodes elsewhere in the graph', () => {
    const db = container('db');
    const document = graphOf([{ '@id': 'urn:container:db' }], {}, [db]);
    const result = parseStack(document);
    expect(stackFrom(result).services.map((service) => service.name)).toEqual(['db']);
    expect(result.warnings).toEqual([]);
  });

  it('names a hasPart reference to no node', () => {
    expectIssue(
      parseStack(graphOf([{ '@id': 'urn:container:gone' }])).errors,
      `${STACK}.hasPart[0]`,
      'no node',
    );
  });

  it('resolves locatedInHost through host nodes', () => {
    const host = { '@id': 'urn:host:1', '@type': 'datacenter:Host', name: 'host1' };
    const document = graphOf([container('db', { locatedInHost: { '@id': 'urn:host:1' } })], {}, [host]);
    const stack = stackFrom(parseStack(document));
    expect(stack.services[0].targetHost).toBe('host1');
    expect(stack.placement).toBe('manual');
  });

  it('pins every container to the stack host unless one names its own', () => {
    const document = graphOf([container('db'), container('app', { locatedInHost: 'host2' })], {
      locatedInHost: { '@id': 'host1' },
    });
    const stack = stackFrom(parseStack(document));
    expect(stack.services.map((service) => service.targetHost)).toEqual(['host1', 'host2']);
    expect(stack.placement).toBe('manual');
  });

  it('leaves the stack host unused under a placing strategy, with a warning', () => {
    const document = graphOf([container('db')], {
      locatedInHost: { '@id': 'host1' },
      deployment: { placementStrategy: 'spread' },
    });
    const result = parseStack(document);
    expect(stackFrom(result).services[0].targetHost).toBeUndefined();
    expectIssue(result.warnings, `${STACK}.locatedInHost`, 'not used');
  });

  it('reports an unknown stack host at the stack node', () => {
    const document = graphOf([container('db')], { locatedInHost: { '@id': 'host9' } });
    const result = parseStack(document, { knownHosts: ['host1'] });
    expectIssue(result.errors, `${STACK}.locatedInHost`, 'host "host9" is not registered');
  });

  it('rejects targetHost and locatedInHost that disagree', () => {
    const result = parseStack(graphOf([container('db', { targetHost: 'host1', locatedInHost: 'host2' })]));
    expectIssue(result.errors, `${STACK}.hasPart[0].locatedInHost`, 'Keep one');
  });

  it('rejects a graph without a stack node, or with two', () => {
    const lone = { '@context': 'https://schema.org', '@graph': [container('db')] };
    expectIssue(parseStack(lone).errors, "$['@graph']", 'no stack node');
    const two = graphOf([container('db')], {}, [{ '@type': 'Stack', name: 'other', hasPart: [] }]);
    expectIssue(parseStack(two).errors, "$['@graph'][1]", '2 stack nodes');
  });

  it.each([
    [{ '@graph': {} }, "$['@graph']", 'array'],
    [graphOf([]), `${STACK}.hasPart`, 'non-empty array'],
    [graphOf([container('db')], { hasPart: undefined }), `${STACK}.hasPart`, 'missing'],
    [graphOf(['db']), `${STACK}.hasPart[0]`, 'container objects'],
  ])('rejects %j', (document, path, word) => {
    expectIssue(parseStack(document).errors, path, word);
  });

  it('warns about container nodes outside hasPart', () => {
    const result = parseStack(graphOf([container('db')], {}, [container('stray')]));
    expectIssue(result.warnings, "$['@graph'][1]", 'not in the stack');
  });

  it('warns about unknown keys of the stack node and the wrapper', () => {
    const result = parseStack({ stackDefinition: graphOf([container('db')], { owner: 'me' }), extra: 1 });
    expectIssue(result.warnings, "$.stackDefinition['@graph'][0].owner", 'unknown key');
    expectIssue(result.warnings, '$.extra', 'unknown key');
  });

  it('reads the network, volumes, resources and action of a container', () => {
    const db = container('db', {
      environment: [{ name: 'POSTGRES_PASSWORD', value: '${DB_PASSWORD}' }],
      volumes: [{ name: 'pgdata', mountPath: '/var/lib/postgresql/data' }],
      resources: { limits: { cpus: '0.5', memory: '256M' } },
      potentialAction: [{ name: 'schema', command: ['psql', '-c', 'create table t (id int)'] }],
    });
    const result = parseStack(graphOf([db], { network: { name: 'backend' } }), {
      variables: { DB_PASSWORD: 's3cret' },
    });
    const stack = stackFrom(result);
    expect(stack.network?.name).toBe('backend');
    expect(stack.volumes.map((volume) => volume.name)).toEqual(['pgdata']);
    expect(stack.services[0]).toMatchObject({
      environment: { POSTGRES_PASSWORD: 's3cret' },
      resources: { cpus: 0.5, memoryBytes: 256 * 2 ** 20 },
      actions: [{ name: 'schema', target: 'db' }],
    });
  });

  it('rejects a duplicate @id and a hasPart pointing at the stack', () => {
    const twice = graphOf([container('a'), { ...container('b'), '@id': 'urn:container:a' }]);
    expectIssue(parseStack(twice).errors, `${STACK}.hasPart[1]['@id']`, 'already used');
    const self = graphOf([{ '@id': 'urn:stack:shop' }]);
    expectIssue(parseStack(self).errors, `${STACK}.hasPart[0]`, 'stack node');
  });
});
