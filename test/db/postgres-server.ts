/**
 * A throwaway PostgreSQL server for the database tests: initdb in a temporary directory,
 * then `pg_ctl start` listening only on a unix socket in that directory, so the tests need
 * no free TCP port and touch no other server. `stop` shuts it down and deletes the files.
 */
import { execFileSync, spawn, type SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Directories searched for the server binaries, Debian's layout first. */
const BIN_DIRS = ['/usr/lib/postgresql/15/bin', '/usr/local/bin', '/usr/bin'];

export interface TestPostgres {
  /** Connection string that reaches the server through its unix socket. */
  url: string;
  stop(): Promise<void>;
}

/** Returns the directory containing `initdb` and `pg_ctl`, or undefined when they are missing. */
export function findPostgresBinaries(): string | undefined {
  return BIN_DIRS.find((dir) => existsSync(path.join(dir, 'initdb')) && existsSync(path.join(dir, 'pg_ctl')));
}

/** PostgreSQL will not run as root, so under root the server runs as the `postgres` user. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch (error) {
    const message =
      'the tests run as root, which PostgreSQL rejects, and no "postgres" user exists to run ' +
      'the server; create one (useradd --system postgres) or run the tests as another user';
    throw new Error(message, { cause: error });
  }
}

function run(command: string, args: string[], options: SpawnOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout?.on('data', (chunk) => (output += chunk));
    child.stderr?.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`${path.basename(command)} exited with code ${code}:\n${output}`));
    });
  });
}

/**
 * Starts a new server and returns its URL.
 *
 * @param binDir - Directory of the server binaries, from `findPostgresBinaries`.
 */
export async function startTestPostgres(binDir: string): Promise<TestPostgres> {
  const dir = await mkdtemp(path.join(tmpdir(), 'graphium-pg-'));
  const dataDir = path.join(dir, 'data');
  const user = serverUser();
  if (user) await chown(dir, user.uid, user.gid);
  const options: SpawnOptions = { cwd: dir, ...user };

  const stop = async () => {
    await run(path.join(binDir, 'pg_ctl'), ['stop', '-D', dataDir, '-m', 'fast', '-w'], options).catch(
      () => undefined,
    );
    await rm(dir, { recursive: true, force: true });
  };

  try {
    const initdbArgs = ['-D', dataDir, '-U', 'graphium', '--auth=trust', '-E', 'UTF8', '--no-sync'];
    await run(path.join(binDir, 'initdb'), initdbArgs, options);
    // An empty listen_addresses disables TCP, so only the socket in `dir` accepts connections.
    const serverOptions = `-k ${dir} -c listen_addresses='' -F`;
    const logFile = path.join(dir, 'server.log');
    const startArgs = ['start', '-D', dataDir, '-w', '-t', '60', '-l', logFile];
    await run(path.join(binDir, 'pg_ctl'), [...startArgs, '-o', serverOptions], options);
  } catch (error) {
    await stop();
    throw error;
  }

  const url = `postgresql://graphium@/postgres?host=${encodeURIComponent(dir)}`;
  return { url, stop };
}
