import type { Baseline, CheckResult } from '../checks/types.js';
import type { StopReason } from '../errors.js';
import type { Plan } from '../plan/types.js';
import type { CommandResult } from '../transport/types.js';

export type { CommandResult } from '../transport/types.js';

/**
 * Typed events: the executor emits them; reporters (listr2 UI, JSON lines, plain text, the
 * journal) consume them. Every event is JSON-serializable and carries no secrets
 * (commands are in their display form).
 */
export type RunEvent =
  | {
      type: 'run-start';
      runId: string;
      plan: Plan;
      resumed: boolean;
      mode: RunMode;
      /** On a resume: the nodes an earlier session finished (they count as done in summaries). */
      doneBefore?: string[];
      at: string;
    }
  | { type: 'preflight'; results: CheckResult[]; forced?: string; at: string }
  | { type: 'baseline'; nodes: string[]; baseline: Baseline; at: string }
  | { type: 'lock'; action: 'acquired' | 'released' | 'kept'; owner: string; at: string }
  | {
      type: 'node-start';
      node: string;
      position: number;
      batch: number;
      availabilityBefore: string;
      at: string;
    }
  | { type: 'stage-start'; node: string; stage: string; kind: string; index: number; at: string }
  | { type: 'output'; node: string; stage: string; stream: 'stdout' | 'stderr'; line: string; at: string }
  | { type: 'command'; node: string; stage: string; result: CommandResult; attempt: number; at: string }
  | { type: 'progress'; node: string; stage: string; message: string; at: string }
  /**
   * A heartbeat: a wait is still going on, and what it still misses. Shown by every reporter,
   * not journaled (one every few seconds would bury the journal; the halt says the last state).
   */
  | {
      type: 'waiting';
      node: string;
      stage: string;
      wait: WaitKind;
      waitedMs: number;
      /** The wait's own limit, when it has one (checks each have theirs). */
      timeoutMs?: number;
      missing: string;
      at: string;
    }
  /** The run set this node to drain (so it may, and must, re-activate it). */
  | {
      type: 'drained';
      node: string;
      /** The swarm node ID drained: a resume re-checks that the node is still this one. */
      nodeId?: string;
      tasksMoved: number;
      waitedMs: number;
      standalone: string[];
      at: string;
    }
  /**
   * The run paused this node (no new tasks land on it) to start replacements elsewhere before
   * draining it: from here on the run owns its availability, as after `drained`.
   */
  | { type: 'paused'; node: string; nodeId: string; at: string }
  /**
   * Replica counts the run changed to start replacements before a drain (`scaled-up`, journaled
   * BEFORE the change, so a crash mid-way is still undone) or set back (`restored`).
   */
  | {
      type: 'replicas';
      node: string;
      action: 'scaled-up' | 'restored';
      services: ScaledService[];
      at: string;
    }
  | { type: 'activated'; node: string; at: string }
  | { type: 'rebooted'; node: string; bootIdBefore: string; bootIdAfter: string; downMs: number; at: string }
  | { type: 'checks'; node: string | null; stage: string | null; results: CheckResult[]; at: string }
  | {
      type: 'stage-end';
      node: string;
      stage: string;
      index: number;
      outcome: StageOutcome;
      durationMs: number;
      message?: string;
      at: string;
    }
  /** `skipped`: the node was skipped whole (nothing left to do on it), with why. */
  | { type: 'node-end'; node: string; availabilityAfter: string; skipped?: string; at: string }
  | { type: 'halt'; report: HaltReport; at: string }
  | {
      type: 'interrupted';
      node: string | null;
      stage: string | null;
      resumeCommand: string;
      /** Absent in older journals: a signal. `window-end` is a planned stop between nodes. */
      reason?: StopReason;
      /** What the operator reads, e.g. "window ended at …: stopped after finishing node2 as planned". */
      message?: string;
      at: string;
    }
  /**
   * Something the operator should know beside the run; the run goes on. `notify`: a webhook
   * could not be delivered. `traffic`: the plan's traffic warnings, said once after run-start.
   */
  | { type: 'warning'; source: 'notify' | 'traffic'; message: string; at: string }
  | {
      type: 'run-end';
      runId: string;
      outcome: RunOutcome;
      durationMs: number;
      /** Nodes of the whole run, earlier sessions included (absent in old journals). */
      summary?: NodeSummary;
      at: string;
    };

/** One service the run scaled: `from` is the operator's count, to be put back; `to` the run's. */
export interface ScaledService {
  id: string;
  name: string;
  from: number;
  to: number;
}

/** How far each planned node got, over every session of a run. */
export interface NodeSummary {
  done: number;
  halted: number;
  unfinished: number;
  notStarted: number;
  total: number;
}

export type RunEventType = RunEvent['type'];
/** What a heartbeat waits for: the drain, the node after a reboot, its engine, a re-activation, checks. */
export type WaitKind = 'drain' | 'reboot-return' | 'engine-return' | 'activate' | 'checks';
export type RunMode = 'interactive' | 'unattended';
export type StageOutcome = 'succeeded' | 'failed' | 'skipped';
export type RunOutcome = 'succeeded' | 'halted' | 'interrupted' | 'refused';

/** What the operator needs after a halt: what failed, the state of every node, how to resume. */
export interface HaltReport {
  runId: string;
  node: string;
  stage: string;
  reason: string;
  command?: CommandResult;
  failedChecks: CheckResult[];
  /** Last lines of output of the failing command. */
  lastOutput: string[];
  nodes: { name: string; availability: string; state: string; progress: string }[];
  resumeCommand: string;
}

/** Something that consumes events: a reporter or the journal. */
export interface RunReporter {
  onEvent(event: RunEvent): void;
  /** Flush and stop (render the final state). */
  close?(): Promise<void>;
}

/**
 * Decisions asked of the operator in interactive mode. The executor calls these; the
 * prompts module implements them with inquirer, tests with scripted answers.
 */
/** `continue-node`/`continue-run`: go on and stop asking before stages for this node / the rest of the run. */
export type StageDecision = 'continue' | 'continue-node' | 'continue-run' | 'skip' | 'abort';
export type FailureDecision = 'retry' | 'skip' | 'abort';
/** During a pause: skip the rest of it, abort the run, or it `waited` (the pause ran out or the run stopped). */
export type PauseDecision = 'skip' | 'abort' | 'waited';
export interface OperatorGate {
  beforeStage(node: string, stage: string, summary: string): Promise<StageDecision>;
  onFailure(node: string, stage: string, details: string): Promise<FailureDecision>;
  /** A `prompt` stage: true to continue. */
  confirm(node: string, message: string): Promise<boolean>;
  /**
   * A pause stage is waiting (`summary` says until when): offer to skip the rest. Must settle
   * with 'waited' once `signal` aborts (the pause ran out or the run is stopping).
   */
  whilePausing?(node: string, stage: string, summary: string, signal: AbortSignal): Promise<PauseDecision>;
  /** Services did not converge: true to force-update them and check again. */
  offerRemediation?(node: string, services: string[]): Promise<boolean>;
}
