/**
 * The dev server launcher's pid file with the real Temporal CLI. A dev server orphaned by a
 * SIGKILLed owner is stopped on the next start, and no other process is signalled.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { canConnect } from '../../lib/net';
import {
  PID_FILE,
  startTemporalDevServer,
  stopLeftoverDevServer,
  temporalCliPath,
  type DevServer,
  type DevServerRecord,
} from '../../lib/temporal-dev';

const REPO_ROOT = new URL('../../', import.meta.url).pathname;
// Ports of their own, so neither the demo nor the shared test server is touched.
const PORT = Number(process.env.GRAPHIUM_TEST_PID_PORT ?? 7363);
const UI_PORT = PORT + 1000;

let dataDir: string;
const children: ChildProcess[] = [];
const servers: DevServer[] = [];

/** Returns whether the process runs. A zombie that waits for its new parent to reap it counts as gone. */
function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] !== 'Z';
  } catch {
    return false;
  }
}

function readRecord(): DevServerRecord {
  return JSON.parse(readFileSync(join(dataDir, PID_FILE), 'utf8')) as DevServerRecord;
}

/** Starts a node process that starts the dev server on `dataDir`, and resolves once it serves. */
async function startOwner(): Promise<ChildProcess> {
  const script =
    `const { startTemporalDevServer } = await import(${JSON.stringify(`${REPO_ROOT}lib/temporal-dev.ts`)});` +
    `await startTemporalDevServer({ dataDir: ${JSON.stringify(dataDir)}, port: ${PORT}, uiPort: ${UI_PORT} });` +
    `console.log('serving'); setInterval(() => {}, 1000);`;
  const owner = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(owner);
  let output = '';
  await new Promise<void>((resolve, reject) => {
    owner.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('serving')) resolve();
    });
    owner.once('exit', (code) => reject(new Error(`owner exited with code ${code}: ${output}`)));
  });
  return owner;
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

describe.skipIf(process.platform !== 'linux' || !existsSync(temporalCliPath()))('dev server pid file', () => {
  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'graphium-pid-'));
  });

  afterEach(async () => {
    for (const server of servers.splice(0)) await server.stop();
    for (const child of children.splice(0)) await kill(child);
    // A dev server orphaned by a failed test is stopped through its record.
    await stopLeftoverDevServer(dataDir).catch(() => undefined);
  });

  afterAll(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('stops the server of a killed owner', async () => {
    const owner = await startOwner();
    const orphan = readRecord().server.pid;
    await kill(owner);
    expect(isAlive(orphan)).toBe(true);
    expect(await canConnect('127.0.0.1', PORT)).toBe(true);

    const server = await startTemporalDevServer({ dataDir, port: PORT, uiPort: UI_PORT });
    servers.push(server);

    expect(isAlive(orphan)).toBe(false);
    expect(server.process.pid).not.toBe(orphan);
    expect(readRecord().server.pid).toBe(server.process.pid);
    expect(await canConnect('127.0.0.1', PORT)).toBe(true);
  });

  it('rejects a start while the owner runs', async () => {
    const server = await startTemporalDevServer({ dataDir, port: PORT, uiPort: UI_PORT });
    servers.push(server);

    await expect(stopLeftoverDevServer(dataDir)).rejects.toThrow(/still running/);
    expect(server.process.exitCode).toBeNull();
    expect(await canConnect('127.0.0.1', PORT)).toBe(true);
  });

  it('never signals a process that is not the server', async () => {
    const server = await startTemporalDevServer({ dataDir, port: PORT, uiPort: UI_PORT });
    const record = readRecord();
    await server.stop();
    // A record whose pid now belongs to another process, with the dead owner of a crash.
    const stranger = spawn('sleep', ['30']);
    children.push(stranger);
    const forged: DevServerRecord = {
      server: { ...record.server, pid: stranger.pid! },
      owner: { pid: stranger.pid!, startTime: '0' },
    };
    writeFileSync(join(dataDir, PID_FILE), JSON.stringify(forged));

    const result = await stopLeftoverDevServer(dataDir);

    expect(result.stopped).toBe(false);
    expect(isAlive(stranger.pid!)).toBe(true);
    expect(existsSync(join(dataDir, PID_FILE))).toBe(false);
  });

  it('removes its record on a clean stop', async () => {
    const server = await startTemporalDevServer({ dataDir, port: PORT, uiPort: UI_PORT });
    expect(readRecord().server.pid).toBe(server.process.pid);

    await server.stop();

    expect(existsSync(join(dataDir, PID_FILE))).toBe(false);
  });

  it('ignores a corrupt record', async () => {
    writeFileSync(join(dataDir, PID_FILE), '{"server": {"pid": 1');

    expect(await stopLeftoverDevServer(dataDir)).toEqual({ stopped: false });
    expect(existsSync(join(dataDir, PID_FILE))).toBe(false);
  });
});
