/**
 * The deploy page: a stack document pasted, loaded from a file or built item by item, a
 * placement strategy, a host per container for manual placement, the plan, and the deploy.
 * The page's script sends the document to `POST /stacks/plan` and `POST /deployments`.
 */
import type { HostFacts, PlacementStrategyName } from '../../core/model';
import type { Host } from '../../db/repository';
import { factsView } from '../placement';
import { formatBytes, formatCpus } from './format';
import { Layout, NoticeRegion, ProblemRegion } from './layout';

/** A host offered for manual placement, with the free capacity the page shows beside it. */
export interface PlacementHost {
  host: Host;
  facts: HostFacts | undefined;
}

/** Returns the text of a host in the manual placement lists: its name and free CPU and memory. */
export function hostCapacityText(entry: PlacementHost): string {
  const facts = factsView(entry.facts);
  const where = `${entry.host.name} (${entry.host.datacenter})`;
  if (!facts.reachable) {
    const daemon = facts.errorKind === 'tls' ? 'TLS to the daemon failed' : 'daemon unreachable';
    return `${where}: ${daemon}, capacity unknown`;
  }
  const cpus = `${formatCpus(facts.cpusFree)} of ${formatCpus(facts.cpus)} CPUs free`;
  const memory = `${formatBytes(facts.memoryFreeBytes)} of ${formatBytes(facts.memoryBytes)} memory free`;
  return `${where}: ${cpus}, ${memory}`;
}

const STRATEGY_TEXT: Record<PlacementStrategyName, { label: string; hint: string }> = {
  auto: { label: 'Auto', hint: 'Each container goes to the feasible host with the highest score.' },
  manual: { label: 'Manual', hint: 'You pick the host of each container below.' },
  datacenter: {
    label: 'Same datacenter',
    hint: 'All containers in one datacenter, spread over its hosts.',
  },
  spread: { label: 'Spread', hint: 'Containers spread evenly over the hosts.' },
  single: { label: 'Single host', hint: 'The whole stack on the one host that fits it best.' },
};

/** The strategies in the order the form offers them, the default first. */
const STRATEGY_ORDER: readonly PlacementStrategyName[] = ['auto', 'manual', 'datacenter', 'spread', 'single'];

function Field(props: { id: string; label: string; hint?: string; type?: 'text' | 'number' }) {
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
        type={props.type ?? 'text'}
        id={props.id}
        aria-describedby={hintId}
        autocomplete="off"
        min={props.type === 'number' ? '0' : undefined}
      />
    </div>
  );
}

function DocumentFields() {
  return (
    <fieldset>
      <legend>Stack document</legend>
      <label for="stack-document">Document (JSON)</label>
      <p class="hint" id="stack-document-hint">
        A schema.org ItemList of SoftwareApplication items, or a JSON-LD @graph document. Paste it here, load
        a file, or build it below.
      </p>
      <textarea
        id="stack-document"
        name="document"
        rows={16}
        spellcheck={false}
        aria-describedby="stack-document-hint"
      ></textarea>
      <label for="stack-file">Load a file</label>
      <input type="file" id="stack-file" accept=".json,.jsonld,application/json,application/ld+json" />
    </fieldset>
  );
}

function BuilderFields() {
  return (
    <fieldset id="builder">
      <legend>Build the document item by item</legend>
      <div class="field-grid">
        <Field id="builder-stack-name" label="Stack name" hint="Used when the document above is empty." />
        <Field id="item-name" label="Container name" hint="Such as postgres." />
        <Field id="item-image" label="Image" hint="Such as postgres:16." />
        <Field
          id="item-command"
          label="Command"
          hint="Run by sh -c; leave empty for the image's own command."
        />
        <Field
          id="item-ports"
          label="Ports"
          hint="Comma-separated host:container pairs or single ports, such as 8080:80, 5432, 53/udp."
        />
        <div class="field">
          <label for="item-environment">Environment</label>
          <p class="hint" id="item-environment-hint">
            One NAME=value a line.
          </p>
          <textarea id="item-environment" rows={3} aria-describedby="item-environment-hint"></textarea>
        </div>
        <Field
          id="item-depends"
          label="Depends on"
          hint="Comma-separated container names; each dependent waits until they are healthy."
        />
      </div>
      <div class="field-grid">
        <div class="field">
          <label for="item-health-type">Health check</label>
          <select id="item-health-type">
            <option value="">none: ready once its first port accepts connections</option>
            <option value="command">command run in the container</option>
            <option value="http">HTTP request to a published port</option>
            <option value="tcp">TCP connection to a published port</option>
            <option value="postgres">PostgreSQL (pg_isready)</option>
            <option value="redis">Redis (redis-cli ping)</option>
          </select>
        </div>
        <Field id="item-health-command" label="Health command" hint="For a command check, run by sh -c." />
        <Field
          id="item-health-port"
          label="Health port"
          type="number"
          hint="Container port for HTTP and TCP."
        />
        <Field id="item-health-path" label="Health path" hint="For HTTP, such as /healthz." />
        <Field
          id="item-health-interval"
          label="Health interval (seconds)"
          type="number"
          hint="Default: 10."
        />
        <Field id="item-health-timeout" label="Health timeout (seconds)" type="number" hint="Default: 5." />
        <Field id="item-health-retries" label="Health retries" type="number" hint="Default: 3." />
        <Field
          id="item-health-start"
          label="Health start period (seconds)"
          type="number"
          hint="Default: 10."
        />
      </div>
      <div class="actions">
        <button type="button" id="add-item" class="secondary">
          Add container to the document
        </button>
      </div>
      <ProblemRegion id="builder-problem" />
      <NoticeRegion id="builder-notice" />
    </fieldset>
  );
}

