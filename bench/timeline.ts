/**
 * Shows where a Graphium deployment spends its time. Deploys one scenario stack a few times
 * and prints, for each deploy, every workflow task and activity from its Temporal history as
 * offsets from the POST, with the floor's time for the same stack beside it.
 *
 * Usage: npx tsx bench/timeline.ts [--stack stack3|wide30|chain30] [--runs 2]
 */
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time';
import proto from '@temporalio/proto';
import { deployWorkflowId } from '../workflows/contract';
import { startBenchEnvironment } from './env';
import { floorPeer } from './peers/floor';
import { graphiumPeer } from './peers/graphium';
import { chain30, PortAllocator, stack3, wide30 } from './stacks';
import type { BenchStack, PeerResult } from './types';

const EventType = proto.temporal.api.enums.v1.EventType;

const ports = new PortAllocator(30_000 + Math.floor(Math.random() * 20_000));
const STACKS: Record<string, (suffix: string) => BenchStack> = {
  stack3: (suffix) => stack3(suffix, ports),
  wide30,
  chain30,
};

function fail(message: string): never {
  console.error(`timeline: ${message}`);
  process.exit(2);
}

let values: { stack: string; runs: string };
try {
  ({ values } = parseArgs({
    options: {
      stack: { type: 'string', default: 'stack3' },
      runs: { type: 'string', default: '2' },
    },
  }));
} catch (error) {
  fail((error as Error).message.split('\n')[0]!);
}
const makeStack = STACKS[values.stack];
if (!makeStack) fail(`invalid --stack "${values.stack}"; expected one of ${Object.keys(STACKS).join(', ')}`);
const runs = /^\d+$/.test(values.runs) ? Number(values.runs) : 0;
if (runs < 1) fail(`invalid --runs "${values.runs}"; expected a whole number of 1 or more`);

interface Span {
  label: string;
  scheduled: number;
  started?: number;
  ended?: number;
}

/** Returns the workflow tasks and activities of a history, with epoch-millisecond times. */
function spans(events: proto.temporal.api.history.v1.IHistoryEvent[]): Span[] {
  const byId = new Map<number, Span>();
  const result: Span[] = [];
  for (const event of events) {
    const at = tsToMs(event.eventTime);
    const id = Number(event.eventId);
    switch (event.eventType) {
      case EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
      case EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: {
        const type = event.activityTaskScheduledEventAttributes?.activityType?.name;
        const span: Span = { label: type ? `activity ${type}` : 'workflow task', scheduled: at };
        byId.set(id, span);
        result.push(span);
        break;
      }
      case EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
        byId.get(Number(event.workflowTaskStartedEventAttributes?.scheduledEventId))!.started = at;
        break;
      case EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
        byId.get(Number(event.workflowTaskCompletedEventAttributes?.scheduledEventId))!.ended = at;
        break;
      case EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
        byId.get(Number(event.activityTaskStartedEventAttributes?.scheduledEventId))!.started = at;
        break;
      case EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
        byId.get(Number(event.activityTaskCompletedEventAttributes?.scheduledEventId))!.ended = at;
        break;
    }
  }
  return result;
}

/** Logs a failed removal instead of raising it, so the error of a failed deploy is the one shown. */
function reportRemovalFailure(stack: BenchStack, error: unknown): void {
  console.error(`timeline: removing stack ${stack.name} failed: ${String(error)}`);
}

const environment = await startBenchEnvironment({
  dataDir: '.data/bench-timeline',
  temporalPort: 7533,
  temporalUiPort: 8533,
  apiPort: 8580,
  signal: new AbortController().signal,
});
try {
  const graphium = await graphiumPeer({
    apiUrl: environment.apiUrl,
    apiToken: environment.apiToken,
    hosts: environment.lab,
  });
  const floor = floorPeer({ hosts: environment.lab, signal: new AbortController().signal });
  for (let run = 0; run < runs; run++) {
    const stack = makeStack(randomUUID().slice(0, 6));
    const posted = Date.now();
    let result: PeerResult;
    let history: Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;
    try {
      result = await graphium.deploy(stack);
      history = await environment.client.workflow.getHandle(deployWorkflowId(stack.name)).fetchHistory();
    } finally {
      // A failed deploy may have started some containers, so remove the stack either way.
      await graphium.remove(stack).catch((error) => reportRemovalFailure(stack, error));
    }
    const floorStack = makeStack(randomUUID().slice(0, 6));
    let floorResult: PeerResult;
    try {
      floorResult = await floor.deploy(floorStack);
    } finally {
      await floor.remove(floorStack).catch((error) => reportRemovalFailure(floorStack, error));
    }
    console.log(
      `\n${values.stack} run ${run + 1}: graphium ${result.seconds.toFixed(2)} s, floor ${floorResult.seconds.toFixed(2)} s`,
    );
    const offset = (ms: number | undefined) => (ms === undefined ? '-' : String(ms - posted).padStart(5));
    const first = tsToMs(history.events![0]!.eventTime);
    console.log(`${offset(first)} ms  workflow started`);
    for (const span of spans(history.events ?? [])) {
      console.log(
        `${offset(span.scheduled)} ${offset(span.started)} ${offset(span.ended)} ms  ${span.label}`,
      );
    }
  }
} finally {
  await environment.stop();
}
