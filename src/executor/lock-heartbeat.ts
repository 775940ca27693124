import type { Clock } from '../shared/clock.js';
import type { SwarmApi } from '../transport/types.js';
import { describeLostLock, readLock, renewLock } from './lock.js';

/**
 * Keeps the cluster lock alive while a run lives: every ttl/3 its expiry moves forward, so a
 * run longer than `--lock-ttl` never shows as stale. When the lock turns out to be gone or
 * someone else's, `lost()` says so and the executor halts at its next safe point.
 *
 * The beat is a real timer, not the run's clock: the lock's expiry is wall-clock time in the
 * swarm. An API that does not answer is not a loss: the ttl leaves two more beats of slack.
 */
export class LockHeartbeat {
  private timer: NodeJS.Timeout | undefined;
  private beating = false;
  private lostReason: string | undefined;

  constructor(
    private readonly options: {
      swarm: () => Promise<SwarmApi>;
      runId: string;
      ttlMs: number;
      clock: Clock;
      everyMs?: number;
    },
  ) {}

  start(): void {
    const every = this.options.everyMs ?? Math.max(1_000, Math.floor(this.options.ttlMs / 3));
    this.timer = setInterval(() => void this.beat(), every);
    // A pending beat must never keep the process alive after the run.
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Why the run lost its lock, once it did. */
  lost(): string | undefined {
    return this.lostReason;
  }

  /** Renew now; notes a loss. */
  async beat(): Promise<void> {
    if (this.beating || this.lostReason) return;
    this.beating = true;
    try {
      const { runId, ttlMs, clock } = this.options;
      const result = await renewLock(await this.options.swarm(), { runId, ttlMs, now: clock.now() });
      if (!result.renewed) this.lostReason = describeLostLock(result.holder);
    } catch {
      // Unreachable API or a race with a removal: the next beat or check decides.
    } finally {
      this.beating = false;
    }
  }

  /** Read the lock and confirm this run still holds it (before each node). */
  async verify(): Promise<string | undefined> {
    if (this.lostReason) return this.lostReason;
    try {
      const lock = await readLock(await this.options.swarm());
      if (!lock || lock.runId !== this.options.runId) this.lostReason = describeLostLock(lock);
    } catch {
      // The node's own steps fail clearly if the API is gone.
    }
    return this.lostReason;
  }
}
