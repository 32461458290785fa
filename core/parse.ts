/**
 * Entry point for reading stack documents: picks the dialect, reads the document into the stack
 * model, merges the deploy request's placement hints and variables, then runs the checks that
 * apply to every dialect.
 */
import { isGraph, parseGraph } from './dialects/graph';
import { isItemList, parseItemList } from './dialects/itemlist';
import { isObject, type JsonObject } from './fields';
import { readRequestHints, REQUEST_PATH, type RequestHints } from './hints';
import { childPath, describeValue, IssueLog } from './issues';
import type { ItemContext } from './items';
import type { ParseResult } from './model';
import {
  applyHints,
  checkKnownHosts,
  collectVolumes,
  warnUnusedVariables,
  type DialectOutput,
} from './normalize';
import { validateStack } from './validate';

/** Options of `parseStack`. */
export interface ParseOptions {
  /** Record unknown keys as errors in place of warnings. Default false. */
  strict?: boolean;
  /** Values for `${NAME}` placeholders in environment values, as sent with a deploy request. */
  variables?: unknown;
  /**
   * Like `variables`, but every environment value that uses one is listed in the service's
   * `secretEnvironment`, and messages never show these values.
   */
  secretVariables?: unknown;
  /** Placement fields sent with a deploy request; they take precedence over the file's. */
  request?: RequestHints;
  /** Names of the registered hosts; when given, every host the stack or request names must be one. */
  knownHosts?: readonly string[];
}

/** A stack dialect: how to recognize its documents and read them into the model. */
interface Dialect {
  /** Description of the dialect's documents, for the message that lists accepted dialects. */
  description: string;
  matches(document: JsonObject): boolean;
  parse(document: JsonObject, log: IssueLog, context: ItemContext): DialectOutput;
}

const DIALECTS: readonly Dialect[] = [
  {
    description: 'a schema.org ItemList (an object with "@type": "ItemList" and itemListElement)',
    matches: isItemList,
    parse: parseItemList,
  },
  {
    description:
      'a JSON-LD graph (an object with "@graph" holding a node whose @type includes "Stack"), ' +
      'bare or wrapped in "stackDefinition"',
    matches: isGraph,
    parse: parseGraph,
  },
];

/**
 * Reads a stack document of any accepted dialect into the stack model and validates it.
 *
 * Every problem comes back with its JSON path; problems in the request's own fields have paths
 * starting with `request.`. Unknown keys are warnings, or errors when `options.strict` is true.
 * `stack` is set only when there are no errors.
 *
 * @example
 * const { stack, errors, warnings } = parseStack(JSON.parse(text), { variables: { TAG: '1.2' } });
 */
export function parseStack(document: unknown, options: ParseOptions = {}): ParseResult {
  if (isWrappedItemList(document)) return parseWrappedItemList(document, options);
  const log = new IssueLog(options.strict ?? false);
  const plainVariables = readVariables(options.variables, 'variables', log);
  const secretVariables = readVariables(options.secretVariables, 'secretVariables', log);
  rejectDoubleVariables(plainVariables, secretVariables, log);
  const variables = { ...plainVariables, ...secretVariables };
  const requestHints = readRequestHints(options.request ?? {}, log);
  const dialect = isObject(document) ? DIALECTS.find((candidate) => candidate.matches(document)) : undefined;
  if (!dialect) {
    log.error('$', `the document is not a stack Graphium can read. It accepts ${describeDialects()}.`);
    return { errors: log.errors, warnings: log.warnings };
  }

  const used = new Set<string>();
  const context: ItemContext = {
    variables,
    usedVariables: used,
    secretVariables: new Set(Object.keys(secretVariables)),
    resolveService: (reference) => reference,
    resolveHost: (reference) => reference,
  };
  const output = dialect.parse(document as JsonObject, log, context);
  applyHints(output, requestHints, log);
  if (options.knownHosts) checkKnownHosts(output, options.knownHosts, log);
  collectVolumes(output, log);
  warnUnusedVariables(plainVariables, used, log);
  warnUnusedVariables(secretVariables, used, log, 'secretVariables');
  validateStack(output.stack, output.source, log, output.items);
  const result: ParseResult = { errors: log.errors, warnings: log.warnings };
  if (log.errors.length === 0) result.stack = output.stack;
  return result;
}

