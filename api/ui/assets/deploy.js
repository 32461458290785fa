/**
 * The deploy page: keeps the stack document in its text area, adds items from the builder,
 * offers a host per container for manual placement, shows the plan from `POST /stacks/plan`
 * and deploys with `POST /deployments`.
 */
import { apiRequest, clearRegion, element, showNotice, showProblem, whileBusy } from './common.js';

const form = document.getElementById('deploy-form');
const documentArea = document.getElementById('stack-document');
const problem = document.getElementById('deploy-problem');
const builderProblem = document.getElementById('builder-problem');
const manualSection = document.getElementById('manual-placement');
const manualRows = document.getElementById('manual-rows');
const datacenterChoice = document.getElementById('datacenter-choice');
const planSection = document.getElementById('plan-result');
const planBody = document.getElementById('plan-body');
const buttons = form.querySelectorAll('#plan-button, #deploy-button');

/** Parses the document in the text area. Raises an error that names the fix. */
function readDocument() {
  const text = documentArea.value.trim();
  if (text === '') throw new Error('The stack document is empty; paste one, load a file or build one.');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`The stack document is not valid JSON: ${error.message}`);
  }
}

/**
 * Returns the container names of a document. An ItemList names them in its items. In a JSON-LD
 * graph, the nodes with an image are taken as the containers.
 */
function containerNames(stackDocument) {
  if (!stackDocument || typeof stackDocument !== 'object') return [];
  const items = stackDocument.itemListElement;
  if (Array.isArray(items)) {
    return items.map((entry) => (entry && entry.item) || entry).map((item) => item && item.name);
  }
  const graph = stackDocument['@graph'] ?? stackDocument.stackDefinition?.['@graph'];
  if (!Array.isArray(graph)) return [];
  return graph.filter((node) => node && typeof node.image === 'string').map((node) => node.name);
}

function selectedStrategy() {
  return form.querySelector('input[name="strategy"]:checked').value;
}

function showStrategyFields() {
  const strategy = selectedStrategy();
  manualSection.hidden = strategy !== 'manual';
  datacenterChoice.hidden = strategy !== 'datacenter';
  if (strategy === 'manual') refreshManualRows();
}

/** Describes the chosen host of a manual placement row under its list. */
function describeChoice(select, description) {
  const option = select.selectedOptions[0];
  description.textContent =
    option && option.value !== '' ? option.dataset.capacity : 'Placed as the document says.';
}

/** Rebuilds one host list per container of the document, keeping choices already made. */
function refreshManualRows() {
  let names;
  try {
    names = containerNames(JSON.parse(documentArea.value));
  } catch {
    return;
  }
  names = names.filter((name) => typeof name === 'string' && name !== '');
  const chosen = new Map(
    [...manualRows.querySelectorAll('select')].map((select) => [select.dataset.service, select.value]),
  );
  const template = document.getElementById('host-select-template');
  const rows = names.map((name, index) => {
    const select = template.content.querySelector('select').cloneNode(true);
    select.id = `manual-host-${index}`;
    select.dataset.service = name;
    select.value = chosen.get(name) ?? '';
    const description = element('p', { class: 'hint', id: `manual-host-${index}-capacity` });
    select.setAttribute('aria-describedby', description.id);
    select.addEventListener('change', () => describeChoice(select, description));
    describeChoice(select, description);
    return element(
      'div',
      { class: 'manual-row' },
      element('label', { for: select.id }, `Host of ${name}`),
      select,
      description,
    );
  });
  if (rows.length === 0) rows.push(element('p', { class: 'muted' }, 'The document names no containers yet.'));
  manualRows.replaceChildren(...rows);
}

/** Builds the body of a plan or deploy request from the document and the placement choices. */
function requestBody() {
  const body = { stack: readDocument(), strategy: selectedStrategy() };
  if (body.strategy === 'datacenter') {
    const datacenter = document.getElementById('placement-datacenter').value;
    if (datacenter !== '') body.datacenter = datacenter;
  }
  if (body.strategy === 'manual') {
    const constraints = [...manualRows.querySelectorAll('select')]
      .filter((select) => select.value !== '')
      .map((select) => ({ containerName: select.dataset.service, targetHost: select.value }));
    if (constraints.length > 0) body.hostConstraints = constraints;
  }
  return body;
}

