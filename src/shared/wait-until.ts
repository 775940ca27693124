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
 * For polls that cost the nodes work (a script of a dozen processes over SSH): the pause after an
 * attempt grows from `pollMs` by half each time up to `maxMs`, and is never shorter than
 * `costFactor` times what the attempt took. Why: on a starved node (an engine starting, a VM
 * short of CPU) a poll every second can take most of the CPU its services need to answer users;
 * a slow attempt is the sign, and the wait backs off, so drydock's share stays about
 * 1 / (1 + costFactor) at most. A Docker event still wakes the wait early, never sooner than
 * `costFactor` times the last attempt.
 */
export interface PollSpacing {
  maxMs: number;
  costFactor: number;
}

/** For a poll that runs commands on nodes over SSH: up to 5 s apart, 3× what one took. */
export const NODE_POLL_SPACING: PollSpacing = { maxMs: 5000, costFactor: 3 };

/** The least pause after an attempt that took `attemptMs`, even when an event wakes the wait. */
function minPause(attemptMs: number, spacing?: PollSpacing): number {
  return spacing ? Math.min(spacing.maxMs, spacing.costFactor * attemptMs) : 0;
}

/** The pause before attempt `n + 1` (n ≥ 1) after one that took `attemptMs`. */
export function pauseAfter(n: number, attemptMs: number, pollMs: number, spacing?: PollSpacing): number {
  if (!spacing) return pollMs;
  return Math.max(Math.min(spacing.maxMs, pollMs * 1.5 ** (n - 1)), minPause(attemptMs, spacing));
}

/**
 * Retries `attempt` until it reports done or `timeoutMs` passes, sleeping `pollMs` (or until
 * `wake` resolves, e.g. on a Docker event) between attempts, spaced further by `spacing`. Returns
 * the last value and how long it waited. Uses the injected clock so tests run in milliseconds.
 */
export async function waitUntil<T>(
  ctx: WaitClock,
  timeoutMs: number,
  attempt: () => Promise<Attempt<T>>,
  options: {
    pollMs?: number;
    spacing?: PollSpacing;
    wake?: () => Promise<void>;
    heartbeat?: WaitHeartbeat<T>;
  } = {},
): Promise<{ value: T; done: boolean; waitedMs: number }> {
  const pollMs = options.pollMs ?? 1000;
  const startedAt = ctx.now();
  const { heartbeat } = options;
  let lastBeatAt = startedAt;
  for (let n = 1; ; n++) {
    const attemptStart = ctx.now();
    // The attempt's adapter calls (a Docker request to a frozen engine) end with the wait.
    const result = await withDeadline(timeoutMs - (attemptStart - startedAt), attempt, ctx.signal);
    const waitedMs = ctx.now() - startedAt;
    if (result.done || waitedMs >= timeoutMs || ctx.signal?.aborted) {
      return { value: result.value, done: result.done, waitedMs };
    }
    if (heartbeat && ctx.now() - lastBeatAt >= heartbeat.everyMs) {
      lastBeatAt = ctx.now();
      heartbeat.beat(result.value, waitedMs);
    }
    const attemptMs = ctx.now() - attemptStart;
    const pausedAt = ctx.now();
    const pause = pauseAfter(n, attemptMs, pollMs, options.spacing);
    await sleepOrWake(ctx, Math.min(pause, timeoutMs - waitedMs), options.wake);
    // An event wakes the wait early, but not into another costly attempt straight away.
    const rest = minPause(attemptMs, options.spacing) - (ctx.now() - pausedAt);
    if (rest > 0 && !ctx.signal?.aborted) {
      await sleepOrWake(ctx, Math.min(rest, timeoutMs - (ctx.now() - startedAt)), undefined);
    }
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
