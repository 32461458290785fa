/**
 * The benchmark's scenarios: paired rounds of one stack per peer, twenty stacks deployed at
 * once, and the recovery of a deployment after its worker is killed.
 */
import { readFileSync } from 'node:fs';
import type { WorkflowHandle } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time';
import proto from '@temporalio/proto';
import { deployWorkflowId } from '../workflows/contract';
import type { BenchEnvironment } from './env';
import type { floorPeer } from './peers/floor';
import type { GraphiumPeer } from './peers/graphium';
import type { PeerName } from './report';
import { concurrencyStacks, recoveryStack, SERVICES_PER_CONCURRENT_STACK, CONCURRENT_STACKS } from './stacks';
import type { Samples } from './stats';
import type { BenchStack, Peer } from './types';

const STARTED = proto.temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED;

/** Milliseconds between samples of the worker's resident memory. */
const RSS_SAMPLE_MS = 100;

export type FloorPeer = ReturnType<typeof floorPeer>;

/** Stacks deployed and not yet removed, so an interrupted run can remove them. */
export class LiveStacks {
  private readonly stacks = new Map<BenchStack, Peer>();

  add(peer: Peer, stack: BenchStack): void {
    this.stacks.set(stack, peer);
  }

  delete(stack: BenchStack): void {
    this.stacks.delete(stack);
  }

  /** Returns every live stack with the peer that deployed it. */
  entries(): [BenchStack, Peer][] {
    return [...this.stacks];
  }
}

export interface ScenarioContext {
  /** Text unique to this run, which every stack name contains. */
  suffix: string;
  /** Counted rounds. Where a scenario has a warm-up round, it comes first and is not counted. */
  runs: number;
  live: LiveStacks;
  /** Failed rounds and other errors, one line each, for the results. */
  errors: string[];
  /** Writes a progress line to stderr, so the table on stdout stays clean. */
  log(line: string): void;
  /** Aborted when the run is interrupted, so no scenario starts another deploy. */
  signal: AbortSignal;
}

function roundLabel(round: number, runs: number): string {
  return round === 0 ? 'warm-up' : `round ${round}/${runs}`;
}

function formatSeconds(seconds: number | null): string {
  return seconds === null ? 'failed' : `${seconds.toFixed(2)} s`;
}

function firstLine(error: unknown): string {
  return String(error instanceof Error ? error.message : error).split('\n')[0]!;
}

/** Removes a stack, recording a failure instead of raising it, so the run goes on. */
async function removeStack(peer: Peer, stack: BenchStack, context: ScenarioContext): Promise<void> {
  try {
    await peer.remove(stack);
    context.live.delete(stack);
  } catch (error) {
    context.errors.push(`removing ${peer.name} stack ${stack.name} failed: ${firstLine(error)}`);
    context.log(`  removing ${stack.name} failed: ${String(error)}`);
  }
}

/** Deploys then removes one stack, and returns the seconds of the deploy, or null when it failed. */
async function deployAndRemove(
  scenario: string,
  peer: Peer,
  stack: BenchStack,
  context: ScenarioContext,
): Promise<number | null> {
  let seconds: number | null = null;
  context.live.add(peer, stack);
  try {
    seconds = (await peer.deploy(stack)).seconds;
  } catch (error) {
    context.errors.push(`${scenario}: ${peer.name} failed to deploy ${stack.name}: ${firstLine(error)}`);
    context.log(`  ${peer.name} failed to deploy ${stack.name}: ${String(error)}`);
  }
  await removeStack(peer, stack, context);
  return seconds;
}

/**
 * Runs one warm-up round, then `runs` rounds, in each of which every peer deploys and then
 * removes its own copy of the stack, one peer after another. The order of the peers rotates from
 * round to round, so no peer always runs first on a freshly cleaned host. Returns the seconds of
 * the counted rounds per peer.
 */
