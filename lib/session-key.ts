/**
 * Source of the key that signs login sessions: GRAPHIUM_SESSION_KEY when it is set, otherwise a
 * file in the data directory that the first start creates. Every API process that shares the
 * data directory therefore accepts the sessions the others issued. Replacing the key ends every
 * session.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MIN_SESSION_KEY_BYTES } from '../api/session';
import type { Logger } from './logger';

/** Name of the key file inside the data directory. */
export const SESSION_KEY_FILE = 'session-key';

/** Raised for a session key that cannot be used; the message never contains the key. */
export class SessionKeyError extends Error {
  override name = 'SessionKeyError';
}

/**
 * Decodes a base64 session key of at least MIN_SESSION_KEY_BYTES bytes.
 *
 * @param source - Starts the error message, such as a file name. Default: none, for a caller
 *   that names the source itself.
 * @throws SessionKeyError when the text is not base64 or decodes to fewer bytes.
 */
export function parseSessionKey(text: string, source?: string): Buffer {
  const encoded = text.trim();
  const key = Buffer.from(encoded, 'base64');
  // Buffer.from skips characters outside base64, so a round trip detects them.
  const canonical = key.toString('base64').replace(/=+$/, '');
  if (canonical !== encoded.replace(/=+$/, '') || key.length < MIN_SESSION_KEY_BYTES) {
    throw new SessionKeyError(
      `${source ? `${source} ` : ''}must be at least ${MIN_SESSION_KEY_BYTES} bytes in base64; ` +
        'generate one with "openssl rand -base64 32"',
    );
  }
  return key;
}

/**
 * Returns `configured` when it is set. Otherwise reads `<dataDir>/session-key`, creating it with
 * a random key and mode 0600 when it does not exist.
 *
 * @throws SessionKeyError when the file cannot be parsed, or other users may read or write it.
 */
export function resolveSessionKey(options: {
  configured?: Buffer;
  dataDir: string;
  logger?: Logger;
}): Buffer {
  if (options.configured) return options.configured;
  const file = join(options.dataDir, SESSION_KEY_FILE);
  if (createKeyFile(file)) {
    options.logger?.info({ file }, 'created the key that signs login sessions');
  }
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new SessionKeyError(
      `${file} has mode ${mode.toString(8).padStart(4, '0')}, so other users may read the session key ` +
        `and forge logins; run "chmod 600 ${file}"`,
    );
  }
  return parseSessionKey(readFileSync(file, 'utf8'), file);
}

/** Creates the key file unless it exists, and returns whether it did. */
function createKeyFile(file: string): boolean {
  mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 });
  const key = randomBytes(MIN_SESSION_KEY_BYTES).toString('base64');
  try {
    // `wx` fails when the file exists, so two processes starting at once keep the first one's key.
    writeFileSync(file, `${key}\n`, { flag: 'wx', mode: 0o600 });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}
