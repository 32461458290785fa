import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../lib/config';

const CWD = '/srv/graphium';

describe('loadConfig', () => {
  it('fills in every default', () => {
    expect(loadConfig({}, CWD)).toEqual({
      dataDir: path.join(CWD, '.data'),
      databaseUrl: undefined,
      temporalAddress: undefined,
      temporalNamespace: 'default',
      port: 8080,
      host: '127.0.0.1',
      temporalUiUrl: 'http://127.0.0.1:8233',
      logLevel: 'info',
      placementWeights: { cpu: 1, memory: 1, containers: 1 },
      searchAttributes: true,
      deadlines: { hostSeconds: 120, undoSeconds: 300, reconcileRetrySeconds: 60 },
      replyDelays: {},
      sessionSeconds: 43_200,
    });
  });

  it('reads step deadlines and refuses ones that are not whole seconds', () => {
    const env = { GRAPHIUM_HOST_DEADLINE_SECONDS: '15', GRAPHIUM_RECONCILE_RETRY_SECONDS: '5' };
    expect(loadConfig(env, CWD).deadlines).toEqual({
      hostSeconds: 15,
      undoSeconds: 300,
      reconcileRetrySeconds: 5,
    });
    expect(() => loadConfig({ GRAPHIUM_UNDO_DEADLINE_SECONDS: '1.5' }, CWD)).toThrow(
      /GRAPHIUM_UNDO_DEADLINE_SECONDS.*whole number of seconds/,
    );
    expect(() => loadConfig({ GRAPHIUM_HOST_DEADLINE_SECONDS: '0' }, CWD)).toThrow(/from 1 to 86400/);
  });

  it('turns search attributes off', () => {
    expect(loadConfig({ GRAPHIUM_SEARCH_ATTRIBUTES: 'off' }, CWD).searchAttributes).toBe(false);
    expect(loadConfig({ GRAPHIUM_SEARCH_ATTRIBUTES: 'on' }, CWD).searchAttributes).toBe(true);
  });

  it('reads placement weights, keeping defaults for parts left out', () => {
    const config = loadConfig({ GRAPHIUM_PLACEMENT_WEIGHTS: 'cpu=2, containers=0.5' }, CWD);
    expect(config.placementWeights).toEqual({ cpu: 2, memory: 1, containers: 0.5 });
  });

  it.each(['cpu', 'disk=1', 'cpu=-1', 'cpu=x', 'cpu=1=2'])('rejects placement weights %j', (value) => {
    expect(() => loadConfig({ GRAPHIUM_PLACEMENT_WEIGHTS: value }, CWD)).toThrow(
      /GRAPHIUM_PLACEMENT_WEIGHTS must be comma-separated weights/,
    );
  });

  it('reads every variable', () => {
    const config = loadConfig(
      {
        GRAPHIUM_DATA_DIR: 'state',
        DATABASE_URL: 'postgresql://graphium@127.0.0.1:5432/graphium',
        TEMPORAL_ADDRESS: '127.0.0.1:7233',
        TEMPORAL_NAMESPACE: 'lab',
        GRAPHIUM_PORT: '9090',
        GRAPHIUM_HOST: '0.0.0.0',
        TEMPORAL_UI_URL: 'http://127.0.0.1:8080/',
        LOG_LEVEL: 'silent',
      },
      CWD,
    );

    expect(config.dataDir).toBe(path.join(CWD, 'state'));
    expect(config.databaseUrl).toBe('postgresql://graphium@127.0.0.1:5432/graphium');
    expect(config.temporalAddress).toBe('127.0.0.1:7233');
    expect(config.temporalNamespace).toBe('lab');
    expect(config.port).toBe(9090);
    expect(config.host).toBe('0.0.0.0');
    expect(config.temporalUiUrl).toBe('http://127.0.0.1:8080');
    expect(config.logLevel).toBe('silent');
  });

  it('treats empty values as unset', () => {
    const config = loadConfig({ DATABASE_URL: '', GRAPHIUM_PORT: '' }, CWD);

    expect(config.databaseUrl).toBeUndefined();
    expect(config.port).toBe(8080);
  });

  it.each([
    ['GRAPHIUM_PORT', 'http', 'GRAPHIUM_PORT must be a number (got "http")'],
    ['GRAPHIUM_PORT', '0', 'GRAPHIUM_PORT must be from 1 to 65535 (got "0")'],
    ['GRAPHIUM_PORT', '80.5', 'GRAPHIUM_PORT must be an integer (got "80.5")'],
    ['LOG_LEVEL', 'loud', 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace'],
    ['TEMPORAL_ADDRESS', 'localhost', 'TEMPORAL_ADDRESS must be host:port'],
    ['TEMPORAL_UI_URL', 'ftp://x', 'TEMPORAL_UI_URL must be an http:// or https:// URL'],
    ['GRAPHIUM_SEARCH_ATTRIBUTES', 'no', 'GRAPHIUM_SEARCH_ATTRIBUTES must be on or off (got "no")'],
  ])('rejects %s=%s naming the variable', (name, value, message) => {
    expect(() => loadConfig({ [name]: value }, CWD)).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value }, CWD)).toThrow(message);
  });

  it('never echoes DATABASE_URL', () => {
    const attempt = () => loadConfig({ DATABASE_URL: 'mysql://root:hunter2@db/app' }, CWD);

    expect(attempt).toThrow('DATABASE_URL must be a postgres:// or postgresql:// connection string.');
    expect(attempt).not.toThrow(/hunter2/);
  });

  it('lists every invalid variable at once', () => {
    const attempt = () => loadConfig({ GRAPHIUM_PORT: 'x', LOG_LEVEL: 'x' }, CWD);

    expect(attempt).toThrow(/GRAPHIUM_PORT .*LOG_LEVEL /);
  });
});
