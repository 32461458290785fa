/**
 * Service configuration read from environment variables. Every variable has a default
 * except the optional connection settings, and an invalid value fails at startup with
 * a message that names the variable.
 */
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parseTokens, type ApiToken } from '../api/auth';
import { DEFAULT_SESSION_SECONDS } from '../api/session';
import { DEFAULT_WEIGHTS, type PlacementWeights } from '../core/placement';
import { parseCodecKeys, type CodecKey } from './codec';
import { parseSessionKey } from './session-key';
import { DEFAULT_DEADLINES, type StepDeadlines } from '../workflows/contract';

/** Log levels pino accepts, plus `silent` for tests. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Config {
  /** Directory for local state such as the embedded database. Default: `.data` under the cwd. */
  dataDir: string;
  /** PostgreSQL connection string; absent means the embedded PGlite at `<dataDir>/pglite`. */
  databaseUrl?: string;
  /** Temporal frontend as `host:port`; absent means the project starts a dev server. */
  temporalAddress?: string;
  /** Default: `default`. */
  temporalNamespace: string;
  /** Port the HTTP API listens on. Default: 8080. */
  port: number;
  /** Address the HTTP API binds to. Default: 127.0.0.1. */
  host: string;
  /** Base URL of the Temporal web UI, without a trailing slash. Default: http://127.0.0.1:8233. */
  temporalUiUrl: string;
  /**
   * Origins of the Temporal UI pages that may call the codec endpoint from a browser, from
   * GRAPHIUM_TEMPORAL_UI_ORIGINS. Absent: the origin of the Temporal UI the service uses, which is
   * the dev server's when the service starts one.
   */
  temporalUiOrigins?: string[];
  /** Default: `info`. */
  logLevel: LogLevel;
  /** Weights of the placement score parts. Default: 1 each. */
  placementWeights: PlacementWeights;
  /** How long deployment steps retry against a host that does not respond. Default: DEFAULT_DEADLINES. */
  deadlines: Required<StepDeadlines>;
  /**
   * Start workflows with the GraphiumStack and GraphiumOutcome search attributes. Default: true.
   * Turn it off for a Temporal server that has not registered them.
   */
  searchAttributes: boolean;
  /** Fault injection for tests: activity name to milliseconds its reply is held back. Default: none. */
  replyDelays: Record<string, number>;
  /**
   * Keys that encrypt Temporal payloads, from GRAPHIUM_CODEC_KEYS; the first encrypts. Absent: the
   * service uses `<dataDir>/codec-keys`, creating it on first start (see lib/codec-keys.ts).
   */
  codecKeys?: CodecKey[];
  /**
   * Bearer tokens of the API, from GRAPHIUM_API_TOKENS or the file GRAPHIUM_API_TOKENS_FILE.
   * Absent: the service uses the token in `<dataDir>/api-token`, creating it on first start.
   */
  apiTokens?: ApiToken[];
  /**
   * Key that signs login sessions, from GRAPHIUM_SESSION_KEY. Absent: the service uses
   * `<dataDir>/session-key`, creating it on first start (see lib/session-key.ts).
   */
  sessionKey?: Buffer;
  /** Seconds a login lasts, from GRAPHIUM_SESSION_SECONDS. Default: 43200 (12 hours). */
  sessionSeconds: number;
}

/** Raised when an environment variable contains a value the service cannot use. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

const postgresUrl = z
  .string()
  .regex(/^postgres(ql)?:\/\/.+/, 'must be a postgres:// or postgresql:// connection string');

const hostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'must be host:port, such as 127.0.0.1:7233');

const tcpPort = z.coerce
  .number({ error: 'must be a number' })
  .int('must be an integer')
  .min(1, 'must be from 1 to 65535')
  .max(65535, 'must be from 1 to 65535');

const seconds = z.coerce
  .number({ error: 'must be a number of seconds' })
  .int('must be a whole number of seconds')
  .min(1, 'must be from 1 to 86400 seconds')
  .max(86_400, 'must be from 1 to 86400 seconds');

/** Maximum login session lifetime: 30 days, in seconds. */
const MAX_SESSION_SECONDS = 30 * 86_400;

const sessionSeconds = z.coerce
  .number({ error: 'must be a number of seconds' })
  .int('must be a whole number of seconds')
  .min(60, `must be from 60 to ${MAX_SESSION_SECONDS} seconds (30 days)`)
  .max(MAX_SESSION_SECONDS, `must be from 60 to ${MAX_SESSION_SECONDS} seconds (30 days)`);

