/**
 * Encryption of every Temporal payload with AES-256-GCM, so workflow inputs, activity arguments,
 * results and query results reach the Temporal server, its history and its web UI only as
 * ciphertext. The worker and every client that starts or reads workflows use the same keys.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';

// The package is CommonJS, so Node's ES module loader offers only its default export.
const { temporal } = proto;

/** `encoding` metadata of an encrypted payload. */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
/** Metadata key that names the key a payload was encrypted with. */
export const KEY_ID_METADATA = 'encryption-key-id';

/** AES-256 takes a 32-byte key. */
export const KEY_BYTES = 32;
/** GCM's recommended nonce length: 12 bytes, random per payload. */
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** One encryption key and the id that payload metadata names it by. */
export interface CodecKey {
  id: string;
  key: Buffer;
}

/** Raised for a key list that cannot be used; the message never contains key material. */
export class CodecKeyError extends Error {
  override name = 'CodecKeyError';
}

/** Raised when an encrypted payload cannot be decrypted. */
export class PayloadDecryptionError extends Error {
  override name = 'PayloadDecryptionError';
}

/**
 * Parses keys written as `id:base64key`, separated by commas or newlines, such as
 * `2025-06:q3J...=,2025-01:Zm9...=`. Lines starting with `#` are comments. The first key encrypts, and every key decrypts, so a new key
 * goes first and an old one stays listed while histories encrypted with it are still read.
 *
 * @param source - Starts each message, such as `GRAPHIUM_CODEC_KEYS` or a file name. Default: none,
 *   for a caller that adds the origin itself.
 * @throws CodecKeyError naming the entry and its problem, without the key material.
 */
export function parseCodecKeys(text: string, source?: string): CodecKey[] {
  const prefix = source ? `${source} ` : '';
  const entries = text
    .split('\n')
    .filter((line) => !line.trim().startsWith('#'))
    .flatMap((line) => line.split(','))
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (entries.length === 0) {
    throw new CodecKeyError(
      `${prefix}contains no key; write id:base64key, such as local:<32 bytes in base64>`,
    );
  }
  const keys = entries.map((entry, index) => parseEntry(entry, `${prefix}entry ${index + 1}`));
  checkKeys(keys, prefix);
  return keys;
}

function parseEntry(entry: string, where: string): CodecKey {
  const colon = entry.indexOf(':');
  if (colon < 0) throw new CodecKeyError(`${where} must be id:base64key, with a ":" after the key id`);
  const id = entry.slice(0, colon).trim();
  const encoded = entry.slice(colon + 1).trim();
  if (!KEY_ID.test(id)) {
    throw new CodecKeyError(`${where} has an invalid key id; use 1 to 64 letters, digits, ".", "_" or "-"`);
  }
  const key = Buffer.from(encoded, 'base64');
  // Buffer.from skips characters outside base64, so a round trip detects them.
  const canonical = key.toString('base64');
  if (canonical.replace(/=+$/, '') !== encoded.replace(/=+$/, '') || key.length !== KEY_BYTES) {
    throw new CodecKeyError(
      `${where} (key id "${id}") must be ${KEY_BYTES} bytes in base64; generate one with "openssl rand -base64 32"`,
    );
  }
  return { id, key };
}

function checkKeys(keys: readonly CodecKey[], prefix: string): void {
  if (keys.length === 0) throw new CodecKeyError(`${prefix}contains no key`);
  const seen = new Set<string>();
  for (const { id, key } of keys) {
    if (seen.has(id))
      throw new CodecKeyError(`${prefix}lists key id "${id}" twice; give each key its own id`);
    if (key.length !== KEY_BYTES) throw new CodecKeyError(`${prefix}key "${id}" is not ${KEY_BYTES} bytes`);
    seen.add(id);
  }
}

/** Generates a random key with the given id. */
export function generateCodecKey(id: string): CodecKey {
  return { id, key: randomBytes(KEY_BYTES) };
}

