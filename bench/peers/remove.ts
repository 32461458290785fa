/** Force-removal of containers by label, which the floor and an interrupted run use. */
import type Docker from 'dockerode';

/**
 * Force-removes every container with `label` (`key=value`) on each daemon. A container that is
 * already gone (404) or already being removed (409) counts as removed, because a scenario's own
 * removal and an interrupted run's clean-up may both reach it.
 */
export async function removeContainersByLabel(daemons: Docker[], label: string): Promise<void> {
  await Promise.all(
    daemons.map(async (docker) => {
      const found = await docker.listContainers({ all: true, filters: { label: [label] } });
      await Promise.all(
        found.map(async (info) => {
          try {
            await docker.getContainer(info.Id).remove({ force: true });
          } catch (error) {
            const status = (error as { statusCode?: number }).statusCode;
            if (status !== 404 && status !== 409) throw error;
          }
        }),
      );
    }),
  );
}
