import type { ChildProcess } from 'node:child_process';
import { createConnection } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** Resolve once a TCP connection to host:port succeeds; reject when the child exits first or time runs out. */
export async function waitForPort(
  host: string,
  port: number,
  timeoutSeconds: number,
  child?: ChildProcess,
): Promise<void> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) {
      throw new Error(
        `process exited with code ${child.exitCode} before ${host}:${port} accepted connections`,
      );
    }
    if (await canConnect(host, port)) return;
    await sleep(100);
  }
  throw new Error(`timed out after ${timeoutSeconds}s waiting for ${host}:${port}`);
}

export function canConnect(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
