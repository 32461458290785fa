/** The ids read from activity and workflow inputs for log lines. */
import { describe, expect, it } from 'vitest';
import { inputLogIds } from '../../workflows/log-attributes';

describe('inputLogIds', () => {
  it.each([
    [
      'deploy input',
      { deploymentId: 'dep_1', stack: { name: 'Shop' } },
      { deploymentId: 'dep_1', stack: 'Shop' },
    ],
    ['teardown input', { teardownId: 'td_1', stackName: 'Shop' }, { teardownId: 'td_1', stack: 'Shop' }],
    [
      'container step',
      { deploymentId: 'dep_1', host: { name: 'h1', address: '10.0.0.1' }, service: 'db' },
      { deploymentId: 'dep_1', host: 'h1', service: 'db' },
    ],
    ['service object', { service: { name: 'api' }, host: 'h2' }, { service: 'api', host: 'h2' }],
    ['ids of other types', { deploymentId: 7, host: { name: 3 }, service: null }, {}],
    ['no object', 'dep_1', {}],
    ['null', null, {}],
  ])('reads %s', (_case, input, expected) => {
    expect(inputLogIds(input)).toEqual(expected);
  });
});
