/**
 * Request ids: every response carries one, every error body repeats it, and every log line
 * written while a request runs carries it, also lines from helpers that never see the request.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../../db/client';
import { hostBody, openTestDatabase, PGLITE_START_TIMEOUT_MS, resetApi, type TestApi } from './api-helpers';

let handle: DatabaseHandle;
let api: TestApi;

beforeAll(async () => {
  handle = await openTestDatabase();
}, PGLITE_START_TIMEOUT_MS);

afterAll(async () => {
  await handle?.close();
});

beforeEach(async () => {
  api = await resetApi(handle.db);
});

describe('request ids', () => {
  it('put the id of the request on every line logged while it runs', async () => {
    const first = await api.send('POST', '/hosts', hostBody('h1'));
    const second = await api.send('DELETE', '/hosts/h1');
    const ids = [first, second].map((response) => response.headers.get('X-Request-Id'));

    const lines = api.logLines();
    expect(ids[0]).toMatch(/\S/);
    expect(ids[0]).not.toBe(ids[1]);
    expect(lines.find((line) => line.msg === 'host registered')).toMatchObject({
      requestId: ids[0],
      host: 'h1',
    });
    expect(lines.find((line) => line.msg === 'host deleted')).toMatchObject({
      requestId: ids[1],
      host: 'h1',
    });
    expect(lines.length).toBeGreaterThanOrEqual(4);
    expect(lines.filter((line) => !ids.includes(line.requestId as string))).toEqual([]);
  });

  it('repeat the id in the error body', async () => {
    const response = await api.send('GET', '/hosts/absent');
    const body = await response.json();

    expect(response.status).toBe(404);
    expect(body.error.requestId).toBe(response.headers.get('X-Request-Id'));
  });

  it('keep a client-sent id', async () => {
    const response = await api.app.request('/hosts/absent', { headers: { 'X-Request-Id': 'ci-run-42' } });

    expect(response.headers.get('X-Request-Id')).toBe('ci-run-42');
    expect(((await response.json()) as { error: { requestId: string } }).error.requestId).toBe('ci-run-42');
  });
});

describe('paths with a NUL character', () => {
  it('respond 404, not 500', async () => {
    for (const path of ['/deployments/%00', '/hosts/fa%00', '/stacks/%00']) {
      const response = await api.send('GET', path);
      expect(response.status).toBe(404);
    }
    const cancel = await api.send('POST', '/deployments/%00/cancel');
    expect(cancel.status).toBe(404);
  });
});
