import { describe, expect, it } from 'vitest';
import { NODE_POLL_SPACING, pauseAfter, waitUntil } from '../../../src/shared/wait-until.js';
import { fakeClock } from '../../support/fake-cluster.js';

/**
 * A wait whose attempts each cost `costMs` of a fake clock; records when each one started. A
 * sleep takes its time unless it is ended first (by an event that wakes the wait): then none.
 */
async function timedWait(costMs: number, options: Parameters<typeof waitUntil>[3], wakes = false) {
  const clock = fakeClock(0);
  const sleep = (ms: number, signal?: AbortSignal) =>
    new Promise<void>((resolve) =>
      setImmediate(() => {
        if (!signal?.aborted) clock.advance(ms);
        resolve();
      }),
    );
  const starts: number[] = [];
  const result = await waitUntil(
    { now: clock.now, sleep },
    60_000,
    async () => {
      starts.push(clock.now());
      clock.advance(costMs);
      return { done: false, value: starts.length };
    },
    { ...options, ...(wakes ? { wake: async () => undefined } : {}) },
  );
  const gaps = starts.slice(1).map((t, i) => t - starts[i]! - costMs);
  return { result, starts, gaps };
}

describe('waitUntil spacing for polls that cost the nodes work', () => {
  it('without spacing, pauses pollMs after every attempt', async () => {
    const { gaps } = await timedWait(800, { pollMs: 1000 });
    expect(new Set(gaps)).toEqual(new Set([1000]));
  });

  it('grows the pause by half each time up to maxMs', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => pauseAfter(n, 0, 1000, NODE_POLL_SPACING))).toEqual([
      1000, 1500, 2250, 3375, 5000, 5000,
    ]);
  });

  it('pauses at least costFactor × what a slow attempt took (capped at maxMs)', async () => {
    const { gaps, starts } = await timedWait(900, { pollMs: 1000, spacing: NODE_POLL_SPACING });
    // 3 × 900 ms from the first pause on, then the 5 s cap.
    expect(gaps.slice(0, 4)).toEqual([2700, 2700, 2700, 3375]);
    expect(gaps.at(-2)).toBe(5000);
    // drydock's share of the node stays below 1 / (1 + 3) while it waits.
    expect((starts.length * 900) / 60_000).toBeLessThan(0.25);
  });

  it('an event wakes the wait early, but not into another attempt before the cost pause', async () => {
    const { gaps } = await timedWait(900, { pollMs: 1000, spacing: NODE_POLL_SPACING }, true);
    expect(new Set(gaps.slice(0, -1))).toEqual(new Set([2700]));
    // …and without spacing, the event wakes it at once (as the Docker-event waits want).
    const plain = await timedWait(900, { pollMs: 1000 }, true);
    expect(new Set(plain.gaps)).toEqual(new Set([0]));
  });

  it('still ends at its timeout', async () => {
    const { result } = await timedWait(900, { pollMs: 1000, spacing: NODE_POLL_SPACING }, true);
    expect(result.done).toBe(false);
    expect(result.waitedMs).toBeGreaterThanOrEqual(60_000);
    expect(result.waitedMs).toBeLessThanOrEqual(60_000 + 900);
  });
});
