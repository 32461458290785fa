/**
 * The dependency graph of a stack. An edge `a -> b` means service `a` depends on service `b`, so
 * `b` starts first.
 */
import type { ServiceSpec } from './model';

/** The fields of a service that the dependency graph reads. */
export type GraphService = Pick<ServiceSpec, 'name' | 'position' | 'dependencies'>;

/**
 * Finds the dependency cycles among `services`: one cycle per group of services that depend on
 * each other (a strongly connected component), plus every service that depends on itself.
 *
 * Each cycle is a list of names whose first name is repeated at the end, such as
 * `['a', 'b', 'a']` or `['a', 'a']`. It starts at the group's service that comes first in
 * `services` and follows the shortest path back to it. Dependencies on names that are not in
 * `services` are ignored; the first service with a name stands for all that share it.
 */
export function findCycles(services: readonly GraphService[]): string[][] {
  const edges = buildEdges(services);
  const starts: number[] = [];
  const loops = new Map<number, number[]>();
  for (const component of stronglyConnectedComponents(edges)) {
    const start = Math.min(...component);
    if (component.length === 1 && !edges[start].includes(start)) continue;
    starts.push(start);
    loops.set(start, shortestLoop(start, edges, new Set(component)));
  }
  starts.sort((a, b) => a - b);
  return starts.map((start) => (loops.get(start) as number[]).map((index) => services[index].name));
}

/**
 * Orders `services` into waves that can start together. Wave 0 contains the services without
 * dependencies, and each later wave the services whose dependencies are all in earlier waves.
 * Each service is in the earliest wave it can be. Within a wave, services are sorted by
 * position, then by name, so position never moves a service ahead of its dependencies.
 *
 * @throws Error when two services share a name, when a dependency names no service, or when the
 *   dependencies form a cycle, which the message names as `a -> b -> a`.
 */
export function dependencyWaves(services: readonly GraphService[]): string[][] {
  assertValidGraph(services);

  const waves: string[][] = [];
  const placed = new Set<string>();
  let remaining = [...services];
  while (remaining.length > 0) {
    const ready = remaining.filter((service) =>
      service.dependencies.every((dependency) => placed.has(dependency.name)),
    );
    ready.sort(compareByPositionThenName);
    waves.push(ready.map((service) => service.name));
    for (const service of ready) placed.add(service.name);
    remaining = remaining.filter((service) => !placed.has(service.name));
  }
  return waves;
}

function assertValidGraph(services: readonly GraphService[]): void {
  const names = new Set<string>();
  for (const service of services) {
    if (names.has(service.name)) throw new Error(`two services are named "${service.name}".`);
    names.add(service.name);
  }
  for (const service of services) {
    const unknown = service.dependencies.find((dependency) => !names.has(dependency.name));
    if (unknown) {
      throw new Error(
        `service "${service.name}" depends on "${unknown.name}", ` + 'which is not a service of the stack.',
      );
    }
  }
  const [cycle] = findCycles(services);
  if (cycle) throw new Error(`dependency cycle: ${cycle.join(' -> ')}.`);
}

function compareByPositionThenName(a: GraphService, b: GraphService): number {
  if (a.position !== b.position) return a.position - b.position;
  // Code-unit order, not localeCompare, so the order is the same on every machine.
  if (a.name < b.name) return -1;
  return a.name > b.name ? 1 : 0;
}

/** Returns, for each service index, the indices of its known dependencies without repeats. */
function buildEdges(services: readonly GraphService[]): number[][] {
  const indexByName = new Map<string, number>();
  services.forEach((service, index) => {
    if (!indexByName.has(service.name)) indexByName.set(service.name, index);
  });
  return services.map((service) => {
    const targets = service.dependencies
      .map((dependency) => indexByName.get(dependency.name))
      .filter((target): target is number => target !== undefined);
    return [...new Set(targets)];
  });
}

/** Returns the strongly connected components of the graph as index lists (Tarjan's algorithm). */
function stronglyConnectedComponents(edges: number[][]): number[][] {
  const order = new Array<number>(edges.length).fill(-1);
  const lowLink = new Array<number>(edges.length).fill(0);
  const onStack = new Array<boolean>(edges.length).fill(false);
  const stack: number[] = [];
  const components: number[][] = [];
  let counter = 0;

  const visit = (node: number): void => {
    order[node] = lowLink[node] = counter++;
    stack.push(node);
    onStack[node] = true;
    for (const next of edges[node]) {
      if (order[next] === -1) {
        visit(next);
        lowLink[node] = Math.min(lowLink[node], lowLink[next]);
      } else if (onStack[next]) {
        lowLink[node] = Math.min(lowLink[node], order[next]);
      }
    }
    if (lowLink[node] !== order[node]) return;

    const component: number[] = [];
    let member: number;
    do {
      member = stack.pop() as number;
      onStack[member] = false;
      component.push(member);
    } while (member !== node);
    components.push(component);
  };

  for (let node = 0; node < edges.length; node++) {
    if (order[node] === -1) visit(node);
  }
  return components;
}

/**
 * Returns the shortest path from `start` back to itself that stays inside `members`, found by
 * breadth-first search, as indices with `start` at both ends.
 */
function shortestLoop(start: number, edges: number[][], members: Set<number>): number[] {
  const parent = new Map<number, number>();
  const queue = [start];
  for (let head = 0; head < queue.length; head++) {
    const node = queue[head];
    for (const next of edges[node]) {
      if (next === start) return [...pathTo(node, start, parent), start];
      if (!members.has(next) || parent.has(next)) continue;
      parent.set(next, node);
      queue.push(next);
    }
  }
  // A strongly connected component always has a path back to its start.
  throw new Error(`internal error: no cycle through service index ${start}.`);
}

function pathTo(node: number, start: number, parent: Map<number, number>): number[] {
  const path = [node];
  while (path[0] !== start) path.unshift(parent.get(path[0]) as number);
  return path;
}