function StrategyFields(props: { datacenters: string[] }) {
  return (
    <fieldset id="strategy">
      <legend>Placement strategy</legend>
      {STRATEGY_ORDER.map((strategy) => (
        <div class="choice">
          <input
            type="radio"
            name="strategy"
            id={`strategy-${strategy}`}
            value={strategy}
            checked={strategy === 'auto'}
            aria-describedby={`strategy-${strategy}-hint`}
          />
          <label for={`strategy-${strategy}`}>{STRATEGY_TEXT[strategy].label}</label>
          <span class="hint" id={`strategy-${strategy}-hint`}>
            {STRATEGY_TEXT[strategy].hint}
          </span>
        </div>
      ))}
      <div id="datacenter-choice" hidden>
        <label for="placement-datacenter">Datacenter</label>
        <select id="placement-datacenter">
          <option value="">the one whose hosts fit the whole stack best</option>
          {props.datacenters.map((datacenter) => (
            <option value={datacenter}>{datacenter}</option>
          ))}
        </select>
      </div>
    </fieldset>
  );
}

function ManualPlacement(props: { hosts: PlacementHost[] }) {
  return (
    <fieldset id="manual-placement" hidden>
      <legend>Host of each container</legend>
      <p class="hint">
        Containers come from the document. A container you leave on "as the document says" keeps its
        targetHost.
      </p>
      <div id="manual-rows">
        <p class="muted">Add containers to the document to choose their hosts.</p>
      </div>
      <template id="host-select-template">
        <select>
          <option value="">as the document says</option>
          {props.hosts.map((entry) => (
            <option value={entry.host.name} data-capacity={hostCapacityText(entry)}>
              {hostCapacityText(entry)}
            </option>
          ))}
        </select>
      </template>
      <h3>Free capacity of each host</h3>
      {props.hosts.length === 0 ? (
        <p>
          No host is registered; <a href="/ui/hosts">add hosts</a> first.
        </p>
      ) : (
        <ul id="host-capacity">
          {props.hosts.map((entry) => (
            <li data-host={entry.host.name}>{hostCapacityText(entry)}</li>
          ))}
        </ul>
      )}
    </fieldset>
  );
}

export function DeployPage(props: { hosts: PlacementHost[]; temporalUiUrl: string }) {
  const datacenters = [...new Set(props.hosts.map((entry) => entry.host.datacenter))].sort();
  return (
    <Layout title="Deploy" page="deploy" temporalUiUrl={props.temporalUiUrl} scripts={['deploy.js']}>
      <h1>Deploy a stack</h1>
      <form id="deploy-form" class="stacked" novalidate>
        <DocumentFields />
        <BuilderFields />
        <StrategyFields datacenters={datacenters} />
        <ManualPlacement hosts={props.hosts} />
        <div class="actions">
          <button type="button" id="plan-button" class="secondary">
            Plan
          </button>
          <button type="submit" id="deploy-button">
            Deploy
          </button>
        </div>
        <ProblemRegion id="deploy-problem" />
      </form>
      <section id="plan-result" aria-labelledby="plan-title" aria-live="polite" hidden>
        <h2 id="plan-title" tabindex={-1}>
          Plan
        </h2>
        <div id="plan-body"></div>
      </section>
    </Layout>
  );
}
