import { index, integer, jsonb, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';
import type { DockerEndpoint, StackIssue, StackSpec } from '../core/model';

/** Registered Docker hosts. */
export const hosts = pgTable('hosts', {
  name: text('name').primaryKey(),
  docker: jsonb('docker').$type<DockerEndpoint>().notNull(),
  address: text('address').notNull(),
  datacenter: text('datacenter').notNull().default('default'),
  labels: jsonb('labels').$type<Record<string, string>>().notNull().default({}),
  imagePull: text('image_pull').$type<'missing' | 'never'>().notNull().default('missing'),
  status: text('status').$type<'active' | 'inactive'>().notNull().default('active'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

export const DEPLOYMENT_STATUSES = [
  'accepted',
  'deploying',
  'running',
  'rolled_back',
  'cancelled',
  /** The deploy workflow ended, terminated or timed out, without recording an outcome. */
  'failed',
  'removing',
  'removed',
] as const;
export type DeploymentStatus = (typeof DEPLOYMENT_STATUSES)[number];

/** One row per deploy request; the stack's current state is its newest deployment. */
export const deployments = pgTable(
  'deployments',
  {
    id: text('id').primaryKey(),
    stackName: text('stack_name').notNull(),
    stackSlug: text('stack_slug').notNull(),
    workflowId: text('workflow_id').notNull(),
    runId: text('run_id'),
    status: text('status').$type<DeploymentStatus>().notNull(),
    strategy: text('strategy').notNull(),
    spec: jsonb('spec').$type<StackSpec>().notNull(),
    warnings: jsonb('warnings').$type<StackIssue[]>().notNull().default([]),
    /** The placement plan: chosen host per service with the reasons. */
    placement: jsonb('placement'),
    /** The failure cause chain, outermost first, when the deployment did not reach running. */
    failure: jsonb('failure').$type<string[]>(),
    /** Report of the rollback: the containers it removed and those it could not remove. */
    compensation: jsonb('compensation'),
    /** The stack's networks and volumes per host, with whether this deployment created them. */
    resources: jsonb('resources').$type<unknown[]>(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (table) => [index('deployments_stack_slug_idx').on(table.stackSlug, table.createdAt)],
);

/** The host map: where each service of a deployment runs and what it is wired to. */
export const deploymentContainers = pgTable(
  'deployment_containers',
  {
    deploymentId: text('deployment_id')
      .notNull()
      .references(() => deployments.id, { onDelete: 'cascade' }),
    service: text('service').notNull(),
    hostName: text('host_name').notNull(),
    hostAddress: text('host_address').notNull(),
    containerId: text('container_id').notNull(),
    containerName: text('container_name').notNull(),
    image: text('image').notNull(),
    /** Published ports as `{ containerPort, hostPort, protocol }`. */
    ports: jsonb('ports').$type<{ containerPort: number; hostPort: number; protocol: string }[]>().notNull(),
    /** The dependencies this container was wired to, with the address and port it received. */
    connections: jsonb('connections').$type<{ name: string; address: string; port?: number }[]>().notNull(),
    health: text('health').notNull(),
    position: integer('position').notNull(),
    /** Post-start actions run in this container's service, with exit code and the end of their output. */
    actions: jsonb('actions').$type<unknown[]>().notNull().default([]),
  },
  (table) => [primaryKey({ columns: [table.deploymentId, table.service] })],
);
