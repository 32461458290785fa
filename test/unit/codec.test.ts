import { mkdtempSync, rmSync, statSync, chmodSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Payload } from '@temporalio/common';
import { defaultPayloadConverter } from '@temporalio/common';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AesGcmPayloadCodec,
  CodecKeyError,
  ENCRYPTED_ENCODING,
  KEY_ID_METADATA,
  PayloadDecryptionError,
  formatCodecKeys,
  generateCodecKey,
  parseCodecKeys,
} from '../../lib/codec';
import { CODEC_KEY_FILE, resolveCodecKeys } from '../../lib/codec-keys';
import { loadConfig } from '../../lib/config';

const SECRET = 'hunter2-s3cret-value';

function payloadOf(value: unknown): Payload {
  return defaultPayloadConverter.toPayload(value);
}

function valueOf(payload: Payload): unknown {
  return defaultPayloadConverter.fromPayload(payload);
}

function text(payload: Payload): string {
  const metadata = Object.values(payload.metadata ?? {}).map((bytes) =>
    Buffer.from(bytes).toString('latin1'),
  );
  return [...metadata, Buffer.from(payload.data ?? new Uint8Array()).toString('latin1')].join('\n');
}

describe('AesGcmPayloadCodec', () => {
  it('round-trips payloads of every converter encoding', async () => {
    const codec = new AesGcmPayloadCodec([generateCodecKey('k1')]);
    const values = [{ password: SECRET, nested: [1, 2] }, 'plain text', null, new Uint8Array([0, 1, 255])];
    const encoded = await codec.encode(values.map(payloadOf));
    const decoded = await codec.decode(encoded);
    expect(decoded.map(valueOf)).toEqual(values);
  });

  it('hides the value, its base64 and its encoding', async () => {
    const codec = new AesGcmPayloadCodec([generateCodecKey('k1')]);
    const [encoded] = await codec.encode([payloadOf({ password: SECRET })]);
    const stored = text(encoded);
    expect(stored).not.toContain(SECRET);
    expect(stored).not.toContain(Buffer.from(SECRET).toString('base64').slice(0, 16));
    expect(stored).not.toContain('json/plain');
    expect(Buffer.from(encoded.metadata!.encoding).toString()).toBe(ENCRYPTED_ENCODING);
    expect(Buffer.from(encoded.metadata![KEY_ID_METADATA]).toString()).toBe('k1');
  });

  it('uses a fresh nonce for each payload', async () => {
    const codec = new AesGcmPayloadCodec([generateCodecKey('k1')]);
    const [first, second] = await codec.encode([payloadOf(SECRET), payloadOf(SECRET)]);
    expect(Buffer.from(first.data!).equals(Buffer.from(second.data!))).toBe(false);
  });

  it('rejects a payload encrypted under the same id with another key', async () => {
    const writer = new AesGcmPayloadCodec([generateCodecKey('k1')]);
    const reader = new AesGcmPayloadCodec([generateCodecKey('k1')]);
    const encoded = await writer.encode([payloadOf(SECRET)]);
    await expect(reader.decode(encoded)).rejects.toThrow(PayloadDecryptionError);
    await expect(reader.decode(encoded)).rejects.toThrow(/key id "k1" failed authentication/);
  });

  it('names an unknown key id and the fix', async () => {
    const writer = new AesGcmPayloadCodec([generateCodecKey('old')]);
    const reader = new AesGcmPayloadCodec([generateCodecKey('new')]);
    const encoded = await writer.encode([payloadOf(SECRET)]);
    await expect(reader.decode(encoded)).rejects.toThrow(
      'payload was encrypted with key id "old", which is not among the configured keys ("new"); ' +
        'add that key to GRAPHIUM_CODEC_KEYS after the current one',
    );
  });

  it('decrypts old payloads after rotation and encrypts with the new key', async () => {
    const oldKey = generateCodecKey('2024');
    const newKey = generateCodecKey('2025');
    const before = new AesGcmPayloadCodec([oldKey]);
    const after = new AesGcmPayloadCodec([newKey, oldKey]);
    const old = await before.encode([payloadOf('from before')]);
    expect((await after.decode(old)).map(valueOf)).toEqual(['from before']);
    const [fresh] = await after.encode([payloadOf('from after')]);
    expect(Buffer.from(fresh.metadata![KEY_ID_METADATA]).toString()).toBe('2025');
    await expect(before.decode([fresh])).rejects.toThrow(/key id "2025"/);
  });

  it('rejects tampered ciphertext', async () => {
    const codec = new AesGcmPayloadCodec([generateCodecKey('k1')]);
    const [encoded] = await codec.encode([payloadOf(SECRET)]);
    const data = Buffer.from(encoded.data!);
    data[20] ^= 0x01;
    await expect(codec.decode([{ ...encoded, data }])).rejects.toThrow(PayloadDecryptionError);
  });

  it('rejects a swapped key id even when both keys are known', async () => {
    const codec = new AesGcmPayloadCodec([generateCodecKey('a'), generateCodecKey('b')]);
    const [encoded] = await codec.encode([payloadOf(SECRET)]);
    const swapped = { ...encoded, metadata: { ...encoded.metadata, [KEY_ID_METADATA]: Buffer.from('b') } };
    await expect(codec.decode([swapped])).rejects.toThrow(/key id "b" failed authentication/);
  });

  it('rejects truncated data', async () => {
    const codec = new AesGcmPayloadCodec([generateCodecKey('k1')]);
    const [encoded] = await codec.encode([payloadOf(SECRET)]);
    const short = { ...encoded, data: Buffer.from(encoded.data!).subarray(0, 20) };
    await expect(codec.decode([short])).rejects.toThrow(/too short/);
  });

  it('passes unencrypted payloads through on decode', async () => {
    const codec = new AesGcmPayloadCodec([generateCodecKey('k1')]);
    const plain = payloadOf({ written: 'before encryption' });
    expect(await codec.decode([plain])).toEqual([plain]);
  });
});

