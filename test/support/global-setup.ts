/**
 * Starts one real Temporal dev server for the integration tests, on ports of
 * its own so that a running demo is not disturbed, with its SQLite file in a
 * temporary folder removed afterwards.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { formatCodecKeys, generateCodecKey } from '../../lib/codec';
import { startTemporalDevServer } from '../../lib/temporal-dev';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    temporalUiUrl: string;
    /**
     * Payload encryption keys in the GRAPHIUM_CODEC_KEYS form, one set for the whole run, so a
     * worker of one test file can still read workflows that an earlier file left running.
     */
    codecKeys: string;
  }
}

export default async function setup(project: TestProject) {
  const dataDir = mkdtempSync(join(tmpdir(), 'graphium-temporal-'));
  const server = await startTemporalDevServer({
    dataDir,
    port: Number(process.env.GRAPHIUM_TEST_TEMPORAL_PORT ?? 7343),
    uiPort: Number(process.env.GRAPHIUM_TEST_TEMPORAL_UI_PORT ?? 8343),
  });
  project.provide('temporalAddress', server.address);
  project.provide('temporalUiUrl', server.uiUrl);
  project.provide('codecKeys', formatCodecKeys([generateCodecKey('test')]));
  return async () => {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
}
