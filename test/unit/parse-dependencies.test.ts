import { describe, expect, it } from 'vitest';
import { parseStack } from '../../core/parse';
import { expectIssue, item, stackFrom, stackOf } from './stack-documents';

const FIRST = '$.itemListElement[0]';
const SECOND = '$.itemListElement[1]';
const THIRD = '$.itemListElement[2]';

/** Parses a stack of service db and service app, which gets `appFields`. */
function withApp(appFields: Record<string, unknown>) {
  return parseStack(stackOf([item('db', 1), item('app', 2, appFields)]));
}

describe('parseStack dependencies', () => {
  it('reads requirements', () => {
    const stack = stackFrom(withApp({ requirements: ['db'] }));
    expect(stack.services[1].dependencies).toEqual([{ name: 'db', waitForHealthy: false }]);
  });

  it('reads softwareRequirements', () => {
    const requirement = {
      '@type': 'SoftwareApplication',
      name: 'db',
      waitForHealthy: true,
      connectionString: 'postgres://{host}:{port}/app',
    };
    const document = stackOf([
      item('db', 1, { ports: [{ containerPort: 5432 }] }),
      item('app', 2, { softwareRequirements: [requirement] }),
    ]);
    expect(stackFrom(parseStack(document)).services[1].dependencies).toEqual([
      { name: 'db', waitForHealthy: true, connectionString: 'postgres://{host}:{port}/app' },
    ]);
  });

  it('reads legacy dependsOn', () => {
    const stack = stackFrom(withApp({ dependsOn: ['db'] }));
    expect(stack.services[1].dependencies).toEqual([{ name: 'db', waitForHealthy: false }]);
  });

  it('merges duplicate dependencies', () => {
    const app = item('app', 3, {
      requirements: ['db', 'cache'],
      softwareRequirements: [{ name: 'db', waitForHealthy: true, connectionString: 'pg://{host}' }],
      dependsOn: ['db', 'cache'],
    });
    const stack = stackFrom(parseStack(stackOf([item('db', 1), item('cache', 2), app])));
    expect(stack.services[2].dependencies).toEqual([
      { name: 'db', waitForHealthy: true, connectionString: 'pg://{host}' },
      { name: 'cache', waitForHealthy: false },
    ]);
  });

  it('keeps the first of two connection strings', () => {
    const app = item('app', 2, {
      softwareRequirements: [
        { name: 'db', connectionString: 'pg://{host}/one' },
        { name: 'db', connectionString: 'pg://{host}/two' },
      ],
    });
    const result = parseStack(stackOf([item('db', 1), app]));
    expect(stackFrom(result).services[1].dependencies[0].connectionString).toBe('pg://{host}/one');
    expectIssue(result.warnings, `${SECOND}.softwareRequirements[1].name`, 'connectionString');
  });

  it('rejects requirements written as a string', () => {
    const result = withApp({ requirements: 'db' });
    expectIssue(result.errors, `${SECOND}.requirements`, 'Write it as an array');
  });

  it('rejects non-name dependsOn entry', () => {
    const result = withApp({ dependsOn: [42] });
    expectIssue(result.errors, `${SECOND}.dependsOn[0]`, 'service names');
  });

  it('rejects an unknown requirement', () => {
    const result = parseStack(stackOf([item('app', 1, { requirements: ['redis'] })]));
    expectIssue(result.errors, `${FIRST}.requirements[0]`, '"redis" is not a service');
  });

  it('rejects an unknown softwareRequirement', () => {
    const result = withApp({ softwareRequirements: [{ name: 'redis' }] });
    const path = `${SECOND}.softwareRequirements[0].name`;
    expectIssue(result.errors, path, '"redis" is not a service');
  });

  it('rejects an unknown dependsOn name', () => {
    const result = parseStack(stackOf([item('app', 1, { dependsOn: ['redis'] })]));
    expectIssue(result.errors, `${FIRST}.dependsOn[0]`, '"redis" is not a service');
  });

  it('rejects a softwareRequirement without a name', () => {
    const result = withApp({ softwareRequirements: [{ waitForHealthy: true }] });
    expectIssue(result.errors, `${SECOND}.softwareRequirements[0].name`, 'name is missing');
  });

  it('rejects a softwareRequirement written as a string', () => {
    const result = withApp({ softwareRequirements: ['db'] });
    expectIssue(result.errors, `${SECOND}.softwareRequirements[0]`, '{"name": "db"}');
  });

  it('rejects waitForHealthy that is not a boolean', () => {
    const requirement = { name: 'db', waitForHealthy: 'yes' };
    const result = withApp({ softwareRequirements: [requirement] });
    expectIssue(result.errors, `${SECOND}.softwareRequirements[0].waitForHealthy`, 'true or false');
  });

  it('rejects non-string connectionString', () => {
    const requirement = { name: 'db', connectionString: 5432 };
    const result = withApp({ softwareRequirements: [requirement] });
    const path = `${SECOND}.softwareRequirements[0].connectionString`;
    expectIssue(result.errors, path, 'connectionString must be a string');
  });

  it('warns that remoteHost is ignored', () => {
    const requirement = { name: 'db', remoteHost: 'host-1' };
    const result = withApp({ softwareRequirements: [requirement] });
    const path = `${SECOND}.softwareRequirements[0].remoteHost`;
    expectIssue(result.warnings, path, 'placement decides');
    expect(result.stack).toBeDefined();
  });

  it('rejects port placeholder without ports', () => {
    const requirement = { name: 'db', connectionString: 'pg://{host}:{{PORT}}' };
    const result = withApp({ softwareRequirements: [requirement] });
    expectIssue(result.errors, `${SECOND}.softwareRequirements[0].name`, 'has no ports');
  });

  it('warns about dependencies sharing a variable prefix', () => {
    const app = item('app', 3, { requirements: ['my-db', 'my_db'] });
    const result = parseStack(stackOf([item('my-db', 1), item('my_db', 2), app]));
    expectIssue(result.warnings, `${THIRD}.requirements[1]`, 'MY_DB_HOST');
  });

  it('accepts a dependency with a higher position', () => {
    const document = stackOf([item('app', 1, { dependsOn: ['db'] }), item('db', 2)]);
    expect(parseStack(document).errors).toEqual([]);
  });
});

