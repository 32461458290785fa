/**
 * Workflow interceptors that add the ids of the workflow's input (deployment, teardown, stack) to
 * every line the workflow logs, the SDK's own lines included, so the lines of one deployment can
 * be found by its id. Registered in the workflow bundle by lib/worker.ts.
 */
import type { WorkflowInterceptors } from '@temporalio/workflow';

/** Reads the ids worth logging from an activity or workflow input, without trusting its shape. */
export function inputLogIds(input: unknown): Record<string, string> {
  if (typeof input !== 'object' || input === null) return {};
  const record = input as Record<string, unknown>;
  const ids: Record<string, string> = {};
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  const named = (value: unknown) =>
    text(value) ??
    (typeof value === 'object' && value !== null ? text((value as { name?: unknown }).name) : undefined);

  const fields: [string, string | undefined][] = [
    ['deploymentId', text(record.deploymentId)],
    ['teardownId', text(record.teardownId)],
    ['stack', text(record.stackName) ?? named(record.stack)],
    ['host', named(record.host)],
    ['service', named(record.service)],
  ];
  for (const [key, value] of fields) if (value !== undefined) ids[key] = value;
  return ids;
}

/** Creates the interceptors of one workflow run; the SDK calls this once per run. */
export const interceptors = (): WorkflowInterceptors => {
  let ids: Record<string, string> = {};
  return {
    inbound: [
      {
        execute(input, next) {
          ids = inputLogIds(input.args[0]);
          return next(input);
        },
      },
    ],
    outbound: [
      {
        getLogAttributes(attributes, next) {
          return next({ ...ids, ...attributes });
        },
      },
    ],
  };
};
