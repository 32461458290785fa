import { describe, expect, it } from 'vitest';
import type { HostFacts, HostRecord, ServiceSpec, StackSpec } from '../../core/model';
import {
  EXPLAIN_ALL_LIMIT,
  PlacementError,
  planPlacement,
  tieBreak,
  type PlacementInput,
} from '../../core/placement';

const GIB = 1024 ** 3;

function host(name: string, overrides: Partial<HostRecord> = {}): HostRecord {
  return {
    name,
    docker: { protocol: 'unix', socketPath: `/run/${name}.sock` },
    address: '10.0.0.1',
    datacenter: 'dc1',
    labels: {},
    imagePull: 'missing',
    status: 'active',
    ...overrides,
  };
}

function facts(name: string, overrides: Partial<HostFacts> = {}): HostFacts {
  return { name, reachable: true, cpus: 4, memoryBytes: 8 * GIB, runningContainers: 0, ...overrides };
}

function service(name: string, extra: Partial<ServiceSpec> = {}): ServiceSpec {
  return {
    name,
    position: 1,
    image: 'busybox',
    environment: {},
    ports: [],
    dependencies: [],
    labels: {},
    resources: {},
    mounts: [],
    actions: [],
    sourcePath: '$.itemListElement[0]',
    ...extra,
  };
}

function input(
  placement: StackSpec['placement'],
  services: ServiceSpec[],
  hostFacts: HostFacts[],
  hostOverrides: Record<string, Partial<HostRecord>> = {},
  stackExtra: Partial<StackSpec> = {},
): PlacementInput {
  return {
    stack: { name: 'demo', placement, volumes: [], services, ...stackExtra },
    hosts: hostFacts.map((f) => host(f.name, hostOverrides[f.name])),
    facts: Object.fromEntries(hostFacts.map((f) => [f.name, f])),
    seed: 'dep_1',
  };
}

function placementError(run: () => unknown): PlacementError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(PlacementError);
    return error as PlacementError;
  }
  throw new Error('expected a PlacementError');
}

describe('manual placement', () => {
  it('puts each service on its targetHost', () => {
    const plan = planPlacement(
      input(
        'manual',
        [service('db', { targetHost: 'h1' }), service('app', { targetHost: 'h2' })],
        [facts('h1'), facts('h2')],
      ),
    );
    expect(plan.assignments).toEqual({ db: 'h1', app: 'h2' });
    expect(plan.services[0]).toMatchObject({ pinned: true, reason: 'pinned by targetHost' });
  });

  it('names every service whose host is down', () => {
    const error = placementError(() =>
      planPlacement(
        input(
          'manual',
          [service('db', { targetHost: 'h1' }), service('app', { targetHost: 'h2' })],
          [
            facts('h1', { reachable: false, error: 'connect ECONNREFUSED' }),
            facts('h2', { reachable: false, error: 'timed out' }),
          ],
        ),
      ),
    );
    expect(error.unplaced).toEqual([
      { service: 'db', reasons: [{ host: 'h1', reason: 'host is unreachable: connect ECONNREFUSED' }] },
      { service: 'app', reasons: [{ host: 'h2', reason: 'host is unreachable: timed out' }] },
    ]);
  });

  it('rejects an inactive or unregistered host', () => {
    const placement = input(
      'manual',
      [service('db', { targetHost: 'h1' }), service('app', { targetHost: 'h9' })],
      [facts('h1')],
    );
    placement.hosts[0].status = 'inactive';
    const error = placementError(() => planPlacement(placement));
    expect(error.unplaced.map((entry) => entry.reasons[0].reason)).toEqual([
      'host is inactive',
      'host is not registered',
    ]);
  });

  it('rejects a pin that lacks memory', () => {
    const db = service('db', { targetHost: 'h1', resources: { memoryBytes: 4 * GIB } });
    const error = placementError(() =>
      planPlacement(input('manual', [db], [facts('h1', { memoryReservedBytes: 6 * GIB })])),
    );
    expect(error.unplaced[0].reasons).toEqual([
      { host: 'h1', reason: 'not enough memory: needs 4 GiB, free 2 GiB' },
    ]);
  });

  it('rejects a pin whose port is taken', () => {
    const db = service('db', {
      targetHost: 'h1',
      ports: [{ containerPort: 5432, hostPort: 5432, protocol: 'tcp' }],
    });
    const error = placementError(() =>
      planPlacement(input('manual', [db], [facts('h1', { publishedPorts: ['5432/tcp'] })])),
    );
    expect(error.unplaced[0].reasons).toEqual([{ host: 'h1', reason: 'port 5432/tcp is taken' }]);
  });
});

