/**
 * The JSON-LD `@graph` dialect of the first Graphium: `{"@context": ..., "@graph": [...]}`, bare or
 * wrapped as `{"stackDefinition": {...}}`. One node of the graph is the stack (its `@type` names
 * `Stack`); its `hasPart` lists the containers, inline or as `{"@id"}` references to other nodes.
 * Other nodes, such as hosts, may be present; a host node's `name` is what `locatedInHost`
 * references resolve to.
 */
import { checkKeys, isObject, readName, type JsonObject } from '../fields';
import { readDeploymentObject, readStrategy, type Hints } from '../hints';
import { childPath, describeValue, indexPath, type IssueLog } from '../issues';
import { readHostReference, readServiceItem, type ItemContext, type ReadItem } from '../items';
import { checkContext, hasType } from '../jsonld';
import type { StackSpec } from '../model';
import { readNetwork, readStackVolumes } from '../mounts';
import type { DialectOutput } from '../normalize';
import { MAX_SERVICES } from '../validate';

const DOCUMENT_KEYS = { known: ['@context', '@graph', '@id'] };
const WRAPPER_KEYS = { known: ['stackDefinition'] };
const STACK_KEYS = {
  known: [
    '@id',
    '@type',
    'name',
    'description',
    'locatedInHost',
    'network',
    'volumes',
    'hasPart',
    'deployment',
    'placement',
    'datacenter',
    'applicationCategory',
    'softwareVersion',
  ],
};

/** Returns whether `document` is a JSON-LD graph stack: it has `@graph`, or wraps one in `stackDefinition`. */
export function isGraph(document: JsonObject): boolean {
  if (document['@graph'] !== undefined) return true;
  return isObject(document.stackDefinition) && document.stackDefinition['@graph'] !== undefined;
}

/** A graph node with its path. */
interface Node {
  node: JsonObject;
  path: string;
}

/**
 * Reads a graph stack document into the stack model. Services without a `position` take their
 * place in `hasPart` as position. `dependsOn`, action targets and `locatedInHost` may give
 * `@id`s, which resolve to the names of the nodes they identify.
 */
export function parseGraph(document: JsonObject, log: IssueLog, context: ItemContext): DialectOutput {
  let root = document;
  let rootPath = '$';
  if (document['@graph'] === undefined) {
    checkKeys(document, '$', WRAPPER_KEYS, log);
    root = document.stackDefinition as JsonObject;
    rootPath = '$.stackDefinition';
  }
  checkKeys(root, rootPath, DOCUMENT_KEYS, log);
  checkContext(root['@context'], rootPath, 'a JSON-LD stack', log);

  const graphPath = childPath(rootPath, '@graph');
  const nodes = readNodes(root['@graph'], graphPath, log);
  const stackNode = findStackNode(nodes, graphPath, log);
  if (!stackNode) return emptyOutput();
  const { node, path } = stackNode;
  checkKeys(node, path, STACK_KEYS, log);

  const byId = new Map<string, Node>();
  for (const entry of nodes) {
    const id = entry.node['@id'];
    if (typeof id !== 'string') continue;
    const earlier = byId.get(id);
    if (earlier) {
      log.error(
        childPath(entry.path, '@id'),
        `@id ${JSON.stringify(id)} is already used by ${earlier.path}. Give each node its own @id.`,
      );
      continue;
    }
    byId.set(id, entry);
  }
  const parts = readParts(node.hasPart, childPath(path, 'hasPart'), byId, log);
  const serviceIds = new Map<string, string>();
  for (const part of parts) {
    const id = part.node['@id'];
    if (typeof id === 'string' && typeof part.node.name === 'string') serviceIds.set(id, part.node.name);
  }
  const graphContext: ItemContext = {
    ...context,
    resolveService: (reference) => serviceIds.get(reference) ?? reference,
    resolveHost: (reference) => hostName(byId.get(reference)?.node) ?? reference,
  };

  const name = readName(node, path, log, '"web-shop"');
  const description = typeof node.description === 'string' ? node.description : undefined;
  const hints = readStackHints(node, path, graphContext, log);
  const network = readNetwork(node.network, childPath(path, 'network'), log);
  const declaredVolumes = readStackVolumes(node.volumes, childPath(path, 'volumes'), log);
  const items: ReadItem[] = [];
  parts.forEach((part, index) => {
    checkContainerType(part.node['@type'], part.path, log);
    const item = readServiceItem(part.node, part.path, { ...graphContext, defaultPosition: index + 1 }, log);
    if (item) items.push(item);
  });
  warnLooseContainers(nodes, parts, log);

  const stack: StackSpec = {
    name: name ?? '',
    ...(description !== undefined && { description }),
    placement: 'single',
    ...(network !== undefined && { network }),
    volumes: [],
    services: items.map((item) => item.service),
  };
  const source = {
    placement: hints.strategy?.path ?? childPath(path, 'deployment'),
    services: items.map((item) => item.source),
  };
  return { stack, source, items, hints, declaredVolumes };
}

function emptyOutput(): DialectOutput {
  const stack: StackSpec = { name: '', placement: 'single', volumes: [], services: [] };
  const hints: Hints = { constraints: [] };
  return { stack, source: { placement: '$', services: [] }, items: [], hints, declaredVolumes: [] };
}

