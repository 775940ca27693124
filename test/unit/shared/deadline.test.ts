import { describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/shared/clock.js';
import { timeLeft, withDeadline } from '../../../src/shared/deadline.js';
import { waitUntil } from '../../../src/shared/wait-until.js';

describe('the deadline of whatever waits', () => {
  it('reaches the calls inside each attempt of a wait (what bounds a Docker request)', async () => {
    const seen: (number | undefined)[] = [];
    await waitUntil(systemClock, 60_000, async () => {
      seen.push(timeLeft());
      return { done: true, value: undefined };
    });
    expect(seen[0]).toBeGreaterThan(0);
    expect(seen[0]).toBeLessThanOrEqual(60_000);
  });

  it('keeps the sooner of two nested deadlines, and none outside a wait', async () => {
    expect(timeLeft()).toBeUndefined();
    const inner = await withDeadline(1_000, () => withDeadline(60_000, async () => timeLeft()));
    expect(inner).toBeLessThanOrEqual(1_000);
  });
});
