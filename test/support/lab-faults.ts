/**
 * Faults injected into the local lab hosts: a cut network link, a killed Docker daemon, a port
 * held by a process outside Docker. Each touches only the lab's own namespaces and daemons, and
 * each has its undo, which tests run in a `finally` so a failed test leaves the lab whole.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { ensureLab, type LabHost } from '../../lib/lab';

const run = promisify(execFile);

/** Index K of host `hostK`. */
function hostIndex(host: LabHost): number {
  const match = /^host(\d+)$/.exec(host.name);
  if (!match) throw new Error(`not a lab host name: ${host.name}`);
  return Number(match[1]);
}

/** Takes the host's link to the lab bridge down: its daemon stops responding, and no connection is rejected. */
export async function cutLink(host: LabHost): Promise<void> {
  await run('ip', ['link', 'set', `graphium-v${hostIndex(host)}`, 'down']);
}

export async function restoreLink(host: LabHost): Promise<void> {
  await run('ip', ['link', 'set', `graphium-v${hostIndex(host)}`, 'up']);
}

/** SIGKILLs the host's dockerd, as a crash would; connections to it are then refused. */
export async function killDaemon(host: LabHost): Promise<void> {
  const pid = Number(readFileSync(`/run/graphium-lab/h${hostIndex(host)}/dockerd.pid`, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no dockerd pid for ${host.name}`);
  process.kill(pid, 'SIGKILL');
  while (isAlive(pid)) await new Promise((resolve) => setTimeout(resolve, 100));
}

/** Starts every lab daemon that is down again; a no-op for hosts that run. */
export async function restartLab(count = 3): Promise<LabHost[]> {
  return ensureLab(count);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Listens on a TCP port inside the host's network namespace with a process outside Docker, so
 * Docker cannot publish that port there and no container list shows it taken.
 */
export async function holdPort(host: LabHost, port: number): Promise<() => Promise<void>> {
  const script = `import socket,time
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", ${port})); s.listen(); print("listening", flush=True)
while True: time.sleep(60)`;
  const child: ChildProcess = spawn(
    'ip',
    ['netns', 'exec', `graphium-h${hostIndex(host)}`, 'python3', '-c', script],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  await new Promise<void>((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('listening')) resolve();
    });
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`port holder exited with ${code}: ${output}`)));
  });
  return async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  };
}
