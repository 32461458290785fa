import { describe, expect, it } from 'vitest';
import { parseStack } from '../../core/parse';
import { isImageReference } from '../../core/image-reference';
import { MAX_NAME_FIELD_LENGTH, MAX_POSITION } from '../../core/validate';
import { expectIssue, item, stackFrom, stackOf } from './stack-documents';

const FIRST = '$.itemListElement[0]';
const SECOND = '$.itemListElement[1]';

function parseItems(...items: unknown[]) {
  return parseStack(stackOf(items));
}

describe('parseStack items', () => {
  it('reads a minimal item', () => {
    const [service] = stackFrom(parseItems(item('db', 1))).services;
    expect(service).toEqual({
      name: 'db',
      position: 1,
      image: 'graphium/services:lab',
      environment: {},
      ports: [],
      dependencies: [],
      labels: {},
      resources: {},
      mounts: [],
      actions: [],
      sourcePath: FIRST,
    });
  });

  it('keeps document order and source paths', () => {
    const stack = stackFrom(parseItems(item('b', 2), item('a', 1)));
    expect(stack.services.map((service) => service.name)).toEqual(['b', 'a']);
    expect(stack.services.map((service) => service.sourcePath)).toEqual([FIRST, SECOND]);
  });

  it('rejects non-object item', () => {
    expectIssue(parseItems('db').errors, FIRST, 'SoftwareApplication object');
  });

  it('rejects a missing position', () => {
    const document = item('db', 1);
    delete document.position;
    expectIssue(parseItems(document).errors, `${FIRST}.position`, 'position is missing');
  });

  it.each([0, -1, 1.5, '1', null, 2147483648, 1e300, MAX_POSITION + 1])('rejects position %j', (position) => {
    const result = parseItems(item('db', 1, { position }));
    expectIssue(result.errors, `${FIRST}.position`, `integer from 1 to ${MAX_POSITION}`);
  });

  it('accepts the maximum position', () => {
    expect(stackFrom(parseItems(item('db', MAX_POSITION))).services[0].position).toBe(MAX_POSITION);
  });

  it('rejects duplicate positions', () => {
    const result = parseItems(item('a', 1), item('b', 1));
    expectIssue(result.errors, `${SECOND}.position`, `${FIRST}.position`);
  });

  it('rejects a missing name', () => {
    const document = item('db', 1);
    delete document.name;
    expectIssue(parseItems(document).errors, `${FIRST}.name`, 'name is missing');
  });

  it('rejects non-string name', () => {
    expectIssue(parseItems(item('db', 1, { name: 7 })).errors, `${FIRST}.name`, 'non-empty string');
  });

  it.each(['..', '-', '!!!', ' ', '★'])('rejects name %j without letters', (name) => {
    expectIssue(parseItems(item(name, 1)).errors, `${FIRST}.name`, 'at least one letter or digit');
  });

  it('accepts a name of non-ASCII letters', () => {
    expect(stackFrom(parseItems(item('データベース', 1))).services[0].name).toBe('データベース');
  });

  it('rejects a name over the length limit', () => {
    const result = parseItems(item('a'.repeat(500_000), 1));
    expectIssue(result.errors, `${FIRST}.name`, `maximum is ${MAX_NAME_FIELD_LENGTH}`);
  });

  it('accepts a name at the length limit', () => {
    const name = 'a'.repeat(MAX_NAME_FIELD_LENGTH);
    expect(stackFrom(parseItems(item(name, 1))).services[0].name).toBe(name);
  });

  it('rejects duplicate names', () => {
    const result = parseItems(item('db', 1), item('db', 2));
    expectIssue(result.errors, `${SECOND}.name`, `${FIRST}.name`);
    expectIssue(result.errors, `${SECOND}.name`, 'unique');
  });

  it('rejects names that give one container name', () => {
    const result = parseItems(item('web app', 1), item('web-app', 2));
    expectIssue(result.errors, `${SECOND}.name`, 'container name "test-stack-web-app"');
  });

  it('accepts a name with spaces', () => {
    const stack = stackFrom(parseItems(item('auth service', 1)));
    expect(stack.services[0].name).toBe('auth service');
  });

  it('rejects a missing image', () => {
    const document = item('db', 1);
    delete document.image;
    expectIssue(parseItems(document).errors, `${FIRST}.image`, 'image is missing');
  });

  it('rejects an empty image', () => {
    expectIssue(parseItems(item('db', 1, { image: '' })).errors, `${FIRST}.image`, 'image');
  });

  it('rejects an image with spaces', () => {
    const result = parseItems(item('db', 1, { image: 'postgres 17' }));
    expectIssue(result.errors, `${FIRST}.image`, 'whitespace');
  });

  it('rejects an invalid image reference', () => {
    const result = parseItems(item('db', 1, { image: 'UPPER/Case:Tag' }));
    expectIssue(result.errors, `${FIRST}.image`, 'is not a valid image reference');
  });

  it('reads a command array', () => {
    const command = ['start-postgres', '-c', 'x'];
    const [service] = stackFrom(parseItems(item('db', 1, { command }))).services;
    expect(service.command).toEqual(['start-postgres', '-c', 'x']);
  });

  it('rejects a command string', () => {
    const result = parseItems(item('db', 1, { command: 'npm start' }));
    expectIssue(result.errors, `${FIRST}.command`, 'Write it as an array');
  });

  it('rejects non-string command entry', () => {
    const result = parseItems(item('db', 1, { command: ['sleep', 5] }));
    expectIssue(result.errors, `${FIRST}.command[1]`, 'strings');
  });

  it('warns about an empty command', () => {
    const result = parseItems(item('db', 1, { command: [] }));
    expectIssue(result.warnings, `${FIRST}.command`, 'default command');
    expect(stackFrom(result).services[0].command).toBeUndefined();
  });

  it('converts numbers and booleans in environment', () => {
    const environment = { A: 'x', PORT: 5432, DEBUG: false, RATIO: 0.5 };
    const [service] = stackFrom(parseItems(item('db', 1, { environment }))).services;
    expect(service.environment).toEqual({ A: 'x', PORT: '5432', DEBUG: 'false', RATIO: '0.5' });
  });

  it('warns when a number becomes a string', () => {
    const result = parseItems(item('db', 1, { environment: { ACCOUNT: 12345678901234567890 } }));
    expectIssue(result.warnings, `${FIRST}.environment.ACCOUNT`, 'used as the string "12345678901234567000"');
  });

  it.each([null, { a: 1 }, ['a']])('rejects environment value %j', (value) => {
    const result = parseItems(item('db', 1, { environment: { BAD: value } }));
    expectIssue(result.errors, `${FIRST}.environment.BAD`, 'must be a string');
  });

  it('explains how to write an empty environment value', () => {
    const result = parseItems(item('db', 1, { environment: { X: null } }));
    expectIssue(result.errors, `${FIRST}.environment.X`, 'Write "" for an empty value');
  });

  it.each(['__proto__', 'constructor', 'prototype'])('keeps environment key %s', (key) => {
    const environment = JSON.parse(`{"${key}": "x", "A": "1"}`);
    const [service] = stackFrom(parseItems(item('db', 1, { environment }))).services;
    expect(Object.hasOwn(service.environment, key)).toBe(true);
    expect(Object.getOwnPropertyDescriptor(service.environment, key)?.value).toBe('x');
    expect(Object.getPrototypeOf(service.environment)).toBe(Object.prototype);
    expect(Object.keys(service.environment)).toEqual([key, 'A']);
  });

  it('keeps a __proto__ label without touching Object.prototype', () => {
    const labels = JSON.parse('{"__proto__": "x"}');
    const [service] = stackFrom(parseItems(item('db', 1, { labels }))).services;
    expect(Object.getOwnPropertyDescriptor(service.labels, '__proto__')?.value).toBe('x');
    expect(JSON.stringify(service.labels)).toBe('{"__proto__":"x"}');
    expect(Object.getPrototypeOf(service.labels)).toBe(Object.prototype);
    expect(Object.hasOwn(Object.prototype, 'x')).toBe(false);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('rejects environment entries that are not name and value objects', () => {
    const result = parseItems(item('db', 1, { environment: ['A=1'] }));
    expectIssue(result.errors, `${FIRST}.environment[0]`, 'objects');
  });

  it('rejects environment that is a string', () => {
    const result = parseItems(item('db', 1, { environment: 'A=1' }));
    expectIssue(result.errors, `${FIRST}.environment`, 'object');
  });

  it('rejects an environment key with =', () => {
    const result = parseItems(item('db', 1, { environment: { 'A=B': 'x' } }));
    expectIssue(result.errors, `${FIRST}.environment['A=B']`, 'invalid');
  });

  it('reads labels', () => {
    const [service] = stackFrom(parseItems(item('db', 1, { labels: { team: 'data', tier: 1 } }))).services;
    expect(service.labels).toEqual({ team: 'data', tier: '1' });
  });

  it('rejects object label value', () => {
    const result = parseItems(item('db', 1, { labels: { team: { name: 'x' } } }));
    expectIssue(result.errors, `${FIRST}.labels.team`, 'must be a string');
  });

  it('rejects labels reserved for Graphium', () => {
    const result = parseItems(item('db', 1, { labels: { 'io.graphium.stack': 'other' } }));
    expectIssue(result.errors, `${FIRST}.labels['io.graphium.stack']`, 'reserved');
  });

  it('reads targetHost', () => {
    const [service] = stackFrom(parseItems(item('db', 1, { targetHost: 'host-1' }))).services;
    expect(service.targetHost).toBe('host-1');
  });

  it('rejects non-string targetHost', () => {
    const result = parseItems(item('db', 1, { targetHost: 1 }));
    expectIssue(result.errors, `${FIRST}.targetHost`, 'targetHost must be a non-empty string');
  });

  it('rejects empty targetHost once', () => {
    const document = stackOf([item('db', 1, { targetHost: '' })], { placement: 'manual' });
    const errors = parseStack(document).errors.filter((issue) => issue.path === `${FIRST}.targetHost`);
    expect(errors).toEqual([
      { path: `${FIRST}.targetHost`, message: expect.stringContaining('must not be empty') },
    ]);
  });

  it('rejects invalid targetHost once under manual', () => {
    const document = stackOf([item('db', 1, { targetHost: 1 })], { placement: 'manual' });
    const errors = parseStack(document).errors.filter((issue) => issue.path === `${FIRST}.targetHost`);
    expect(errors).toHaveLength(1);
  });

  it('reports every invalid item at once', () => {
    const result = parseItems(item('a', 1, { image: '' }), item('b', 2, { command: 'x' }));
    expectIssue(result.errors, `${FIRST}.image`, 'image');
    expectIssue(result.errors, `${SECOND}.command`, 'array');
  });
});

describe('image references', () => {
  it.each([
    'postgres',
    'postgres:17',
    'graphium/services:lab',
    'docker.dragonflydb.io/dragonflydb/dragonfly:v1.26.1',
    'localhost:5000/team/app',
    'registry.example.com:5000/team/app:1.2',
    'app@sha256:' + 'a'.repeat(64),
    'my_app__x.y-z:Tag_1.0-rc',
  ])('accepts %s', (image) => {
    expect(isImageReference(image)).toBe(true);
  });

  it.each(['UPPER/Case:Tag', '::::', 'app:', ':tag', 'app:-tag', 'App', 'a//b', 'app@sha256:xyz', '-app'])(
    'rejects %s',
    (image) => {
      expect(isImageReference(image)).toBe(false);
    },
  );
});
