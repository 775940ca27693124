import type { Baseline, CheckResult } from '../checks/types.js';
import type { CheckName } from '../runbook/types.js';
import type { SwarmNode } from '../transport/types.js';

/**
 * What the executor needs from the outside world besides the cluster (`ClusterPort`, defined
 * with the other ports in transport/types.ts). Nothing here imports ssh2 or dockerode.
 */
export type { ClusterPort } from '../transport/types.js';

/** What the checks need to know about the run right now. */
export interface RunCheckState {
  expectedAvailability: Record<string, SwarmNode['availability']>;
  rebootedFrom: Record<string, string>;
  stageStartedAt: Date;
  baseline?: Baseline;
}

export interface CheckRunnerPort {
  takeBaseline(nodes: string[]): Promise<Baseline>;
  /** `heartbeat`: while checks wait, a line every `everyMs` naming what they still miss. */
  run(
    names: CheckName[],
    scope: string[],
    state: RunCheckState,
    heartbeat?: { everyMs: number; write(line: string): void },
  ): Promise<CheckResult[]>;
}
