/**
 * The stack's network and named volumes during a deploy. Workflow code: deterministic, no I/O.
 */
import type { HostRecord, ServiceSpec, StackSpec, VolumeSpec } from '../core/model';
import { stackSlug } from '../core/names';
import { networkDockerName, volumeDockerName } from '../core/wiring';
import type { Compensation } from './compensation';
import type { DeploymentProgress } from './contract';
import { onHostStep, type dockerSteps } from './steps';

/**
 * Ensures the stack's network on each host the deployment uses, and each named volume on each
 * host that mounts it, once per deployment. Services on different hosts proceed in parallel,
 * and services on one host share one ensure.
 *
 * The undo of a network or volume is registered before the first container on its host, so the
 * rollback, running newest first, removes it after those containers.
 */
export class StackResources {
  private readonly ensured = new Map<string, Promise<void>>();

  constructor(
    private readonly deploymentId: string,
    private readonly stack: StackSpec,
    private readonly compensations: Compensation[],
    private readonly progress: DeploymentProgress,
    /** Network and volume calls are Docker calls like the others, and retry the same way. */
    private readonly docker: ReturnType<typeof dockerSteps>,
    private readonly failedHosts: Set<string>,
  ) {}

  /** Ensure what the service's container needs on its host. Schedules nothing for a stack without them. */
  prepare(service: ServiceSpec, host: HostRecord): Promise<void> {
    const pending: Promise<void>[] = [];
    const network = this.stack.network;
    if (network) {
      const name = networkDockerName(this.stack)!;
      pending.push(
        this.once('network', host, name, network.external, () =>
          onHostStep(host.name, `creating network ${name}`, this.failedHosts, () =>
            this.docker.ensureNetwork({ ...this.common(host, name), network }),
          ),
        ),
      );
    }
    for (const volume of this.volumesOf(service)) {
      const name = volumeDockerName(this.stack, volume.name);
      pending.push(
        this.once('volume', host, name, volume.external, () =>
          onHostStep(host.name, `creating volume ${name}`, this.failedHosts, () =>
            this.docker.ensureVolume({ ...this.common(host, name), volume }),
          ),
        ),
      );
    }
    return Promise.all(pending).then(() => undefined);
  }

  /**
   * Lists the named volumes the service mounts, each once. The parser lists every mounted name in
   * `stack.volumes`; a name missing there still gets a plain volume rather than none.
   */
  private volumesOf(service: ServiceSpec): VolumeSpec[] {
    const names = new Set(
      service.mounts.flatMap((mount) => (mount.type === 'volume' && mount.source ? [mount.source] : [])),
    );
    return [...names].map(
      (name) =>
        this.stack.volumes.find((volume) => volume.name === name) ?? {
          name,
          options: {},
          labels: {},
          external: false,
        },
    );
  }

  private once(
    kind: 'network' | 'volume',
    host: HostRecord,
    name: string,
    external: boolean,
    ensure: () => Promise<{ created: boolean }>,
  ): Promise<void> {
    const key = `${kind}\u0000${host.name}\u0000${name}`;
    let promise = this.ensured.get(key);
    if (!promise) {
      // An external resource is never removed, so it gets no undo.
      if (!external) this.compensations.push({ kind, host, name });
      const entry = { kind, host: host.name, name, external, created: false };
      (this.progress.resources ??= []).push(entry);
      promise = ensure().then(({ created }) => {
        entry.created = created;
      });
      this.ensured.set(key, promise);
    }
    return promise;
  }

  private common(host: HostRecord, dockerName: string) {
    return {
      host,
      deploymentId: this.deploymentId,
      stackName: this.stack.name,
      stackSlug: stackSlug(this.stack.name),
      dockerName,
    };
  }
}
