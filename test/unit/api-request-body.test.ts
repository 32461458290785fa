/**
 * Request bodies that JSON.parse accepts but the API cannot use: nesting deep enough to overflow
 * the recursive readers, and text PostgreSQL cannot store. Each once made a route return 500.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ValidationError } from '../../api/errors';
import { MAX_JSON_DEPTH, rejectUnstorableJson } from '../../api/validation';
import type { DatabaseHandle } from '../../db/client';
import {
  PGLITE_START_TIMEOUT_MS,
  hostBody,
  openTestDatabase,
  resetApi,
  stackDocument,
  type TestApi,
} from './api-helpers';

/** Returns the details `rejectUnstorableJson` reports for `body`, or [] when it accepts it. */
function detailsOf(body: unknown): { path: string; message: string }[] {
  try {
    rejectUnstorableJson(body);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    return error.details ?? [];
  }
  return [];
}

/** Builds an object with `a` nested `depth` levels deep, the outermost one included. */
function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let level = 0; level < depth; level++) value = { a: value };
  return value;
}

describe('rejectUnstorableJson', () => {
  it.each([
    ['plain text', { name: 'web', env: { A: 'x' } }],
    ['a surrogate pair', { name: '🚀 launch' }],
    ['other control characters', { command: 'a\tb\nc' }],
    ['numbers, booleans and null', [1, -0.5, true, false, null]],
    [`${MAX_JSON_DEPTH} levels of nesting`, nested(MAX_JSON_DEPTH)],
  ])('accepts %s', (_case, body) => {
    expect(detailsOf(body)).toEqual([]);
  });

  it.each([
    ['NUL in a value', { env: { A: 'a\u0000b' } }, '$.env.A', /NUL character/],
    ['NUL in a key', { labels: { 'a\u0000': 'x' } }, '$.labels["a\\u0000"]', /key contains the NUL/],
    ['a lone high surrogate', { name: 'x\ud800' }, '$.name', /unpaired UTF-16 surrogate/],
    ['a lone low surrogate', ['ok', '\udc00y'], '$[1]', /unpaired UTF-16 surrogate/],
    ['reversed surrogates', { name: '\udc00\ud800' }, '$.name', /unpaired UTF-16 surrogate/],
    ['a lone surrogate in a key', { '\ud800': 1 }, '$["\\ud800"]', /key contains an unpaired/],
    [
      `${MAX_JSON_DEPTH + 1} levels of nesting`,
      nested(MAX_JSON_DEPTH + 1),
      `$${'.a'.repeat(MAX_JSON_DEPTH)}`,
      /nested deeper than 64 levels/,
    ],
  ])('rejects %s', (_case, body, path, message) => {
    const details = detailsOf(body);

    expect(details).toHaveLength(1);
    expect(details[0]!.path).toBe(path);
    expect(details[0]!.message).toMatch(message);
  });

  it('checks 100,000 levels of nesting without overflowing the stack', () => {
    const text = '['.repeat(100_000) + ']'.repeat(100_000);

    expect(detailsOf(JSON.parse(text))).toEqual([
      { path: `$${'[0]'.repeat(MAX_JSON_DEPTH)}`, message: expect.stringMatching(/nested deeper/) },
    ]);
  });

  it('lists at most 20 problems, in document order', () => {
    const body = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`k${i}`, '\u0000']));
    let error: unknown;
    try {
      rejectUnstorableJson(body);
    } catch (caught) {
      error = caught;
    }

    expect(error).toBeInstanceOf(ValidationError);
    const { message, details } = error as ValidationError;
    expect(details?.map((detail) => detail.path)).toEqual(Array.from({ length: 20 }, (_, i) => `$.k${i}`));
    expect(message).toBe('request body has at least 20 invalid values; details lists the first 20');
  });
});

describe('routes given unstorable bodies', () => {
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

  afterEach(() => {
    expect(api.deployer.callsOf('start')).toEqual([]);
  });

  /** Asserts a 400 validation_failed response whose only detail is at `path`. */
  async function expectRejectedAt(response: Response, path: string, message: RegExp): Promise<void> {
    expect(response.status).toBe(400);
    const { error } = (await response.json()) as {
      error: { code: string; details: { path: string; message: string }[] };
    };
    expect(error.code).toBe('validation_failed');
    expect(error.details.map((detail) => detail.path)).toEqual([path]);
    expect(error.details[0]!.message).toMatch(message);
  }

  it('rejects a @context nested 10,000 deep on /stacks/validate', async () => {
    const document = stackDocument('Deep', ['host1', 'host2']);
    const text = JSON.stringify(document).replace(
      '"https://schema.org"',
      '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000),
    );
    const response = await api.send('POST', '/stacks/validate', text);

    const path = `$["@context"]${'.a'.repeat(MAX_JSON_DEPTH - 1)}`;
    await expectRejectedAt(response, path, /nested deeper than 64 levels/);
  });

  it.each(['/deployments', '/stacks/validate', '/stacks/plan'])(
    'rejects a NUL in an environment value on %s',
    async (route) => {
      const document = stackDocument('Nul', ['host1', 'host2']);
      const items = document.itemListElement as Record<string, unknown>[];
      items[0]!.environment = { A: 'before\u0000after' };
      const response = await api.send('POST', route, document);

      await expectRejectedAt(response, '$.itemListElement[0].environment.A', /NUL character/);
    },
  );

  it('rejects a lone surrogate in a stack name on /deployments', async () => {
    const response = await api.send('POST', '/deployments', stackDocument('Web \ud800', ['host1', 'host2']));

    await expectRejectedAt(response, '$.name', /unpaired UTF-16 surrogate/);
  });

  it.each([
    [{ labels: { zone: 'a\u0000' } }, '$.labels.zone', /NUL character/],
    [{ labels: { 'zone\u0000': 'a' } }, '$.labels["zone\\u0000"]', /key contains the NUL/],
    [{ datacenter: 'lab-\ud800' }, '$.datacenter', /unpaired UTF-16 surrogate/],
  ])('rejects %j on /hosts', async (fields, path, message) => {
    const response = await api.send('POST', '/hosts', hostBody('host3', fields));

    await expectRejectedAt(response, path, message);
    expect((await api.send('GET', '/hosts/host3')).status).toBe(404);
  });
});
