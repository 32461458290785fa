/**
 * A deploy with a secret variable on the real Temporal dev server, with activity doubles and
 * the encrypting data converter on both worker and client. The raw history, as the Temporal CLI
 * prints it, must not contain the secret in any form, while the activity gets the real value.
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { StartContainerInput } from '../../activities/containers';
import { parseStack } from '../../core/parse';
import { ENCRYPTED_ENCODING, encryptingDataConverter, generateCodecKey } from '../../lib/codec';
import { temporalCliPath } from '../../lib/temporal-dev';
import { installRuntime, workflowBundle } from '../../lib/worker';
import type { DeployInput } from '../../workflows/contract';
import { HOST, fakeActivities } from '../support/activity-doubles';

const run = promisify(execFile);

let address: string;
let connection: Connection;
let nativeConnection: NativeConnection;

beforeAll(async () => {
  installRuntime();
  address = inject('temporalAddress');
  connection = await Connection.connect({ address });
  nativeConnection = await NativeConnection.connect({ address });
});

afterAll(async () => {
  await connection?.close();
  await nativeConnection?.close();
});

/**
 * Returns the base64 text that the secret's bytes produce at each of the three byte offsets a
 * longer encoded value may place them at, cut to the characters that depend on the secret alone.
 */
function base64Forms(secret: string): string[] {
  return [0, 1, 2].map((offset) => {
    const encoded = Buffer.concat([Buffer.alloc(offset), Buffer.from(secret)]).toString('base64');
    return encoded.slice(offset === 0 ? 0 : 4, -4);
  });
}

describe('payload encryption', () => {
  it('keeps a secret variable out of the workflow history', async () => {
    const secret = `s3cret-${randomBytes(18).toString('hex')}`;
    const parsed = parseStack(
      {
        '@type': 'ItemList',
        name: `Secret ${randomUUID().slice(0, 8)}`,
        placement: 'manual',
        itemListElement: [
          {
            '@type': 'SoftwareApplication',
            position: 1,
            name: 'db',
            image: 'graphium/services:lab',
            targetHost: HOST.name,
            environment: { POSTGRES_PASSWORD: '${DB_PASSWORD}', PLAIN: 'visible-${DB_USER}' },
          },
        ],
      },
      { variables: { DB_USER: 'app' }, secretVariables: { DB_PASSWORD: secret } },
    );
    expect(parsed.errors).toEqual([]);
    const stack = parsed.stack!;

    const dataConverter = encryptingDataConverter([generateCodecKey('history-test')]);
    const client = new Client({ connection, dataConverter });
    const started: StartContainerInput[] = [];
    const taskQueue = `test-${randomUUID()}`;
    const workflowId = `test-secret-${randomUUID()}`;
    const worker = await Worker.create({
      connection: nativeConnection,
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities: fakeActivities(started),
      dataConverter,
    });

    await worker.runUntil(async () => {
      const input: DeployInput = { deploymentId: `dep_${randomUUID()}`, stack };
      const handle = await client.workflow.start('deployStack', { taskQueue, workflowId, args: [input] });
      await handle.result();
    });

    expect(started).toHaveLength(1);
    expect(started[0].environment.POSTGRES_PASSWORD).toBe(secret);

    const { stdout } = await run(
      temporalCliPath(),
      ['workflow', 'show', '--workflow-id', workflowId, '--address', address, '--output', 'json'],
      { maxBuffer: 64 * 1024 * 1024 },
    );
    // The history was read: it has events, and its payloads carry the encrypted encoding.
    expect(stdout).toContain('WORKFLOW_EXECUTION_COMPLETED');
    expect(stdout).toContain(Buffer.from(ENCRYPTED_ENCODING).toString('base64'));

    expect(stdout).not.toContain(secret);
    for (const form of base64Forms(secret)) expect(stdout).not.toContain(form);
    // Every payload is encrypted, so even the plain variable is absent.
    expect(stdout).not.toContain('visible-app');
    for (const form of base64Forms('visible-app')) expect(stdout).not.toContain(form);
  });
});
