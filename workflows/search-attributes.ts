/**
 * Custom search attributes that make deployments and teardowns findable in the Temporal UI, such
 * as `GraphiumStack = "shop" AND GraphiumOutcome = "rolled_back"`. The API sets both when it
 * starts a workflow, and the workflow updates the outcome where it records it in the database.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { patched, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';

/** The stack slug, as in the container names and labels. */
export const STACK_ATTRIBUTE = defineSearchAttributeKey('GraphiumStack', SearchAttributeType.KEYWORD);

/** The workflow's outcome so far, one of `WorkflowOutcome`. */
export const OUTCOME_ATTRIBUTE = defineSearchAttributeKey('GraphiumOutcome', SearchAttributeType.KEYWORD);

/** Every custom search attribute Graphium uses, each registered as Keyword. */
export const SEARCH_ATTRIBUTES = [STACK_ATTRIBUTE, OUTCOME_ATTRIBUTE] as const;

/**
 * Outcome values. A deploy starts as `deploying` and ends as `running`, `rolled_back` or
 * `cancelled`, the statuses it records in the database. A teardown starts as `removing` and ends
 * as `removed` or `teardown_failed`. The database keeps a failed teardown's deployments
 * `removing`, with the failure beside it.
 */
export type WorkflowOutcome =
  'deploying' | 'running' | 'rolled_back' | 'cancelled' | 'removing' | 'removed' | 'teardown_failed';

/** Marks the change that made workflows update their outcome attribute. */
export const OUTCOME_PATCH = 'upsert-outcome-search-attribute';

/**
 * Set the workflow's outcome attribute, if the workflow was started with both attributes.
 *
 * A workflow started without them skips the upsert, because it may run on a server where they are
 * not registered, and there an upsert would fail every workflow task. Because nothing is recorded,
 * such a workflow replays exactly as before this change. The patch covers a workflow that was
 * started with the attributes but ran on a worker without this code, so its history has no upsert.
 */
export function upsertOutcome(outcome: WorkflowOutcome): void {
  const attributes = workflowInfo().typedSearchAttributes;
  const startedWithAttributes = SEARCH_ATTRIBUTES.every((key) => attributes.get(key) !== undefined);
  if (!startedWithAttributes || !patched(OUTCOME_PATCH)) return;
  upsertSearchAttributes([{ key: OUTCOME_ATTRIBUTE, value: outcome }]);
}
