/** The hosts page: registers a host from the form and removes hosts, through the JSON API. */
import { apiRequest, clearRegion, flashNotice, showFlash, showProblem, whileBusy } from './common.js';

const form = document.getElementById('add-host');
const formProblem = document.getElementById('add-host-problem');
const pageProblem = document.getElementById('hosts-problem');

/** The `tcp://host:port` form, with an IPv6 host in brackets. */
const TCP_URL = /^tcp:\/\/(\[[^\]]+\]|[^:/[\]]+):(\d+)\/?$/i;

function fieldValue(id) {
  return document.getElementById(id).value.trim();
}

/** Reads `key=value` lines into an object; raises an error naming the first malformed line. */
function parseLabels(text) {
  const labels = {};
  const lines = text.split('\n');
  for (const [index, line] of lines.entries()) {
    const entry = line.trim();
    if (entry === '') continue;
    const equals = entry.indexOf('=');
    if (equals <= 0) throw new Error(`Labels line ${index + 1} ("${entry}") is not key=value.`);
    labels[entry.slice(0, equals).trim()] = entry.slice(equals + 1).trim();
  }
  return labels;
}

/**
 * Returns the `docker` field: the URL as typed, or the object form when TLS paths are given,
 * because only the object form carries them.
 */
function dockerEndpoint() {
  const url = fieldValue('host-docker');
  const tls = {
    ca: fieldValue('host-tls-ca'),
    cert: fieldValue('host-tls-cert'),
    key: fieldValue('host-tls-key'),
  };
  const filledPaths = Object.values(tls).filter((path) => path !== '').length;
  if (filledPaths === 0) return url;
  if (filledPaths < 3)
    throw new Error('TLS needs all three paths: the CA certificate, the client certificate and the key.');
  const match = TCP_URL.exec(url);
  if (!match) throw new Error('TLS needs a tcp://host:port Docker endpoint, such as tcp://10.0.0.5:2376.');
  const host = match[1].replace(/^\[|\]$/g, '');
  return { protocol: 'tcp', host, port: Number(match[2]), tls };
}

function hostBody() {
  const body = {
    name: fieldValue('host-name'),
    docker: dockerEndpoint(),
    address: fieldValue('host-address'),
    imagePull: document.getElementById('host-image-pull').value,
  };
  const datacenter = fieldValue('host-datacenter');
  if (datacenter !== '') body.datacenter = datacenter;
  const labels = parseLabels(document.getElementById('host-labels').value);
  if (Object.keys(labels).length > 0) body.labels = labels;
  return body;
}

/**
 * Returns the part of the registration notice about the daemon. The API's error names the failure
 * itself, such as "Docker daemon did not answer: ..." or "TLS handshake with host1 ... failed: ...".
 */
function daemonText(host) {
  if (host.daemon?.reachable)
    return `its Docker daemon answered (Docker ${host.daemon.version ?? 'unknown version'}).`;
  return `but its Docker daemon cannot be used. ${host.daemon?.error ?? 'No reason was given'}.`;
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  clearRegion(formProblem);
  const buttons = form.querySelectorAll('button');
  await whileBusy(buttons, async () => {
    try {
      const { body } = await apiRequest('POST', '/hosts', hostBody());
      flashNotice(`Registered host ${body.name}; ${daemonText(body)}`);
      window.location.reload();
    } catch (error) {
      showProblem(formProblem, error);
    }
  });
});

for (const button of document.querySelectorAll('[data-remove-host]')) {
  button.addEventListener('click', async () => {
    const name = button.dataset.removeHost;
    if (!window.confirm(`Remove host ${name} from the registry? Graphium leaves its containers as they are.`))
      return;
    clearRegion(pageProblem);
    await whileBusy([button], async () => {
      try {
        await apiRequest('DELETE', `/hosts/${encodeURIComponent(name)}`);
        flashNotice(`Removed host ${name}.`);
        window.location.reload();
      } catch (error) {
        showProblem(pageProblem, error);
        pageProblem.scrollIntoView();
      }
    });
  });
}

showFlash(document.getElementById('hosts-notice'));