describe('auto placement', () => {
  const hosts = [
    facts('busy', { runningContainers: 6, cpusReserved: 3, memoryReservedBytes: 6 * GIB }),
    facts('empty'),
    facts('half', { runningContainers: 2, cpusReserved: 2, memoryReservedBytes: 4 * GIB }),
  ];

  it('puts a service on the emptiest host with its score parts', () => {
    const plan = planPlacement(
      input('auto', [service('web', { resources: { cpus: 1, memoryBytes: 2 * GIB } })], hosts),
    );
    expect(plan.assignments).toEqual({ web: 'empty' });
    expect(plan.services[0].score).toEqual({ cpu: 0.75, memory: 0.75, containers: 1, total: 2.5 });
    expect(plan.services[0].reason).toBe('highest score of 3 feasible hosts');
  });

  it('explains every other host', () => {
    const plan = planPlacement(
      input('auto', [service('web', { resources: { memoryBytes: 3 * GIB } })], hosts),
    );
    expect(plan.services[0].rejected).toEqual([
      { host: 'busy', reason: 'not enough memory: needs 3 GiB, free 2 GiB' },
      { host: 'half', reason: 'ranked lower: score 0.9583 against 2.625' },
    ]);
  });

  it('counts what the plan already placed', () => {
    const services = ['a', 'b', 'c'].map((name) => service(name, { resources: { memoryBytes: 5 * GIB } }));
    const plan = planPlacement(input('auto', services, [facts('h1'), facts('h2'), facts('h3')]));
    expect(new Set(Object.values(plan.assignments)).size).toBe(3);
  });

  it('places pinned services and the rest around them', () => {
    const services = [
      service('db', { targetHost: 'h1', resources: { memoryBytes: 6 * GIB } }),
      service('web', { resources: { memoryBytes: 4 * GIB } }),
    ];
    const plan = planPlacement(input('auto', services, [facts('h1'), facts('h2')]));
    expect(plan.assignments).toEqual({ db: 'h1', web: 'h2' });
    expect(plan.services[1].rejected).toEqual([
      { host: 'h1', reason: 'not enough memory: needs 4 GiB, free 2 GiB' },
    ]);
  });

  it('uses configured weights', () => {
    const weighted = {
      ...input(
        'auto',
        [service('web')],
        [facts('few', { runningContainers: 0, cpus: 1 }), facts('many', { runningContainers: 9, cpus: 64 })],
      ),
      weights: { cpu: 0, memory: 0, containers: 1 },
    };
    expect(planPlacement(weighted).assignments).toEqual({ web: 'few' });
  });

  it('breaks ties by the seed, the same way in any host order', () => {
    const equal = ['h1', 'h2', 'h3', 'h4'].map((name) => facts(name));
    const first = planPlacement(input('auto', [service('db')], equal));
    const again = planPlacement(input('auto', [service('db')], [...equal].reverse()));
    expect(again.assignments).toEqual(first.assignments);
    const expected = [...equal].sort((a, b) => tieBreak('dep_1', a.name) - tieBreak('dep_1', b.name))[0].name;
    expect(first.assignments.db).toBe(expected);
  });

  it('keeps anti-affine services apart', () => {
    const services = [service('a', { antiAffinity: ['b'] }), service('b')];
    const plan = planPlacement(input('auto', services, [facts('h1'), facts('h2')]));
    expect(plan.assignments.a).not.toBe(plan.assignments.b);
  });

  it('names a service that fits nowhere with a reason per host', () => {
    const big = service('big', { resources: { memoryBytes: 64 * GIB } });
    const error = placementError(() =>
      planPlacement(input('auto', [big, service('small')], [facts('h1'), facts('h2')])),
    );
    expect(error.unplaced).toEqual([
      {
        service: 'big',
        reasons: [
          { host: 'h1', reason: 'not enough memory: needs 64 GiB, free 8 GiB' },
          { host: 'h2', reason: 'not enough memory: needs 64 GiB, free 8 GiB' },
        ],
      },
    ]);
  });

  it('groups the reasons on large host sets', () => {
    const many = Array.from({ length: EXPLAIN_ALL_LIMIT + 10 }, (_, index) => facts(`h${index}`));
    const error = placementError(() =>
      planPlacement(input('auto', [service('big', { resources: { memoryBytes: 64 * GIB } })], many)),
    );
    expect(error.unplaced[0].groups).toEqual([
      {
        reason: 'not enough memory',
        count: EXPLAIN_ALL_LIMIT + 10,
        examples: expect.arrayContaining([
          expect.objectContaining({ reason: 'not enough memory: needs 64 GiB, free 8 GiB' }),
        ]),
      },
    ]);
    expect(error.unplaced[0].groups![0].examples).toHaveLength(3);
  });
});

