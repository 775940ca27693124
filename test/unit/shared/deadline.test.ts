import { describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/shared/clock.js';
import { timeLeft, waitSignal, withDeadline } from '../../../src/shared/deadline.js';
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

  it("carries the wait's cancel signal to the call in flight, which ends at once", async () => {
    const controller = new AbortController();
    const wait = waitUntil({ ...systemClock, signal: controller.signal }, 60_000, async () => {
      // An adapter call that would hang for the whole deadline, but listens to the wait's signal.
      const signal = waitSignal();
      await new Promise<void>((resolve) =>
        signal?.addEventListener('abort', () => resolve(), { once: true }),
      );
      return { done: false, value: signal?.aborted ?? false };
    });
    setTimeout(() => controller.abort(), 10);
    const result = await wait;
    expect(result).toMatchObject({ done: false, value: true });
    expect(waitSignal()).toBeUndefined();
  });

  it('keeps both cancel signals of nested waits', async () => {
    const outer = new AbortController();
    const inner = new AbortController();
    const seen = await withDeadline(
      1_000,
      () => withDeadline(1_000, async () => waitSignal(), inner.signal),
      outer.signal,
    );
    outer.abort();
    expect(seen?.aborted).toBe(true);
  });

  it('keeps the sooner of two nested deadlines, and none outside a wait', async () => {
    expect(timeLeft()).toBeUndefined();
    const inner = await withDeadline(1_000, () => withDeadline(60_000, async () => timeLeft()));
    expect(inner).toBeLessThanOrEqual(1_000);
  });
});