export async function runPairedRounds(
  scenario: string,
  peers: Peer[],
  makeStack: (suffix: string) => BenchStack,
  context: ScenarioContext,
): Promise<Partial<Record<PeerName, Samples>>> {
  const samples: Partial<Record<PeerName, Samples>> = {};
  for (const peer of peers) samples[peer.name] = [];
  for (let round = 0; round <= context.runs; round++) {
    const order = peers.map((_, index) => peers[(index + round) % peers.length]!);
    for (const peer of order) {
      context.signal.throwIfAborted();
      const stack = makeStack(`${context.suffix}-${peer.name}${round}`);
      const seconds = await deployAndRemove(scenario, peer, stack, context);
      context.log(`${scenario} ${roundLabel(round, context.runs)} ${peer.name}: ${formatSeconds(seconds)}`);
      if (round > 0) samples[peer.name]!.push(seconds);
    }
  }
  return samples;
}

/**
 * Samples the resident memory of a process every RSS_SAMPLE_MS from /proc/<pid>/status and
 * returns a function that stops and returns the largest sample in MiB, or null without samples.
 */
export function sampleRss(pid: number): () => number | null {
  let peakKiB: number | null = null;
  const read = () => {
    try {
      const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (match) peakKiB = Math.max(peakKiB ?? 0, Number(match[1]));
    } catch {
      // The process exited; the samples taken so far stand.
    }
  };
  read();
  const timer = setInterval(read, RSS_SAMPLE_MS);
  return () => {
    clearInterval(timer);
    read();
    return peakKiB === null ? null : peakKiB / 1024;
  };
}

async function removeAll(peer: Peer, stacks: BenchStack[], context: ScenarioContext): Promise<void> {
  await Promise.all(stacks.map((stack) => removeStack(peer, stack, context)));
}

/**
 * Deploys twenty stacks of five services at once, with Graphium and then with the floor, in a
 * warm-up round and `runs` counted rounds. Returns the seconds from the first request until the
 * last stack ran, and the peak resident memory of the worker while Graphium deployed.
 */
export async function runConcurrency(
  graphium: GraphiumPeer,
  floor: FloorPeer,
  environment: BenchEnvironment,
  context: ScenarioContext,
) {
  const measured = {
    containers: CONCURRENT_STACKS * SERVICES_PER_CONCURRENT_STACK,
    graphium: [] as Samples,
    floor: [] as Samples,
    workerPeakRssMiB: [] as Samples,
  };
  for (let round = 0; round <= context.runs; round++) {
    const label = roundLabel(round, context.runs);
    context.signal.throwIfAborted();

    const graphiumStacks = concurrencyStacks(`${context.suffix}-g${round}`);
    for (const stack of graphiumStacks) context.live.add(graphium, stack);
    const pid = environment.worker.pid();
    const stopSampling = pid === undefined ? () => null : sampleRss(pid);
    let graphiumSeconds: number | null = null;
    try {
      graphiumSeconds = await graphium.deployMany(graphiumStacks);
    } catch (error) {
      context.errors.push(`concurrency: graphium failed: ${firstLine(error)}`);
      context.log(`  graphium failed: ${String(error)}`);
    }
    const peakRss = stopSampling();
    await removeAll(graphium, graphiumStacks, context);
    context.log(
      `concurrency ${label} graphium: ${formatSeconds(graphiumSeconds)}, worker peak RSS ` +
        `${peakRss === null ? 'unknown' : `${peakRss.toFixed(0)} MiB`}`,
    );

    context.signal.throwIfAborted();
    const floorStacks = concurrencyStacks(`${context.suffix}-f${round}`);
    for (const stack of floorStacks) context.live.add(floor, stack);
    let floorSeconds: number | null = null;
    try {
      floorSeconds = await floor.deployMany(floorStacks);
    } catch (error) {
      context.errors.push(`concurrency: floor failed: ${firstLine(error)}`);
      context.log(`  floor failed: ${String(error)}`);
    }
    await removeAll(floor, floorStacks, context);
    context.log(`concurrency ${label} floor: ${formatSeconds(floorSeconds)}`);

    if (round > 0) {
      measured.graphium.push(graphiumSeconds);
      measured.floor.push(floorSeconds);
      measured.workerPeakRssMiB.push(peakRss);
    }
  }
  return measured;
}

type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;
type HistoryEvent = NonNullable<History['events']>[number];

function eventMs(event: HistoryEvent): number {
  return tsToMs(event.eventTime);
}

function healthWaitsScheduled(history: History): HistoryEvent[] {
  return (history.events ?? []).filter(
    (event) => event.activityTaskScheduledEventAttributes?.activityType?.name === 'awaitHealthy',
  );
}

