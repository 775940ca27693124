import type { SwarmApi } from '../transport/types.js';
import type { Clock } from './ports.js';

/**
 * Wakes a waiting loop as soon as the Docker API reports an event, with a poll interval as
 * the fallback (task state changes do not all surface as swarm events). Reacting to events is
 * what keeps "services converged → next stage" well under a poll period.
 */
export class EventWaker {
  private waiters: (() => void)[] = [];
  private readonly controller = new AbortController();

  constructor(sources: { api: SwarmApi; filters: Record<string, string[]> }[]) {
    for (const { api, filters } of sources) void this.follow(api, filters);
  }

  private async follow(api: SwarmApi, filters: Record<string, string[]>): Promise<void> {
    try {
      for await (const _event of api.events(filters, this.controller.signal)) this.wakeAll();
    } catch {
      // An event stream that breaks (engine restarting) just leaves polling in charge.
    }
  }

  private wakeAll(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /** Resolve on the next event, or after `ms`, or on abort, whichever is first. */
  wait(ms: number, clock: Clock, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      let settled = false;
      const done = () => {
        if (settled) return;
        settled = true;
        resolve();
      };
      this.waiters.push(done);
      void clock.sleep(ms, signal).then(done);
    });
  }

  close(): void {
    this.controller.abort();
    this.wakeAll();
  }
}

export interface WaitResult<T> {
  ok: boolean;
  value: T;
  waitedMs: number;
}

/**
 * Probe until `done` or the timeout. The probe's last value is returned either way, so a
 * timeout can say exactly what was still missing.
 */
export async function waitUntil<T>(
  probe: () => Promise<{ done: boolean; value: T }>,
  options: { timeoutMs: number; clock: Clock; pollMs?: number; waker?: EventWaker; signal?: AbortSignal },
): Promise<WaitResult<T>> {
  const { clock, timeoutMs, waker, signal } = options;
  const pollMs = options.pollMs ?? 500;
  const started = clock.now();
  for (;;) {
    const { done, value } = await probe();
    const waitedMs = clock.now() - started;
    if (done) return { ok: true, value, waitedMs };
    if (waitedMs >= timeoutMs || signal?.aborted) return { ok: false, value, waitedMs };
    const remaining = Math.max(0, timeoutMs - waitedMs);
    if (waker) await waker.wait(Math.min(pollMs, remaining), clock, signal);
    else await clock.sleep(Math.min(pollMs, remaining), signal);
  }
}
