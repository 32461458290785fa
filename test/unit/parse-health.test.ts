import { describe, expect, it } from 'vitest';
import { HEALTH_DEFAULTS } from '../../core/health';
import { parseStack } from '../../core/parse';
import { expectIssue, item, stackFrom, stackOf } from './stack-documents';

const CHECK = '$.itemListElement[0].healthCheck';
const WEB_PORTS = [{ containerPort: 80, hostPort: 8080 }, { containerPort: 9000 }];

function parseCheck(healthCheck: unknown, ports: unknown = WEB_PORTS) {
  return parseStack(stackOf([item('web', 1, { healthCheck, ports })]));
}

function checkOf(healthCheck: unknown, ports: unknown = WEB_PORTS) {
  return stackFrom(parseCheck(healthCheck, ports)).services[0].healthCheck;
}

describe('parseStack health check kinds', () => {
  it('reads a command check', () => {
    expect(checkOf({ type: 'command', command: ['pg_isready', '-U', 'app'] })).toEqual({
      kind: 'command',
      command: ['pg_isready', '-U', 'app'],
      ...HEALTH_DEFAULTS,
    });
  });

  it('reads exec as a command check', () => {
    const check = checkOf({ type: 'exec', command: ['true'] });
    expect(check).toMatchObject({ kind: 'command', command: ['true'] });
  });

  it('runs a command string through sh', () => {
    expect(checkOf({ type: 'command', command: 'test -f /tmp/ok' })).toMatchObject({
      kind: 'command',
      command: ['sh', '-c', 'test -f /tmp/ok'],
    });
  });

  it('reads untyped CMD as docker kind', () => {
    expect(checkOf({ command: ['CMD', 'pg_isready'] })).toMatchObject({
      kind: 'docker',
      test: ['CMD', 'pg_isready'],
    });
  });

  it('reads untyped CMD-SHELL as docker kind', () => {
    expect(checkOf({ command: ['CMD-SHELL', 'pg_isready || exit 1'] })).toMatchObject({
      kind: 'docker',
      test: ['CMD-SHELL', 'pg_isready || exit 1'],
    });
  });

  it('reads typed CMD as docker kind', () => {
    const check = checkOf({ type: 'command', command: ['CMD', 'true'] });
    expect(check).toMatchObject({ kind: 'docker', test: ['CMD', 'true'] });
  });

  it('reads untyped command as command kind', () => {
    expect(checkOf({ command: ['redis-cli', 'ping'] })).toMatchObject({
      kind: 'command',
      command: ['redis-cli', 'ping'],
    });
  });

  it('reads an http check with defaults', () => {
    const check = checkOf({ type: 'http' });
    expect(check).toEqual({ kind: 'http', path: '/', headers: {}, ...HEALTH_DEFAULTS });
  });

  it('rejects a header with a line break', () => {
    const result = parseCheck({ type: 'http', headers: { 'X-Probe': 'a\r\nInjected: b' } });
    expectIssue(result.errors, "$.itemListElement[0].healthCheck.headers['X-Probe']", 'line breaks');
  });

  it('keeps a __proto__ header as an own property', () => {
    const headers = JSON.parse('{"__proto__": "x"}');
    const check = checkOf({ type: 'http', headers });
    if (check?.kind !== 'http') throw new Error(`expected an http check, got ${check?.kind}`);
    expect(Object.getOwnPropertyDescriptor(check.headers, '__proto__')?.value).toBe('x');
    expect(Object.getPrototypeOf(check.headers)).toBe(Object.prototype);
  });

  it('reads http path, port and headers', () => {
    const check = checkOf({ type: 'HTTP', path: '/health', port: 9000, headers: { Host: 'shop' } });
    expect(check).toMatchObject({ kind: 'http', path: '/health', port: 9000 });
    expect(check).toMatchObject({ headers: { Host: 'shop' } });
  });

  it('reads a tcp check', () => {
    expect(checkOf({ type: 'tcp', port: 80 })).toMatchObject({ kind: 'tcp', port: 80 });
  });

  it('reads postgres and redis checks', () => {
    expect(checkOf({ type: 'postgres' })).toMatchObject({ kind: 'postgres' });
    expect(checkOf({ type: 'redis' })).toMatchObject({ kind: 'redis' });
  });

  it('probes grpc as tcp with a warning', () => {
    const result = parseCheck({ type: 'grpc', port: 9000 });
    expect(stackFrom(result).services[0].healthCheck).toMatchObject({ kind: 'tcp', port: 9000 });
    expectIssue(result.warnings, `${CHECK}.type`, 'probed as TCP');
  });
});

