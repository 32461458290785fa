/**
 * The benchmark. It deploys the scenario stacks with Graphium, the raw Docker floor, Docker
 * Compose and Docker Swarm on the three lab hosts. Then it prints a table of medians, spreads and
 * ratios to the floor with the machine and versions, and writes the results files.
 *
 * Usage: npm run bench [-- --runs 5 --scenarios stack3,wide30 --peers graphium,floor]
 */
import { randomBytes, randomInt } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { startBenchEnvironment, type BenchEnvironment } from './env';
import { collectVersions, describeMachine } from './machine';
import { composePeer } from './peers/compose';
import { floorPeer } from './peers/floor';
import { graphiumPeer, type GraphiumPeer } from './peers/graphium';
import { swarmPeer } from './peers/swarm';
import {
  buildResults,
  PEER_NAMES,
  renderEnvironment,
  renderTextTable,
  tableRows,
  writeResults,
  type Measurements,
  type PeerName,
} from './report';
import { LiveStacks, runConcurrency, runPairedRounds, runRecovery, type ScenarioContext } from './scenarios';
import { chain30, PortAllocator, stack3, wide30 } from './stacks';
import type { Peer } from './types';

const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
const SCENARIOS = ['stack3', 'wide30', 'chain30', 'concurrency', 'recovery'] as const;
type Scenario = (typeof SCENARIOS)[number];

const HELP = `Usage: npm run bench [-- options]

Options:
  --runs N                 counted rounds per scenario, after one warm-up round except in
                           recovery (default 5)
  --scenarios LIST         comma-separated, from ${SCENARIOS.join(', ')} (default: all)
  --peers LIST             comma-separated, from ${PEER_NAMES.join(', ')} (default: all);
                           compose and swarm run only in stack3 and wide30
  --results DIR            folder for latest.json, chart.svg and README.md (default bench/results)
  --data-dir DIR           folder for the dev server, logs and keys; emptied at start
                           (default .data/bench)
  --temporal-port PORT     gRPC port of the Temporal dev server (default 7433)
  --temporal-ui-port PORT  web UI port of the Temporal dev server (default 8433)
  --api-port PORT          port of the Graphium API (default 8480)
  --help                   print this text
`;

function fail(message: string): never {
  console.error(`bench: ${message}`);
  process.exit(2);
}

function parseList<T extends string>(option: string, text: string, allowed: readonly T[]): T[] {
  const items = text
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
  const unknown = items.filter((item) => !(allowed as readonly string[]).includes(item));
  if (unknown.length > 0 || items.length === 0) {
    fail(`invalid --${option} "${text}"; expected a comma-separated list from ${allowed.join(', ')}`);
  }
  return [...new Set(items)] as T[];
}

function parsePort(option: string, text: string): number {
  const port = /^\d+$/.test(text) ? Number(text) : 0;
  if (port < 1 || port > 65_535) {
    fail(`invalid --${option} "${text}"; expected a port from 1 to 65535`);
  }
  return port;
}

const OPTIONS = {
  runs: { type: 'string', default: '5' },
  scenarios: { type: 'string', default: SCENARIOS.join(',') },
  peers: { type: 'string' },
  results: { type: 'string', default: fileURLToPath(new URL('./results', import.meta.url)) },
  'data-dir': { type: 'string', default: `${REPO_ROOT}.data/bench` },
  'temporal-port': { type: 'string', default: '7433' },
  'temporal-ui-port': { type: 'string', default: '8433' },
  'api-port': { type: 'string', default: '8480' },
  help: { type: 'boolean', default: false },
} as const;

function parseOptions() {
  try {
    return parseArgs({ options: OPTIONS }).values;
  } catch (error) {
    // parseArgs rejects unknown options, missing values and positional arguments.
    return fail(`${(error as Error).message.split('\n')[0]}; see --help`);
  }
}