describe('constraints', () => {
  const three = [
    facts('a', { cpus: 2, memoryBytes: 2 * GIB }),
    facts('b', { runningContainers: 5 }),
    facts('c'),
  ];

  it('keeps to the request targetHosts', () => {
    const plan = planPlacement(input('auto', [service('web')], three, {}, { candidateHosts: ['b'] }));
    expect(plan.assignments).toEqual({ web: 'b' });
    expect(plan.services[0].rejected).toContainEqual({
      host: 'c',
      reason: "not among the request's targetHosts",
    });
  });

  it('keeps to the stack datacenter', () => {
    const plan = planPlacement(
      input('auto', [service('web')], three, { c: { datacenter: 'dc2' } }, { datacenter: 'dc1' }),
    );
    expect(plan.assignments.web).not.toBe('c');
    expect(plan.services[0].rejected).toContainEqual({ host: 'c', reason: 'in datacenter dc2, not dc1' });
  });

  it('needs the labels and sizes a service asks for', () => {
    const web = service('web', { constraints: { labels: { disk: 'ssd' }, minCpus: 3 } });
    const plan = planPlacement(
      input('auto', [web], three, { a: { labels: { disk: 'ssd' } }, b: { labels: { disk: 'ssd' } } }),
    );
    expect(plan.assignments).toEqual({ web: 'b' });
    expect(plan.services[0].rejected).toContainEqual({ host: 'a', reason: 'has 2 CPUs, needs at least 3' });
    expect(plan.services[0].rejected).toContainEqual({ host: 'c', reason: 'missing label disk=ssd' });
  });

  it('honours maxInstancesPerHost', () => {
    const services = ['a', 'b', 'c', 'd'].map((name) => service(name));
    const plan = planPlacement(
      input('auto', services, [facts('h1'), facts('h2')], {}, { maxServicesPerHost: 2 }),
    );
    const counts = Object.values(plan.assignments).reduce<Record<string, number>>((all, name) => {
      all[name] = (all[name] ?? 0) + 1;
      return all;
    }, {});
    expect(counts).toEqual({ h1: 2, h2: 2 });
  });

  it('keeps two services publishing one port apart', () => {
    const port = { containerPort: 80, hostPort: 8080, protocol: 'tcp' as const };
    const plan = planPlacement(
      input(
        'auto',
        [service('a', { ports: [port] }), service('b', { ports: [port] })],
        [facts('h1'), facts('h2')],
      ),
    );
    expect(plan.assignments.a).not.toBe(plan.assignments.b);
  });
});

describe('spread placement', () => {
  it('puts six services on three hosts two by two', () => {
    const services = ['a', 'b', 'c', 'd', 'e', 'f'].map((name, index) =>
      service(name, { position: index + 1 }),
    );
    const plan = planPlacement(
      input('spread', services, [facts('h1', { runningContainers: 9 }), facts('h2'), facts('h3')]),
    );
    const counts: Record<string, number> = {};
    for (const name of Object.values(plan.assignments)) counts[name] = (counts[name] ?? 0) + 1;
    expect(counts).toEqual({ h1: 2, h2: 2, h3: 2 });
    expect(plan.services[0].reason).toMatch(/^fewest services of this stack/);
  });
});

