/**
 * The stack page: the newest deployment of one stack as a map of hosts and their containers,
 * live progress while the workflow runs, the failure and the rollback report, and buttons to
 * tear the stack down or deploy it again.
 */
import type { PlacementPlan } from '../../core/placement';
import { isActiveStatus } from '../../db/repository';
import type { DeploymentStatus } from '../../db/schema';
import type { CompensationReport } from '../../workflows/compensation';
import type { deploymentDetail } from '../views';
import { formatConnection, formatPort, formatTime } from './format';
import { Layout, NoticeRegion, ProblemRegion, StatusBadge } from './layout';

export type DeploymentDetail = Awaited<ReturnType<typeof deploymentDetail>>;
type MapContainer = DeploymentDetail['containers'][number];

/** Statuses after which the stack may be deployed again from its stored spec. */
const REDEPLOYABLE: readonly DeploymentStatus[] = ['rolled_back', 'cancelled', 'failed', 'removed'];

/** Returns whether any service has a secret value, which the stored spec holds only redacted. */
export function hasSecrets(detail: DeploymentDetail): boolean {
  const services = (detail.spec as { services?: { secretEnvironment?: string[] }[] }).services ?? [];
  return services.some((service) => (service.secretEnvironment ?? []).length > 0);
}

/** Groups containers by host, hosts in the order their first container appears. */
export function groupByHost(
  containers: MapContainer[],
): { name: string; address: string; containers: MapContainer[] }[] {
  const hosts = new Map<string, { name: string; address: string; containers: MapContainer[] }>();
  for (const container of containers) {
    const host = hosts.get(container.hostName) ?? {
      name: container.hostName,
      address: container.hostAddress,
      containers: [],
    };
    host.containers.push(container);
    hosts.set(container.hostName, host);
  }
  return [...hosts.values()];
}

function Summary(props: { detail: DeploymentDetail }) {
  const { detail } = props;
  return (
    <dl class="facts">
      <dt>Deployment</dt>
      <dd class="mono">{detail.deploymentId}</dd>
      <dt>Strategy</dt>
      <dd>{detail.strategy}</dd>
      <dt>Requested</dt>
      <dd>
        <time datetime={detail.createdAt.toISOString()}>{formatTime(detail.createdAt)}</time>
      </dd>
      <dt>Last change</dt>
      <dd>
        <time datetime={detail.updatedAt.toISOString()}>{formatTime(detail.updatedAt)}</time>
      </dd>
      {detail.finishedAt ? (
        <>
          <dt>Finished</dt>
          <dd>
            <time datetime={detail.finishedAt.toISOString()}>{formatTime(detail.finishedAt)}</time>
          </dd>
        </>
      ) : null}
      <dt>Workflow</dt>
      <dd>
        <a href={detail.links.temporalUi} id="temporal-link">
          {detail.workflowId} in the Temporal UI
        </a>
      </dd>
    </dl>
  );
}

function Actions(props: { detail: DeploymentDetail }) {
  const { detail } = props;
  const canTearDown = detail.status !== 'removed' && detail.status !== 'removing';
  const canRedeploy = REDEPLOYABLE.includes(detail.status);
  const secrets = hasSecrets(detail);
  return (
    <section aria-labelledby="actions-title">
      <h2 id="actions-title">Actions</h2>
      <div class="actions">
        {canTearDown ? (
          <>
            <span class="choice">
              <input type="checkbox" id="keep-volumes" />
              <label for="keep-volumes">Keep the stack's volumes</label>
            </span>
            <button type="button" class="danger" id="teardown-button">
              Tear down
            </button>
          </>
        ) : null}
        {canRedeploy && !secrets ? (
          <button type="button" id="redeploy-button">
            Redeploy
          </button>
        ) : null}
      </div>
      {canRedeploy && secrets ? (
        <p>
          This stack has secret values, which Graphium stores only redacted, so it cannot be deployed again
          from here. <a href="/ui/deploy">Deploy its document</a> with the secret variables instead.
        </p>
      ) : null}
      {detail.status === 'running' ? (
        <p class="hint">A running stack is torn down before it can be deployed again.</p>
      ) : null}
      <ProblemRegion id="stack-problem" />
      <NoticeRegion id="stack-notice" />
    </section>
  );
}