describe('parseStack health check rejections', () => {
  it('rejects non-object check', () => {
    expectIssue(parseCheck('pg_isready').errors, CHECK, 'healthCheck must be an object');
  });

  it('rejects an unknown type', () => {
    expectIssue(parseCheck({ type: 'ping' }).errors, `${CHECK}.type`, 'type must be one of');
  });

  it('rejects check without type or command', () => {
    expectIssue(parseCheck({ interval: 5 }).errors, `${CHECK}.type`, 'type is missing');
  });

  it('rejects a command check without a command', () => {
    expectIssue(parseCheck({ type: 'command' }).errors, `${CHECK}.command`, 'command is missing');
  });

  it('rejects an empty command', () => {
    expectIssue(parseCheck({ type: 'command', command: [] }).errors, `${CHECK}.command`, 'empty');
    expectIssue(parseCheck({ type: 'exec', command: ' ' }).errors, `${CHECK}.command`, 'empty');
  });

  it('rejects non-string command entry', () => {
    expectIssue(parseCheck({ command: ['test', 1] }).errors, `${CHECK}.command[1]`, 'strings');
  });

  it('rejects CMD without a program', () => {
    expectIssue(parseCheck({ command: ['CMD'] }).errors, `${CHECK}.command`, 'names no program');
  });

  it('rejects CMD-SHELL with two strings', () => {
    const result = parseCheck({ command: ['CMD-SHELL', 'pg_isready', '-q'] });
    expectIssue(result.errors, `${CHECK}.command`, 'exactly one shell string');
  });

  it('rejects http path without slash', () => {
    expectIssue(parseCheck({ type: 'http', path: 'health' }).errors, `${CHECK}.path`, '"/"');
  });

  it('rejects an invalid check port', () => {
    expectIssue(parseCheck({ type: 'tcp', port: 0 }).errors, `${CHECK}.port`, 'from 1 to 65535');
  });

  it('rejects non-string header value', () => {
    const result = parseCheck({ type: 'http', headers: { 'X-Token': null } });
    expectIssue(result.errors, `${CHECK}.headers['X-Token']`, 'must be a string');
  });

  it('rejects a check port missing from ports', () => {
    const result = parseCheck({ type: 'http', port: 8081 });
    expectIssue(result.errors, `${CHECK}.port`, 'not a tcp containerPort');
  });

  it('rejects http check without ports', () => {
    expectIssue(parseCheck({ type: 'http' }, []).errors, CHECK, 'has no tcp ports');
  });

  it('rejects tcp check with only udp ports', () => {
    const ports = [{ containerPort: 53, protocol: 'udp' }];
    expectIssue(parseCheck({ type: 'tcp' }, ports).errors, CHECK, 'has no tcp ports');
  });

  it('warns about keys unused by kind', () => {
    const result = parseCheck({ type: 'tcp', path: '/health', command: ['true'] });
    expectIssue(result.warnings, `${CHECK}.path`, 'tcp check does not use it');
    expectIssue(result.warnings, `${CHECK}.command`, 'ignored');
  });
});

describe('parseStack health check timing', () => {
  it('reads seconds and duration strings', () => {
    const check = checkOf({
      type: 'redis',
      interval: '1m30s',
      timeout: 2.5,
      startPeriod: '500ms',
      retries: 0,
    });
    expect(check).toMatchObject({ intervalMs: 90_000, timeoutMs: 2_500, startPeriodMs: 500 });
    expect(check?.retries).toBe(0);
  });

  it('reads legacy intervalSeconds and timeoutSeconds', () => {
    const check = checkOf({ type: 'redis', intervalSeconds: 7, timeoutSeconds: 4 });
    expect(check).toMatchObject({ intervalMs: 7_000, timeoutMs: 4_000 });
  });

  it('prefers interval over intervalSeconds', () => {
    const result = parseCheck({ type: 'redis', interval: 3, intervalSeconds: 7 });
    expect(stackFrom(result).services[0].healthCheck?.intervalMs).toBe(3_000);
    expectIssue(result.warnings, `${CHECK}.intervalSeconds`, 'ignored because interval is set');
  });

  it.each(['interval', 'timeout', 'startPeriod', 'intervalSeconds', 'timeoutSeconds'])(
    'rejects an invalid %s',
    (field) => {
      const result = parseCheck({ type: 'redis', [field]: 'soon' });
      expectIssue(result.errors, `${CHECK}.${field}`, `${field} must be a number of seconds`);
    },
  );

  it('rejects a zero interval', () => {
    const result = parseCheck({ type: 'redis', interval: 0 });
    expectIssue(result.errors, `${CHECK}.interval`, 'greater than 0');
  });

  it('accepts a zero start period', () => {
    expect(checkOf({ type: 'redis', startPeriod: 0 })?.startPeriodMs).toBe(0);
  });

  it.each([-1, 1.5, '3'])('rejects retries %j', (retries) => {
    const result = parseCheck({ type: 'redis', retries });
    expectIssue(result.errors, `${CHECK}.retries`, 'retries must be');
  });
});
