/**
 * The typed data access the API and the Temporal activities share. Every function takes
 * the drizzle `Database` from `openDatabase` as its first argument.
 */
export * from './hosts';
export * from './deployments';
export * from './deployment-containers';
export * from './errors';
export type { Database } from './client';
