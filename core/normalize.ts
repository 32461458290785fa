/**
 * The last step of reading a stack, shared by every dialect: merges the placement hints of the
 * file and of the deploy request into the model, and lists the named volumes the stack uses.
 */
import { childPath, type IssueLog } from './issues';
import type { ReadItem } from './items';
import type { HostConstraint, ServiceSpec, StackSpec, VolumeSpec } from './model';
import type { Hints } from './hints';
import { REQUEST_PATH } from './hints';
import { defaultPlacement, type StackSource } from './validate';

/** A stack read by a dialect, before the hints are merged; possibly incomplete when `log` has errors. */
export interface DialectOutput {
  stack: StackSpec;
  source: StackSource;
  items: ReadItem[];
  /** Placement hints the file gives. */
  hints: Hints;
  /** Volumes the stack declares, with their paths. */
  declaredVolumes: { volume: VolumeSpec; path: string }[];
}

/**
 * Merges `file` and `request` hints into `output.stack`. A request field replaces the file's with a
 * warning when they differ. A default host pins the services that name no host, unless the
 * strategy places services itself (`auto`, `datacenter`, `spread`).
 */
export function applyHints(output: DialectOutput, request: Hints, log: IssueLog): void {
  const { stack, source, hints: file } = output;
  const strategy = request.strategy ?? file.strategy;
  if (request.strategy && file.strategy && request.strategy.value !== file.strategy.value) {
    log.warn(
      request.strategy.path,
      `strategy "${request.strategy.value}" replaces "${file.strategy.value}" from ${file.strategy.path}.`,
    );
  }
  const datacenter = request.datacenter ?? file.datacenter;
  if (datacenter) stack.datacenter = datacenter.value;
  if (request.candidateHosts) stack.candidateHosts = request.candidateHosts.value;
  if (file.maxServicesPerHost) stack.maxServicesPerHost = file.maxServicesPerHost.value;

  applyConstraints(output, file, false, log);
  applyConstraints(output, request, true, log);

  const defaultHost = file.defaultHost;
  if (defaultHost) {
    const strategyPlaces = strategy && !['manual', 'single'].includes(strategy.value);
    if (strategyPlaces) {
      log.warn(
        defaultHost.path,
        `the default host "${defaultHost.value}" is not used because strategy "${strategy.value}" places ` +
          'the services. Pin services with targetHost, or use strategy "manual".',
      );
    } else {
      stack.services.forEach((service, index) => {
        if (service.targetHost !== undefined || source.services[index].targetHostWritten) return;
        service.targetHost = defaultHost.value;
        source.services[index] = {
          ...source.services[index],
          targetHost: defaultHost.path,
          targetHostWritten: true,
        };
      });
    }
  }
  stack.placement = strategy?.value ?? defaultPlacement(stack.services);
  checkCandidatePins(output, log);
}

function applyConstraints(output: DialectOutput, hints: Hints, fromRequest: boolean, log: IssueLog): void {
  const { stack, source } = output;
  for (const entry of hints.constraints) {
    const index = stack.services.findIndex((service) => service.name === entry.service);
    const nameKey = childPath(entry.path, 'containerName');
    if (index === -1) {
      const names = stack.services.map((service) => `"${service.name}"`).join(', ');
      log.error(nameKey, `"${entry.service}" is not a service of this stack. Use one of ${names}.`);
      continue;
    }
    const service = stack.services[index];
    if (entry.targetHost !== undefined && entry.targetHost !== service.targetHost) {
      const pinPath = childPath(entry.path, 'targetHost');
      if (service.targetHost !== undefined && !fromRequest) {
        log.error(
          pinPath,
          `targetHost "${entry.targetHost}" differs from "${service.targetHost}" at ` +
            `${source.services[index].targetHost}. Keep one of them.`,
        );
      } else {
        if (service.targetHost !== undefined) {
          log.warn(
            pinPath,
            `targetHost "${entry.targetHost}" replaces "${service.targetHost}" from the stack file.`,
          );
        }
        service.targetHost = entry.targetHost;
        source.services[index] = { ...source.services[index], targetHost: pinPath, targetHostWritten: true };
      }
    }
    service.constraints = mergeConstraint(service.constraints, entry);
  }
}

