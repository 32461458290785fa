import { describe, expect, it } from 'vitest';
import { parseDurationMs } from '../../core/duration';

describe('parseDurationMs', () => {
  it.each([
    [30, 30_000],
    [0, 0],
    [1.5, 1_500],
    [0.25, 250],
    ['30', 30_000],
    ['2.5', 2_500],
    ['30s', 30_000],
    ['1m30s', 90_000],
    ['500ms', 500],
    ['2h', 7_200_000],
    ['1.5s', 1_500],
    ['.5s', 500],
    ['1h2m3s4ms', 3_723_004],
    ['0s', 0],
    [' 10s ', 10_000],
  ])('reads %j as %d ms', (value, expected) => {
    expect(parseDurationMs(value)).toBe(expected);
  });

  it.each([
    -1,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    '-5s',
    '',
    'abc',
    '10x',
    '10 s',
    '1m30',
    's',
    '30S',
    '1d',
    null,
    true,
    [],
    {},
    undefined,
  ])('rejects %j', (value) => {
    expect(parseDurationMs(value)).toBeUndefined();
  });

  it('rounds to whole milliseconds', () => {
    expect(parseDurationMs(1.1)).toBe(1_100);
    expect(parseDurationMs('0.0004')).toBe(0);
  });
});
