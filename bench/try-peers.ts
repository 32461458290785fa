/**
 * Deploys and removes two test stacks with the Compose and Swarm peers on the lab, and prints
 * how long each deploy took, one line per run:
 * `<peer> <stack> run=<n> seconds=<number> containers=<number>`.
 *
 *   trio  PostgreSQL on host1, Redis on host2, and a busybox app on host3 that waits for both,
 *         checks that it can connect to each, and then turns healthy
 *   wide  30 busybox containers without ports or dependencies, spread over the three hosts
 *
 * Compose runs every service on host1. Swarm pins each service to its host. Afterwards every
 * lab host has left the swarm, and the script checks that each can still run a container.
 *
 * Usage (as root, with the lab up; the lab is shared, so hold its lock):
 *   flock /tmp/graphium-lab.lock npx tsx bench/try-peers.ts [--runs 1] [--peers compose,swarm]
 */
import { parseArgs } from 'node:util';
import { ensureLab, type LabHost } from '../lib/lab';
import { runDocker } from './peers/command';
import { composePeer } from './peers/compose';
import { swarmPeer } from './peers/swarm';
import type { BenchService, BenchStack, Peer } from './types';

const BUSYBOX = 'graphium/busybox:lab';
const SERVICES = 'graphium/services:lab';
const WIDE_SERVICES = 30;

/** A shell loop that sleeps until SIGTERM, so `docker stop` ends it without waiting for SIGKILL. */
const SLEEP_UNTIL_STOPPED = "trap 'exit 0' TERM; while sleep 1; do :; done";

/**
 * The app's proof that it reaches both dependencies. Busybox `nc` has no `-z`, but with stdin at
 * end of file it connects, closes and exits 0, or exits 1 when the lookup or the connection
 * fails (`-w 1` bounds the connect). The loop retries because Swarm starts every service at once.
 * There, the first lookup of `postgres` from host3 was seen to block for 2.5 to 5 s, until the
 * overlay network's DNS had a record for the PostgreSQL task.
 */
const PROVE_CONNECTIONS =
  'until nc -w 1 "$POSTGRES_HOST" "$POSTGRES_PORT" </dev/null && nc -w 1 "$REDIS_HOST" "$REDIS_PORT" </dev/null; ' +
  `do sleep 0.1; done; touch /tmp/proved; ${SLEEP_UNTIL_STOPPED}`;

function benchService(service: Partial<BenchService> & Pick<BenchService, 'name' | 'host'>): BenchService {
  return {
    image: BUSYBOX,
    command: ['sh', '-c', SLEEP_UNTIL_STOPPED],
    environment: {},
    ports: [],
    healthCommand: ['test', '-d', '/tmp'],
    dependencies: [],
    ...service,
  };
}

function trioStack(name: string): BenchStack {
  return {
    name,
    services: [
      benchService({
        name: 'postgres',
        host: 'host1',
        image: SERVICES,
        command: ['start-postgres'],
        environment: { PGUSER: 'postgres' },
        ports: [{ containerPort: 5432, hostPort: 15432 }],
        healthCommand: ['pg_isready', '-h', '127.0.0.1'],
      }),
      benchService({
        name: 'redis',
        host: 'host2',
        image: SERVICES,
        command: ['start-redis'],
        ports: [{ containerPort: 6379, hostPort: 16379 }],
        healthCommand: ['redis-cli', 'ping'],
      }),
      benchService({
        name: 'app',
        host: 'host3',
        command: ['sh', '-c', PROVE_CONNECTIONS],
        healthCommand: ['test', '-f', '/tmp/proved'],
        dependencies: [
          { name: 'postgres', waitForHealthy: true },
          { name: 'redis', waitForHealthy: true },
        ],
      }),
    ],
  };
}

function wideStack(name: string, hostNames: string[]): BenchStack {
  const services = Array.from({ length: WIDE_SERVICES }, (_, index) =>
    benchService({ name: `sleeper-${index + 1}`, host: hostNames[index % hostNames.length]! }),
  );
  return { name, services };
}

/** Deploys `stack` with `peer`, prints the result and removes the stack, also after a failed deploy. */
async function tryStack(peer: Peer, label: string, stack: BenchStack, run: number): Promise<void> {
  try {
    const result = await peer.deploy(stack);
    console.log(
      `${peer.name} ${label} run=${run} seconds=${result.seconds.toFixed(3)} containers=${result.containers}`,
    );
  } finally {
    await peer.remove(stack);
  }
}

async function checkHostsRunContainers(hosts: LabHost[]): Promise<void> {
  for (const host of hosts) {
    await runDocker(host, ['run', '--rm', BUSYBOX, 'true'], 60_000);
    console.log(`${host.name}: docker run --rm ${BUSYBOX} true succeeded`);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '1' },
      peers: { type: 'string', default: 'compose,swarm' },
    },
  });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1)
    throw new Error(`invalid --runs ${values.runs}; expected a positive integer`);
  const peerNames = values.peers.split(',');
  for (const name of peerNames) {
    if (name !== 'compose' && name !== 'swarm') {
      throw new Error(`invalid peer ${name} in --peers; expected compose, swarm or both`);
    }
  }

  const hosts = await ensureLab(3);
  const hostNames = hosts.map((host) => host.name);
  // Base 36 milliseconds keep stack names short and unique per run.
  const runId = Date.now().toString(36);

  if (peerNames.includes('compose')) {
    const compose = composePeer({ host: hosts[0]! });
    for (let run = 1; run <= runs; run++) {
      await tryStack(compose, 'trio', trioStack(`bench-compose-trio-${runId}-${run}`), run);
      await tryStack(compose, 'wide', wideStack(`bench-compose-wide-${runId}-${run}`, hostNames), run);
    }
  }

  if (peerNames.includes('swarm')) {
    const swarm = swarmPeer({ hosts });
    // Outside the try: when a host is already in a swarm, setup fails and that swarm is left alone.
    await swarm.setup();
    try {
      for (let run = 1; run <= runs; run++) {
        await tryStack(swarm, 'trio', trioStack(`bench-swarm-trio-${runId}-${run}`), run);
        await tryStack(swarm, 'wide', wideStack(`bench-swarm-wide-${runId}-${run}`, hostNames), run);
      }
    } finally {
      await swarm.teardown();
    }
  }

  await checkHostsRunContainers(hosts);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