function mergeConstraint(
  existing: HostConstraint | undefined,
  entry: { datacenter?: string; labels: Record<string, string>; minCpus?: number; minMemoryBytes?: number },
): HostConstraint | undefined {
  const merged: HostConstraint = { labels: { ...existing?.labels, ...entry.labels } };
  const datacenter = entry.datacenter ?? existing?.datacenter;
  const minCpus = entry.minCpus ?? existing?.minCpus;
  const minMemoryBytes = entry.minMemoryBytes ?? existing?.minMemoryBytes;
  if (datacenter !== undefined) merged.datacenter = datacenter;
  if (minCpus !== undefined) merged.minCpus = minCpus;
  if (minMemoryBytes !== undefined) merged.minMemoryBytes = minMemoryBytes;
  const empty = Object.keys(merged.labels).length === 0 && Object.keys(merged).length === 1;
  return empty ? existing : merged;
}

/** Rejects a service pinned to a host outside the request's `targetHosts`, which cannot be placed. */
function checkCandidatePins(output: DialectOutput, log: IssueLog): void {
  const candidates = output.stack.candidateHosts;
  if (!candidates) return;
  output.stack.services.forEach((service, index) => {
    if (service.targetHost === undefined || candidates.includes(service.targetHost)) return;
    log.error(
      output.source.services[index].targetHost,
      `host "${service.targetHost}" is not among the request's targetHosts (${candidates.join(', ')}). ` +
        `Add it to ${REQUEST_PATH}.targetHosts or pin the service to one of them.`,
    );
  });
}

/**
 * Lists every named volume the stack uses in `stack.volumes`: the declared ones, then those that
 * services only mount by name. A driver asked for by an item's `volumes` entry must agree with
 * the declaration. A declared volume that no service mounts is not created, with a warning.
 */
export function collectVolumes(output: DialectOutput, log: IssueLog): void {
  const volumes = new Map<string, VolumeSpec>();
  for (const { volume } of output.declaredVolumes) volumes.set(volume.name, volume);
  const mounted = new Set<string>();
  for (const item of output.items) {
    for (const mount of item.service.mounts) {
      if (mount.type !== 'volume' || mount.source === undefined) continue;
      mounted.add(mount.source);
      if (!volumes.has(mount.source)) {
        volumes.set(mount.source, { name: mount.source, options: {}, labels: {}, external: false });
      }
    }
    for (const request of item.drivers) {
      const volume = volumes.get(request.volume)!;
      if (volume.driver === undefined) {
        volume.driver = request.driver;
      } else if (volume.driver !== request.driver) {
        log.error(
          childPath(request.path, 'driver'),
          `driver "${request.driver}" differs from "${volume.driver}" for volume "${request.volume}". Use one driver.`,
        );
      }
    }
  }
  for (const { volume, path } of output.declaredVolumes) {
    if (mounted.has(volume.name)) continue;
    log.warn(
      path,
      `volume "${volume.name}" is not mounted by any service, so it is not created. Mount it or remove it.`,
    );
  }
  output.stack.volumes = [...volumes.values()].filter((volume) => mounted.has(volume.name));
}

/** Warns about each variable of the request field `field` that no placeholder uses. */
export function warnUnusedVariables(
  variables: Readonly<Record<string, string>>,
  used: Set<string>,
  log: IssueLog,
  field: 'variables' | 'secretVariables' = 'variables',
) {
  for (const name of Object.keys(variables)) {
    if (used.has(name)) continue;
    log.warn(
      childPath(childPath(REQUEST_PATH, field), name),
      `variable "${name}" is not used by any \${${name}} placeholder in an environment value.`,
    );
  }
}

/**
 * Checks that every host the stack or the request names is registered: each service's pin, at
 * the path it came from, and each of the request's `targetHosts`.
 */
export function checkKnownHosts(output: DialectOutput, knownHosts: readonly string[], log: IssueLog): void {
  const known = new Set(knownHosts);
  const list = knownHosts.length > 0 ? knownHosts.join(', ') : 'none; register one with POST /hosts';
  output.stack.services.forEach((service: ServiceSpec, index) => {
    if (service.targetHost === undefined || known.has(service.targetHost)) return;
    log.error(
      output.source.services[index].targetHost,
      `host "${service.targetHost}" is not registered. Registered hosts: ${list}.`,
    );
  });
  (output.stack.candidateHosts ?? []).forEach((host, index) => {
    if (known.has(host)) return;
    log.error(
      `${REQUEST_PATH}.targetHosts[${index}]`,
      `host "${host}" is not registered. Registered hosts: ${list}.`,
    );
  });
}
