/**
 * The activities the workflows call. `createActivities` binds them to the
 * database; the worker registers the result. Workflow code imports only the
 * `Activities` type from here.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { HostRecord, StackSpec } from '../core/model';
import { LABELS } from '../core/names';
import { PlacementError, planPlacement, type PlacementPlan, type PlacementWeights } from '../core/placement';
import type { Database } from '../db/client';
import { ERROR_TYPES, imageKey } from '../workflows/contract';
import type { StackResource } from '../workflows/contract';
import { runAction } from './actions';
import { ensureImage, imagesPresent, removeById, removeServiceContainer, startContainer } from './containers';
import { dockerFor, hostErrorMessage, onHost } from './docker';
import { gatherFacts } from './host-facts';
import { awaitHealthy } from './health';
import { removeDeploymentLeftovers, type LeftoversInput } from './leftovers';
import { ensureNetwork, ensureVolume, listStackResources, removeResource } from './resources';
import {
  loadHosts,
  markStackRemoved,
  newerLiveDeployment,
  markStackRemoving,
  recordTeardownFailure,
  saveOutcome,
  savePlacement,
  saveReconciliation,
  type ReconciliationRecord,
  stackHostNames,
  type OutcomeInput,
} from './store';

export interface PlanInput {
  deploymentId: string;
  stack: StackSpec;
}

export interface PlanResult {
  plan: PlacementPlan;
  /** The records of the hosts the plan uses, passed to the container activities. */
  hosts: Record<string, HostRecord>;
  /**
   * `imageKey`s of the images already on the host that runs them, found while planning. Absent
   * in plans made before it was reported.
   */
  imagesPresent?: string[];
}

export interface StackContainer {
  host: string;
  containerId: string;
  containerName: string;
  deploymentId: string;
}

export interface ActivityDeps {
  db: Database;
  /** Weights of the placement score. Default: DEFAULT_WEIGHTS. */
  placementWeights?: PlacementWeights;
}

/** Wraps an activity whose input names its host, so a host that does not respond is reported as such. */
function hostBound<I extends { host: Pick<HostRecord, 'name' | 'docker'> }, O>(
  activity: (input: I) => Promise<O>,
): (input: I) => Promise<O> {
  return (input) => onHost(input.host, () => activity(input));
}

