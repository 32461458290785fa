/**
 * Starts Graphium's parts in one process: the Temporal dev server when no
 * TEMPORAL_ADDRESS is configured, the database, the worker and the HTTP API.
 * `api` and `worker` pick which of the two run here, so one command serves the
 * embedded default and each part can also run as its own process.
 */
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { createApp } from '../api/app';
import { localToken, type ApiToken } from '../api/auth';
import { createTemporalDeployer } from '../api/deployer';
import { startApiServer, type ApiServer } from '../api/server';
import { openDatabase, type DatabaseHandle } from '../db/client';
import { AesGcmPayloadCodec } from './codec';
import { resolveCodecKeys } from './codec-keys';
import type { Config } from './config';
import { createLogger, type Logger } from './logger';
import { resolveSessionKey } from './session-key';
import { startTemporalDevServer, type DevServer } from './temporal-dev';
import { createWorker, installRuntime, type GraphiumWorker } from './worker';

export interface ServiceOptions {
  config: Config;
  api: boolean;
  worker: boolean;
  logger?: Logger;
}

export interface RunningService {
  apiUrl?: string;
  /** A token the API accepts with role admin, for callers in this process such as the demo. */
  apiToken?: string;
  temporalAddress: string;
  temporalUiUrl: string;
  database: DatabaseHandle;
  client: Client;
  logger: Logger;
  /** Stop every part this process started, in reverse order of starting. */
  stop(): Promise<void>;
}

export async function startService(options: ServiceOptions): Promise<RunningService> {
  const { config } = options;
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const step of stops.reverse()) {
      await step().catch((error) => logger.error({ err: error }, 'shutdown step failed'));
    }
  };

  // The SDK's runtime is installed with the first connection, so route its logs first.
  if (options.worker) installRuntime(logger);

  try {
    let temporalAddress = config.temporalAddress;
    let temporalUiUrl = config.temporalUiUrl;
    if (!temporalAddress) {
      // The dev server's UI decodes payloads through the API this process serves, if it serves one.
      const uiCodecEndpoint = options.api ? codecEndpointUrl(config.host, config.port) : undefined;
      const server: DevServer = await startTemporalDevServer({
        dataDir: join(config.dataDir, 'temporal'),
        logger,
        uiCodecEndpoint,
      });
      stops.push(server.stop);
      temporalAddress = server.address;
      temporalUiUrl = server.uiUrl;
      logger.info(
        { address: temporalAddress, ui: temporalUiUrl, codecEndpoint: uiCodecEndpoint },
        'started the Temporal dev server',
      );
    }

    const database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
    stops.push(database.close);

    const connection = await Connection.connect({ address: temporalAddress });
    stops.push(() => connection.close());
    // The worker, the API's client and the codec endpoint must share keys, or payloads one writes
    // cannot be read by the others.
    const codecKeys = resolveCodecKeys({ configured: config.codecKeys, dataDir: config.dataDir, logger });
    const payloadCodec = new AesGcmPayloadCodec(codecKeys);
    const dataConverter = { payloadCodecs: [payloadCodec] };
    const client = new Client({ connection, namespace: config.temporalNamespace, dataConverter });

    let worker: GraphiumWorker | undefined;
    if (options.worker) {
      worker = await createWorker({
        address: temporalAddress,
        namespace: config.temporalNamespace,
        db: database.db,
        placementWeights: config.placementWeights,
        replyDelays: config.replyDelays,
        dataConverter,
      });
      const running = worker.run();
      running.catch((error) => logger.fatal({ err: error }, 'worker stopped with an error'));
      stops.push(worker.shutdown);
      logger.info({ taskQueue: worker.worker.options.taskQueue }, 'worker running');
    }

    let api: ApiServer | undefined;
    let apiToken: string | undefined;
    if (options.api) {
      const apiTokens = resolveTokens(config, logger);
      apiToken = apiTokens.find((token) => token.role === 'admin')?.secret;
      const app = createApp({
        db: database.db,
        logger,
        deployer: createTemporalDeployer(client, {
          deadlines: config.deadlines,
          searchAttributes: config.searchAttributes,
        }),
        temporalUiUrl,
        temporalUiOrigins: config.temporalUiOrigins,
        namespace: config.temporalNamespace,
        placementWeights: config.placementWeights,
        apiTokens,
        sessions: {
          key: resolveSessionKey({ configured: config.sessionKey, dataDir: config.dataDir, logger }),
          lifetimeSeconds: config.sessionSeconds,
        },
        payloadCodec,
      });
      api = await startApiServer(app, { host: config.host, port: config.port });
      stops.push(api.close);
      logger.info({ url: api.url }, 'API listening');
    }

    return { apiUrl: api?.url, apiToken, temporalAddress, temporalUiUrl, database, client, logger, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Returns the codec URL that a browser on this machine uses for the API listening on `host`. A
 * wildcard address becomes 127.0.0.1, the address of the dev server's UI, so that the UI and the
 * API are the same site and the browser sends the session cookie to the codec.
 */
export function codecEndpointUrl(host: string, port: number): string {
  const browserHost = host === '' || host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  const literal = browserHost.includes(':') ? `[${browserHost}]` : browserHost;
  return `http://${literal}:${port}/codec`;
}

/** Returns the configured API tokens, or the local token of the data directory when none are. */
function resolveTokens(config: Config, logger: Logger): ApiToken[] {
  if (config.apiTokens && config.apiTokens.length > 0) return config.apiTokens;
  const token = localToken(config.dataDir);
  logger.info(
    { file: join(config.dataDir, 'api-token') },
    'no GRAPHIUM_API_TOKENS configured; the API accepts the admin token in this file',
  );
  return [token];
}
