/**
 * The local lab of Docker hosts for the demo and the integration tests: network namespaces on
 * this machine, each running its own dockerd, started by scripts/lab.sh.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { DockerEndpoint } from '../core/model';

const LAB_SCRIPT = fileURLToPath(new URL('../scripts/lab.sh', import.meta.url));

/** Lines of script output kept for the error message when the script fails. */
const OUTPUT_TAIL_LINES = 20;

export interface LabHost {
  /** `host1` to `hostN`; also the daemon's name in `docker info`. */
  name: string;
  /** Unix socket of the host's dockerd, e.g. `/run/graphium-lab/h1/docker.sock` (root only). */
  socket: string;
  /** Docker API over TCP with mutual TLS, e.g. `tcp://10.213.0.11:2376`. */
  tcp: string;
  /**
   * PEM files a client reaches `tcp` with: the lab CA, which signed every host's server
   * certificate, and the lab's client certificate and key. The daemons accept no other client.
   */
  tls: { ca: string; cert: string; key: string };
  /** Address at which the root namespace and the other hosts reach this host's published ports. */
  address: string;
  /** `lab-a` for hosts 1-2, `lab-b` for the others. */
  datacenter: string;
  labels: Record<string, string>;
}

const labHostsSchema = z.array(
  z.object({
    name: z.string(),
    socket: z.string(),
    tcp: z.string().regex(/^tcp:\/\/[^:]+:\d+$/),
    tls: z.object({ ca: z.string(), cert: z.string(), key: z.string() }),
    address: z.string(),
    datacenter: z.string(),
    labels: z.record(z.string(), z.string()),
  }),
);

/** Reports whether this process can run the lab: it runs as root and a dockerd executable exists. */
export function labAvailable(): boolean {
  if (process.getuid?.() !== 0) return false;
  const searchPath = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/bin'];
  return searchPath.some((dir) => dir !== '' && isExecutable(join(dir, 'dockerd')));
}

/**
 * Starts the lab with at least `count` hosts and returns hosts 1 to `count`.
 *
 * Runs `bash scripts/lab.sh up <count>`, which leaves running hosts alone and
 * takes about a second when the lab is already up. The first run on a machine
 * also builds the lab images (a few minutes). The script's output goes to
 * stderr. With SKIP_LAB_UP set, only the host list is read.
 */
export async function ensureLab(count = 3): Promise<LabHost[]> {
  if (!Number.isInteger(count) || count < 1) {
    throw new RangeError(`invalid lab host count ${count}; expected a positive integer`);
  }
  if (!process.env.SKIP_LAB_UP) {
    await runLabScript(['up', String(count)]);
  }
  const hosts = parseHosts(await runLabScript(['hosts']));
  if (hosts.length < count) {
    throw new Error(
      `lab.sh hosts listed ${hosts.length} hosts, expected at least ${count}; check with: bash scripts/lab.sh status`,
    );
  }
  return hosts.slice(0, count);
}

/** Returns the endpoint by which Graphium reaches a lab host: its TCP address over mutual TLS. */
export function labDockerEndpoint(host: LabHost): DockerEndpoint {
  const [, address, port] = /^tcp:\/\/([^:]+):(\d+)$/.exec(host.tcp)!;
  return { protocol: 'tcp', host: address!, port: Number(port), tls: { ...host.tls } };
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function parseHosts(output: string): LabHost[] {
  let json: unknown;
  try {
    json = JSON.parse(output);
  } catch (error) {
    throw new Error(
      `lab.sh hosts printed invalid JSON (${(error as Error).message}): ${output.slice(0, 200)}`,
    );
  }
  const parsed = labHostsSchema.safeParse(json);
  if (!parsed.success) {
    throw new Error(`lab.sh hosts printed an unexpected host list: ${parsed.error.message}`);
  }
  return parsed.data;
}

/**
 * Runs scripts/lab.sh with `args`, copies its stderr to this process's stderr
 * as it arrives and returns its stdout. `up` prints its progress on stderr.
 */
function runLabScript(args: string[]): Promise<string> {
  const command = `bash scripts/lab.sh ${args.join(' ')}`;
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [LAB_SCRIPT, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    let stderrTail: string[] = [];

    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => {
      process.stderr.write(chunk);
      stderrTail = [...stderrTail, ...chunk.toString('utf8').split('\n').filter(Boolean)].slice(
        -OUTPUT_TAIL_LINES,
      );
    });
    child.on('error', (error) => reject(new Error(`${command} could not start: ${error.message}`)));
    child.on('close', (code, signal) => {
      if (code === 0) {
        resolve(Buffer.concat(stdout).toString('utf8'));
        return;
      }
      const reason = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      reject(new Error(`${command} ${reason}:\n${stderrTail.join('\n')}`));
    });
  });
}
