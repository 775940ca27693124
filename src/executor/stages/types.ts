import type { CheckResult } from '../../checks/types.js';
import type { PlannedNode, PlannedStage } from '../../plan/types.js';
import type { SubstitutionScope } from '../../runbook/substitute.js';
import type { CheckName, StageKind } from '../../runbook/types.js';
import type { Clock } from '../../shared/clock.js';
import type { WaitHeartbeat } from '../../shared/wait-until.js';
import type { CommandResult, ExecOptions, LocalRunner } from '../../transport/types.js';
import type { OperatorGate, RunEvent, WaitKind } from '../events.js';
import type { ClusterPort, RunCheckState } from '../ports.js';
import type { RunProgress } from '../run-progress.js';

/** The result of one stage's action, before the between-stage checks. */
export type StageResult =
  | { ok: true; outcome: 'succeeded' | 'skipped'; message?: string }
  | { ok: false; reason: string; command?: CommandResult; checks?: CheckResult[] };

export type PlannedStageOf<K extends StageKind> = Extract<PlannedStage, { kind: K }>;

/** Runs one kind of stage on one node. Throwing a `HaltError` stops the run; any other error is a failed stage. */
export type StageHandler<K extends StageKind> = (
  stage: PlannedStageOf<K>,
  node: PlannedNode,
  run: StageContext,
) => Promise<StageResult>;

/** One handler per stage kind: a new kind does not compile until it has one. */
export type StageHandlers = { [K in StageKind]: StageHandler<K> };

/** What a stage handler may use of the run: its ports, its state and a narrow side of the executor. */
export interface StageContext {
  cluster: ClusterPort;
  /** The operator's machine, for `local` stages (undefined where a run offers none). */
  local: LocalRunner | undefined;
  clock: Clock;
  /** First SIGINT/SIGTERM: waits end early; the stage should not count as done. */
  stopSignal: AbortSignal;
  /** Second signal: cancel the current remote command or wait. */
  cancelSignal: AbortSignal;
  /** Read-only probes on the nodes (IPVS) need sudo for a non-root SSH user. */
  sudo: boolean;
  /** Interactive mode only. Ask through `ask`, never directly: questions are serialized. */
  gate: OperatorGate | undefined;
  progress: RunProgress;
  state: RunCheckState;
  emit(event: RunEvent): void;
  /** Now, as an ISO timestamp for events. */
  at(): string;
  note(node: string, message: string, stage?: string): void;
  ask<T>(question: () => Promise<T>): Promise<T>;
  runChecks(
    names: CheckName[],
    scope: string[],
    node: string | null,
    stage: string | null,
  ): Promise<StageResult>;
  scopeFor(node: PlannedNode): SubstitutionScope;
  /**
   * A heartbeat for one wait of a stage: a `waiting` event about every heartbeat interval,
   * saying what `describe` finds still missing in the wait's latest attempt.
   */
  heartbeatFor<T>(
    node: string,
    stage: string,
    wait: WaitKind,
    timeoutMs: number,
    describe: (value: T) => string,
  ): WaitHeartbeat<T>;
  /** Exec options that stream output into events, secrets masked. */
  streamTo(node: string, stage: string): Pick<ExecOptions, 'onStdout' | 'onStderr'> & { end(): void };
  maskResult(result: CommandResult): CommandResult;
  /** Stop the run here: the operator said abort. */
  halt(node: string, stage: string, reason: string): never;
  /** Stop the run here at a safe point, resumable: a signal arrived. */
  interrupt(node: string, stage: string): never;
}
