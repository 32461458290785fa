/** Serves the API app over HTTP with @hono/node-server. */
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import type { Hono } from 'hono';
import type { AppEnv } from './context';

export interface ApiServerOptions {
  /** Address to bind, such as `127.0.0.1`. */
  host: string;
  /** Port to listen on; 0 picks a free port, which `url` then reports. */
  port: number;
}

export interface ApiServer {
  /** Base URL of the listening server, such as `http://127.0.0.1:8080`. */
  url: string;
  /** Stops accepting connections, closes open ones and resolves once the server has closed. */
  close(): Promise<void>;
}

/**
 * Starts serving `app` and resolves once the server listens.
 *
 * @example
 * const server = await startApiServer(createApp(deps), { host: config.host, port: config.port });
 */
export function startApiServer(app: Hono<AppEnv>, options: ApiServerOptions): Promise<ApiServer> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname: options.host, port: options.port }, (info) =>
      resolve({ url: baseUrl(info), close: () => closeServer(server) }),
    );
    server.once('error', reject);
  });
}

function baseUrl(info: AddressInfo): string {
  const host = info.family === 'IPv6' ? `[${info.address}]` : info.address;
  return `http://${host}:${info.port}`;
}

function closeServer(server: ServerType): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    if ('closeAllConnections' in server) server.closeAllConnections();
  });
}
