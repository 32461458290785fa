/**
 * The codec server the Temporal web UI calls to show encrypted payloads in plain text:
 * `POST /codec/decode` and `POST /codec/encode`. Both take and return
 * `{"payloads": [{"metadata": {"<key>": "<base64>"}, "data": "<base64>"}]}`, the JSON form of
 * Temporal's `Payloads` message that the UI sends.
 *
 * The UI calls them from the browser, with the session cookie when its codec setting "Include
 * cross-origin credentials" is on. `codecCors` lets only the configured UI origins read the
 * responses, and runs before authentication, so the UI can read a 401 or 403 too.
 */
import type { Payload, PayloadCodec } from '@temporalio/common';
import { Hono, type MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import { z } from 'zod';
import { PayloadDecryptionError } from '../lib/codec';
import type { AppDeps, AppEnv } from './context';
import { ApiError } from './errors';
import { readJson, validate } from './validation';

/** 503: the service was started without a payload codec. */
export class CodecUnavailableError extends ApiError {
  override name = 'CodecUnavailableError';

  constructor() {
    super(
      503,
      'codec_unavailable',
      'this API was started without payload encryption keys, so it cannot encode or decode',
    );
  }
}

/** 422: a payload could not be decrypted with the configured keys. */
export class PayloadNotDecryptedError extends ApiError {
  override name = 'PayloadNotDecryptedError';

  constructor(cause: PayloadDecryptionError) {
    super(422, 'payload_not_decrypted', cause.message, undefined, { cause });
  }
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const base64 = z.string().regex(BASE64, 'must be base64');

export const payloadsRequestSchema = z.object({
  payloads: z.array(
    z.object({
      metadata: z.record(z.string(), base64).optional(),
      data: base64.optional(),
    }),
    { error: 'must be an array of payloads, each {"metadata": {...}, "data": "<base64>"}' },
  ),
});

type JsonPayload = z.output<typeof payloadsRequestSchema>['payloads'][number];

function fromJson(payload: JsonPayload): Payload {
  const metadata = Object.fromEntries(
    Object.entries(payload.metadata ?? {}).map(([key, value]) => [key, Buffer.from(value, 'base64')]),
  );
  return { metadata, data: Buffer.from(payload.data ?? '', 'base64') };
}

function toJson(payload: Payload) {
  const metadata = Object.fromEntries(
    Object.entries(payload.metadata ?? {}).map(([key, value]) => [
      key,
      Buffer.from(value).toString('base64'),
    ]),
  );
  return { metadata, data: Buffer.from(payload.data ?? new Uint8Array()).toString('base64') };
}

/**
 * Returns the CORS middleware of `/codec/*`. It responds to preflights, and sets
 * Access-Control-Allow-Origin to the requesting origin only when that is one of
 * `temporalUiOrigins`, with credentials allowed. The UI sends `Content-Type`, `X-Namespace`,
 * and `Authorization` when it passes an access token of its own login.
 */
export function codecCors(temporalUiOrigins: readonly string[]): MiddlewareHandler<AppEnv> {
  return cors({
    origin: (origin) => (temporalUiOrigins.includes(origin) ? origin : null),
    allowMethods: ['POST', 'OPTIONS'],
    allowHeaders: ['Content-Type', 'Authorization', 'X-Namespace'],
    credentials: true,
    maxAge: 600,
  });
}

/** Creates the `/codec` sub-app. `createApp` puts `codecCors` in front of it. */
export function codecRoutes(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  const transform = (direction: 'encode' | 'decode') =>
    app.post(`/${direction}`, async (c) => {
      const codec: PayloadCodec | undefined = deps.payloadCodec;
      if (!codec) throw new CodecUnavailableError();
      const body = validate(payloadsRequestSchema, await readJson(c), `${direction} request`);
      let payloads: Payload[];
      try {
        payloads = await codec[direction](body.payloads.map(fromJson));
      } catch (error) {
        if (error instanceof PayloadDecryptionError) throw new PayloadNotDecryptedError(error);
        throw error;
      }
      return c.json({ payloads: payloads.map(toJson) });
    });
  transform('encode');
  transform('decode');

  return app;
}