function formatScore(score) {
  if (!score) return 'pinned, not scored';
  const part = (value) => value.toFixed(3);
  return `${part(score.total)} (CPU ${part(score.cpu)}, memory ${part(score.memory)}, containers ${part(score.containers)})`;
}

function rejectedList(service) {
  const entries = service.rejected.map((entry) => `${entry.host}: ${entry.reason}`);
  for (const group of service.rejectedGroups ?? []) entries.push(`${group.count} hosts: ${group.reason}`);
  if (entries.length === 0) return 'none';
  return element(
    'ul',
    {},
    entries.map((entry) => element('li', {}, entry)),
  );
}

function showPlan(result) {
  const rows = result.plan.services.map((service) =>
    element(
      'tr',
      { 'data-service': service.service },
      element('th', { scope: 'row' }, service.service),
      element('td', {}, service.host),
      element('td', {}, formatScore(service.score)),
      element('td', {}, service.reason),
      element('td', {}, rejectedList(service)),
    ),
  );
  const header = ['Container', 'Host', 'Score', 'Reason', 'Hosts not chosen'].map((title) =>
    element('th', { scope: 'col' }, title),
  );
  const parts = [
    element(
      'p',
      {},
      `Strategy ${result.plan.strategy}${result.plan.datacenter ? ` in datacenter ${result.plan.datacenter}` : ''}.`,
    ),
    element('table', {}, element('thead', {}, element('tr', {}, header)), element('tbody', {}, rows)),
  ];
  if (result.warnings.length > 0) {
    parts.push(element('h3', {}, 'Warnings'));
    parts.push(
      element(
        'ul',
        {},
        result.warnings.map((warning) =>
          element('li', {}, element('code', {}, warning.path), `: ${warning.message}`),
        ),
      ),
    );
  }
  planBody.replaceChildren(...parts);
  planSection.hidden = false;
}

document.getElementById('plan-button').addEventListener('click', async () => {
  clearRegion(problem);
  await whileBusy(buttons, async () => {
    try {
      const { body } = await apiRequest('POST', '/stacks/plan', requestBody());
      showPlan(body);
      document.getElementById('plan-title').focus();
    } catch (error) {
      planSection.hidden = true;
      showProblem(problem, error);
    }
  });
});

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  clearRegion(problem);
  await whileBusy(buttons, async () => {
    try {
      const accepted = await apiRequest('POST', '/deployments', requestBody());
      const deployment = await apiRequest('GET', accepted.body.links.self);
      window.location.assign(`/ui/stacks/${encodeURIComponent(deployment.body.stackSlug)}`);
    } catch (error) {
      showProblem(problem, error);
    }
  });
});

document.getElementById('stack-file').addEventListener('change', async (event) => {
  const file = event.target.files[0];
  if (!file) return;
  documentArea.value = await file.text();
  refreshManualRows();
});

documentArea.addEventListener('input', () => {
  if (selectedStrategy() === 'manual') refreshManualRows();
});

for (const radio of form.querySelectorAll('input[name="strategy"]')) {
  radio.addEventListener('change', showStrategyFields);
}

// The builder.

function builderValue(id) {
  return document.getElementById(id).value.trim();
}

/** Reads `8080:80, 5432, 53/udp` into port entries; raises an error naming a malformed entry. */
function parsePorts(text) {
  if (text === '') return [];
  return text.split(',').map((entry) => {
    const match = /^(\d+)(?::(\d+))?(?:\/(tcp|udp))?$/.exec(entry.trim());
    if (!match)
      throw new Error(
        `Port "${entry.trim()}" is not host:container or a single port, such as 8080:80 or 5432.`,
      );
    const hostPort = Number(match[1]);
    const containerPort = Number(match[2] ?? match[1]);
    return { containerPort, hostPort, protocol: match[3] ?? 'tcp' };
  });
}

