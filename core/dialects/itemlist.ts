/**
 * The `ItemList` dialect: a schema.org ItemList whose `itemListElement` entries are
 * SoftwareApplication items, as EVE and the original design note write stacks, including the
 * first Graphium's legacy additions (`dependsOn`, file-level `deployment` and `location`).
 */
import { checkKeys, isObject, readName, readOptionalString, type JsonObject } from '../fields';
import { readDeploymentObject, readLocation, readStrategy, type Hints } from '../hints';
import { childPath, describeValue, indexPath, type IssueLog } from '../issues';
import { checkContext, hasType } from '../jsonld';
import { readServiceItem, type ItemContext, type ReadItem } from '../items';
import type { StackSpec } from '../model';
import { readNetwork, readStackVolumes } from '../mounts';
import type { DialectOutput } from '../normalize';
import { MAX_SERVICES } from '../validate';

const STACK_KEYS = {
  known: [
    '@context',
    '@type',
    '@id',
    'name',
    'description',
    'placement',
    'datacenter',
    'itemListElement',
    'network',
    'volumes',
    'deployment',
    'location',
  ],
};

const ITEMS_PATH = '$.itemListElement';

/** Returns whether `document` is an ItemList stack: it has `itemListElement` or that `@type`. */
export function isItemList(document: JsonObject): boolean {
  return document.itemListElement !== undefined || hasType(document['@type'], 'ItemList');
}

/**
 * Reads an ItemList stack document into the stack model. The result is incomplete when `log`
 * has errors: invalid fields are left out, and so are items that are not objects or have no
 * valid name.
 */
export function parseItemList(document: JsonObject, log: IssueLog, context: ItemContext): DialectOutput {
  checkKeys(document, '$', STACK_KEYS, log);
  checkContext(document['@context'], '$', 'an ItemList stack', log);
  checkStackType(document['@type'], log);

  const name = readName(document, '$', log, '"web-shop"');
  const description = readDescription(document.description, log);
  const hints = readStackHints(document, log);
  const network = readNetwork(document.network, '$.network', log);
  const declaredVolumes = readStackVolumes(document.volumes, '$.volumes', log);
  const items = readItems(document.itemListElement, context, log);
  const services = items.map((item) => item.service);

  const stack: StackSpec = {
    name: name ?? '',
    ...(description !== undefined && { description }),
    placement: 'single',
    ...(network !== undefined && { network }),
    volumes: [],
    services,
  };
  const source = {
    placement: hints.strategy?.path ?? '$.placement',
    services: items.map((item) => item.source),
  };
  return { stack, source, items, hints, declaredVolumes };
}

/**
 * Reads `placement` and `datacenter`, then the legacy `deployment` and `location` objects, whose
 * values count only where the newer fields are absent.
 */
function readStackHints(document: JsonObject, log: IssueLog): Hints {
  const hints: Hints = { constraints: [] };
  readDeploymentObject(document.deployment, '$.deployment', hints, log);
  readLocation(document.location, '$.location', hints, log);
  const placement = readStrategy(document.placement, '$.placement', 'placement', log);
  if (placement) {
    if (hints.strategy && hints.strategy.value !== placement) {
      log.warn(
        hints.strategy.path,
        `placementStrategy "${hints.strategy.value}" is ignored because placement is "${placement}". ` +
          'Keep one of them.',
      );
    }
    hints.strategy = { value: placement, path: '$.placement' };
  }
  const datacenter = readOptionalString(document, 'datacenter', '$', log);
  if (datacenter !== undefined) hints.datacenter = { value: datacenter, path: '$.datacenter' };
  return hints;
}

function checkStackType(type: unknown, log: IssueLog): void {
  if (type === undefined || hasType(type, 'ItemList')) return;
  log.warn(
    "$['@type']",
    `@type is ${describeValue(type)}, but the document has itemListElement, ` +
      'so Graphium reads it as an ItemList. Set @type to "ItemList".',
  );
}

function readDescription(value: unknown, log: IssueLog): string | undefined {
  if (value === undefined || typeof value === 'string') return value;
  log.error('$.description', `description must be a string, got ${describeValue(value)}.`);
  return undefined;
}

function readItems(value: unknown, context: ItemContext, log: IssueLog): ReadItem[] {
  if (value === undefined) {
    log.error(
      ITEMS_PATH,
      'itemListElement is missing. List the services in it as an array of ' + 'SoftwareApplication items.',
    );
    return [];
  }
  if (!Array.isArray(value)) {
    log.error(
      ITEMS_PATH,
      `itemListElement must be an array of SoftwareApplication items, got ` + `${describeValue(value)}.`,
    );
    return [];
  }
  if (value.length === 0) {
    log.error(ITEMS_PATH, 'itemListElement is empty. Add at least one SoftwareApplication item.');
    return [];
  }
  if (value.length > MAX_SERVICES) {
    log.error(
      ITEMS_PATH,
      `itemListElement has ${value.length} items, but a stack may have at most ` +
        `${MAX_SERVICES}. Split the services into several smaller stacks.`,
    );
    return [];
  }
  const items: ReadItem[] = [];
  value.forEach((entry, index) => {
    const path = indexPath(ITEMS_PATH, index);
    if (isObject(entry)) checkItemType(entry['@type'], path, log);
    const item = readServiceItem(entry, path, context, log);
    if (item) items.push(item);
  });
  return items;
}

function checkItemType(type: unknown, path: string, log: IssueLog): void {
  if (type === undefined || hasType(type, 'SoftwareApplication')) return;
  log.warn(
    childPath(path, '@type'),
    `@type is ${describeValue(type)}, but Graphium reads every ` +
      'item as a SoftwareApplication. Set @type to "SoftwareApplication".',
  );
}
