/** Placement from the API: the dry-run plan, the check before a deploy starts, and live host figures. */
import { gatherFacts } from '../activities/host-facts';
import type { HostFacts, HostRecord, StackSpec } from '../core/model';
import { PlacementError, planPlacement, type PlacementPlan, type UnplacedService } from '../core/placement';
import { listHosts } from '../db/repository';
import type { AppDeps } from './context';
import { ApiError, type ErrorDetail } from './errors';

/** 422: some services of a valid stack fit on no host; `details` gives the reason per service and host. */
export class UnplaceableError extends ApiError {
  override name = 'UnplaceableError';

  constructor(unplaced: UnplacedService[], stack: StackSpec) {
    const count = unplaced.length === 1 ? '1 service fits' : `${unplaced.length} services fit`;
    super(
      422,
      'unplaceable',
      `${count} on no host, so nothing was deployed; see details for the reason per host`,
      unplacedDetails(unplaced, stack),
    );
  }
}

function unplacedDetails(unplaced: UnplacedService[], stack: StackSpec): ErrorDetail[] {
  const paths = new Map(stack.services.map((service) => [service.name, service.sourcePath]));
  return unplaced.flatMap((entry) => {
    const path = paths.get(entry.service) ?? '$';
    if (entry.groups && entry.groups.length > 0) {
      return entry.groups.map((group) => ({
        path,
        message:
          `${entry.service} cannot run on ${group.count} hosts (${group.reason}), ` +
          `such as ${group.examples.map((example) => `${example.host}: ${example.reason}`).join('; ')}`,
      }));
    }
    return entry.reasons.map((reason) => ({
      path,
      message: `${entry.service} cannot run on host ${reason.host}: ${reason.reason}`,
    }));
  });
}

/** Reads the facts of `hosts` through the app's reader, or the Docker API by default. */
export function readFacts(deps: AppDeps, hosts: readonly HostRecord[]): Promise<Record<string, HostFacts>> {
  return (deps.gatherFacts ?? gatherFacts)(hosts);
}

/**
 * Plans `stack` on the registered hosts with live facts, seeded by `seed`.
 *
 * @throws UnplaceableError naming each service that fits nowhere, with the reason per host.
 */
export async function planStack(deps: AppDeps, stack: StackSpec, seed: string): Promise<PlacementPlan> {
  const hosts = (await listHosts(deps.db)).map((host) => ({
    name: host.name,
    docker: host.docker,
    address: host.address,
    datacenter: host.datacenter,
    labels: host.labels,
    imagePull: host.imagePull,
    status: host.status,
  }));
  // Manual placement needs the pinned hosts only, so a dead host elsewhere costs nothing.
  const pinned = new Set(stack.services.flatMap((service) => service.targetHost ?? []));
  const consulted = stack.placement === 'manual' ? hosts.filter((host) => pinned.has(host.name)) : hosts;
  const facts = await readFacts(deps, consulted);
  try {
    return planPlacement({ stack, hosts, facts, seed, weights: deps.placementWeights });
  } catch (error) {
    if (error instanceof PlacementError) throw new UnplaceableError(error.unplaced, stack);
    throw error;
  }
}

/** Builds the API view of a host's facts, with what is free beside what is reserved. */
export function factsView(facts: HostFacts | undefined) {
  if (!facts) return { reachable: false as const, error: 'not checked' };
  if (!facts.reachable) {
    return { reachable: false as const, error: facts.error, errorKind: facts.errorKind ?? 'unreachable' };
  }
  const cpusReserved = facts.cpusReserved ?? 0;
  const memoryReservedBytes = facts.memoryReservedBytes ?? 0;
  return {
    reachable: true as const,
    cpus: facts.cpus,
    cpusReserved: Math.round(cpusReserved * 1000) / 1000,
    cpusFree: Math.max(0, Math.round((facts.cpus - cpusReserved) * 1000) / 1000),
    memoryBytes: facts.memoryBytes,
    memoryReservedBytes,
    memoryFreeBytes: Math.max(0, facts.memoryBytes - memoryReservedBytes),
    runningContainers: facts.runningContainers,
    publishedPorts: facts.publishedPorts ?? [],
  };
}
