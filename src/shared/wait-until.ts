/**
 * The one way drydock waits for something to converge (services after a drain, a node after a
 * reboot, a check's condition): retry an attempt until it is done or a timeout passes, sleeping
 * between attempts or waking early when an event arrives. Time is injected, so tests of
 * "wait with a timeout" run in milliseconds.
 */
import type { AbortableClock } from './clock.js';
import { withDeadline } from './deadline.js';

export type WaitClock = AbortableClock;

/** Outcome of one attempt: done stops the wait, otherwise it retries. */
export interface Attempt<T> {
  done: boolean;
  value: T;
}

/**
 * A wait that says what it still misses: `beat` gets the last attempt's value about every
 * `everyMs` while the wait goes on (never for the attempt that ends it).
 */
export interface WaitHeartbeat<T> {
  everyMs: number;
  beat(value: T, waitedMs: number): void;
}

/**
 * Retries `attempt` until it reports done or `timeoutMs` passes, sleeping `pollMs` (or until
 * `wake` resolves, e.g. on a Docker event) between attempts. Returns the last value and how long
 * it waited. Uses the injected clock so tests run in milliseconds.
 */
export async function waitUntil<T>(
  ctx: WaitClock,
  timeoutMs: number,
  attempt: () => Promise<Attempt<T>>,
  options: { pollMs?: number; wake?: () => Promise<void>; heartbeat?: WaitHeartbeat<T> } = {},
): Promise<{ value: T; done: boolean; waitedMs: number }> {
  const pollMs = options.pollMs ?? 1000;
  const startedAt = ctx.now();
  const { heartbeat } = options;
  let lastBeatAt = startedAt;
  for (;;) {
    // The attempt's adapter calls (a Docker request to a frozen engine) end with the wait.
    const result = await withDeadline(timeoutMs - (ctx.now() - startedAt), attempt, ctx.signal);
    const waitedMs = ctx.now() - startedAt;
    if (result.done || waitedMs >= timeoutMs || ctx.signal?.aborted) {
      return { value: result.value, done: result.done, waitedMs };
    }
    if (heartbeat && ctx.now() - lastBeatAt >= heartbeat.everyMs) {
      lastBeatAt = ctx.now();
      heartbeat.beat(result.value, waitedMs);
    }
    const delay = Math.min(pollMs, timeoutMs - waitedMs);
    await sleepOrWake(ctx, delay, options.wake);
  }
}

async function sleepOrWake(
  ctx: Omit<WaitClock, 'now'>,
  ms: number,
  wake: (() => Promise<void>) | undefined,
): Promise<void> {
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  ctx.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const sleeping = ctx.sleep(ms, controller.signal).catch(() => undefined);
    await (wake ? Promise.race([sleeping, wake()]) : sleeping);
  } finally {
    controller.abort();
    ctx.signal?.removeEventListener('abort', onAbort);
  }
}