const values = parseOptions();
if (values.help) {
  process.stdout.write(HELP);
  process.exit(0);
}
// Every option is checked here, before anything starts.
const runs = /^\d+$/.test(values.runs) ? Number(values.runs) : 0;
if (runs < 1) fail(`invalid --runs "${values.runs}"; expected a whole number of 1 or more`);
const scenarios = parseList('scenarios', values.scenarios, SCENARIOS);
const peerNames = parseList('peers', values.peers ?? PEER_NAMES.join(','), PEER_NAMES);
const temporalPort = parsePort('temporal-port', values['temporal-port']);
const temporalUiPort = parsePort('temporal-ui-port', values['temporal-ui-port']);
const apiPort = parsePort('api-port', values['api-port']);
if (new Set([temporalPort, temporalUiPort, apiPort]).size < 3) {
  fail(
    `--temporal-port ${temporalPort}, --temporal-ui-port ${temporalUiPort} and --api-port ${apiPort} ` +
      'must be three different ports',
  );
}

const log = (line: string) => process.stderr.write(`${line}\n`);

let environment: BenchEnvironment | undefined;
const live = new LiveStacks();
/** Peers that changed the hosts in a setup, such as the swarm, so the clean-up restores them. */
const prepared: { name: string; teardown(): Promise<void> }[] = [];
/** Aborted by SIGINT or SIGTERM: no scenario starts another deploy after that. */
const interrupt = new AbortController();
let stopping: Promise<void> | undefined;

/**
 * Removes every stack still deployed. After an interrupt, Graphium's stacks are removed by label
 * over the Docker sockets, because a Ctrl-C in a terminal also stops the worker and Temporal.
 */
async function removeLiveStacks(interrupted: boolean): Promise<void> {
  await Promise.all(
    live.entries().map(async ([stack, peer]) => {
      const graphium = peer as Partial<GraphiumPeer>;
      try {
        if (interrupted && graphium.removeContainers) await graphium.removeContainers(stack);
        else await peer.remove(stack);
      } catch (error) {
        log(`bench: removing ${peer.name} stack ${stack.name} failed: ${String(error)}`);
      }
    }),
  );
}

/** Removes the stacks still deployed, restores the peers' hosts, then stops the environment. */
function cleanUp(): Promise<void> {
  stopping ??= (async () => {
    const interrupted = interrupt.signal.aborted;
    // Without a worker, no deploy of Graphium creates a container behind the removal.
    if (interrupted) await environment?.worker.kill();
    await removeLiveStacks(interrupted);
    if (interrupted) {
      // A create call sent just before the interrupt may still land, so sweep once more.
      await sleep(1_000);
      await removeLiveStacks(true);
    }
    for (const peer of prepared) {
      await peer
        .teardown()
        .catch((error) => log(`bench: restoring the hosts of ${peer.name} failed: ${String(error)}`));
    }
    await environment?.stop();
  })();
  return stopping;
}

/**
 * Milliseconds after an interrupt during which a repeated signal is ignored. A Ctrl-C reaches
 * this process twice when a parent such as tsx or timeout relays it to its child as well.
 */
const REPEATED_SIGNAL_MS = 2_000;
let interruptedAt = 0;

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupt.signal.aborted) {
      if (Date.now() - interruptedAt < REPEATED_SIGNAL_MS) return;
      log(`bench: ${signal} again; exiting without finishing the clean-up`);
      process.exit(130);
    }
    log(`bench: ${signal} received; removing the stacks still deployed and stopping`);
    interruptedAt = Date.now();
    interrupt.abort();
    // While the environment starts, main stops at its next step and cleans up itself.
    if (environment) void cleanUp().finally(() => process.exit(130));
  });
}