/** Writes keys in the form `parseCodecKeys` reads. */
export function formatCodecKeys(keys: readonly CodecKey[]): string {
  return keys.map(({ id, key }) => `${id}:${key.toString('base64')}`).join(',');
}

/**
 * A payload codec that encrypts each payload with AES-256-GCM under the first key. The whole
 * payload, metadata included, is serialized as a protobuf `Payload` and encrypted, so the encoding
 * and type of the value are hidden too. The stored `data` is nonce, ciphertext and tag in that
 * order. The key id is bound as additional authenticated data, so a payload whose key id metadata
 * was changed fails to decrypt.
 *
 * Decoding passes payloads without the encrypted encoding through unchanged, so histories written
 * before encryption was turned on can still be read and replayed.
 */
export class AesGcmPayloadCodec implements PayloadCodec {
  private readonly encryptKey: CodecKey;
  private readonly keysById: Map<string, CodecKey>;

  constructor(keys: readonly CodecKey[]) {
    checkKeys(keys, 'the codec key list ');
    this.encryptKey = keys[0];
    this.keysById = new Map(keys.map((key) => [key.id, key]));
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => this.encrypt(payload));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => this.decrypt(payload));
  }

  private encrypt(payload: Payload): Payload {
    const { id, key } = this.encryptKey;
    const plaintext = temporal.api.common.v1.Payload.encode(payload).finish();
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(id, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return {
      metadata: {
        encoding: Buffer.from(ENCRYPTED_ENCODING, 'utf8'),
        [KEY_ID_METADATA]: Buffer.from(id, 'utf8'),
      },
      data: Buffer.concat([nonce, ciphertext, cipher.getAuthTag()]),
    };
  }

  private decrypt(payload: Payload): Payload {
    if (metadataText(payload, 'encoding') !== ENCRYPTED_ENCODING) return payload;
    const id = metadataText(payload, KEY_ID_METADATA);
    if (id === undefined) {
      throw new PayloadDecryptionError(
        `encrypted payload has no ${KEY_ID_METADATA} metadata, so no key matches it`,
      );
    }
    const entry = this.keysById.get(id);
    if (!entry) {
      const known = [...this.keysById.keys()].map((known) => `"${known}"`).join(', ');
      throw new PayloadDecryptionError(
        `payload was encrypted with key id "${id}", which is not among the configured keys (${known}); ` +
          'add that key to GRAPHIUM_CODEC_KEYS after the current one',
      );
    }
    const data = Buffer.from(payload.data ?? new Uint8Array());
    if (data.length < NONCE_BYTES + TAG_BYTES) {
      throw new PayloadDecryptionError(`encrypted payload with key id "${id}" is too short to be valid`);
    }
    const nonce = data.subarray(0, NONCE_BYTES);
    const tag = data.subarray(data.length - TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', entry.key, nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(id, 'utf8'));
    decipher.setAuthTag(tag);
    let plaintext: Buffer;
    try {
      plaintext = Buffer.concat([
        decipher.update(data.subarray(NONCE_BYTES, data.length - TAG_BYTES)),
        decipher.final(),
      ]);
    } catch (error) {
      throw new PayloadDecryptionError(
        `payload with key id "${id}" failed authentication: it was altered, or the key configured ` +
          `under "${id}" is not the one that encrypted it`,
        { cause: error },
      );
    }
    const decoded = temporal.api.common.v1.Payload.decode(plaintext);
    return { metadata: decoded.metadata, data: decoded.data };
  }
}

function metadataText(payload: Payload, key: string): string | undefined {
  const value = payload.metadata?.[key];
  return value ? Buffer.from(value).toString('utf8') : undefined;
}

/** Returns the data converter that the worker and every client use: the default converters plus encryption. */
export function encryptingDataConverter(keys: readonly CodecKey[]): DataConverter {
  return { payloadCodecs: [new AesGcmPayloadCodec(keys)] };
}
