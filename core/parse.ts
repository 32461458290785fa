/**
 * Entry point for reading stack documents: picks the dialect, reads the document into the stack
 * model, then runs the checks that apply to every dialect.
 */
import { isItemList, parseItemList } from './dialects/itemlist';
import { isObject, type JsonObject } from './fields';
import { IssueLog } from './issues';
import type { ParseResult } from './model';
import { validateStack, type DialectOutput } from './validate';

/** Options of `parseStack`. */
export interface ParseOptions {
  /** Record unknown keys as errors in place of warnings. Default false. */
  strict?: boolean;
}

/** A stack dialect: how to recognize its documents and read them into the model. */
interface Dialect {
  /** Description of the dialect's documents, for the message that lists accepted dialects. */
  description: string;
  matches(document: JsonObject): boolean;
  parse(document: JsonObject, log: IssueLog): DialectOutput;
}

// TODO(dialects): add the JSON-LD `@graph` dialect here once it is written.
const DIALECTS: readonly Dialect[] = [
  {
    description: 'a schema.org ItemList (an object with "@type": "ItemList" and itemListElement)',
    matches: isItemList,
    parse: parseItemList,
  },
];

/**
 * Reads a stack document of any accepted dialect into the stack model and validates it.
 *
 * Every problem comes back with its JSON path. Unknown keys are warnings, or errors when
 * `options.strict` is true. `stack` is set only when there are no errors.
 *
 * @example
 * const { stack, errors, warnings } = parseStack(JSON.parse(text), { strict: true });
 */
export function parseStack(document: unknown, options: ParseOptions = {}): ParseResult {
  const log = new IssueLog(options.strict ?? false);
  const dialect = isObject(document) ? DIALECTS.find((candidate) => candidate.matches(document)) : undefined;
  if (!dialect) {
    const accepted = `It accepts ${describeDialects()}.${graphHint(document)}`;
    log.error('$', `the document is not a stack Graphium can read. ${accepted}`);
    return { errors: log.errors, warnings: log.warnings };
  }

  const output = dialect.parse(document as JsonObject, log);
  validateStack(output.stack, output.source, log);
  const result: ParseResult = { errors: log.errors, warnings: log.warnings };
  if (log.errors.length === 0) result.stack = output.stack;
  return result;
}

/** Returns a hint for JSON-LD @graph documents, which Graphium recognizes but cannot read yet. */
function graphHint(document: unknown): string {
  const isGraph =
    isObject(document) && (document['@graph'] !== undefined || document.stackDefinition !== undefined);
  return isGraph ? ' JSON-LD @graph stacks are not supported yet.' : '';
}

function describeDialects(): string {
  return DIALECTS.map((dialect) => dialect.description).join(', or ');
}
