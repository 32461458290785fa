/** Text the dashboard pages show for figures and statuses; pure, so the pages and tests share it. */
import type { DeploymentStatus } from '../../db/schema';

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;

/** Formats a byte count in binary units, such as `7.5 GiB` or `512 MiB`. */
export function formatBytes(bytes: number): string {
  if (bytes >= GIB) return `${(bytes / GIB).toFixed(1)} GiB`;
  if (bytes >= MIB) return `${Math.round(bytes / MIB)} MiB`;
  return `${bytes} B`;
}

/** Formats a CPU count with at most two decimals, such as `4` or `3.5`. */
export function formatCpus(cpus: number): string {
  return String(Math.round(cpus * 100) / 100);
}

/**
 * Colour group of a status. Every badge also shows the status as text, so the colour only
 * repeats what the text shows.
 */
export type Tone = 'good' | 'busy' | 'bad' | 'quiet';

const DEPLOYMENT_TONES: Record<DeploymentStatus, Tone> = {
  accepted: 'busy',
  deploying: 'busy',
  running: 'good',
  rolled_back: 'bad',
  cancelled: 'quiet',
  failed: 'bad',
  removing: 'busy',
  removed: 'quiet',
};

/** Returns the tone of a deployment status, a container's health or a service's step. */
export function statusTone(status: string): Tone {
  if (status in DEPLOYMENT_TONES) return DEPLOYMENT_TONES[status as DeploymentStatus];
  if (status === 'healthy' || status === 'active' || status === 'succeeded') return 'good';
  if (status === 'unhealthy' || status === 'failed' || status === 'unreachable' || status === 'tls_failed') {
    return 'bad';
  }
  if (status === 'removed' || status === 'inactive' || status === 'pending') return 'quiet';
  return 'busy';
}

/** Formats a status for reading: `rolled_back` becomes `rolled back`, `tls_failed` `TLS failed`. */
export function statusText(status: string): string {
  if (status === 'tls_failed') return 'TLS failed';
  return status.replace(/_/g, ' ');
}

/** Formats a time as `2026-12-04 16:41:03 UTC`, the same for every reader. */
export function formatTime(time: Date | string): string {
  const iso = (typeof time === 'string' ? new Date(time) : time).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
}

/** Formats a published port as `8080->80/tcp`. */
export function formatPort(port: { hostPort: number; containerPort: number; protocol: string }): string {
  return `${port.hostPort}->${port.containerPort}/${port.protocol}`;
}

/** Formats a connection as `postgres @ 10.213.0.11:5432`, without the port when there is none. */
export function formatConnection(connection: { name: string; address: string; port?: number }): string {
  const port = connection.port === undefined ? '' : `:${connection.port}`;
  return `${connection.name} @ ${connection.address}${port}`;
}
