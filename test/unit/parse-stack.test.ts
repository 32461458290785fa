import { describe, expect, it } from 'vitest';
import { parseStack } from '../../core/parse';
import { MAX_NAME_FIELD_LENGTH, MAX_SERVICES } from '../../core/validate';
import { expectIssue, expectNoIssue, item, stackFrom, stackOf } from './stack-documents';

describe('parseStack dispatch', () => {
  it('rejects a non-object document', () => {
    const result = parseStack('{"name": "x"}');
    expectIssue(result.errors, '$', 'ItemList');
    expect(result.stack).toBeUndefined();
  });

  it('rejects an array document', () => {
    expectIssue(parseStack([stackOf([item('a', 1)])]).errors, '$', 'ItemList');
  });

  it('rejects an object of no known dialect', () => {
    expectIssue(parseStack({ name: 'x', services: [] }).errors, '$', 'itemListElement');
  });

  it('names the missing stack node of a graph', () => {
    const result = parseStack({ '@context': 'https://schema.org', '@graph': [] });
    expectIssue(result.errors, "$['@graph']", 'no stack node');
  });

  it('reads itemListElement without @type', () => {
    const document = stackOf([item('a', 1)]);
    delete document['@type'];
    expect(stackFrom(parseStack(document)).services.map((service) => service.name)).toEqual(['a']);
  });

  it('sets stack only without errors', () => {
    const result = parseStack(stackOf([item('a', 1, { image: '' })]));
    expect(result.errors).not.toEqual([]);
    expect(result.stack).toBeUndefined();
  });
});

describe('parseStack stack fields', () => {
  it('keeps the name as written', () => {
    expect(stackFrom(parseStack(stackOf([item('a', 1)]))).name).toBe('Test Stack');
  });

  it('reads description and datacenter', () => {
    const document = stackOf([item('a', 1)], { description: 'Shop', datacenter: 'dc-1' });
    const stack = stackFrom(parseStack(document));
    expect(stack.description).toBe('Shop');
    expect(stack.datacenter).toBe('dc-1');
  });

  it('rejects a missing name', () => {
    const document = stackOf([item('a', 1)]);
    delete document.name;
    expectIssue(parseStack(document).errors, '$.name', 'name is missing');
  });

  it('rejects an empty name', () => {
    expectIssue(parseStack(stackOf([item('a', 1)], { name: ' ' })).errors, '$.name', 'name');
  });

  it.each(['..', '-', '!!!', '', ' ', '★'])('rejects name %j without letters', (name) => {
    const result = parseStack(stackOf([item('a', 1)], { name }));
    expectIssue(result.errors, '$.name', 'must contain at least one letter or digit');
    expect(result.stack).toBeUndefined();
  });

  it('accepts a name of non-ASCII letters', () => {
    expect(stackFrom(parseStack(stackOf([item('a', 1)], { name: '日本語スタック' }))).name).toBe(
      '日本語スタック',
    );
  });

  it('accepts a name at the length limit', () => {
    const name = 'a'.repeat(MAX_NAME_FIELD_LENGTH);
    expect(stackFrom(parseStack(stackOf([item('a', 1)], { name }))).name).toBe(name);
  });

  it('rejects a name over the length limit', () => {
    const name = 'a'.repeat(MAX_NAME_FIELD_LENGTH + 1);
    const result = parseStack(stackOf([item('a', 1)], { name }));
    expectIssue(result.errors, '$.name', `maximum is ${MAX_NAME_FIELD_LENGTH}`);
  });

  it('counts name length in code points', () => {
    const name = '𠀀'.repeat(MAX_NAME_FIELD_LENGTH);
    expect(stackFrom(parseStack(stackOf([item('a', 1)], { name }))).name).toBe(name);
  });

  it('rejects non-string description', () => {
    const result = parseStack(stackOf([item('a', 1)], { description: 5 }));
    expectIssue(result.errors, '$.description', 'description');
  });

  it('rejects non-string datacenter', () => {
    const result = parseStack(stackOf([item('a', 1)], { datacenter: ['dc'] }));
    expectIssue(result.errors, '$.datacenter', 'datacenter');
  });

  it('rejects an unknown placement', () => {
    const result = parseStack(stackOf([item('a', 1)], { placement: 'random' }));
    expectIssue(result.errors, '$.placement', 'placement must be one of');
  });

  it('accepts every placement strategy', () => {
    for (const placement of ['auto', 'datacenter', 'spread', 'single']) {
      const stack = stackFrom(parseStack(stackOf([item('a', 1)], { placement })));
      expect(stack.placement).toBe(placement);
    }
  });

  it('defaults placement to single', () => {
    const document = stackOf([item('a', 1, { targetHost: 'h1' }), item('b', 2)]);
    expect(stackFrom(parseStack(document)).placement).toBe('single');
  });

  it('defaults placement to manual when pinned', () => {
    const document = stackOf([item('a', 1, { targetHost: 'h1' }), item('b', 2, { targetHost: 'h2' })]);
    expect(stackFrom(parseStack(document)).placement).toBe('manual');
  });

  it('rejects a missing itemListElement', () => {
    const document = stackOf([]);
    delete document.itemListElement;
    expectIssue(parseStack(document).errors, '$.itemListElement', 'missing');
  });

  it('rejects an empty itemListElement', () => {
    expectIssue(parseStack(stackOf([])).errors, '$.itemListElement', 'empty');
  });

  it('rejects non-array itemListElement', () => {
    const result = parseStack(stackOf([], { itemListElement: { a: 1 } }));
    expectIssue(result.errors, '$.itemListElement', 'array');
  });
});