/**
 * Returns when the last attempt of the second health wait started, in epoch milliseconds, or null
 * when it ran only once. Temporal writes the started event of a retried activity when the
 * activity closes, stamped with the start of its last attempt.
 */
function retriedAttemptStart(history: History): number | null {
  const scheduledId = healthWaitsScheduled(history)[1]?.eventId;
  const started = (history.events ?? []).find(
    (event) =>
      event.activityTaskStartedEventAttributes &&
      String(event.activityTaskStartedEventAttributes.scheduledEventId) === String(scheduledId),
  );
  const attempt = started?.activityTaskStartedEventAttributes?.attempt ?? 1;
  return started && attempt > 1 ? eventMs(started) : null;
}

/**
 * Waits until the worker process `pid` runs the health wait of the recovery stack's second
 * service, and returns that activity's heartbeat timeout in seconds. The second service starts
 * only once the first is healthy, so the second health wait scheduled is its own.
 */
async function awaitSecondHealthWait(handle: WorkflowHandle, pid: number): Promise<number> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const description = await handle.describe();
    const running = (description.raw.pendingActivities ?? []).some(
      (activity) =>
        activity.activityType?.name === 'awaitHealthy' &&
        activity.state === STARTED &&
        activity.lastWorkerIdentity?.startsWith(`${pid}@`),
    );
    if (running) {
      const scheduled = healthWaitsScheduled(await handle.fetchHistory());
      const timeout = scheduled[1]?.activityTaskScheduledEventAttributes?.heartbeatTimeout;
      if (timeout) return tsToMs(timeout) / 1000;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the worker did not start the second health wait of ${handle.workflowId} within 60 s`);
}

/**
 * Deploys the recovery stack `runs` times. In each, once the worker runs the second service's
 * health wait, it is SIGKILLed and a new worker process is spawned at once. The figure is the
 * time from that spawn to the first activity the workflow completes after the kill, read from
 * its history, which the Temporal server stamps. The killed activity's heartbeat timeout bounds
 * how soon the server hands it to the new worker.
 */
export async function runRecovery(
  graphium: GraphiumPeer,
  environment: BenchEnvironment,
  context: ScenarioContext,
) {
  const seconds: Samples = [];
  let heartbeatTimeoutSeconds: number | null = null;
  for (let round = 1; round <= context.runs; round++) {
    context.signal.throwIfAborted();
    const stack = recoveryStack(`${context.suffix}-${round}`);
    context.live.add(graphium, stack);
    let figure: number | null = null;
    try {
      const deploymentId = await graphium.post(stack);
      const handle = environment.client.workflow.getHandle(deployWorkflowId(stack.name));
      const pid = environment.worker.pid();
      if (pid === undefined) throw new Error('no worker process is running, so there is none to kill');
      heartbeatTimeoutSeconds = await awaitSecondHealthWait(handle, pid);

      const killedAt = Date.now();
      await environment.worker.kill();
      const { spawnedAt, readyAt } = await environment.worker.start();
      await graphium.awaitRunning([deploymentId]);

      const history = await handle.fetchHistory();
      const progress = (history.events ?? []).find(
        (event) => event.activityTaskCompletedEventAttributes && eventMs(event) > killedAt,
      );
      if (!progress) throw new Error(`no activity of ${handle.workflowId} completed after the kill`);
      figure = (eventMs(progress) - spawnedAt) / 1000;
      const retryStart = retriedAttemptStart(history);
      context.log(
        `recovery round ${round}/${context.runs}: ${figure.toFixed(2)} s from spawn to progress ` +
          `(worker ready after ${((readyAt - spawnedAt) / 1000).toFixed(2)} s, ` +
          `retried health wait started ${retryStart === null ? '?' : ((retryStart - killedAt) / 1000).toFixed(2)} s ` +
          `after the kill, heartbeat timeout ${heartbeatTimeoutSeconds} s)`,
      );
    } catch (error) {
      context.errors.push(`recovery round ${round}: ${firstLine(error)}`);
      context.log(`recovery round ${round}/${context.runs} failed: ${String(error)}`);
      // A failed round may have left the worker killed, but the next round and the teardown need one.
      if (environment.worker.pid() === undefined) await environment.worker.start();
    }
    await removeStack(graphium, stack, context);
    seconds.push(figure);
  }
  return { seconds, heartbeatTimeoutSeconds };
}