/** Reads `NAME=value` lines; raises an error naming the first line without `=`. */
function parseEnvironment(text) {
  const environment = {};
  for (const [index, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    const equals = line.indexOf('=');
    if (equals <= 0) throw new Error(`Environment line ${index + 1} ("${line.trim()}") is not NAME=value.`);
    environment[line.slice(0, equals).trim()] = line.slice(equals + 1);
  }
  return environment;
}

function healthCheck() {
  const type = builderValue('item-health-type');
  if (type === '') return undefined;
  const check = { type };
  if (type === 'command') {
    const command = builderValue('item-health-command');
    if (command === '') throw new Error('A command health check needs a command.');
    check.command = ['sh', '-c', command];
  }
  if (type === 'http' || type === 'tcp') {
    const port = builderValue('item-health-port');
    if (port !== '') check.port = Number(port);
  }
  if (type === 'http') {
    const path = builderValue('item-health-path');
    if (path !== '') check.path = path;
  }
  const timings = {
    interval: 'item-health-interval',
    timeout: 'item-health-timeout',
    retries: 'item-health-retries',
    startPeriod: 'item-health-start',
  };
  for (const [field, id] of Object.entries(timings)) {
    const value = builderValue(id);
    if (value !== '') check[field] = Number(value);
  }
  return check;
}

/** Returns the document to add an item to: the one in the text area, or a new ItemList. */
function builderDocument() {
  if (documentArea.value.trim() === '') {
    const name = builderValue('builder-stack-name');
    if (name === '') throw new Error('Give the stack a name before its first container.');
    return { '@context': 'https://schema.org', '@type': 'ItemList', name, itemListElement: [] };
  }
  const stackDocument = readDocument();
  if (!Array.isArray(stackDocument.itemListElement)) {
    throw new Error(
      'The builder adds items to an ItemList document, and this document has no itemListElement.',
    );
  }
  return stackDocument;
}

function buildItem(stackDocument) {
  const name = builderValue('item-name');
  const image = builderValue('item-image');
  if (name === '') throw new Error('Give the container a name.');
  if (image === '') throw new Error('Give the container an image.');
  if (containerNames(stackDocument).includes(name))
    throw new Error(`The document already has a container named ${name}.`);
  const positions = stackDocument.itemListElement.map((item) => Number(item?.position) || 0);
  const item = { '@type': 'SoftwareApplication', position: Math.max(0, ...positions) + 1, name, image };
  const command = builderValue('item-command');
  if (command !== '') item.command = ['sh', '-c', command];
  const ports = parsePorts(builderValue('item-ports'));
  if (ports.length > 0) item.ports = ports;
  const environment = parseEnvironment(document.getElementById('item-environment').value);
  if (Object.keys(environment).length > 0) item.environment = environment;
  const needs = builderValue('item-depends')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  if (needs.length > 0)
    item.softwareRequirements = needs.map((need) => ({ name: need, waitForHealthy: true }));
  const check = healthCheck();
  if (check) item.healthCheck = check;
  return item;
}

const BUILDER_FIELDS = [
  'item-name',
  'item-image',
  'item-command',
  'item-ports',
  'item-environment',
  'item-depends',
  'item-health-type',
  'item-health-command',
  'item-health-port',
  'item-health-path',
  'item-health-interval',
  'item-health-timeout',
  'item-health-retries',
  'item-health-start',
];

document.getElementById('add-item').addEventListener('click', () => {
  clearRegion(builderProblem);
  try {
    const stackDocument = builderDocument();
    const item = buildItem(stackDocument);
    stackDocument.itemListElement.push(item);
    documentArea.value = JSON.stringify(stackDocument, null, 2);
    for (const id of BUILDER_FIELDS) document.getElementById(id).value = '';
    refreshManualRows();
    showNotice(
      document.getElementById('builder-notice'),
      `Added ${item.name} as item ${item.position} of the document.`,
    );
    document.getElementById('item-name').focus();
  } catch (error) {
    showProblem(builderProblem, error);
  }
});

showStrategyFields();