describe('parseCodecKeys', () => {
  it('reads ids and keys separated by commas and lines', () => {
    const [a, b, c] = [generateCodecKey('a'), generateCodecKey('b.2'), generateCodecKey('c_3')];
    const text = `${formatCodecKeys([a, b])}\n# comment\n${formatCodecKeys([c])}\n`;
    expect(parseCodecKeys(text)).toEqual([a, b, c]);
  });

  it.each([
    ['', 'contains no key'],
    ['nocolon', 'entry 1 must be id:base64key'],
    [`bad id:${Buffer.alloc(32).toString('base64')}`, 'entry 1 has an invalid key id'],
    [`k:${Buffer.alloc(16).toString('base64')}`, 'entry 1 (key id "k") must be 32 bytes in base64'],
    [`k:${'!'.repeat(44)}`, 'entry 1 (key id "k") must be 32 bytes in base64'],
    [
      `k:${Buffer.alloc(32).toString('base64')},k:${Buffer.alloc(32).toString('base64')}`,
      'lists key id "k" twice',
    ],
  ])('rejects %j', (text, message) => {
    expect(() => parseCodecKeys(text)).toThrow(CodecKeyError);
    expect(() => parseCodecKeys(text)).toThrow(message);
  });

  it('never puts key material in a message', () => {
    const key = Buffer.alloc(31, 7).toString('base64');
    expect(() => parseCodecKeys(`k:${key}`)).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining(key) }),
    );
  });
});

describe('GRAPHIUM_CODEC_KEYS', () => {
  it('is read into the configuration', () => {
    const key = generateCodecKey('main');
    const config = loadConfig({ GRAPHIUM_CODEC_KEYS: formatCodecKeys([key]) }, '/srv');
    expect(config.codecKeys).toEqual([key]);
  });

  it('fails without echoing the value', () => {
    const value = `main:${Buffer.alloc(8, 9).toString('base64')}`;
    expect(() => loadConfig({ GRAPHIUM_CODEC_KEYS: value }, '/srv')).toThrow(
      'Invalid configuration. GRAPHIUM_CODEC_KEYS entry 1 (key id "main") must be 32 bytes in base64',
    );
    expect(() => loadConfig({ GRAPHIUM_CODEC_KEYS: value }, '/srv')).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining(value) }),
    );
  });
});

describe('resolveCodecKeys', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  function tempDir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'graphium-codec-'));
    dirs.push(dir);
    return dir;
  }

  it('prefers configured keys and writes no file', () => {
    const dataDir = tempDir();
    const configured = [generateCodecKey('env')];
    expect(resolveCodecKeys({ configured, dataDir })).toBe(configured);
    expect(() => statSync(join(dataDir, CODEC_KEY_FILE))).toThrow();
  });

  it('creates a 0600 key file once and reads it again', () => {
    const dataDir = join(tempDir(), 'nested');
    const first = resolveCodecKeys({ dataDir });
    const file = join(dataDir, CODEC_KEY_FILE);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(first).toHaveLength(1);
    expect(first[0].id).toMatch(/^local-[0-9a-f]{8}$/);
    expect(resolveCodecKeys({ dataDir })).toEqual(first);
    expect(readFileSync(file, 'utf8')).toContain(formatCodecKeys(first));
  });

  it('rejects a key file other users may read', () => {
    const dataDir = tempDir();
    resolveCodecKeys({ dataDir });
    const file = join(dataDir, CODEC_KEY_FILE);
    chmodSync(file, 0o644);
    expect(() => resolveCodecKeys({ dataDir })).toThrow(`${file} has mode 0644`);
    expect(() => resolveCodecKeys({ dataDir })).toThrow(`run "chmod 600 ${file}"`);
  });
});
