/** The dependencies every route module receives, and the Hono environment they share. */
import type { RequestIdVariables } from 'hono/request-id';
import type { Database } from '../db/client';
import type { Logger } from '../lib/logger';
import type { Deployer } from './deployer';

export interface AppDeps {
  db: Database;
  logger: Logger;
  deployer: Deployer;
  /** Base URL of the Temporal web UI, without a trailing slash, for links in responses. */
  temporalUiUrl: string;
  /** Temporal namespace of the workflows, for links in responses. */
  namespace: string;
}

export interface AppEnv {
  Variables: RequestIdVariables;
}
