import { describe, expect, it } from 'vitest';
import { parseStack } from '../../core/parse';
import { expectIssue, expectNoIssue, item, stackFrom, stackOf } from './stack-documents';

const FIRST = '$.itemListElement[0]';
const SECOND = '$.itemListElement[1]';

function withPorts(ports: unknown) {
  return parseStack(stackOf([item('web', 1, { ports })]));
}

describe('parseStack ports', () => {
  it('reads ports with defaults', () => {
    const ports = [
      { containerPort: 80, hostPort: 8080 },
      { containerPort: 53, protocol: 'UDP' },
    ];
    const [service] = stackFrom(withPorts(ports)).services;
    expect(service.ports).toEqual([
      { containerPort: 80, hostPort: 8080, protocol: 'tcp' },
      { containerPort: 53, protocol: 'udp' },
    ]);
  });

  it('treats hostPort 0 as not published', () => {
    const [service] = stackFrom(withPorts([{ containerPort: 80, hostPort: 0 }])).services;
    expect(service.ports).toEqual([{ containerPort: 80, protocol: 'tcp' }]);
  });

  it('rejects a missing containerPort', () => {
    const result = withPorts([{ hostPort: 8080 }]);
    expectIssue(result.errors, `${FIRST}.ports[0].containerPort`, 'containerPort is missing');
  });

  it.each([0, 65536, 80.5, '80'])('rejects containerPort %j', (containerPort) => {
    const result = withPorts([{ containerPort }]);
    expectIssue(result.errors, `${FIRST}.ports[0].containerPort`, 'from 1 to 65535');
  });

  it.each([-1, 70000, '8080', null])('rejects hostPort %j', (hostPort) => {
    const result = withPorts([{ containerPort: 80 }, { containerPort: 81, hostPort }]);
    expectIssue(result.errors, `${FIRST}.ports[1].hostPort`, 'hostPort must be an integer');
  });

  it('rejects an unknown protocol', () => {
    const result = withPorts([{ containerPort: 80, protocol: 'sctp' }]);
    expectIssue(result.errors, `${FIRST}.ports[0].protocol`, '"tcp" or "udp"');
  });

  it('rejects ports that are not an array', () => {
    expectIssue(withPorts({ containerPort: 80 }).errors, `${FIRST}.ports`, 'array');
  });

  it('rejects a port written as a string', () => {
    expectIssue(withPorts(['8080:80']).errors, `${FIRST}.ports[0]`, 'objects');
  });

  it('rejects duplicate host port in item', () => {
    const result = withPorts([
      { containerPort: 80, hostPort: 8080 },
      { containerPort: 81, hostPort: 8080 },
    ]);
    expectIssue(result.errors, `${FIRST}.ports[1].hostPort`, `${FIRST}.ports[0].hostPort`);
  });

  it('allows one host port per protocol', () => {
    const ports = [
      { containerPort: 53, hostPort: 53 },
      { containerPort: 53, hostPort: 53, protocol: 'udp' },
    ];
    expect(withPorts(ports).errors).toEqual([]);
  });
});

describe('parseStack host port clashes', () => {
  const published = (extra = {}) => ({ ports: [{ containerPort: 80, hostPort: 8080 }], ...extra });

  it('rejects host port clash on pinned host', () => {
    const document = stackOf(
      [item('a', 1, published({ targetHost: 'h1' })), item('b', 2, published({ targetHost: 'h1' }))],
      { placement: 'manual' },
    );
    const result = parseStack(document);
    expectIssue(result.errors, `${SECOND}.ports[0].hostPort`, `${FIRST}.ports[0].hostPort`);
    expectIssue(result.errors, `${SECOND}.ports[0].hostPort`, 'host "h1"');
  });

  it('rejects one host port under single placement', () => {
    const result = parseStack(stackOf([item('a', 1, published()), item('b', 2, published())]));
    expectIssue(result.errors, `${SECOND}.ports[0].hostPort`, 'placement is "single"');
  });

  it('rejects clash with one pin under single', () => {
    const document = stackOf([item('a', 1, published({ targetHost: 'h1' })), item('b', 2, published())], {
      placement: 'single',
    });
    expectIssue(parseStack(document).errors, `${SECOND}.ports[0].hostPort`, 'host "h1"');
  });

  it('allows shared host port on different pins', () => {
    const document = stackOf([
      item('a', 1, published({ targetHost: 'h1' })),
      item('b', 2, published({ targetHost: 'h2' })),
    ]);
    expect(parseStack(document).errors).toEqual([]);
  });

  it('allows shared host port under auto', () => {
    const items = [item('a', 1, published()), item('b', 2, published())];
    const document = stackOf(items, { placement: 'auto' });
    expectNoIssue(parseStack(document).errors, `${SECOND}.ports[0].hostPort`);
  });
});

describe('parseStack placement pins', () => {
  it('rejects manual placement without targetHost', () => {
    const document = stackOf([item('a', 1, { targetHost: 'h1' }), item('b', 2), item('c', 3)], {
      placement: 'manual',
    });
    const result = parseStack(document);
    expectIssue(result.errors, `${SECOND}.targetHost`, 'placement "manual"');
    expectIssue(result.errors, '$.itemListElement[2].targetHost', 'targetHost is missing');
    expectNoIssue(result.errors, `${FIRST}.targetHost`);
  });

  it('suggests single placement for a missing targetHost', () => {
    const document = stackOf([item('a', 1)], { placement: 'manual' });
    const [error] = parseStack(document).errors;
    expect(error.message).toContain('placement "single"');
    expect(error.message).not.toContain('"auto"');
  });

  it('rejects single placement with different hosts', () => {
    const items = [item('a', 1, { targetHost: 'h1' }), item('b', 2, { targetHost: 'h2' })];
    const document = stackOf(items, { placement: 'single' });
    const result = parseStack(document);
    expectIssue(result.errors, `${SECOND}.targetHost`, 'placement "single"');
    expectIssue(result.errors, `${SECOND}.targetHost`, `${FIRST}.targetHost`);
  });

  it('allows single placement with one pinned host', () => {
    const items = [item('a', 1, { targetHost: 'h1' }), item('b', 2, { targetHost: 'h1' })];
    const document = stackOf(items, { placement: 'single' });
    expect(parseStack(document).errors).toEqual([]);
  });
});
