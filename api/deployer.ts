/**
 * The API's only way into Temporal. Routes depend on the `Deployer` interface so tests can
 * cover the branches that never reach Temporal with a test double.
 */
import {
  ServiceError,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  isGrpcServiceError,
  type Client,
} from '@temporalio/client';
import type { SearchAttributePair } from '@temporalio/common';
import type { StackSpec } from '../core/model';
import { stackSlug } from '../core/names';
import {
  TASK_QUEUE,
  deployWorkflowId,
  progressQuery,
  teardownWorkflowId,
  type DeployInput,
  type DeploymentProgress,
  type StepDeadlines,
  type TeardownInput,
  type TeardownResult,
} from '../workflows/contract';
import {
  OUTCOME_ATTRIBUTE,
  SEARCH_ATTRIBUTES,
  STACK_ATTRIBUTE,
  type WorkflowOutcome,
} from '../workflows/search-attributes';
import type { Logger } from '../lib/logger';
import { SearchAttributeNotRegisteredError, StackBusyError, WorkflowClosedError } from './errors';

/** Workflow type names registered by the worker. */
export const DEPLOY_WORKFLOW_TYPE = 'deployStack';
export const TEARDOWN_WORKFLOW_TYPE = 'teardownStack';

/** Options of a teardown. */
export interface TeardownOptions {
  /** Keep the stack's named volumes and their data. Default false. */
  keepVolumes?: boolean;
}

/** The ids of one workflow run. */
export interface WorkflowRef {
  workflowId: string;
  runId: string;
}

export interface Deployer {
  /**
   * Starts the deploy workflow of a stack.
   *
   * @throws StackBusyError when a deploy workflow of the same stack is still running.
   * @throws SearchAttributeNotRegisteredError when Temporal rejects the search attributes.
   */
  start(input: { deploymentId: string; stack: StackSpec }): Promise<WorkflowRef>;

  /** Queries live progress; undefined when the workflow has closed or cannot be queried. */
  progress(workflowId: string, runId?: string): Promise<DeploymentProgress | undefined>;

  /** Returns the Temporal execution status, such as `RUNNING` or `COMPLETED`. */
  describe(workflowId: string, runId?: string): Promise<string>;

  /**
   * Requests cancellation; the workflow rolls back and records the outcome itself.
   *
   * @throws WorkflowClosedError when the workflow has already closed.
   */
  cancel(workflowId: string, runId?: string): Promise<void>;

  /**
   * Starts the teardown workflow that removes every container of a stack.
   *
   * @throws StackBusyError when a teardown of the same stack is still running.
   * @throws SearchAttributeNotRegisteredError when Temporal rejects the search attributes.
   */
  teardown(stackName: string, teardownId: string, options?: TeardownOptions): Promise<WorkflowRef>;

  /** Waits for a teardown workflow to finish and returns what it removed. */
  waitTeardown?(workflowId: string, runId?: string): Promise<TeardownResult>;
}

export interface TemporalDeployerOptions {
  /** Task queue the worker polls. Default: TASK_QUEUE from workflows/contract.ts. */
  taskQueue?: string;
  /** Deadline for a progress query, in milliseconds. Default: 5000. */
  queryTimeoutMs?: number;
  /** Receives a debug line for each failed progress query. Default: no logging. */
  logger?: Logger;
  /**
   * Start workflows with the GraphiumStack and GraphiumOutcome search attributes, which the
   * Temporal namespace must have registered as Keyword. Default: true.
   */
  searchAttributes?: boolean;
  /** Step deadlines given to each deploy. Default: the workflow's DEFAULT_DEADLINES. */
  deadlines?: StepDeadlines;
}

/** A `Deployer` backed by a Temporal `Client`. */
export class TemporalDeployer implements Deployer {
  private readonly taskQueue: string;
  private readonly queryTimeoutMs: number;
  private readonly logger?: Logger;
  private readonly deadlines?: StepDeadlines;
  private readonly searchAttributes: boolean;

  constructor(
    private readonly client: Client,
    options: TemporalDeployerOptions = {},
  ) {
    this.taskQueue = options.taskQueue ?? TASK_QUEUE;
    this.queryTimeoutMs = options.queryTimeoutMs ?? 5000;
    this.logger = options.logger;
    this.deadlines = options.deadlines;
    this.searchAttributes = options.searchAttributes ?? true;
  }

  async start(request: { deploymentId: string; stack: StackSpec }): Promise<WorkflowRef> {
    const workflowId = deployWorkflowId(request.stack.name);
    const input: DeployInput = this.deadlines ? { ...request, deadlines: this.deadlines } : request;
    return this.startOnce(DEPLOY_WORKFLOW_TYPE, workflowId, input, input.stack.name, 'deploy');
  }