describe('parseStack item count', () => {
  const items = (count: number) => Array.from({ length: count }, (_, index) => item(`s${index}`, index + 1));

  it('accepts the maximum number of items', () => {
    expect(stackFrom(parseStack(stackOf(items(MAX_SERVICES)))).services).toHaveLength(MAX_SERVICES);
  });

  it('rejects more than the maximum', () => {
    const result = parseStack(stackOf(items(MAX_SERVICES + 1)));
    expectIssue(result.errors, '$.itemListElement', `at most ${MAX_SERVICES}`);
    expectIssue(result.errors, '$.itemListElement', 'Split');
    expect(result.stack).toBeUndefined();
  });

  it('rejects 5000 items with one error', () => {
    const result = parseStack(stackOf(items(5000)));
    expect(result.errors).toEqual([{ path: '$.itemListElement', message: expect.stringContaining('5000') }]);
  });
});

describe('parseStack @context and @type', () => {
  it('warns about a foreign @context', () => {
    const result = parseStack(stackOf([item('a', 1)], { '@context': 'https://example.org' }));
    expectIssue(result.warnings, "$['@context']", 'https://schema.org');
    expect(result.stack).toBeDefined();
  });

  it('warns about a missing @context', () => {
    const document = stackOf([item('a', 1)]);
    delete document['@context'];
    expectIssue(parseStack(document).warnings, "$['@context']", 'missing');
  });

  it('accepts schema.org contexts in every form', () => {
    const contexts = [
      'http://schema.org',
      'https://schema.org/',
      ['https://schema.org', { ex: 'https://example.org/' }],
      { '@vocab': 'https://schema.org/' },
    ];
    for (const context of contexts) {
      const result = parseStack(stackOf([item('a', 1)], { '@context': context }));
      expectNoIssue(result.warnings, "$['@context']");
    }
  });

  it('warns about foreign stack @type', () => {
    const result = parseStack(stackOf([item('a', 1)], { '@type': 'Stack' }));
    expectIssue(result.warnings, "$['@type']", 'ItemList');
  });

  it('warns about foreign item @type', () => {
    const result = parseStack(stackOf([item('a', 1, { '@type': 'Container' })]));
    expectIssue(result.warnings, "$.itemListElement[0]['@type']", 'SoftwareApplication');
    expect(result.stack).toBeDefined();
  });
});

describe('parseStack keys', () => {
  it('reads the keys that shape containers without warnings', () => {
    const document = stackOf(
      [
        item('a', 1, {
          volumeMounts: [{ source: 'data', target: '/data' }],
          potentialAction: [{ name: 'migrate', command: ['true'] }],
          resources: { cpu: '0.5', memory: '64M' },
          restartPolicy: 'always',
        }),
      ],
      { network: { name: 'n' }, volumes: [{ name: 'data' }] },
    );
    const result = parseStack(document);
    expect(result.warnings).toEqual([]);
    expect(result.errors).toEqual([]);
  });

  it('warns about unknown keys', () => {
    const result = parseStack(stackOf([item('a', 1, { colour: 'red' })], { owner: 'me' }));
    expectIssue(result.warnings, '$.owner', 'unknown key "owner" is ignored');
    expectIssue(result.warnings, '$.itemListElement[0].colour', 'unknown key "colour" is ignored');
    expect(result.stack).toBeDefined();
  });

  it('rejects unknown keys in strict mode', () => {
    const result = parseStack(stackOf([item('a', 1, { colour: 'red' })]), { strict: true });
    expectIssue(result.errors, '$.itemListElement[0].colour', 'unknown key "colour"');
    expect(result.stack).toBeUndefined();
  });

  it('rejects unknown keys of a network in strict mode', () => {
    const result = parseStack(stackOf([item('a', 1)], { network: { name: 'n', mtu: 1400 } }), {
      strict: true,
    });
    expectIssue(result.errors, '$.network.mtu', 'unknown key "mtu"');
  });

  it('suggests the key a typo means', () => {
    const result = parseStack(stackOf([item('a', 1, { healthcheck: { type: 'tcp' } })]));
    expectIssue(result.warnings, '$.itemListElement[0].healthcheck', 'Did you mean "healthCheck"?');
  });

  it('warns about unknown keys in nested objects', () => {
    const ports = [{ containerPort: 80, hostAddress: '0.0.0.0' }];
    const result = parseStack(stackOf([item('a', 1, { ports })]));
    expectIssue(result.warnings, '$.itemListElement[0].ports[0].hostAddress', 'unknown key "hostAddress"');
  });

  it('accepts informational keys silently', () => {
    const extra = { applicationCategory: 'Db', softwareVersion: '17', description: 'the db' };
    const result = parseStack(stackOf([item('a', 1, extra)]));
    expect(result.warnings).toEqual([]);
  });

  it('quotes odd keys in paths', () => {
    const result = parseStack(stackOf([item('a', 1, { 'x-y': 1 })]));
    expectIssue(result.warnings, "$.itemListElement[0]['x-y']", 'unknown key');
  });
});
