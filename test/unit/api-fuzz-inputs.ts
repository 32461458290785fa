/**
 * Input generators for the API fuzz test: hostile JSON values and mutations of valid documents.
 * The serializer also writes JSON text that `JSON.stringify` never produces, such as a repeated
 * key, a number beyond the double range or an array nested 100,000 deep.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';

/** JSON text written verbatim into a serialized body. */
export class RawJson {
  constructor(readonly text: string) {}
}

/** Members written before an object's own ones, so the body repeats a key the object has. */
const repeatedMembers = new WeakMap<object, [string, unknown][]>();

/**
 * Serializes `value` as JSON text. `RawJson` values are written as they are, and members
 * recorded by the `repeatKey` mutation come before the object's own members.
 */
export function toJsonText(value: unknown): string {
  if (value instanceof RawJson) return value.text;
  if (Array.isArray(value)) return `[${value.map(toJsonText).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const members = [...(repeatedMembers.get(value) ?? []), ...Object.entries(value)];
    return `{${members.map(([key, member]) => `${JSON.stringify(key)}:${toJsonText(member)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Sets an own enumerable property, so keys such as `__proto__` become data, as JSON.parse makes them. */
export function defineMember(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * Copies a generated value, so mutating the copy never changes what fast-check generated and
 * replays when it shrinks. Keys such as `__proto__` stay own members of the copy.
 */
export function cloneValue<T>(value: T): T {
  if (value instanceof RawJson || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(cloneValue) as T;
  const copy = {};
  for (const [key, member] of Object.entries(value)) defineMember(copy, key, cloneValue(member));
  return copy as T;
}

function readJsonFile(path: string): unknown {
  return JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8'));
}

/** Hosts the seed stacks pin their services to; the fuzz test registers each of them. */
export const SEED_HOSTS = ['host1', 'host2', 'host3', 'host-1', 'host-2', 'host-3'];

/**
 * Valid stack request bodies: the examples, the test fixtures and small documents of both
 * dialects, bare and wrapped with request fields. Each one validates and deploys on
 * `SEED_HOSTS` as it is.
 */
export function seedStackBodies(): unknown[] {
  const threeHosts = readJsonFile('../../examples/three-hosts.json');
  const localDocker = readJsonFile('../../examples/local-docker.json');
  const graphOrders = readJsonFile('../fixtures/stacks/graph-orders.json');
  const threeTier = readJsonFile('../fixtures/stacks/three-tier.json');
  const minimal = {
    '@context': 'https://schema.org',
    '@type': 'ItemList',
    name: 'Minimal',
    itemListElement: [{ '@type': 'SoftwareApplication', position: 1, name: 'web', image: 'nginx:1.27' }],
  };
  const graph = {
    '@context': 'https://schema.org',
    '@graph': [
      { '@id': 'urn:host:1', '@type': 'datacenter:Host', name: 'host1' },
      {
        '@type': 'datacenter:Stack',
        name: 'Graph Shop',
        locatedInHost: { '@id': 'urn:host:1' },
        hasPart: [
          { '@id': 'urn:db', '@type': 'datacenter:Container', name: 'db', image: 'postgres:16' },
          { '@type': 'datacenter:Container', name: 'app', image: 'nginx:1.27', dependsOn: ['urn:db'] },
        ],
      },
    ],
  };
  return [
    threeHosts,
    localDocker,
    threeTier,
    minimal,
    graph,
    { stack: graphOrders, variables: { DB_PASSWORD: 'secret' } },
    { stack: threeHosts, strict: true },
    { stack: minimal, strategy: 'spread', targetHosts: ['host1', 'host2'] },
    { stack: minimal, hostConstraints: [{ containerName: 'web', targetHost: 'host2' }] },
    { stackDefinition: graph, strict: false },
    { stackDefinition: minimal },
  ];
}

/**
 * Valid stack members that placement may reject: resources larger than the 4 CPUs and 8 GiB each
 * test host reports, a host port two services publish, strategies, and pins to hosts that exist
 * or not. Set on an item or a stack, they reach the 422 paths that random values rarely reach.
 */
export const PLACEMENT_MEMBERS: [string, unknown][] = [
  ['resources', { cpu: '64', memory: '1Ti' }],
  ['resources', { limits: { cpus: 3.5, memory: '7Gi' } }],
  ['resources', { memory: '512M' }],
  ['ports', [{ containerPort: 5432, hostPort: 5432 }]],
  ['ports', [{ containerPort: 80, hostPort: 8080 }]],
  ['placement', 'auto'],
  ['placement', 'spread'],
  ['placement', 'datacenter'],
  ['placement', 'single'],
  ['datacenter', 'lab-b'],
  ['targetHost', 'host1'],
  ['targetHost', 'host-3'],
  ['targetHost', 'absent-host'],
  ['targetHosts', ['host1', 'host2']],
  ['hostConstraints', [{ containerName: 'postgres', minCpu: 16 }]],
  ['constraints', { disk: 'ssd' }],
  ['antiAffinity', ['app', 'postgres']],
];

/**
 * Valid `POST /hosts` bodies in every accepted endpoint form. `tls` names PEM files that exist,
 * because the API rejects TLS files it cannot use.
 */
export function seedHostBodies(tls: { ca: string; cert: string; key: string }): unknown[] {
  return [
    { name: 'seed-unix', docker: 'unix:///run/graphium-fuzz/absent.sock', address: '10.0.0.1' },
    { name: 'seed-tcp', docker: 'tcp://10.0.0.2:2375', address: '10.0.0.2', datacenter: 'lab-a' },
    { name: 'seed-v6', docker: 'tcp://[fd00::5]:2375', address: 'fd00::5', imagePull: 'never' },
    {
      name: 'seed-object',
      docker: { protocol: 'unix', socketPath: '/run/graphium-fuzz/absent.sock' },
      address: 'docker.lab',
      labels: { disk: 'ssd', zone: 'a' },
    },
    {
      name: 'seed-tls',
      docker: { protocol: 'tcp', host: 'docker.lab', port: 2376, tls },
      address: 'docker.lab',
    },
  ];
}

/** Valid `POST /orphans/remove` bodies. */
export function seedOrphanBodies(): unknown[] {
  return [{ all: true }, { containerIds: ['0123456789ab', 'f'.repeat(64)] }];
}

/** Returns every value inside `root`, itself included, so a crossover can copy parts of valid documents. */
export function fragmentsOf(root: unknown): unknown[] {
  const fragments: unknown[] = [];
  const pending = [root];
  while (pending.length > 0) {
    const value = pending.pop();
    fragments.push(value);
    if (value !== null && typeof value === 'object') pending.push(...Object.values(value));
  }
  return fragments;
}

const KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'valueOf',
  'then',
  'length',
  '0',
  '',
  ' ',
  '@type',
  '@id',
  '@graph',
  '@context',
  'name',
  'image',
  'itemListElement',
  'hasPart',
  'stack',
  'stackDefinition',
  'targetHost',
  'environment',
  'ports',
  'dependsOn',
  'softwareRequirements',
  'healthCheck',
  'variables',
  'strict',
  'docker',
  'address',
  'labels',
  'containerIds',
  'all',
];

const STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udfffy',
  '\ufeff',
  '\u202e',
  'Ω',
  '日本語スタック',
  '🚀',
  '${X}',
  '$${X}',
  '${',
  '$',
  'host1',
  'host-2',
  'postgres',
  '../../etc/passwd',
  '/',
  '//',
  'unix:///x',
  'tcp://10.0.0.1:2375',
  'ssh://user@host',
  '-1',
  '0',
  '1e400',
  '0x1F',
  'NaN',
  'Infinity',
  'true',
  'null',
  '1m30s',
  '99999999999h',
  '-5s',
  '512Mi',
  '1e309m',
  '8080:80',
  '70000:80',
  'on-failure:-1',
  'CMD-SHELL',
  'data:/path:ro',
  '<script>alert(1)</script>',
  "'; drop table hosts; --",
  'a'.repeat(64),
  'Ω'.repeat(300),
  '\n\t\r',
];

/** Numbers beyond what a double holds, and forms that parse to surprising values. */
const RAW_NUMBERS = ['1e400', '-1e400', '1e-400', '-0', '123456789012345678901234567890', '0.1e1', '5E+2'];

/** Strings with control characters, lone surrogates, placeholders and look-alikes of other types. */
export const nastyString = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...STRINGS) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
);

const nastyNumber = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -1, 1, 0.5, 65535, 65536, 1_000_001, 2 ** 53 + 2, Number.MAX_VALUE, -Number.MAX_VALUE),
  fc.constantFrom(...RAW_NUMBERS).map((text) => new RawJson(text)),
);

/** An array or object nested `depth` deep, written as text because building it would be slow. */
const deepNesting = fc
  .tuple(fc.integer({ min: 50, max: 100_000 }), fc.boolean())
  .map(([depth, asArray]) =>
    asArray
      ? new RawJson('['.repeat(depth) + ']'.repeat(depth))
      : new RawJson('{"a":'.repeat(depth) + '1' + '}'.repeat(depth)),
  );

/** Strings of up to 200,000 characters, so a body stays under the 1 MiB limit. */
const hugeString = fc
  .tuple(fc.integer({ min: 1_000, max: 200_000 }), fc.constantFrom('x', 'é', '🚀', '$', '{'))
  .map(([length, unit]) => unit.repeat(length));

/** A value of the wrong kind for almost any field. */
export const nastyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: nastyString },
  { weight: 3, arbitrary: nastyNumber },
  { weight: 2, arbitrary: fc.constantFrom(null, true, false, [], {}) },
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3, stringUnit: 'binary' }) },
  { weight: 1, arbitrary: deepNesting },
  { weight: 1, arbitrary: hugeString },
);

/** A key name that is likely to confuse a reader of the object. */
export const nastyKey = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...KEYS) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
);

/** One edit of a document; `at` picks the value to edit among all values of the document. */
export type Mutation =
  | { kind: 'delete'; at: number }
  | { kind: 'replace'; at: number; value: unknown }
  | { kind: 'setKey'; at: number; key: string; value: unknown }
  | { kind: 'repeatKey'; at: number; pick: number; value: unknown }
  | { kind: 'copyElement'; at: number; pick: number };

/**
 * Mutations whose replacement values are hostile values or parts of `fragments`, and which may
 * also set one of `members`.
 */
export function mutationArbitrary(
  fragments: readonly unknown[],
  members: readonly [string, unknown][] = [],
): fc.Arbitrary<Mutation> {
  const value = fc.oneof(
    { weight: 3, arbitrary: nastyValue },
    { weight: 1, arbitrary: fc.constantFrom(...fragments) },
  );
  const at = fc.nat();
  return fc.oneof(
    fc.record({ kind: fc.constant('delete' as const), at }),
    fc.record({ kind: fc.constant('replace' as const), at, value }),
    fc.record({ kind: fc.constant('setKey' as const), at, key: nastyKey, value }),
    fc.record({ kind: fc.constant('repeatKey' as const), at, pick: fc.nat(), value }),
    fc.record({ kind: fc.constant('copyElement' as const), at, pick: fc.nat() }),
    ...(members.length === 0
      ? []
      : [
          fc
            .tuple(at, fc.constantFrom(...members))
            .map(([index, [key, value]]) => ({ kind: 'setKey' as const, at: index, key, value })),
        ]),
  );
}

/** A place in a document: the array or object that contains a value, and its key there. */
interface Slot {
  parent: Record<string, unknown> | unknown[];
  key: string | number;
}

function slotsOf(holder: { root: unknown }): Slot[] {
  const slots: Slot[] = [{ parent: holder, key: 'root' }];
  for (let index = 0; index < slots.length; index++) {
    const { parent, key } = slots[index]!;
    const value = (parent as Record<string | number, unknown>)[key];
    if (Array.isArray(value)) value.forEach((_, i) => slots.push({ parent: value, key: i }));
    else if (value !== null && typeof value === 'object' && !(value instanceof RawJson)) {
      for (const member of Object.keys(value))
        slots.push({ parent: value as Record<string, unknown>, key: member });
    }
  }
  return slots;
}

function applyMutation(holder: { root: unknown }, mutation: Mutation): void {
  const slots = slotsOf(holder);
  const { parent, key } = slots[mutation.at % slots.length]!;
  const current = (parent as Record<string | number, unknown>)[key];
  const isObject = current !== null && typeof current === 'object' && !Array.isArray(current);
  switch (mutation.kind) {
    case 'delete':
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else if (parent !== holder) delete (parent as Record<string, unknown>)[key];
      return;
    case 'replace':
      defineMember(parent, String(key), cloneValue(mutation.value));
      return;
    case 'setKey':
      if (isObject && !(current instanceof RawJson)) {
        defineMember(current, mutation.key, cloneValue(mutation.value));
      }
      return;
    case 'repeatKey': {
      if (!isObject || current instanceof RawJson) return;
      const keys = Object.keys(current);
      if (keys.length === 0) return;
      const repeated = keys[mutation.pick % keys.length]!;
      const members = repeatedMembers.get(current) ?? [];
      repeatedMembers.set(current, [...members, [repeated, cloneValue(mutation.value)]]);
      return;
    }
    case 'copyElement':
      if (Array.isArray(current) && current.length > 0) {
        current.push(cloneValue(current[mutation.pick % current.length]));
      }
      return;
  }
}

/** Applies `mutations` in order to a copy of `seed` and returns the JSON text of the result. */
export function mutatedText(seed: unknown, mutations: readonly Mutation[]): string {
  const holder = { root: cloneValue(seed) };
  for (const mutation of mutations) applyMutation(holder, mutation);
  return toJsonText(holder.root);
}

/** A request body with the Content-Type it is sent with; no type means the header is left out. */
export interface FuzzBody {
  body: string | Uint8Array;
  contentType?: string;
}

/** Content types other than JSON, and JSON types with odd parameters or case. */
export const contentType = fc.oneof(
  { weight: 8, arbitrary: fc.constant('application/json') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      undefined,
      '',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/xml',
      'application/json; charset=utf-16',
      'APPLICATION/JSON',
      'application/ld+json',
      'application/merge-patch+json',
      'application/jsonx',
      'json',
      '*/*',
      'application/json;',
      'application/json ; charset=utf-8',
    ),
  },
);

/** Bodies that are not JSON, or not UTF-8, or JSON with something wrong around it. */
export const nonJsonBody: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    '{',
    '}',
    '[',
    '{"name": "host1",',
    '{"a":1}{"b":2}',
    '{"a":1} trailing',
    '\ufeff{"all": true}',
    "{'all': true}",
    '{"all": true,}',
    'NaN',
    'undefined',
    '"\\ud800"',
    '"\\u0000"',
    'null',
    'true',
    '0',
    '[]',
    '{}',
    '"string"',
    '<xml/>',
    'name=host1&address=10.0.0.1',
  ),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.uint8Array({ maxLength: 200 }),
  fc.constant(new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d])),
);
