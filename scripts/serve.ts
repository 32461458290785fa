/**
 * Run Graphium. With no flag, the API and the worker run in this process;
 * `--api` or `--worker` runs only that part. Configuration comes from the
 * environment (see lib/config.ts and the README).
 */
import { loadConfig } from '../lib/config';
import { startService } from '../lib/service';

const flags = new Set(process.argv.slice(2));
const unknown = [...flags].filter((flag) => flag !== '--api' && flag !== '--worker');
if (unknown.length > 0) {
  console.error(`unknown option ${unknown.join(', ')}; use --api, --worker or neither`);
  process.exit(2);
}
const only = flags.size > 0;

const service = await startService({
  config: loadConfig(),
  api: !only || flags.has('--api'),
  worker: !only || flags.has('--worker'),
});

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    service.logger.info({ signal }, 'stopping');
    void service.stop().then(() => process.exit(0));
  });
}