function Progress(props: { detail: DeploymentDetail }) {
  const { progress } = props.detail;
  return (
    <section id="progress" aria-labelledby="progress-title">
      <h2 id="progress-title">Progress</h2>
      <p id="progress-phase" aria-live="polite">
        {progress ? `Phase: ${progress.phase}.` : 'Waiting for the workflow to report its progress.'}
      </p>
      <table>
        <thead>
          <tr>
            <th scope="col">Container</th>
            <th scope="col">Host</th>
            <th scope="col">Step</th>
            <th scope="col">Detail</th>
          </tr>
        </thead>
        <tbody id="progress-rows">
          {(progress?.services ?? []).map((service) => (
            <tr data-service={service.service}>
              <th scope="row">{service.service}</th>
              <td>{service.host ?? 'not placed yet'}</td>
              <td>
                <StatusBadge status={service.step} />
              </td>
              <td>{service.detail ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Failure(props: { failure: string[] }) {
  return (
    <section id="failure" aria-labelledby="failure-title" class="card">
      <h2 id="failure-title">Failure</h2>
      <p>The cause, outermost first:</p>
      <ol>
        {props.failure.map((cause) => (
          <li>{cause}</li>
        ))}
      </ol>
    </section>
  );
}

function Compensation(props: { report: Partial<CompensationReport> }) {
  const removed = props.report.removed ?? [];
  const failed = props.report.failed ?? [];
  const removedResources = props.report.removedResources ?? [];
  const failedResources = props.report.failedResources ?? [];
  const reconciliation = props.report.reconciliation;
  const complete = failed.length === 0 && failedResources.length === 0;
  return (
    <section id="rollback" aria-labelledby="rollback-title" class="card">
      <h2 id="rollback-title">Rollback</h2>
      <p>
        <StatusBadge status={complete ? 'succeeded' : 'failed'} label="rollback" />{' '}
        {complete
          ? `The rollback removed everything the deploy had created: ${removed.length} containers and ${removedResources.length} networks or volumes.`
          : 'The rollback could not remove everything; the items below remain.'}
      </p>
      {removed.length > 0 ? (
        <>
          <h3>Removed containers</h3>
          <ul>
            {removed.map((entry) => (
              <li>
                {entry.service} on {entry.host} (<span class="mono">{entry.container}</span>)
              </li>
            ))}
          </ul>
        </>
      ) : null}
      {failed.length > 0 ? (
        <>
          <h3>Containers not removed</h3>
          <ul>
            {failed.map((entry) => (
              <li>
                {entry.service} on {entry.host}: {entry.error}
              </li>
            ))}
          </ul>
        </>
      ) : null}
      {removedResources.length > 0 ? (
        <>
          <h3>Removed networks and volumes</h3>
          <ul>
            {removedResources.map((entry) => (
              <li>
                {entry.kind} <span class="mono">{entry.name}</span> on {entry.host}
              </li>
            ))}
          </ul>
        </>
      ) : null}
      {failedResources.length > 0 ? (
        <>
          <h3>Networks and volumes not removed</h3>
          <ul>
            {failedResources.map((entry) => (
              <li>
                {entry.kind} <span class="mono">{entry.name}</span> on {entry.host}: {entry.error}
              </li>
            ))}
          </ul>
        </>
      ) : null}
      {reconciliation ? (
        <p>
          Reconciliation <span class="mono">{reconciliation.workflowId}</span> on{' '}
          {reconciliation.hosts.join(', ')}: <StatusBadge status={reconciliation.status} />
        </p>
      ) : null}
    </section>
  );
}

function ContainerItem(props: { container: MapContainer }) {
  const { container } = props;
  return (
    <li data-service={container.service}>
      <h4 class="container-name">
        {container.service} <StatusBadge status={container.health} label="health" />
      </h4>
      <dl class="facts">
        <dt>Container</dt>
        <dd class="mono">{container.containerName}</dd>
        <dt>Image</dt>
        <dd class="mono">{container.image}</dd>
        <dt>Ports</dt>
        <dd>
          {container.ports.length === 0 ? 'none published' : container.ports.map(formatPort).join(', ')}
        </dd>
        <dt>Connects to</dt>
        <dd>
          {container.connections.length === 0 ? (
            'no dependencies'
          ) : (
            <ul class="connections">
              {container.connections.map((connection) => (
                <li>{formatConnection(connection)}</li>
              ))}
            </ul>
          )}
        </dd>
      </dl>
    </li>
  );
}

function DeploymentMap(props: { containers: MapContainer[] }) {
  const hosts = groupByHost(props.containers);
  return (
    <section id="deployment-map" aria-labelledby="map-title">
      <h2 id="map-title">Deployment map</h2>
      {hosts.length === 0 ? (
        <p>No container of this deployment is recorded yet.</p>
      ) : (
        <div class="hosts-map">
          {hosts.map((host, index) => (
            <section class="card host" data-host={host.name} aria-labelledby={`map-host-${index}`}>
              <h3 id={`map-host-${index}`}>
                {host.name} ({host.address})
              </h3>
              <ul class="container-list">
                {host.containers.map((container) => (
                  <ContainerItem container={container} />
                ))}
              </ul>
            </section>
          ))}
        </div>
      )}
    </section>
  );
}

type ServicePlacement = PlacementPlan['services'][number];

/** Returns every host not chosen for a service with the reason, grouped ones with their count. */
function otherHostsText(service: ServicePlacement): string {
  const entries = service.rejected.map((entry) => `${entry.host}: ${entry.reason}`);
  for (const group of service.rejectedGroups ?? []) entries.push(`${group.count} hosts: ${group.reason}`);
  return entries.length === 0 ? 'none' : entries.join('; ');
}

function scoreText(service: ServicePlacement): string {
  if (!service.score) return service.pinned ? 'pinned' : 'not scored';
  const { total, cpu, memory, containers } = service.score;
  return `${total.toFixed(3)} (CPU ${cpu.toFixed(3)}, memory ${memory.toFixed(3)}, containers ${containers.toFixed(3)})`;
}

function Placement(props: { plan: PlacementPlan }) {
  return (
    <section id="placement" aria-labelledby="placement-title">
      <h2 id="placement-title">Placement</h2>
      <details>
        <summary>Why each container runs where it does</summary>
        <table>
          <thead>
            <tr>
              <th scope="col">Container</th>
              <th scope="col">Host</th>
              <th scope="col">Score</th>
              <th scope="col">Reason</th>
              <th scope="col">Other hosts</th>
            </tr>
          </thead>
          <tbody>
            {props.plan.services.map((service) => (
              <tr>
                <th scope="row">{service.service}</th>
                <td>{service.host}</td>
                <td>{scoreText(service)}</td>
                <td>{service.reason}</td>
                <td>{otherHostsText(service)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </section>
  );
}

export function StackPage(props: { detail: DeploymentDetail; temporalUiUrl: string }) {
  const { detail } = props;
  const changing = isActiveStatus(detail.status) || detail.status === 'removing';
  const plan = detail.placement as PlacementPlan | null;
  return (
    <Layout title={detail.stackName} page="stacks" temporalUiUrl={props.temporalUiUrl} scripts={['stack.js']}>
      <div
        id="stack-view"
        data-stack={detail.stackSlug}
        data-deployment={detail.deploymentId}
        data-status={detail.status}
      >
        <h1>
          {detail.stackName} <StatusBadge status={detail.status} id="stack-status" />
        </h1>
        <Summary detail={detail} />
        <Actions detail={detail} />
        {changing || detail.progress ? <Progress detail={detail} /> : null}
        {detail.failure && detail.failure.length > 0 ? <Failure failure={detail.failure} /> : null}
        {detail.compensation ? (
          <Compensation report={detail.compensation as Partial<CompensationReport>} />
        ) : null}
        <DeploymentMap containers={detail.containers} />
        {plan && Array.isArray(plan.services) ? <Placement plan={plan} /> : null}
        {detail.warnings.length > 0 ? (
          <section aria-labelledby="warnings-title">
            <h2 id="warnings-title">Warnings</h2>
            <ul>
              {detail.warnings.map((warning) => (
                <li>
                  <code>{warning.path}</code>: {warning.message}
                </li>
              ))}
            </ul>
          </section>
        ) : null}
      </div>
    </Layout>
  );
}

/** Renders the page for a stack name that has no deployment. */
export function StackNotFoundPage(props: { name: string; temporalUiUrl: string }) {
  return (
    <Layout title="Stack not found" page="stacks" temporalUiUrl={props.temporalUiUrl}>
      <h1>Stack not found</h1>
      <p>
        No deployment of a stack named “{props.name}” is recorded. <a href="/ui/stacks">See every stack</a> or{' '}
        <a href="/ui/deploy">deploy one</a>.
      </p>
    </Layout>
  );
}
