import { describe, expect, it } from 'vitest';
import { nextPollDelay } from '../../activities/health';

/** Returns the pauses before the first `count` probes. */
function schedule(intervalMs: number | undefined, count: number): number[] {
  const delays: number[] = [];
  let delay: number | undefined;
  for (let i = 0; i < count; i++) {
    delay = nextPollDelay(delay, intervalMs);
    delays.push(delay);
  }
  return delays;
}

describe('nextPollDelay', () => {
  it('starts at 50 ms and grows by half up to 100 ms', () => {
    expect(schedule(undefined, 5)).toEqual([50, 75, 100, 100, 100]);
  });

  it('never waits longer than the check interval', () => {
    expect(schedule(80, 4)).toEqual([50, 75, 80, 80]);
    expect(schedule(30, 3)).toEqual([30, 30, 30]);
  });

  it('keeps the 100 ms cap when the interval is longer', () => {
    expect(Math.max(...schedule(10_000, 20))).toBe(100);
  });

  it('ignores an interval of zero instead of probing without a pause', () => {
    expect(schedule(0, 3)).toEqual([50, 75, 100]);
  });

  it('probes about ten times a second during a slow start', () => {
    let elapsed = 0;
    let probes = 0;
    let delay: number | undefined;
    while (elapsed < 5_000) {
      delay = nextPollDelay(delay, 2_000);
      elapsed += delay;
      probes++;
    }
    expect(probes).toBeGreaterThanOrEqual(49);
    expect(probes).toBeLessThanOrEqual(51);
  });
});