describe('datacenter placement', () => {
  const hosts = [
    facts('a1'),
    facts('a2'),
    facts('b1', { memoryBytes: 64 * GIB }),
    facts('b2', { memoryBytes: 64 * GIB }),
  ];
  const datacenters = {
    a1: { datacenter: 'lab-a' },
    a2: { datacenter: 'lab-a' },
    b1: { datacenter: 'lab-b' },
    b2: { datacenter: 'lab-b' },
  };

  it('chooses the datacenter with the most room and spreads in it', () => {
    const services = ['x', 'y'].map((name) => service(name, { resources: { memoryBytes: 4 * GIB } }));
    const plan = planPlacement(input('datacenter', services, hosts, datacenters));
    expect(plan.datacenter).toBe('lab-b');
    expect(new Set(Object.values(plan.assignments))).toEqual(new Set(['b1', 'b2']));
  });

  it('uses the stack datacenter when set', () => {
    const plan = planPlacement(
      input('datacenter', [service('x')], hosts, datacenters, { datacenter: 'lab-a' }),
    );
    expect(plan.datacenter).toBe('lab-a');
    expect(['a1', 'a2']).toContain(plan.assignments.x);
  });

  it('fails when no datacenter fits the whole stack', () => {
    const services = ['x', 'y', 'z'].map((name) => service(name, { resources: { memoryBytes: 40 * GIB } }));
    const error = placementError(() => planPlacement(input('datacenter', services, hosts, datacenters)));
    expect(error.unplaced.map((entry) => entry.service)).toEqual(['z']);
    expect(error.unplaced[0].reasons[0].reason).toContain(
      'in datacenter lab-b, the one that fits the most services',
    );
  });
});

describe('single placement', () => {
  it('puts the whole stack on the best host that fits it', () => {
    const services = ['a', 'b'].map((name) => service(name, { resources: { memoryBytes: 5 * GIB } }));
    const plan = planPlacement(
      input('single', services, [
        facts('small'),
        facts('big', { memoryBytes: 16 * GIB, runningContainers: 3 }),
      ]),
    );
    expect(plan.assignments).toEqual({ a: 'big', b: 'big' });
    expect(plan.services[0].rejected).toEqual([
      { host: 'small', reason: 'not enough memory: needs 10 GiB, free 8 GiB for the whole stack' },
    ]);
  });

  it('follows a pinned service', () => {
    const plan = planPlacement(
      input('single', [service('db', { targetHost: 'h2' }), service('app')], [facts('h1'), facts('h2')]),
    );
    expect(plan.assignments).toEqual({ db: 'h2', app: 'h2' });
  });

  it('rejects pins to two hosts', () => {
    const error = placementError(() =>
      planPlacement(
        input(
          'single',
          [service('db', { targetHost: 'h1' }), service('app', { targetHost: 'h2' })],
          [facts('h1'), facts('h2')],
        ),
      ),
    );
    expect(error.unplaced[0].reasons[0].reason).toBe(
      'single placement, but the stack pins services to h1, h2',
    );
  });

  it('rejects anti-affinity', () => {
    const error = placementError(() =>
      planPlacement(input('single', [service('a', { antiAffinity: ['b'] }), service('b')], [facts('h1')])),
    );
    expect(error.unplaced[0].reasons[0].reason).toBe('single placement, but a must not share a host with b');
  });

  it('fails when every host is down', () => {
    const error = placementError(() =>
      planPlacement(input('single', [service('db')], [facts('h1', { reachable: false, error: 'no route' })])),
    );
    expect(error.unplaced).toEqual([
      { service: 'db', reasons: [{ host: 'h1', reason: 'host is unreachable: no route (for db)' }] },
    ]);
  });

  it('reports no hosts at all', () => {
    const error = placementError(() => planPlacement(input('single', [service('db')], [])));
    expect(error.unplaced[0].reasons).toEqual([{ host: '(none)', reason: 'no hosts are registered' }]);
  });
});
