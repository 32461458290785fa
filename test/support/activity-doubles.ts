/**
 * Activity doubles for deploy workflows run against the real Temporal dev server: one host and a
 * one-service stack whose every step succeeds, with no Docker daemon involved.
 */
import type { StartContainerInput } from '../../activities/containers';
import type { HostRecord } from '../../core/model';

export const HOST: HostRecord = {
  name: 'host-1',
  docker: { protocol: 'unix', socketPath: '/run/host-1.sock' },
  address: '10.213.0.11',
  datacenter: 'lab-a',
  labels: {},
  imagePull: 'never',
  status: 'active',
};

/** Activity doubles for a one-service stack; `started` receives each startContainer input. */
export function fakeActivities(started: StartContainerInput[]) {
  return {
    async planPlacement() {
      return {
        plan: { strategy: 'manual', assignments: { db: HOST.name }, services: [] },
        hosts: { [HOST.name]: HOST },
      };
    },
    async ensureImage() {
      return { pulled: false };
    },
    async startContainer(input: StartContainerInput) {
      started.push(input);
      return {
        containerId: `id-${input.service}`,
        containerName: input.containerName,
        ports: input.publish.map((port) => ({ ...port, hostPort: port.hostPort || 40000 })),
        startedAt: new Date().toISOString(),
        adopted: false,
      };
    },
    async awaitHealthy() {
      return { healthy: true, output: 'ok' };
    },
    async removeServiceContainer() {
      return { removed: 'none' };
    },
    async ensureNetwork({ dockerName }: { dockerName: string }) {
      return { name: dockerName, created: true };
    },
    async ensureVolume({ dockerName }: { dockerName: string }) {
      return { name: dockerName, created: true };
    },
    async removeResource() {
      return { removed: true };
    },
    async runAction() {
      return { exitCode: 0, output: '' };
    },
    async recordOutcome() {},
  };
}
