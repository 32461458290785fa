/**
 * Replays recorded histories of the deploy workflow against the current
 * workflow code, so a change that would break running deployments on upgrade
 * fails here. Record new histories with RECORD_HISTORIES=1 when a change is
 * meant to alter the workflow's commands, and keep the old ones while
 * deployments recorded with them may still run.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { installRuntime, workflowBundle } from '../../lib/worker';

const HISTORY_DIR = new URL('../fixtures/histories/', import.meta.url);
const files = readdirSync(HISTORY_DIR).filter((file) => file.endsWith('.json'));

describe('recorded workflow histories', () => {
  it('covers success, rollback, retry, non-retryable, cancel, resources and outcomes', () => {
    expect(files.sort()).toEqual(
      [
        'deploy-cancel',
        'deploy-non-retryable',
        'deploy-outcome-rolled-back',
        'deploy-outcome-running',
        'deploy-resources',
        'deploy-retry',
        'deploy-rollback',
        'deploy-success',
      ].map((n) => `${n}.json`),
    );
  });

  for (const file of files) {
    it(`replays ${file}`, async () => {
      installRuntime();
      // The worker decodes the JSON itself: decoding here would use another protobuf instance.
      const history: unknown = JSON.parse(readFileSync(new URL(file, HISTORY_DIR), 'utf8'));
      await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, file);
    });
  }
});
