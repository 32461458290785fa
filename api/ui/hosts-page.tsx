/** The hosts page: every registered host with its live figures, a form to add one, and removal. */
import type { DockerEndpoint, HostFacts } from '../../core/model';
import type { Host } from '../../db/repository';
import { factsView } from '../placement';
import { formatBytes, formatCpus } from './format';
import { Layout, NoticeRegion, ProblemRegion, StatusBadge } from './layout';

/** One host as the page shows it, with the deployments that keep it from being removed. */
export interface HostRow {
  host: Host;
  facts: HostFacts | undefined;
  usedBy: { deploymentId: string; stackName: string; status: string }[];
}

/** Formats an endpoint as the URL a user would type, noting TLS. */
export function endpointText(endpoint: DockerEndpoint): string {
  if (endpoint.protocol === 'unix') return `unix://${endpoint.socketPath}`;
  const host = endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host;
  return `tcp://${host}:${endpoint.port}${endpoint.tls ? ' (TLS)' : ''}`;
}

function labelsText(labels: Record<string, string>): string {
  const entries = Object.entries(labels);
  return entries.length === 0 ? 'none' : entries.map(([key, value]) => `${key}=${value}`).join(', ');
}

function HostTableRow(props: { row: HostRow }) {
  const { host, usedBy } = props.row;
  const facts = factsView(props.row.facts);
  return (
    <tr data-host={host.name}>
      <th scope="row">{host.name}</th>
      <td>
        <StatusBadge status={host.status} />{' '}
        {facts.reachable ? (
          <StatusBadge status="healthy" label="daemon" />
        ) : (
          <>
            <StatusBadge status={facts.errorKind === 'tls' ? 'tls_failed' : 'unreachable'} label="daemon" />
            <p class="hint">{facts.error ?? 'no figures'}</p>
          </>
        )}
      </td>
      <td>{host.datacenter}</td>
      <td>{labelsText(host.labels)}</td>
      <td>
        {facts.reachable ? `${formatCpus(facts.cpusFree)} free of ${formatCpus(facts.cpus)}` : 'unknown'}
      </td>
      <td>
        {facts.reachable
          ? `${formatBytes(facts.memoryFreeBytes)} free of ${formatBytes(facts.memoryBytes)}`
          : 'unknown'}
      </td>
      <td>{facts.reachable ? String(facts.runningContainers) : 'unknown'}</td>
      <td>
        <span class="mono">{endpointText(host.docker)}</span>
        <p class="hint">reached at {host.address}</p>
      </td>
      <td>
        {usedBy.length === 0 ? (
          <span class="muted">no stack</span>
        ) : (
          <ul>
            {usedBy.map((user) => (
              <li>
                <a href={`/ui/stacks/${encodeURIComponent(user.stackName)}`}>{user.stackName}</a> (
                {user.status})
              </li>
            ))}
          </ul>
        )}
      </td>
      <td>
        <button
          type="button"
          class="danger"
          data-remove-host={host.name}
          aria-label={`Remove host ${host.name}`}
        >
          Remove
        </button>
      </td>
    </tr>
  );
}

function TextField(props: { id: string; name: string; label: string; hint?: string; required?: boolean }) {
  const hintId = props.hint ? `${props.id}-hint` : undefined;
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      {props.hint ? (
        <p class="hint" id={hintId}>
          {props.hint}
        </p>
      ) : null}
      <input
        type="text"
        id={props.id}
        name={props.name}
        required={props.required}
        aria-describedby={hintId}
        autocomplete="off"
      />
    </div>
  );
}

function AddHostForm() {
  return (
    <form id="add-host" class="stacked" aria-labelledby="add-host-title" novalidate>
      <h2 id="add-host-title">Add a host</h2>
      <fieldset>
        <legend>Host</legend>
        <div class="field-grid">
          <TextField
            id="host-name"
            name="name"
            label="Name"
            required
            hint="1 to 63 lowercase letters, digits or hyphens, such as host1."
          />
          <TextField
            id="host-docker"
            name="docker"
            label="Docker endpoint"
            required
            hint="tcp://host:port or unix:///path/to/docker.sock."
          />
          <TextField
            id="host-address"
            name="address"
            label="Address"
            required
            hint="Where other hosts reach the ports this host publishes, such as 10.0.0.5."
          />
          <TextField id="host-datacenter" name="datacenter" label="Datacenter" hint="Default: default." />
          <div class="field">
            <label for="host-labels">Labels</label>
            <p class="hint" id="host-labels-hint">
              One key=value a line, such as disk=ssd.
            </p>
            <textarea id="host-labels" name="labels" rows={3} aria-describedby="host-labels-hint"></textarea>
          </div>
          <div class="field">
            <label for="host-image-pull">Image pull</label>
            <select id="host-image-pull" name="imagePull">
              <option value="missing">pull images the host lacks</option>
              <option value="never">never pull; images must be on the host</option>
            </select>
          </div>
        </div>
      </fieldset>
      <fieldset>
        <legend>TLS (optional)</legend>
        <p class="hint">Paths of PEM files on the Graphium server; TLS needs a tcp:// endpoint.</p>
        <div class="field-grid">
          <TextField id="host-tls-ca" name="tlsCa" label="CA certificate path" />
          <TextField id="host-tls-cert" name="tlsCert" label="Client certificate path" />
          <TextField id="host-tls-key" name="tlsKey" label="Client key path" />
        </div>
      </fieldset>
      <div class="actions">
        <button type="submit">Add host</button>
      </div>
      <ProblemRegion id="add-host-problem" />
    </form>
  );
}

export function HostsPage(props: { rows: HostRow[]; temporalUiUrl: string }) {
  const { rows } = props;
  return (
    <Layout title="Hosts" page="hosts" temporalUiUrl={props.temporalUiUrl} scripts={['hosts.js']}>
      <h1>Hosts</h1>
      <p>
        {rows.length === 1 ? '1 host is' : `${rows.length} hosts are`} registered. Figures are read live from
        each Docker daemon.
      </p>
      <ProblemRegion id="hosts-problem" />
      <NoticeRegion id="hosts-notice" />
      {rows.length === 0 ? (
        <p>No host is registered yet; add one with the form below.</p>
      ) : (
        <div class="table-wrap">
          <table>
            <caption class="muted">Registered hosts</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Status</th>
                <th scope="col">Datacenter</th>
                <th scope="col">Labels</th>
                <th scope="col">CPUs</th>
                <th scope="col">Memory</th>
                <th scope="col">Running containers</th>
                <th scope="col">Docker endpoint</th>
                <th scope="col">Used by</th>
                <th scope="col">Remove</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => (
                <HostTableRow row={row} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      <AddHostForm />
    </Layout>
  );
}
