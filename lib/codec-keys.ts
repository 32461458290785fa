/**
 * Source of the payload encryption keys: GRAPHIUM_CODEC_KEYS when it is set, otherwise a key
 * file in the data directory that the first start creates. Every process that shares a data
 * directory, such as the API and the worker started apart, so reads the same keys.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CodecKeyError, formatCodecKeys, generateCodecKey, parseCodecKeys, type CodecKey } from './codec';
import type { Logger } from './logger';

/** Name of the key file inside the data directory. */
export const CODEC_KEY_FILE = 'codec-keys';

/**
 * Returns `configured` when it is set. Otherwise reads `<dataDir>/codec-keys`, creating it with
 * one random key and mode 0600 when it does not exist.
 *
 * @throws CodecKeyError when the file cannot be parsed, or other users may read or write it.
 */
export function resolveCodecKeys(options: {
  configured?: CodecKey[];
  dataDir: string;
  logger?: Logger;
}): CodecKey[] {
  if (options.configured) return options.configured;
  const file = join(options.dataDir, CODEC_KEY_FILE);
  if (createKeyFile(file)) {
    options.logger?.warn(
      { file },
      'created a payload encryption key; back the file up, because workflow histories cannot be read without it',
    );
  }
  return readKeyFile(file);
}

/** Creates the key file unless it exists, and returns whether it did. */
function createKeyFile(file: string): boolean {
  mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 });
  const key = generateCodecKey(`local-${randomBytes(4).toString('hex')}`);
  const text =
    '# Keys that encrypt Temporal payloads, as id:base64key; the first encrypts, all decrypt.\n' +
    `${formatCodecKeys([key])}\n`;
  try {
    // `wx` fails when the file exists, so two processes starting at once keep the first one's key.
    writeFileSync(file, text, { flag: 'wx', mode: 0o600 });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

function readKeyFile(file: string): CodecKey[] {
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new CodecKeyError(
      `${file} has mode ${mode.toString(8).padStart(4, '0')}, so other users may read the payload keys; ` +
        `run "chmod 600 ${file}"`,
    );
  }
  return parseCodecKeys(readFileSync(file, 'utf8'), file);
}
