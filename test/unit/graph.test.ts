import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dependencyWaves, findCycles, type GraphService } from '../../core/graph';

/** Returns a graph service that depends on each name in `needs`. */
function node(name: string, position: number, needs: string[] = []): GraphService {
  const dependencies = needs.map((need) => ({ name: need, waitForHealthy: false }));
  return { name, position, dependencies };
}

describe('dependencyWaves', () => {
  it('orders a diamond', () => {
    const services = [
      node('app', 1, ['api', 'worker']),
      node('api', 2, ['db']),
      node('worker', 3, ['db']),
      node('db', 4),
    ];
    expect(dependencyWaves(services)).toEqual([['db'], ['api', 'worker'], ['app']]);
  });

  it('puts independent services in one wave', () => {
    expect(dependencyWaves([node('c', 3), node('a', 1), node('b', 2)])).toEqual([['a', 'b', 'c']]);
  });

  it('orders by the graph against positions', () => {
    const services = [node('web', 1, ['api']), node('api', 2, ['db']), node('db', 3)];
    expect(dependencyWaves(services)).toEqual([['db'], ['api'], ['web']]);
  });

  it('sorts a wave by position then name', () => {
    const services = [node('b', 2), node('z', 1), node('a', 2)];
    expect(dependencyWaves(services)).toEqual([['z', 'a', 'b']]);
  });

  it('places each service in its earliest wave', () => {
    const services = [
      node('db', 1),
      node('api', 2, ['db']),
      node('app', 3, ['api']),
      node('cron', 4, ['db']),
    ];
    expect(dependencyWaves(services)).toEqual([['db'], ['api', 'cron'], ['app']]);
  });

  it('returns no waves for no services', () => {
    expect(dependencyWaves([])).toEqual([]);
  });

  it('throws naming a cycle', () => {
    const services = [node('a', 1, ['b']), node('b', 2, ['a']), node('c', 3)];
    expect(() => dependencyWaves(services)).toThrow('a -> b -> a');
  });

  it('throws on an unknown dependency', () => {
    expect(() => dependencyWaves([node('a', 1, ['ghost'])])).toThrow('"ghost"');
  });

  it('throws on duplicate names', () => {
    expect(() => dependencyWaves([node('a', 1), node('a', 2)])).toThrow('"a"');
  });
});

describe('findCycles', () => {
  it('finds nothing in an acyclic graph', () => {
    expect(findCycles([node('a', 1, ['b']), node('b', 2)])).toEqual([]);
  });

  it('names a self-loop', () => {
    expect(findCycles([node('a', 1, ['a'])])).toEqual([['a', 'a']]);
  });

  it('names a three-service cycle', () => {
    const services = [node('a', 1, ['b']), node('b', 2, ['c']), node('c', 3, ['a'])];
    expect(findCycles(services)).toEqual([['a', 'b', 'c', 'a']]);
  });

  it('starts at first service in input', () => {
    const services = [node('x', 1), node('c', 2, ['a']), node('a', 3, ['b']), node('b', 4, ['c'])];
    expect(findCycles(services)).toEqual([['c', 'a', 'b', 'c']]);
  });

  it('names the shortest loop of a component', () => {
    const services = [node('a', 1, ['b', 'c']), node('b', 2, ['c']), node('c', 3, ['a'])];
    expect(findCycles(services)).toEqual([['a', 'c', 'a']]);
  });

  it('names separate cycles in input order', () => {
    const services = [node('a', 1, ['b']), node('b', 2, ['a']), node('c', 3, ['c']), node('d', 4, ['a'])];
    expect(findCycles(services)).toEqual([
      ['a', 'b', 'a'],
      ['c', 'c'],
    ]);
  });

  it('ignores unknown dependencies', () => {
    expect(findCycles([node('a', 1, ['ghost'])])).toEqual([]);
  });
});

/**
 * Random acyclic graphs: service i may depend only on services with a lower index, and positions
 * are shuffled so they often contradict the dependencies.
 */
const acyclicGraph = fc.integer({ min: 1, max: 25 }).chain((size) =>
  fc
    .tuple(
      fc.array(fc.array(fc.nat(), { maxLength: 4 }), { minLength: size, maxLength: size }),
      fc.shuffledSubarray([...Array(size).keys()], { minLength: size, maxLength: size }),
    )
    .map(([picks, positions]) =>
      picks.map((pick, index) => {
        const needs = index === 0 ? [] : [...new Set(pick.map((choice) => `s${choice % index}`))];
        return node(`s${index}`, positions[index] + 1, needs);
      }),
    ),
);

describe('dependencyWaves property', () => {
  it('places every service once after its dependencies', () => {
    fc.assert(
      fc.property(acyclicGraph, (services) => {
        const waves = dependencyWaves(services);
        const waveOf = new Map<string, number>();
        waves.forEach((wave, index) => {
          for (const name of wave) {
            expect(waveOf.has(name)).toBe(false);
            waveOf.set(name, index);
          }
        });
        expect(waveOf.size).toBe(services.length);
        for (const service of services) {
          for (const dependency of service.dependencies) {
            expect(waveOf.get(dependency.name)).toBeLessThan(waveOf.get(service.name) as number);
          }
        }
        expect(findCycles(services)).toEqual([]);
      }),
    );
  });
});