describe('parseStack keys from names', () => {
  it('reports a missing dependency named __proto__ at its path', () => {
    const result = parseStack(stackOf([item('app', 1, { requirements: ['__proto__'] })]));
    expectIssue(result.errors, `${FIRST}.requirements[0]`, '"__proto__" is not a service');
  });
});

describe('parseStack cycles', () => {
  it('rejects a self-dependency', () => {
    const result = parseStack(stackOf([item('a', 1, { requirements: ['a'] })]));
    expectIssue(result.errors, `${FIRST}.requirements[0]`, 'a -> a');
  });

  it('rejects a two-service cycle', () => {
    const document = stackOf([item('a', 1, { dependsOn: ['b'] }), item('b', 2, { dependsOn: ['a'] })]);
    expectIssue(parseStack(document).errors, `${FIRST}.dependsOn[0]`, 'a -> b -> a');
  });

  it('rejects a three-service cycle', () => {
    const document = stackOf([
      item('a', 1, { requirements: ['b'] }),
      item('b', 2, { softwareRequirements: [{ name: 'c' }] }),
      item('c', 3, { dependsOn: ['a'] }),
    ]);
    const result = parseStack(document);
    expectIssue(result.errors, `${FIRST}.requirements[0]`, 'dependency cycle a -> b -> c -> a');
    expect(result.errors).toHaveLength(1);
  });

  it('names each separate cycle', () => {
    const document = stackOf([
      item('a', 1, { dependsOn: ['b'] }),
      item('b', 2, { dependsOn: ['a'] }),
      item('c', 3, { dependsOn: ['c'] }),
    ]);
    const result = parseStack(document);
    expectIssue(result.errors, `${FIRST}.dependsOn[0]`, 'a -> b -> a');
    expectIssue(result.errors, `${THIRD}.dependsOn[0]`, 'c -> c');
  });
});
