import { describe, expect, it } from 'vitest';
import { HEALTH_DEFAULTS, healthDeadlineMs, healthProbePort } from '../../core/health';
import type { HealthCheck, PortSpec } from '../../core/model';

describe('healthDeadlineMs', () => {
  it('uses 70 s for the defaults', () => {
    // 10 000 start period + (3 retries + 1) * (10 000 interval + 5 000 timeout)
    const check: HealthCheck = { kind: 'tcp', ...HEALTH_DEFAULTS };
    expect(healthDeadlineMs(check)).toBe(70_000);
  });

  it('adds one probe beyond the retries', () => {
    // 30 000 + (5 + 1) * (15 000 + 10 000)
    const check: HealthCheck = {
      kind: 'http',
      path: '/',
      headers: {},
      intervalMs: 15_000,
      timeoutMs: 10_000,
      retries: 5,
      startPeriodMs: 30_000,
    };
    expect(healthDeadlineMs(check)).toBe(180_000);
  });

  it('allows one probe with zero retries', () => {
    const check: HealthCheck = {
      kind: 'redis',
      intervalMs: 1_000,
      timeoutMs: 2_000,
      retries: 0,
      startPeriodMs: 0,
    };
    expect(healthDeadlineMs(check)).toBe(3_000);
  });

  it('uses 60 s without a check', () => {
    expect(healthDeadlineMs(undefined)).toBe(60_000);
  });
});

describe('healthProbePort', () => {
  const ports: PortSpec[] = [
    { containerPort: 9000, protocol: 'tcp' },
    { containerPort: 8080, hostPort: 80, protocol: 'tcp' },
  ];

  it('prefers the check port', () => {
    const healthCheck: HealthCheck = { kind: 'tcp', port: 9000, ...HEALTH_DEFAULTS };
    expect(healthProbePort({ healthCheck, ports })).toBe(9000);
  });

  it('falls back to the first published port', () => {
    const healthCheck: HealthCheck = { kind: 'http', path: '/', headers: {}, ...HEALTH_DEFAULTS };
    expect(healthProbePort({ healthCheck, ports })).toBe(8080);
  });

  it('falls back to the first port', () => {
    const healthCheck: HealthCheck = { kind: 'tcp', ...HEALTH_DEFAULTS };
    expect(healthProbePort({ healthCheck, ports: [ports[0]] })).toBe(9000);
  });

  it('skips udp ports', () => {
    const healthCheck: HealthCheck = { kind: 'tcp', ...HEALTH_DEFAULTS };
    const udpFirst: PortSpec[] = [{ containerPort: 53, hostPort: 53, protocol: 'udp' }, ports[0]];
    expect(healthProbePort({ healthCheck, ports: udpFirst })).toBe(9000);
  });

  it('ignores command checks', () => {
    const healthCheck: HealthCheck = { kind: 'command', command: ['true'], ...HEALTH_DEFAULTS };
    expect(healthProbePort({ healthCheck, ports })).toBeUndefined();
  });
});