function readNodes(value: unknown, path: string, log: IssueLog): Node[] {
  if (!Array.isArray(value)) {
    log.error(path, `@graph must be an array of nodes, got ${describeValue(value)}.`);
    return [];
  }
  const nodes: Node[] = [];
  value.forEach((node, index) => {
    const at = indexPath(path, index);
    if (isObject(node)) nodes.push({ node, path: at });
    else log.error(at, `@graph entries must be objects, got ${describeValue(node)}.`);
  });
  return nodes;
}

function findStackNode(nodes: Node[], graphPath: string, log: IssueLog): Node | undefined {
  const stacks = nodes.filter((entry) => hasType(entry.node['@type'], 'Stack'));
  if (stacks.length === 1) return stacks[0];
  if (stacks.length === 0) {
    log.error(
      graphPath,
      '@graph has no stack node. Give the node that lists the containers in hasPart an @type ' +
        'that includes "Stack", such as ["datacenter:Stack", "SoftwareApplication"].',
    );
    return undefined;
  }
  log.error(
    stacks[1].path,
    `@graph has ${stacks.length} stack nodes, at ${stacks.map((entry) => entry.path).join(', ')}, but a ` +
      'document holds one stack. Split it into one document per stack.',
  );
  return undefined;
}

/** Reads `hasPart`, resolving `{"@id"}` references to the graph nodes they name. */
function readParts(value: unknown, path: string, byId: Map<string, Node>, log: IssueLog): Node[] {
  if (value === undefined) {
    log.error(path, 'hasPart is missing. List the containers of the stack in it.');
    return [];
  }
  if (!Array.isArray(value) || value.length === 0) {
    log.error(
      path,
      `hasPart must be a non-empty array of containers, got ${Array.isArray(value) ? 'an empty array' : describeValue(value)}.`,
    );
    return [];
  }
  if (value.length > MAX_SERVICES) {
    log.error(
      path,
      `hasPart has ${value.length} containers, but a stack may have at most ${MAX_SERVICES}. ` +
        'Split the services into several smaller stacks.',
    );
    return [];
  }
  const parts: Node[] = [];
  const inline = new Map<string, Node>();
  value.forEach((entry, index) => {
    const at = indexPath(path, index);
    if (isObject(entry) && isReference(entry)) {
      const target = byId.get(entry['@id'] as string);
      if (target && hasType(target.node['@type'], 'Stack')) {
        log.error(at, `hasPart refers to the stack node ${target.path} itself. List the containers instead.`);
      } else if (target) parts.push(target);
      else
        log.error(
          at,
          `no node in @graph has @id ${describeValue(entry['@id'])}. Add the container node or inline it here.`,
        );
      return;
    }
    if (!isObject(entry)) {
      log.error(at, `hasPart entries must be container objects, got ${describeValue(entry)}.`);
      return;
    }
    const id = entry['@id'];
    const elsewhere = typeof id === 'string' ? (byId.get(id) ?? inline.get(id)) : undefined;
    if (typeof id === 'string' && !elsewhere) inline.set(id, { node: entry, path: at });
    if (elsewhere && elsewhere.node !== entry) {
      log.error(
        childPath(at, '@id'),
        `@id ${JSON.stringify(id)} is already used by ${elsewhere.path}. Give each node its own @id.`,
      );
      return;
    }
    parts.push({ node: entry, path: at });
  });
  return parts;
}

/** Returns whether a node contains only its `@id` (and `@type`), so it refers to a node elsewhere in the graph. */
function isReference(node: JsonObject): boolean {
  const keys = Object.keys(node);
  return typeof node['@id'] === 'string' && keys.every((key) => key === '@id' || key === '@type');
}

function hostName(node: JsonObject | undefined): string | undefined {
  if (!node) return undefined;
  return typeof node.name === 'string' && node.name.trim() !== '' ? node.name : undefined;
}

function readStackHints(node: JsonObject, path: string, context: ItemContext, log: IssueLog): Hints {
  const hints: Hints = { constraints: [] };
  readDeploymentObject(node.deployment, childPath(path, 'deployment'), hints, log);
  const placementPath = childPath(path, 'placement');
  const placement = readStrategy(node.placement, placementPath, 'placement', log);
  if (placement) hints.strategy = { value: placement, path: placementPath };
  if (typeof node.datacenter === 'string')
    hints.datacenter = { value: node.datacenter, path: childPath(path, 'datacenter') };
  const hostPath = childPath(path, 'locatedInHost');
  const host = readHostReference(node.locatedInHost, hostPath, log);
  if (host !== undefined) hints.defaultHost = { value: context.resolveHost(host), path: hostPath };
  return hints;
}

function checkContainerType(type: unknown, path: string, log: IssueLog): void {
  if (type === undefined || hasType(type, 'Container') || hasType(type, 'SoftwareApplication')) return;
  log.warn(
    childPath(path, '@type'),
    `@type is ${describeValue(type)}, but Graphium reads every part of the stack as a container. ` +
      'Set @type to "datacenter:Container" or "SoftwareApplication".',
  );
}

/** Warns about container nodes of the graph that the stack does not list in hasPart. */
function warnLooseContainers(nodes: Node[], parts: Node[], log: IssueLog): void {
  const listed = new Set(parts.map((part) => part.node));
  for (const entry of nodes) {
    if (listed.has(entry.node) || !hasType(entry.node['@type'], 'Container')) continue;
    log.warn(
      entry.path,
      "this container is not in the stack's hasPart, so it is not deployed. Add it to hasPart or remove it.",
    );
  }
}
