/** The dependencies every route module receives, and the Hono environment they share. */
import type { PayloadCodec } from '@temporalio/common';
import type { RequestIdVariables } from 'hono/request-id';
import type { Database } from '../db/client';
import type { Logger } from '../lib/logger';
import type { HostFacts, HostRecord } from '../core/model';
import type { PlacementWeights } from '../core/placement';
import type { ApiToken } from './auth';
import type { Deployer } from './deployer';
import type { SessionOptions } from './session';

/** Result of asking a newly registered host's Docker daemon for its version. */
export interface DaemonCheck {
  reachable: boolean;
  version?: string;
  apiVersion?: string;
  error?: string;
  /** `tls` when a TLS failure is the reason the daemon could not be used, else `unreachable`. */
  errorKind?: 'tls' | 'unreachable';
}

export interface AppDeps {
  db: Database;
  logger: Logger;
  deployer: Deployer;
  /** Base URL of the Temporal web UI, without a trailing slash, for links in responses. */
  temporalUiUrl: string;
  /**
   * Origins, such as `http://127.0.0.1:8233`, of the Temporal UI pages that may call `/codec/*`
   * from a browser. Default: the origin of `temporalUiUrl`.
   */
  temporalUiOrigins?: readonly string[];
  /** Temporal namespace of the workflows, for links in responses. */
  namespace: string;
  /** Asks a newly registered host's daemon for its version. Default: a real Docker call. */
  checkDaemon?: (host: Pick<HostRecord, 'name' | 'docker'>) => Promise<DaemonCheck>;
  /** Reads live host facts for placement. Default: the Docker API of each host, cached briefly. */
  gatherFacts?: (hosts: readonly HostRecord[]) => Promise<Record<string, HostFacts>>;
  /** Weights of the placement score. Default: DEFAULT_WEIGHTS. */
  placementWeights?: PlacementWeights;
  /** Encrypts and decrypts Temporal payloads for `/codec`. Default: none, so `/codec` returns 503. */
  payloadCodec?: PayloadCodec;
  /**
   * Bearer tokens the API accepts. The service always sets them; leaving them out turns
   * authentication off, which only tests of other concerns do.
   */
  apiTokens?: readonly ApiToken[];
  /**
   * Signing key and lifetime of the sessions that `POST /login` issues. Default: none, so the
   * login routes are absent and the session cookie is ignored.
   */
  sessions?: SessionOptions;
}

export interface AppEnv {
  Variables: RequestIdVariables & {
    /** Name of the token that authenticated the request. */
    tokenName?: string;
    /** Carrier of the request's token: the Authorization header or the session cookie. */
    authMethod?: 'bearer' | 'session';
  };
}
