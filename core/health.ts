import type { HealthCheck, HealthTiming, ServiceSpec } from './model';

/** Default timing of a health check, used for each field the document leaves out. */
export const HEALTH_DEFAULTS: HealthTiming = {
  intervalMs: 10_000,
  timeoutMs: 5_000,
  retries: 3,
  startPeriodMs: 10_000,
};

/**
 * Deadline in milliseconds for a service without a health check. By then it must be running and
 * its published port, if it has one, must accept TCP connections.
 */
export const NO_CHECK_DEADLINE_MS = 60_000;

/**
 * Returns the time in milliseconds after the container starts by which a service that never
 * turned healthy counts as failed.
 *
 * Docker ignores failing probes during the start period, then marks a container unhealthy after
 * `retries` consecutive failures (Dockerfile HEALTHCHECK reference). Counting one more probe
 * than that as margin, and letting each probe run for its full timeout before the next interval
 * starts, the deadline is `startPeriodMs + (retries + 1) * (intervalMs + timeoutMs)`. With the
 * defaults that is 10 000 + 4 * (10 000 + 5 000) = 70 000 ms. A service with no check gets
 * NO_CHECK_DEADLINE_MS.
 */
export function healthDeadlineMs(check: HealthCheck | undefined): number {
  if (!check) return NO_CHECK_DEADLINE_MS;
  return check.startPeriodMs + (check.retries + 1) * (check.intervalMs + check.timeoutMs);
}

/**
 * Returns the container port that an `http` or `tcp` health check probes: the check's `port`,
 * otherwise the first tcp port with a `hostPort`, otherwise the first tcp port. Returns
 * `undefined` for other check kinds and for a service without tcp ports.
 */
export function healthProbePort(service: Pick<ServiceSpec, 'healthCheck' | 'ports'>): number | undefined {
  const check = service.healthCheck;
  if (!check || (check.kind !== 'http' && check.kind !== 'tcp')) return undefined;
  if (check.port !== undefined) return check.port;
  const tcpPorts = service.ports.filter((port) => port.protocol === 'tcp');
  const published = tcpPorts.find((port) => port.hostPort !== undefined);
  return (published ?? tcpPorts[0])?.containerPort;
}
