import type { Baseline, CheckResult } from '../checks/types.js';
import type { CheckName } from '../runbook/types.js';
import type { NodeShell, SwarmApi, SwarmNode } from '../transport/types.js';

/**
 * What the executor needs from the outside world. The real adapters live in transport/ and
 * checks/; unit tests pass small fakes. Nothing here imports ssh2 or dockerode.
 */
export interface ClusterPort {
  /** API of a reachable manager (fails over when the current one stops answering). */
  swarm(): Promise<SwarmApi>;
  /** A reachable manager other than `node`: used before draining or rebooting a manager. */
  swarmAvoiding(node: string): Promise<SwarmApi>;
  /** The node's shell, one reused connection per node. */
  shellOf(node: string): Promise<NodeShell>;
  /** Drop and re-open the node's connection (after a reboot). */
  reconnect(node: string): Promise<NodeShell>;
  /** The node's own engine API. */
  engineOf(node: string): Promise<SwarmApi>;
  close(): Promise<void>;
}

/** What the checks need to know about the run right now. */
export interface RunCheckState {
  expectedAvailability: Record<string, SwarmNode['availability']>;
  rebootedFrom: Record<string, string>;
  stageStartedAt: Date;
  baseline?: Baseline;
}

export interface CheckRunnerPort {
  takeBaseline(nodes: string[]): Promise<Baseline>;
  run(names: CheckName[], scope: string[], state: RunCheckState): Promise<CheckResult[]>;
}

/** Time, injectable so waits with timeouts are testable in milliseconds. */
export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
    }),
};