  /** Starts a workflow unless one with the same id runs, which is how one stack gets one deploy at a time. */
  private async startOnce(
    type: string,
    workflowId: string,
    input: DeployInput | TeardownInput,
    stackName: string,
    operation: 'deploy' | 'teardown',
  ): Promise<WorkflowRef> {
    const outcome: WorkflowOutcome = operation === 'deploy' ? 'deploying' : 'removing';
    try {
      const handle = await this.client.workflow.start(type, {
        taskQueue: this.taskQueue,
        workflowId,
        args: [input],
        workflowIdConflictPolicy: 'FAIL',
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
        ...(this.searchAttributes ? { typedSearchAttributes: startAttributes(stackName, outcome) } : {}),
        // The memo names the deployment, so a rejected second start can name the one that runs.
        ...('deploymentId' in input ? { memo: { deploymentId: input.deploymentId } } : {}),
      });
      return { workflowId, runId: handle.firstExecutionRunId };
    } catch (error) {
      if (error instanceof WorkflowExecutionAlreadyStartedError) {
        const runningDeploymentId = await this.runningDeploymentId(workflowId);
        throw new StackBusyError({ stackName, workflowId, operation, runningDeploymentId }, { cause: error });
      }
      const rejection = rejectedSearchAttribute(error);
      if (rejection) {
        const namespace = this.client.options.namespace;
        throw new SearchAttributeNotRegisteredError(
          { ...rejection, namespace, workflowId },
          { cause: error },
        );
      }
      throw error;
    }
  }

  /** Reads the deployment id from the memo of the workflow's running execution, when it has one. */
  private async runningDeploymentId(workflowId: string): Promise<string | undefined> {
    try {
      const description = await this.client.workflow.getHandle(workflowId).describe();
      const id = description.memo?.deploymentId;
      return typeof id === 'string' ? id : undefined;
    } catch {
      return undefined;
    }
  }

  async progress(workflowId: string, runId?: string): Promise<DeploymentProgress | undefined> {
    const handle = this.client.workflow.getHandle(workflowId, runId);
    const deadline = Date.now() + this.queryTimeoutMs;
    try {
      // A query on a closed workflow makes a worker replay its whole history, and the
      // database row already has the outcome, so only running workflows are queried.
      const description = await this.client.withDeadline(deadline, () => handle.describe());
      if (description.status.name !== 'RUNNING') return undefined;
      return await this.client.withDeadline(deadline, () => handle.query(progressQuery));
    } catch (error) {
      // Progress is optional in every response, so the caller falls back to the database row.
      this.logger?.debug({ err: error, workflowId, runId }, 'progress query failed');
      return undefined;
    }
  }

  async describe(workflowId: string, runId?: string): Promise<string> {
    const description = await this.client.workflow.getHandle(workflowId, runId).describe();
    return description.status.name;
  }

  async cancel(workflowId: string, runId?: string): Promise<void> {
    const handle = this.client.workflow.getHandle(workflowId, runId);
    try {
      // Temporal Server 1.32 (temporal CLI 1.9.1) accepts a cancel request for a closed run
      // without an error, so the status is checked first to report that nothing was cancelled.
      const description = await handle.describe();
      if (description.status.name !== 'RUNNING') throw new WorkflowClosedError(workflowId);
      await handle.cancel();
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) {
        throw new WorkflowClosedError(workflowId, { cause: error });
      }
      throw error;
    }
  }

  async teardown(stackName: string, teardownId: string, options: TeardownOptions = {}): Promise<WorkflowRef> {
    const input: TeardownInput = { teardownId, stackName, keepVolumes: options.keepVolumes ?? false };
    return this.startOnce(
      TEARDOWN_WORKFLOW_TYPE,
      teardownWorkflowId(stackName),
      input,
      stackName,
      'teardown',
    );
  }

  async waitTeardown(workflowId: string, runId?: string): Promise<TeardownResult> {
    const handle = this.client.workflow.getHandle<() => Promise<TeardownResult>>(workflowId, runId);
    return handle.result();
  }
}

function startAttributes(stackName: string, outcome: WorkflowOutcome): SearchAttributePair[] {
  return [
    { key: STACK_ATTRIBUTE, value: stackSlug(stackName) },
    { key: OUTCOME_ATTRIBUTE, value: outcome },
  ];
}

/** gRPC status code INVALID_ARGUMENT. */
const GRPC_INVALID_ARGUMENT = 3;

/**
 * Returns the Graphium search attribute that a start request was rejected for, with the server's
 * message, or undefined. Temporal Server 1.32 rejects an unregistered attribute with
 * INVALID_ARGUMENT and "Namespace default has no mapping defined for search attribute
 * GraphiumStack". Only the attribute's name in that message is relied on, not its wording.
 */
function rejectedSearchAttribute(error: unknown): { attribute: string; serverMessage: string } | undefined {
  if (!(error instanceof ServiceError)) return undefined;
  const cause = error.cause;
  if (!isGrpcServiceError(cause) || cause.code !== GRPC_INVALID_ARGUMENT) return undefined;
  const serverMessage = cause.details ?? cause.message;
  const attribute = SEARCH_ATTRIBUTES.map((key) => key.name).find((name) =>
    new RegExp(`\\b${name}\\b`).test(serverMessage),
  );
  return attribute ? { attribute, serverMessage } : undefined;
}

/** Creates the Temporal-backed `Deployer`. */
export function createTemporalDeployer(client: Client, options?: TemporalDeployerOptions): Deployer {
  return new TemporalDeployer(client, options);
}
