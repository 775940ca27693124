import type { SwarmApi } from '../transport/types.js';

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

  /** Resolves on the next event (or when the waker closes). */
  readonly next = (): Promise<void> => new Promise<void>((resolve) => this.waiters.push(resolve));

  close(): void {
    this.controller.abort();
    this.wakeAll();
  }
}
