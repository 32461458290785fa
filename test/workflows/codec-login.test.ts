/**
 * The Temporal UI showing decrypted payloads to an operator who logged in to Graphium, on the
 * real dev server. Graphium's API runs as `startService` starts it, on the port whose `/codec`
 * the global setup gave the dev server's UI. The test sends the requests a browser sends: the
 * login, then the UI's own history request, the codec preflight and the codec call with the
 * session cookie, for a deploy workflow this test ran with the encrypting codec.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { StartContainerInput } from '../../activities/containers';
import { parseStack } from '../../core/parse';
import { ENCRYPTED_ENCODING, encryptingDataConverter, parseCodecKeys } from '../../lib/codec';
import { loadConfig } from '../../lib/config';
import { silentLogger } from '../../lib/logger';
import { startService, type RunningService } from '../../lib/service';
import { installRuntime, workflowBundle } from '../../lib/worker';
import type { DeployInput } from '../../workflows/contract';
import { HOST, fakeActivities } from '../support/activity-doubles';

/** A payload in the JSON form of the Temporal UI's HTTP API and of the codec endpoint. */
interface JsonPayload {
  metadata: Record<string, string>;
  data: string;
}

interface HistoryEvent {
  eventType: string;
  activityTaskScheduledEventAttributes?: {
    activityType: { name: string };
    input: { payloads: JsonPayload[] };
  };
}

const OPERATOR_SECRET = randomBytes(24).toString('hex');
const OTHER_ORIGIN = 'http://127.0.0.1:3000';

let service: RunningService;
let nativeConnection: NativeConnection;
let dataDir: string;
let uiUrl: string;

beforeAll(async () => {
  installRuntime();
  uiUrl = inject('temporalUiUrl');
  dataDir = mkdtempSync(join(tmpdir(), 'graphium-codec-login-'));
  const config = loadConfig(
    {
      GRAPHIUM_DATA_DIR: dataDir,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_UI_URL: uiUrl,
      GRAPHIUM_HOST: '127.0.0.1',
      GRAPHIUM_PORT: String(inject('codecApiPort')),
      GRAPHIUM_API_TOKENS: `operator:deploy:${OPERATOR_SECRET}`,
      GRAPHIUM_CODEC_KEYS: inject('codecKeys'),
      LOG_LEVEL: 'silent',
    },
    dataDir,
  );
  service = await startService({ config, api: true, worker: false, logger: silentLogger() });
  nativeConnection = await NativeConnection.connect({ address: inject('temporalAddress') });
}, 120_000);