async function main(): Promise<void> {
  const startedAt = Date.now();
  environment = await startBenchEnvironment({
    dataDir: values['data-dir'],
    temporalPort,
    temporalUiPort,
    apiPort,
    signal: interrupt.signal,
  });
  const { lab } = environment;
  log(`bench: environment ready; logs in ${environment.dataDir}`);

  const graphium = await graphiumPeer({
    apiUrl: environment.apiUrl,
    apiToken: environment.apiToken,
    hosts: lab,
  });
  const floor = floorPeer({ hosts: lab, signal: interrupt.signal });
  const peers = new Map<PeerName, Peer>([
    ['graphium', graphium],
    ['floor', floor],
  ]);
  // Only stack3 and wide30 run every peer, so the others need no Compose or swarm.
  const everyPeer = scenarios.includes('stack3') || scenarios.includes('wide30');
  if (everyPeer && peerNames.includes('compose')) {
    // Compose runs a whole stack on one host.
    peers.set('compose', composePeer({ host: lab[0]! }));
  }
  const measured: Measurements = { runs, errors: [] };
  if (everyPeer && peerNames.includes('swarm')) {
    const swarm = swarmPeer({ hosts: lab });
    // Set up before the first round, so that creating the swarm is not part of a deploy.
    const setup = swarm.setup();
    // Registered before the setup settles, so that a clean-up after an interrupt during the setup
    // waits for it and then leaves the swarm. The teardown runs only after a successful setup,
    // because a failed setup has already left the swarm it partly created, and a host that was
    // already in a swarm makes the setup fail before it changes anything.
    prepared.push({
      name: swarm.name,
      teardown: () =>
        setup.then(
          () => swarm.teardown(),
          () => undefined,
        ),
    });
    try {
      await setup;
      peers.set('swarm', swarm);
    } catch (error) {
      measured.errors.push(`swarm: setup failed, so swarm is left out: ${String(error).split('\n')[0]}`);
      log(`bench: the swarm setup failed, so swarm is left out: ${String(error)}`);
    }
  }
  const selected = (names: readonly PeerName[]) =>
    PEER_NAMES.filter((name) => names.includes(name) && peerNames.includes(name) && peers.has(name)).map(
      (name) => peers.get(name)!,
    );

  const suffix = randomBytes(3).toString('hex');
  // A random base keeps the ports of this run apart from those a run killed earlier may hold.
  const ports = new PortAllocator(20_000 + randomInt(0, 300) * 100);
  const context: ScenarioContext = {
    suffix,
    runs,
    live,
    errors: measured.errors,
    log,
    signal: interrupt.signal,
  };
  const has = (name: PeerName) => peerNames.includes(name);

  for (const scenario of scenarios as Scenario[]) {
    log(`bench: scenario ${scenario}`);
    switch (scenario) {
      case 'stack3':
        measured.stack3 = await runPairedRounds(
          scenario,
          selected(PEER_NAMES),
          (s) => stack3(s, ports),
          context,
        );
        break;
      case 'wide30':
        measured.wide30 = await runPairedRounds(scenario, selected(PEER_NAMES), wide30, context);
        break;
      case 'chain30':
        measured.chain30 = await runPairedRounds(scenario, selected(['graphium', 'floor']), chain30, context);
        break;
      case 'concurrency':
        if (!has('graphium') || !has('floor')) {
          log('bench: concurrency needs the peers graphium and floor; skipped');
          break;
        }
        measured.concurrency = await runConcurrency(graphium, floor, environment, context);
        break;
      case 'recovery':
        if (!has('graphium')) {
          log('bench: recovery needs the peer graphium; skipped');
          break;
        }
        measured.recovery = await runRecovery(graphium, environment, context);
        break;
    }
  }

  const results = buildResults(measured, {
    date: new Date().toISOString(),
    machine: describeMachine(),
    versions: await collectVersions(lab, REPO_ROOT),
  });
  process.stdout.write(`${renderTextTable(tableRows(results))}\n\n${renderEnvironment(results)}\n`);
  if (results.errors.length > 0) {
    process.stdout.write(`\nerrors:\n${results.errors.map((error) => `  ${error}`).join('\n')}\n`);
  }
  writeResults(results, values.results, fileURLToPath(new URL('./notes.md', import.meta.url)));
  log(
    `bench: results written to ${values.results}; took ${((Date.now() - startedAt) / 60_000).toFixed(1)} min`,
  );
}

try {
  await main();
  await cleanUp();
  process.exit(0);
} catch (error) {
  if (interrupt.signal.aborted) {
    await cleanUp();
    process.exit(130);
  }
  console.error(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  await cleanUp();
  process.exit(1);
}
