/**
 * docker-compose.yml describes the production topology; Debian's
 * docker-compose checks its syntax and references without starting anything.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const REPO_ROOT = new URL('../../', import.meta.url).pathname;

function composeConfig(...args: string[]) {
  return spawnSync('docker-compose', ['-f', 'docker-compose.yml', 'config', ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
}

describe('docker-compose.yml', () => {
  it('passes docker-compose config', () => {
    const result = composeConfig('-q');
    expect(result.error).toBeUndefined();
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('runs every part of the topology', () => {
    const services = composeConfig('--services').stdout.trim().split('\n').sort();
    expect(services).toEqual(['api', 'postgres', 'temporal', 'temporal-ui', 'worker']);
  });
});
