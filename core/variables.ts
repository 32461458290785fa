/**
 * `${VAR}` placeholders in environment values, filled from the variables sent with a deploy
 * request. `$$` stands for a literal `$`; any other `$` is kept as written.
 */
import { childPath, type IssueLog } from './issues';

/** A placeholder that could not be filled, by variable name or as the malformed text. */
export type PlaceholderProblem = { kind: 'missing'; variable: string } | { kind: 'malformed'; text: string };

/** The result of filling one value: the text and the problems, when there are any. */
export interface FilledValue {
  value: string;
  problems: PlaceholderProblem[];
  /** Names of the variables used. */
  used: string[];
}

const TOKEN = /\$\$|\$\{([^}]*)\}|\$\{/g;
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Replaces every `${NAME}` in `value` with `variables[NAME]` and every `$$` with `$`. A `$` that
 * starts neither is kept. Each variable value is inserted as it is, so it arrives in the container
 * byte for byte, and placeholders inside it are not expanded again.
 *
 * @example fill('postgres://app:${DB_PASSWORD}@db/app', { DB_PASSWORD: 'p$$' }).value
 * // 'postgres://app:p$$@db/app'
 */
export function fill(value: string, variables: Readonly<Record<string, string>>): FilledValue {
  const problems: PlaceholderProblem[] = [];
  const used: string[] = [];
  const filled = value.replace(TOKEN, (token: string, name: string | undefined) => {
    if (token === '$$') return '$';
    if (name === undefined || !VARIABLE_NAME.test(name)) {
      problems.push({ kind: 'malformed', text: token });
      return token;
    }
    if (!Object.hasOwn(variables, name)) {
      problems.push({ kind: 'missing', variable: name });
      return token;
    }
    used.push(name);
    return variables[name];
  });
  return { value: filled, problems, used };
}

/** The request's variables by name, and which of those names are secret. */
export interface RequestVariables {
  values: Readonly<Record<string, string>>;
  secret: ReadonlySet<string>;
}

/**
 * Fills the placeholders of every value of a service's `environment`, recording an error at the
 * key's path for each missing variable or malformed placeholder. `service` names the item in the
 * messages. Adds the names of the variables used to `used`.
 *
 * Returns the filled environment and, as `secretKeys`, the keys whose value received the text of
 * a secret variable, in the order of `environment`.
 */
export function fillEnvironment(
  environment: Record<string, string>,
  path: string,
  service: string,
  variables: RequestVariables,
  used: Set<string>,
  log: IssueLog,
): { environment: Record<string, string>; secretKeys: string[] } {
  const entries: [string, string][] = [];
  const secretKeys: string[] = [];
  for (const [key, raw] of Object.entries(environment)) {
    const result = fill(raw, variables.values);
    for (const name of result.used) used.add(name);
    for (const problem of result.problems) {
      log.error(childPath(path, key), describeProblem(problem, service, key));
    }
    if (result.used.some((name) => variables.secret.has(name))) secretKeys.push(key);
    entries.push([key, result.value]);
  }
  return { environment: Object.fromEntries(entries), secretKeys };
}

function describeProblem(problem: PlaceholderProblem, service: string, key: string): string {
  if (problem.kind === 'missing') {
    return (
      `service "${service}", variable ${key}: \${${problem.variable}} has no value. ` +
      `Send "${problem.variable}" in the request's variables, or write $$ for a literal $.`
    );
  }
  return (
    `service "${service}", variable ${key}: ${problem.text} is not a placeholder Graphium fills. ` +
    'Write ${NAME} with a name of letters, digits and "_", or $$ for a literal $.'
  );
}
