/**
 * Starts one real Temporal dev server for the integration tests, on ports of
 * its own so that a running demo is not disturbed, with its SQLite file in a
 * temporary folder removed afterwards. Its Web UI calls the codec endpoint of a
 * Graphium API on GRAPHIUM_TEST_API_PORT, which a test may start there.
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
    /** Port on 127.0.0.1 whose `/codec` the dev server's Web UI calls, free for one test's API. */
    codecApiPort: number;
  }
}

export default async function setup(project: TestProject) {
  const dataDir = mkdtempSync(join(tmpdir(), 'graphium-temporal-'));
  const uiPort = Number(process.env.GRAPHIUM_TEST_TEMPORAL_UI_PORT ?? 8343);
  const codecApiPort = Number(process.env.GRAPHIUM_TEST_API_PORT ?? uiPort + 1);
  const server = await startTemporalDevServer({
    dataDir,
    port: Number(process.env.GRAPHIUM_TEST_TEMPORAL_PORT ?? 7343),
    uiPort,
    uiCodecEndpoint: `http://127.0.0.1:${codecApiPort}/codec`,
  });
  project.provide('temporalAddress', server.address);
  project.provide('codecApiPort', codecApiPort);
  project.provide('temporalUiUrl', server.uiUrl);
  project.provide('codecKeys', formatCodecKeys([generateCodecKey('test')]));
  return async () => {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
}