export function createActivities({ db, placementWeights }: ActivityDeps) {
  return {
    ensureImage: hostBound(ensureImage),
    startContainer: hostBound(startContainer),
    awaitHealthy: hostBound(awaitHealthy),
    removeServiceContainer: hostBound(removeServiceContainer),
    ensureNetwork: hostBound(ensureNetwork),
    ensureVolume: hostBound(ensureVolume),
    removeResource: hostBound(removeResource),
    runAction: hostBound(runAction),

    /**
     * Removes a rolled back deployment's leftovers on one host, reached through its current
     * registration. A host no longer registered fails without retry.
     */
    async removeDeploymentLeftovers(input: LeftoversInput) {
      const host = await registeredHost(db, input.host.name);
      const newerDeploymentId = await newerLiveDeployment(db, input.deploymentId);
      return onHost(host, () => removeDeploymentLeftovers({ ...input, host, newerDeploymentId }));
    },

    async planPlacement({ deploymentId, stack }: PlanInput): Promise<PlanResult> {
      const registered = await loadHosts(db);
      // Manual placement needs only the pinned hosts, so a dead host elsewhere costs nothing.
      const pinned = new Set(stack.services.flatMap((service) => service.targetHost ?? []));
      const consulted =
        stack.placement === 'manual' ? registered.filter((h) => pinned.has(h.name)) : registered;
      // A plan reads fresh facts, so it never counts capacity that was taken seconds ago as free.
      const facts = await gatherFacts(consulted, { maxAgeMs: 0 });
      let plan: PlacementPlan;
      try {
        plan = planPlacement({
          stack,
          hosts: registered,
          facts,
          seed: deploymentId,
          weights: placementWeights,
        });
      } catch (error) {
        const details = error instanceof PlacementError ? error.unplaced : undefined;
        throw ApplicationFailure.nonRetryable((error as Error).message, ERROR_TYPES.placementFailed, details);
      }
      await savePlacement(db, deploymentId, plan);
      const used = new Set(Object.values(plan.assignments));
      const hosts = Object.fromEntries(registered.filter((h) => used.has(h.name)).map((h) => [h.name, h]));
      const pairs = new Map(
        stack.services.map((service) => {
          const host = hosts[plan.assignments[service.name]!]!;
          return [imageKey(host.name, service.image), { host, image: service.image }];
        }),
      );
      return { plan, hosts, imagesPresent: await imagesPresent([...pairs.values()]) };
    },

    async recordOutcome(outcome: OutcomeInput): Promise<void> {
      await saveOutcome(db, outcome);
    },

    async recordReconciliation({
      deploymentId,
      reconciliation,
    }: {
      deploymentId: string;
      reconciliation: ReconciliationRecord;
    }): Promise<void> {
      await saveReconciliation(db, deploymentId, reconciliation);
    },

    /** List every container of a stack, by label, on the hosts its deployments used. */
    async listStackContainers({ stackSlug }: { stackSlug: string }) {
      const registered = await stackHosts(db, stackSlug);
      const containers: StackContainer[] = [];
      const unreachable: { host: string; error: string }[] = [];
      await Promise.all(
        registered.map(async (host) => {
          try {
            const found = await dockerFor(host).listContainers({
              all: true,
              filters: { label: [`${LABELS.stack}=${stackSlug}`] },
            });
            for (const container of found) {
              containers.push({
                host: host.name,
                containerId: container.Id,
                containerName: container.Names[0]?.replace(/^\//, '') ?? container.Id,
                deploymentId: container.Labels[LABELS.deployment] ?? '',
              });
            }
          } catch (error) {
            unreachable.push({ host: host.name, error: hostErrorMessage(host, error) });
          }
        }),
      );
      return { containers, unreachable };
    },

    async removeContainerById({ host, containerId }: { host: string; containerId: string }): Promise<void> {
      await removeById(dockerFor(await registeredHost(db, host)), containerId);
    },

    /** List the networks and volumes of a stack, by label, on the hosts its deployments used. */
    async listStackResources({ stackSlug }: { stackSlug: string }) {
      const registered = await stackHosts(db, stackSlug);
      const resources: StackResource[] = [];
      const unreachable: { host: string; error: string }[] = [];
      await Promise.all(
        registered.map(async (host) => {
          try {
            resources.push(...(await listStackResources(host, stackSlug)));
          } catch (error) {
            unreachable.push({ host: host.name, error: hostErrorMessage(host, error) });
          }
        }),
      );
      return { resources, unreachable };
    },

    /** Remove a network or volume found by `listStackResources` if it still carries the stack's labels. */
    async removeStackResource({ resource, stackSlug }: { resource: StackResource; stackSlug: string }) {
      return removeResource({
        host: await registeredHost(db, resource.host),
        kind: resource.kind,
        name: resource.name,
        labels: { [LABELS.stack]: stackSlug, [LABELS.managed]: 'true' },
      });
    },

    async recordStackRemoving({ stackSlug }: { stackSlug: string }): Promise<void> {
      await markStackRemoving(db, stackSlug);
    },

    async recordTeardownFailure({
      stackSlug,
      failure,
    }: {
      stackSlug: string;
      failure: string[];
    }): Promise<void> {
      await recordTeardownFailure(db, stackSlug, failure);
    },

    async recordStackRemoved({ stackSlug }: { stackSlug: string }): Promise<void> {
      await markStackRemoved(db, stackSlug);
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;

/** Returns the registered hosts any deployment of the stack used, or every host when none is recorded. */
async function stackHosts(db: Database, stackSlug: string): Promise<HostRecord[]> {
  const used = new Set(await stackHostNames(db, stackSlug));
  const all = await loadHosts(db);
  // A stack with no record of its hosts may still have containers anywhere.
  return used.size > 0 ? all.filter((host) => used.has(host.name)) : all;
}

async function registeredHost(db: Database, name: string): Promise<HostRecord> {
  const record = (await loadHosts(db)).find((candidate) => candidate.name === name);
  if (!record) {
    throw ApplicationFailure.nonRetryable(`host ${name} is no longer registered`, ERROR_TYPES.hostNotFound);
  }
  return record;
}