/** Returns whether `document` is `{"stackDefinition": <ItemList>}`, the first Graphium's wrapper around an ItemList. */
function isWrappedItemList(document: unknown): document is JsonObject & { stackDefinition: JsonObject } {
  if (!isObject(document) || !isObject(document.stackDefinition)) return false;
  return !isItemList(document) && !isGraph(document) && isItemList(document.stackDefinition);
}

/** Reads the wrapped ItemList, with every path in the document under `$.stackDefinition`. */
function parseWrappedItemList(
  document: JsonObject & { stackDefinition: JsonObject },
  options: ParseOptions,
): ParseResult {
  const result = parseStack(document.stackDefinition, options);
  const prefix = (path: string) => (path.startsWith('$') ? `$.stackDefinition${path.slice(1)}` : path);
  // Messages may name other paths of the document, such as "already used by $.itemListElement[0]".
  const moved = (issues: { path: string; message: string }[]) =>
    issues.map((issue) => ({
      path: prefix(issue.path),
      message: issue.message.replace(/(^|[\s(])\$(?=[.[])/g, '$1$$.stackDefinition'),
    }));
  const log = new IssueLog(options.strict ?? false);
  for (const key of Object.keys(document)) {
    if (key !== 'stackDefinition') log.unknownKey(childPath('$', key), key, ['stackDefinition']);
  }
  const errors = [...log.errors, ...moved(result.errors)];
  const warnings = [...log.warnings, ...moved(result.warnings)];
  if (!result.stack || errors.length > 0) return { errors, warnings };
  const services = result.stack.services.map((service) => ({
    ...service,
    sourcePath: prefix(service.sourcePath),
  }));
  return { stack: { ...result.stack, services }, errors, warnings };
}

/**
 * Reads the request's `variables` or `secretVariables`: an object of strings, by variable name.
 * Messages about `secretVariables` name the type of a wrong value, never the value.
 */
function readVariables(
  value: unknown,
  field: 'variables' | 'secretVariables',
  log: IssueLog,
): Record<string, string> {
  const path = childPath(REQUEST_PATH, field);
  const describe = field === 'secretVariables' ? describeType : describeValue;
  if (value === undefined) return {};
  if (!isObject(value)) {
    log.error(
      path,
      `${field} must be an object of strings, such as {"DB_PASSWORD": "..."}, got ${describe(value)}.`,
    );
    return {};
  }
  const entries: [string, string][] = [];
  for (const [name, entry] of Object.entries(value)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      log.error(
        childPath(path, name),
        `variable name ${JSON.stringify(name)} is invalid. Use letters, digits and "_".`,
      );
    } else if (typeof entry === 'string') {
      entries.push([name, entry]);
    } else {
      log.error(childPath(path, name), `variable ${name} must be a string, got ${describe(entry)}.`);
    }
  }
  return Object.fromEntries(entries);
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** Records an error for each name sent in both fields, because only one value can fill it. */
function rejectDoubleVariables(
  plain: Readonly<Record<string, string>>,
  secret: Readonly<Record<string, string>>,
  log: IssueLog,
): void {
  for (const name of Object.keys(secret)) {
    if (!Object.hasOwn(plain, name)) continue;
    log.error(
      childPath(childPath(REQUEST_PATH, 'secretVariables'), name),
      `variable ${name} is sent in both variables and secretVariables. Send it in secretVariables only.`,
    );
  }
}

function describeDialects(): string {
  return DIALECTS.map((dialect) => dialect.description).join(', or ');
}
