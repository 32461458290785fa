import { defaultPayloadConverter } from '@temporalio/common';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { codecCors, codecRoutes } from '../../api/codec';
import type { AppDeps, AppEnv } from '../../api/context';
import { createErrorHandler } from '../../api/errors';
import { AesGcmPayloadCodec, generateCodecKey } from '../../lib/codec';
import { silentLogger } from '../../lib/logger';
import { DeployerDouble, TEMPORAL_UI_URL } from './api-helpers';

const SECRET = 'codec-endpoint-secret';

function codecApp(payloadCodec?: AesGcmPayloadCodec) {
  const deps = {
    logger: silentLogger(),
    deployer: new DeployerDouble(),
    temporalUiUrl: TEMPORAL_UI_URL,
    namespace: 'default',
    payloadCodec,
  } as unknown as AppDeps;
  const app = new Hono<AppEnv>();
  app.use('/codec/*', codecCors([TEMPORAL_UI_URL]));
  app.route('/codec', codecRoutes(deps));
  app.onError(createErrorHandler(deps.logger));
  return app;
}

function post(app: Hono<AppEnv>, path: string, body: unknown, origin = TEMPORAL_UI_URL) {
  return app.request(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Origin: origin, 'X-Namespace': 'default' },
    body: JSON.stringify(body),
  });
}

function jsonPayload(value: unknown) {
  const payload = defaultPayloadConverter.toPayload(value);
  const metadata = Object.fromEntries(
    Object.entries(payload.metadata!).map(([key, bytes]) => [key, Buffer.from(bytes).toString('base64')]),
  );
  return { metadata, data: Buffer.from(payload.data!).toString('base64') };
}

describe('/codec', () => {
  it('encodes and decodes in the Temporal codec server JSON form', async () => {
    const app = codecApp(new AesGcmPayloadCodec([generateCodecKey('k1')]));
    const encoded = await post(app, '/codec/encode', { payloads: [jsonPayload({ password: SECRET })] });
    expect(encoded.status).toBe(200);
    const encodedBody = (await encoded.json()) as {
      payloads: { metadata: Record<string, string>; data: string }[];
    };
    expect(JSON.stringify(encodedBody)).not.toContain(Buffer.from(SECRET).toString('base64').slice(0, 12));
    expect(Buffer.from(encodedBody.payloads[0].metadata.encoding, 'base64').toString()).toBe(
      'binary/encrypted',
    );

    const decoded = await post(app, '/codec/decode', encodedBody);
    expect(decoded.status).toBe(200);
    expect(await decoded.json()).toEqual({ payloads: [jsonPayload({ password: SECRET })] });
  });

  it('allows the Temporal UI origin only', async () => {
    const app = codecApp(new AesGcmPayloadCodec([generateCodecKey('k1')]));
    const preflight = await app.request('/codec/decode', {
      method: 'OPTIONS',
      headers: {
        Origin: TEMPORAL_UI_URL,
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'content-type,x-namespace',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(TEMPORAL_UI_URL);
    expect(preflight.headers.get('access-control-allow-headers')).toContain('X-Namespace');
    expect(preflight.headers.get('access-control-allow-credentials')).toBe('true');

    const other = await post(app, '/codec/decode', { payloads: [] }, 'http://evil.example');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('rejects a payload it cannot decrypt with 422', async () => {
    const writer = new AesGcmPayloadCodec([generateCodecKey('other')]);
    const [payload] = await writer.encode([defaultPayloadConverter.toPayload(SECRET)]);
    const body = {
      payloads: [
        {
          metadata: Object.fromEntries(
            Object.entries(payload.metadata!).map(([key, bytes]) => [
              key,
              Buffer.from(bytes).toString('base64'),
            ]),
          ),
          data: Buffer.from(payload.data!).toString('base64'),
        },
      ],
    };
    const response = await post(
      codecApp(new AesGcmPayloadCodec([generateCodecKey('k1')])),
      '/codec/decode',
      body,
    );
    expect(response.status).toBe(422);
    const error = ((await response.json()) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe('payload_not_decrypted');
    expect(error.message).toContain('key id "other"');
  });

  it('rejects a body that is not a payload list with the path', async () => {
    const app = codecApp(new AesGcmPayloadCodec([generateCodecKey('k1')]));
    const response = await post(app, '/codec/decode', { payloads: [{ data: 'not base64!' }] });
    expect(response.status).toBe(400);
    const error = ((await response.json()) as { error: { details: { path: string }[] } }).error;
    expect(error.details.map((detail) => detail.path)).toEqual(['$.payloads[0].data']);
  });

  it('returns 503 without a codec', async () => {
    const response = await post(codecApp(), '/codec/decode', { payloads: [] });
    expect(response.status).toBe(503);
  });
});