/** Reads a base64 key; the message never contains the key. */
const sessionKey = z.string().transform((text, context): Buffer => {
  try {
    return parseSessionKey(text);
  } catch (error) {
    context.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});

/** Reads comma-separated origins such as `http://127.0.0.1:8233`, each without a path. */
const origins = z.string().transform((text, context): string[] => {
  const entries = text
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  const parsed: string[] = [];
  for (const entry of entries) {
    const origin = originOf(entry);
    if (!origin) {
      context.addIssue({
        code: 'custom',
        message: `must be comma-separated origins such as http://127.0.0.1:8233, each a scheme, host and port without a path; ${JSON.stringify(entry)} is not one`,
      });
      return z.NEVER;
    }
    parsed.push(origin);
  }
  return parsed;
});

/** Returns the origin `text` names, or undefined when it is not an http(s) origin alone. */
function originOf(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  const bare = url.pathname === '/' && !url.search && !url.hash && !url.username && !url.password;
  const http = url.protocol === 'http:' || url.protocol === 'https:';
  return bare && http ? url.origin : undefined;
}

/** Reads `name:role:secret` entries; the message of a bad entry never contains a secret. */
const apiTokens = z.string().transform((text, context): ApiToken[] => {
  try {
    return parseTokens(text);
  } catch (error) {
    context.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});

/** Reads `id:base64key` entries; the message of a bad entry never contains key material. */
const codecKeys = z.string().transform((text, context): CodecKey[] => {
  try {
    return parseCodecKeys(text);
  } catch (error) {
    context.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});

/** Reads `ensureImage=1500,startContainer=800`: activity names and milliseconds. */
const replyDelays = z.string().transform((text, context): Record<string, number> => {
  const delays: Record<string, number> = {};
  for (const part of text.split(',')) {
    const [name, value, extra] = part.split('=').map((piece) => piece.trim());
    const ms = Number(value);
    if (!name || !/^[A-Za-z]+$/.test(name) || extra !== undefined || !Number.isInteger(ms) || ms < 0) {
      context.addIssue({
        code: 'custom',
        message: 'must be comma-separated activity=milliseconds pairs, such as ensureImage=1500',
      });
      return z.NEVER;
    }
    delays[name] = ms;
  }
  return delays;
});

const WEIGHT_KEYS = ['cpu', 'memory', 'containers'] as const;

/** Reads `cpu=1,memory=2,containers=0.5`; a part left out keeps its default weight. */
const placementWeights = z.string().transform((text, context): PlacementWeights => {
  const weights = { ...DEFAULT_WEIGHTS };
  for (const part of text.split(',')) {
    const [key, value, extra] = part.split('=').map((piece) => piece.trim());
    const weight = Number(value);
    const known = (WEIGHT_KEYS as readonly string[]).includes(key);
    if (!known || extra !== undefined || value === '' || !Number.isFinite(weight) || weight < 0) {
      context.addIssue({
        code: 'custom',
        message: `must be comma-separated weights such as cpu=1,memory=1,containers=1, each 0 or more`,
      });
      return z.NEVER;
    }
    weights[key as keyof PlacementWeights] = weight;
  }
  return weights;
});

const httpUrl = z
  .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
  .transform((url) => url.replace(/\/+$/, ''));

/** Keyed by the environment variable name, so each issue path is the variable itself. */
const environmentSchema = z.object({
  GRAPHIUM_DATA_DIR: z.string().optional(),
  DATABASE_URL: postgresUrl.optional(),
  TEMPORAL_ADDRESS: hostPort.optional(),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  GRAPHIUM_PORT: tcpPort.default(8080),
  GRAPHIUM_HOST: z.string().default('127.0.0.1'),
  TEMPORAL_UI_URL: httpUrl.default('http://127.0.0.1:8233'),
  GRAPHIUM_TEMPORAL_UI_ORIGINS: origins.optional(),
  LOG_LEVEL: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
  GRAPHIUM_PLACEMENT_WEIGHTS: placementWeights.optional(),
  GRAPHIUM_TEST_REPLY_DELAYS: replyDelays.optional(),
  GRAPHIUM_CODEC_KEYS: codecKeys.optional(),
  GRAPHIUM_API_TOKENS: apiTokens.optional(),
  GRAPHIUM_API_TOKENS_FILE: z.string().optional(),
  GRAPHIUM_SESSION_KEY: sessionKey.optional(),
  GRAPHIUM_SESSION_SECONDS: sessionSeconds.default(DEFAULT_SESSION_SECONDS),
  GRAPHIUM_HOST_DEADLINE_SECONDS: seconds.default(DEFAULT_DEADLINES.hostSeconds),
  GRAPHIUM_UNDO_DEADLINE_SECONDS: seconds.default(DEFAULT_DEADLINES.undoSeconds),
  GRAPHIUM_RECONCILE_RETRY_SECONDS: seconds.default(DEFAULT_DEADLINES.reconcileRetrySeconds),
  GRAPHIUM_SEARCH_ATTRIBUTES: z.enum(['on', 'off'], { error: 'must be on or off' }).default('on'),
});

/** Drops empty values, because `VAR=` in a shell or an env file means "use the default". */
function withoutEmptyValues(env: NodeJS.ProcessEnv): Record<string, string> {
  const entries = Object.entries(env).filter(([, value]) => value !== undefined && value !== '');
  return Object.fromEntries(entries) as Record<string, string>;
}

/** Variables whose value may carry a password, so messages never echo them. */
const SECRET_VARIABLES = new Set([
  'GRAPHIUM_CODEC_KEYS',
  'DATABASE_URL',
  'GRAPHIUM_API_TOKENS',
  'GRAPHIUM_SESSION_KEY',
]);

function describeIssues(error: z.ZodError, env: Record<string, string>): string {
  const sentences = error.issues.map((issue) => {
    const variable = String(issue.path[0]);
    const value = env[variable];
    const hidden = value === undefined || SECRET_VARIABLES.has(variable);
    const got = hidden ? '' : ` (got ${JSON.stringify(value)})`;
    return `${variable} ${issue.message}${got}.`;
  });
  return `Invalid configuration. ${sentences.join(' ')}`;
}

/**
 * Reads the configuration from `env`, filling in defaults.
 *
 * @param env - Variables to read. Default: `process.env`.
 * @param cwd - Base for the default and relative data directory. Default: `process.cwd()`.
 * @throws ConfigError naming every invalid variable.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): Config {
  const present = withoutEmptyValues(env);
  const parsed = environmentSchema.safeParse(present);
  if (!parsed.success) throw new ConfigError(describeIssues(parsed.error, present));

  const values = parsed.data;
  return {
    dataDir: path.resolve(cwd, values.GRAPHIUM_DATA_DIR ?? '.data'),
    databaseUrl: values.DATABASE_URL,
    temporalAddress: values.TEMPORAL_ADDRESS,
    temporalNamespace: values.TEMPORAL_NAMESPACE,
    port: values.GRAPHIUM_PORT,
    host: values.GRAPHIUM_HOST,
    temporalUiUrl: values.TEMPORAL_UI_URL,
    temporalUiOrigins: values.GRAPHIUM_TEMPORAL_UI_ORIGINS,
    logLevel: values.LOG_LEVEL,
    placementWeights: values.GRAPHIUM_PLACEMENT_WEIGHTS ?? DEFAULT_WEIGHTS,
    replyDelays: values.GRAPHIUM_TEST_REPLY_DELAYS ?? {},
    codecKeys: values.GRAPHIUM_CODEC_KEYS,
    apiTokens: values.GRAPHIUM_API_TOKENS ?? readTokensFile(values.GRAPHIUM_API_TOKENS_FILE, cwd),
    sessionKey: values.GRAPHIUM_SESSION_KEY,
    sessionSeconds: values.GRAPHIUM_SESSION_SECONDS,
    deadlines: {
      hostSeconds: values.GRAPHIUM_HOST_DEADLINE_SECONDS,
      undoSeconds: values.GRAPHIUM_UNDO_DEADLINE_SECONDS,
      reconcileRetrySeconds: values.GRAPHIUM_RECONCILE_RETRY_SECONDS,
    },
    searchAttributes: values.GRAPHIUM_SEARCH_ATTRIBUTES === 'on',
  };
}

/** Reads the tokens file named by GRAPHIUM_API_TOKENS_FILE, or returns undefined when none is named. */
function readTokensFile(file: string | undefined, cwd: string): ApiToken[] | undefined {
  if (file === undefined) return undefined;
  const resolved = path.resolve(cwd, file);
  let text: string;
  try {
    text = readFileSync(resolved, 'utf8');
  } catch (error) {
    throw new ConfigError(`GRAPHIUM_API_TOKENS_FILE: cannot read ${resolved}: ${(error as Error).message}`);
  }
  try {
    return parseTokens(text);
  } catch (error) {
    throw new ConfigError(`GRAPHIUM_API_TOKENS_FILE (${resolved}): ${(error as Error).message}`);
  }
}