afterAll(async () => {
  await nativeConnection?.close();
  await service?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** Runs a one-service deploy with a secret variable to completion and returns its workflow id. */
async function deployWithSecret(secret: string): Promise<string> {
  const parsed = parseStack(
    {
      '@type': 'ItemList',
      name: `Codec Login ${randomUUID().slice(0, 8)}`,
      placement: 'manual',
      itemListElement: [
        {
          '@type': 'SoftwareApplication',
          position: 1,
          name: 'db',
          image: 'graphium/services:lab',
          targetHost: HOST.name,
          environment: { POSTGRES_PASSWORD: '${DB_PASSWORD}' },
        },
      ],
    },
    { secretVariables: { DB_PASSWORD: secret } },
  );
  expect(parsed.errors).toEqual([]);

  const taskQueue = `test-${randomUUID()}`;
  const workflowId = `test-codec-login-${randomUUID()}`;
  const worker = await Worker.create({
    connection: nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities: fakeActivities([]),
    dataConverter: encryptingDataConverter(parseCodecKeys(inject('codecKeys'))),
  });
  await worker.runUntil(async () => {
    const input: DeployInput = { deploymentId: `dep_${randomUUID()}`, stack: parsed.stack! };
    // The service's client encrypts with the keys the API's codec endpoint decrypts with.
    const handle = await service.client.workflow.start('deployStack', {
      taskQueue,
      workflowId,
      args: [input],
    });
    await handle.result();
  });
  return workflowId;
}

/** Reads the workflow's history through the Temporal UI's HTTP API, as the UI page does. */
async function historyFromUi(workflowId: string): Promise<HistoryEvent[]> {
  const response = await fetch(
    `${uiUrl}/api/v1/namespaces/default/workflows/${encodeURIComponent(workflowId)}/history`,
  );
  expect(response.status).toBe(200);
  const body = (await response.json()) as { history: { events: HistoryEvent[] } };
  return body.history.events;
}

describe('Temporal UI with a Graphium login', () => {
  it('reports the codec endpoint in the UI settings', async () => {
    const response = await fetch(`${uiUrl}/api/v1/settings`);
    expect(response.status).toBe(200);
    const settings = (await response.json()) as { Codec: { Endpoint: string; IncludeCredentials: boolean } };
    expect(service.apiUrl).toBe(`http://127.0.0.1:${inject('codecApiPort')}`);
    expect(settings.Codec.Endpoint).toBe(`${service.apiUrl}/codec`);
    // The dev server offers no setting for it, so the operator turns it on in the UI once.
    expect(settings.Codec.IncludeCredentials).toBe(false);
  });

  it('decodes a history payload with the session cookie', async () => {
    const secret = `s3cret-${randomBytes(12).toString('hex')}`;
    const workflowId = await deployWithSecret(secret);
    const apiUrl = service.apiUrl!;
    const uiOrigin = new URL(uiUrl).origin;

    // The operator logs in with the form of the API's own origin.
    const login = await fetch(`${apiUrl}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: apiUrl },
      body: new URLSearchParams({ token: OPERATOR_SECRET }).toString(),
      redirect: 'manual',
    });
    // A form login is redirected to the dashboard with the session cookie set.
    expect(login.status).toBe(303);
    expect(login.headers.get('location')).toBe('/ui');
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    expect(cookie).toMatch(/^graphium_session=/);

    // The UI page reads the history; the start of the container carries the secret, encrypted.
    const events = await historyFromUi(workflowId);
    const scheduled = events
      .map((event) => event.activityTaskScheduledEventAttributes)
      .find((attributes) => attributes?.activityType.name === 'startContainer');
    expect(scheduled).toBeDefined();
    const payloads = scheduled!.input.payloads;
    expect(Buffer.from(payloads[0]!.metadata.encoding!, 'base64').toString()).toBe(ENCRYPTED_ENCODING);
    expect(JSON.stringify(payloads)).not.toContain(Buffer.from(secret).toString('base64').slice(0, 12));

    // The browser first sends a preflight to check that the UI origin may send JSON with X-Namespace.
    const codecUrl = `${apiUrl}/codec/decode?preserveStorageRefs=true`;
    const preflight = await fetch(codecUrl, {
      method: 'OPTIONS',
      headers: {
        origin: uiOrigin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,x-namespace',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(uiOrigin);
    expect(preflight.headers.get('access-control-allow-credentials')).toBe('true');
    expect(preflight.headers.get('access-control-allow-headers')).toContain('X-Namespace');

    // Then the UI sends the payloads with the cookie, as with "Include cross-origin credentials".
    const decodeRequest = (origin: string) =>
      fetch(codecUrl, {
        method: 'POST',
        headers: { origin, cookie, 'content-type': 'application/json', 'x-namespace': 'default' },
        body: JSON.stringify({ payloads }),
      });
    const decoded = await decodeRequest(uiOrigin);
    expect(decoded.status).toBe(200);
    expect(decoded.headers.get('access-control-allow-origin')).toBe(uiOrigin);
    expect(decoded.headers.get('access-control-allow-credentials')).toBe('true');
    const [plain] = ((await decoded.json()) as { payloads: JsonPayload[] }).payloads;
    expect(Buffer.from(plain!.metadata.encoding!, 'base64').toString()).toBe('json/plain');
    const input = JSON.parse(Buffer.from(plain!.data, 'base64').toString('utf8')) as StartContainerInput;
    expect(input.environment.POSTGRES_PASSWORD).toBe(secret);

    // A page of another origin on the same host gets nothing with the same cookie.
    const forged = await decodeRequest(OTHER_ORIGIN);
    expect(forged.status).toBe(403);
    expect(forged.headers.get('access-control-allow-origin')).toBeNull();
    expect(await forged.text()).not.toContain(secret);
  });
});
