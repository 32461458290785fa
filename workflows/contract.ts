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

export function teardownWorkflowId(stackName: string): string {
  return `graphium-teardown-${stackSlug(stackName)}`;
}

export interface DeployInput {
  deploymentId: string;
  stack: StackSpec;
}

export type ServiceStep =
  | 'pending'
  | 'preparing image'
  | 'starting'
  | 'waiting for health'
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
}

export const progressQuery = defineQuery<DeploymentProgress>('progress');

export interface TeardownInput {
  teardownId: string;
  stackName: string;
}

export interface TeardownResult {
  removed: { host: string; containerName: string }[];
  /** Containers that could not be removed, with the reason. */
  failed: { host: string; containerName: string; error: string }[];
}

/** Failure types that retrying cannot fix; activities raise them as non-retryable. */
export const ERROR_TYPES = {
  imageNotFound: 'ImageNotFound',
  portAllocated: 'PortAllocated',
  nameConflict: 'NameConflict',
  invalidSpec: 'InvalidSpec',
  healthTimeout: 'HealthTimeout',
  containerExited: 'ContainerExited',
  placementFailed: 'PlacementFailed',
  hostNotFound: 'HostNotFound',
  deploymentFailed: 'DeploymentRolledBack',
} as const;
