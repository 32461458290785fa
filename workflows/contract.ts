/**
 * Names and types shared by the workflows, the worker and the API client.
 * Keep this module free of I/O: the workflow bundle imports it.
 */
import { defineQuery } from '@temporalio/workflow';
import type { StackSpec } from '../core/model';
import { stackSlug } from '../core/names';

export const TASK_QUEUE = 'graphium-deploy';

/** Derives the deploy workflow id from the stack, so Temporal rejects a second deploy while the first runs. */
export function deployWorkflowId(stackName: string): string {
  return `graphium-deploy-${stackSlug(stackName)}`;
}

/** Returns the key of one image on one host, such as `host1 postgres:16`. Host names contain no spaces. */
export function imageKey(host: string, image: string): string {
  return `${host} ${image}`;
}

export function teardownWorkflowId(stackName: string): string {
  return `graphium-teardown-${stackSlug(stackName)}`;
}

export interface DeployInput {
  deploymentId: string;
  stack: StackSpec;
  /** How long steps may retry against a host; absent in deployments started before it existed. */
  deadlines?: StepDeadlines;
}

/** How long a deployment's steps keep retrying against a host that does not respond. */
export interface StepDeadlines {
  /** A forward step (image, container, network, volume) on one host. Default: 120. */
  hostSeconds?: number;
  /** One undo step of a rollback. Default: 300. */
  undoSeconds?: number;
  /** Maximum pause between attempts of a reconciliation that waits for a host to return. Default: 60. */
  reconcileRetrySeconds?: number;
}

export type ResolvedDeadlines = Required<StepDeadlines>;

export const DEFAULT_DEADLINES: ResolvedDeadlines = {
  hostSeconds: 120,
  undoSeconds: 300,
  reconcileRetrySeconds: 60,
};

/** Failure type of a Docker call that got no response from its host. Activities raise it as retryable. */
export const HOST_UNREACHABLE = 'HostUnreachable';

/** Failure type of a step whose host stayed unreachable past the step's deadline. */
export const HOST_FAILED = 'HostFailed';

/** First entry of the failure chain of a deployment that was cancelled, by request or by a teardown. */
export const CANCELLED_ON_REQUEST = 'the deployment was cancelled on request';

export type ServiceStep =
  | 'pending'
  | 'preparing image'
  | 'starting'
  | 'waiting for health'
  | 'running actions'
  | 'running'
  | 'healthy'
  | 'failed'
  | 'removing'
  | 'removed';

export interface PublishedPort {
  containerPort: number;
  hostPort: number;
  protocol: 'tcp' | 'udp';
}

export interface Connection {
  name: string;
  address: string;
  port?: number;
}

/** The state of one post-start action of a service. */
export interface ActionProgress {
  name: string;
  /** Service whose container runs the command. */
  target: string;
  status: 'pending' | 'running' | 'succeeded' | 'failed';
  exitCode?: number;
  /** The end of the command's stdout and stderr, or why it could not run. */
  output?: string;
}

export interface ServiceProgress {
  service: string;
  step: ServiceStep;
  host?: string;
  hostAddress?: string;
  containerId?: string;
  containerName?: string;
  ports: PublishedPort[];
  connections: Connection[];
  /** Last health output or failure message, when there is one. */
  detail?: string;
  /** Post-start actions in the order they run; absent for services without actions and in older outcomes. */
  actions?: ActionProgress[];
}

export type DeploymentPhase =
  'planning' | 'deploying' | 'running' | 'rolling back' | 'rolled back' | 'cancelled';

export interface DeploymentProgress {
  deploymentId: string;
  phase: DeploymentPhase;
  /** Index of the dependency wave being deployed, from 0. */
  wave: number;
  waves: string[][];
  services: ServiceProgress[];
  /** The stack's networks and volumes per host; absent for stacks without them. */
  resources?: (StackResource & { external: boolean; created: boolean })[];
}

export const progressQuery = defineQuery<DeploymentProgress>('progress');

export interface TeardownInput {
  teardownId: string;
  stackName: string;
  /** Keep the stack's volumes and their data; networks are removed either way. Default: false. */
  keepVolumes?: boolean;
}

/** A network or volume of a stack on one host, by its Docker name. */
export interface StackResource {
  kind: 'network' | 'volume';
  host: string;
  name: string;
}

export interface TeardownResult {
  removed: { host: string; containerName: string }[];
  /** Containers that could not be removed, with the reason. */
  failed: { host: string; containerName: string; error: string }[];
  /** Networks and volumes removed after the containers; absent in results of older teardowns. */
  removedResources?: StackResource[];
  /** Networks and volumes that could not be removed, with the reason. */
  failedResources?: (StackResource & { error: string })[];
  /** Volumes left in place because the teardown asked to keep them. */
  keptVolumes?: StackResource[];
}

/**
 * Failure types that retrying cannot fix. Activities raise them as non-retryable, except
 * HostTlsFailed: the deploy and rollback steps list it as non-retryable by type, and a
 * reconciliation retries it until the host's TLS files or daemon are fixed.
 */
export const ERROR_TYPES = {
  imageNotFound: 'ImageNotFound',
  portAllocated: 'PortAllocated',
  nameConflict: 'NameConflict',
  invalidSpec: 'InvalidSpec',
  healthTimeout: 'HealthTimeout',
  containerExited: 'ContainerExited',
  placementFailed: 'PlacementFailed',
  hostNotFound: 'HostNotFound',
  /** A host's TLS files are unusable, or the TLS handshake with its daemon failed. */
  hostTlsFailed: 'HostTlsFailed',
  resourceConflict: 'ResourceConflict',
  resourceNotFound: 'ResourceNotFound',
  resourceInUse: 'ResourceInUse',
  actionFailed: 'ActionFailed',
  actionTimeout: 'ActionTimedOut',
  deploymentFailed: 'DeploymentRolledBack',
} as const;
