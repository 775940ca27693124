// Over ~400 lines on purpose: this is the executor core (run lifecycle with lock and stop, the
// node loop, the stage loop with checks between stages and the operator's decisions, halting),
// which shares one run state (progress, first halt, gate queue). Everything else sits beside it:
// stages/ (one handler per kind), rollout.ts, before-run.ts, halt-report.ts, output-mask.ts.
import type { CheckResult } from '../checks/types.js';
import { HaltError, isDrydockError } from '../errors.js';
import { describeStage } from '../plan/describe-stage.js';
import { scopeForPlannedNode } from '../plan/node-scope.js';
import type { Plan, PlannedNode, PlannedStage } from '../plan/types.js';
import type { SubstitutionScope } from '../runbook/substitute.js';
import type { CheckName, Runbook } from '../runbook/types.js';
import type { Clock } from '../shared/clock.js';
import type { CommandResult, LocalRunner } from '../transport/types.js';
import {
  type BeforeRunContext,
  connectAll,
  ensureBaseline,
  recordAvailability,
  runPreflight,
} from './before-run.js';
import type {
  FailureDecision,
  OperatorGate,
  RunEvent,
  RunMode,
  RunOutcome,
  RunReporter,
  StageOutcome,
  WaitKind,
} from './events.js';
import { buildHaltReport, describeFailure, type RunHalt } from './halt-report.js';
import { acquireLock, noteLock, releaseLock } from './lock.js';
import { LockHeartbeat } from './lock-heartbeat.js';
import { SecretMask } from './output-mask.js';
import type { CheckRunnerPort, ClusterPort, RunCheckState } from './ports.js';
import { offerForceUpdate } from './remediate-services.js';
import { refuseOutsideWindow, runRollout } from './rollout.js';
import { applyEvent, isStageDone, type RunProgress, summarizeNodes } from './run-progress.js';
import { findNode } from './stages/drain-node.js';
import { decideNodeSkip } from './stages/skip-if.js';
import { stageHandlers } from './stages/stage-handlers.js';
import type { StageContext, StageResult } from './stages/types.js';
import { verifyStillDrained } from './verify-drained.js';

export interface ExecutorOptions {
  runId: string;
  plan: Plan;
  runbook: Runbook;
  cluster: ClusterPort;
  /** Runs `local` stages on the operator's machine. */
  local?: LocalRunner;
  checks: CheckRunnerPort;
  /** Fan-out of reporters; the journal is one of them. */
  reporter: RunReporter;
  /** Interactive mode asks the operator; undefined means unattended. */
  gate?: OperatorGate;
  clock: Clock;
  /** First SIGINT/SIGTERM: stop at the next safe point (after the current command or wait). */
  stopSignal: AbortSignal;
  /** Second SIGINT: cancel the current remote command too. */
  cancelSignal: AbortSignal;
  progress: RunProgress;
  /** Start despite failed pre-flight checks; the reason is journaled. */
  force?: string;
  lock: { owner: string; ttlMs: number; renewEveryMs?: number };
  resumeCommand: string;
  /** Why the journal can no longer be written (disk full…): the run halts at its next safe point. */
  journalFault?: () => Error | undefined;
  /** Resume: drain again a node an earlier session drained that is no longer drained (`--redrain`). */
  redrain?: boolean;
  /** How often a wait says what it still misses (`waiting` events); default 15 s. */
  heartbeatMs?: number;
}

const DEFAULT_HEARTBEAT_MS = 15_000;

/**
 * Run the plan: pre-flight, baseline, then node by node in rollout order (rollout.ts), each
 * stage by its handler (stages/), checks between stages, halting on the first failure with
 * the failing node left drained. Everything it learns goes through events to the journal.
 */
export async function executePlan(options: ExecutorOptions): Promise<RunOutcome> {
  return new Executor(options).run();
}

function isRunHalt(error: unknown): error is RunHalt {
  return error instanceof HaltError;
}

class Executor {
  private readonly o: ExecutorOptions;
  private readonly state: RunCheckState;
  private readonly mask: SecretMask;
  private readonly beforeRun: BeforeRunContext;
  private gateQueue: Promise<unknown> = Promise.resolve();
  private halted: RunHalt | undefined;
  private readonly started: number;
  private readonly stageContext: StageContext;
  private heartbeat: LockHeartbeat | undefined;
  /** The stage each node is in right now, so a signal can be acknowledged where the operator looks. */
  private readonly runningStages = new Map<string, string>();
  /** The operator said "don't ask again" for these nodes, or for the whole run. */
  private readonly unaskedNodes = new Set<string>();
  private askNoMore = false;
  /** Nodes an earlier session drained: re-checked before each of their stages (verify-drained.ts). */
  private readonly drainedBefore: Set<string>;

  constructor(options: ExecutorOptions) {
    this.o = options;
    // Acknowledge a signal at once (not when the step ends): the operator must know it was heard.
    options.stopSignal.addEventListener('abort', () => this.acknowledgeSignal('stop'), { once: true });
    options.cancelSignal.addEventListener('abort', () => this.acknowledgeSignal('cancel'), { once: true });
    this.drainedBefore = new Set(options.progress.drainedByRun);
    this.started = options.clock.now();
    this.state = {
      expectedAvailability: {},
      rebootedFrom: { ...options.progress.rebootedFrom },
      stageStartedAt: new Date(options.clock.now()),
      ...(options.progress.baseline ? { baseline: options.progress.baseline } : {}),
    };
    this.mask = new SecretMask(options.runbook.variables);
    this.beforeRun = {
      plan: options.plan,
      cluster: options.cluster,
      checks: options.checks,
      clock: options.clock,
      state: this.state,
      ...(options.force ? { force: options.force } : {}),
      ...(options.progress.forcedPreflight ? { forcedBefore: options.progress.forcedPreflight } : {}),
      emit: (event) => this.emit(event),
      at: () => this.at(),
    };
    this.stageContext = {
      cluster: options.cluster,
      local: options.local,
      clock: options.clock,
      stopSignal: options.stopSignal,
      cancelSignal: options.cancelSignal,
      sudo: options.runbook.connection.ssh.sudo,
      gate: options.gate,
      progress: options.progress,
      state: this.state,
      emit: (event) => this.emit(event),
      at: () => this.at(),
      note: (node, message, stage) => this.progressNote(node, message, stage),
      ask: (question) => this.ask(question),
      runChecks: (names, scope, node, stage) => this.runChecks(names, scope, node, stage),
      scopeFor: (node) => this.scopeFor(node),
      heartbeatFor: (node, stage, wait, timeoutMs, describe) => ({
        everyMs: this.heartbeatMs(),
        beat: (value, waitedMs) => this.waiting(node, stage, wait, timeoutMs, describe(value), waitedMs),
      }),
      streamTo: (node, stage) =>
        this.mask.streamLines((stream, line) =>
          this.emit({ type: 'output', node, stage, stream, line, at: this.at() }),
        ),
      maskResult: (result) => this.mask.result(result),
      halt: (node, stage, reason) => this.haltWith(node, stage, reason),
      interrupt: (node, stage) => this.interrupt(node, stage),
    };
  }

  private emit(raw: RunEvent): void {
    const event = this.mask.event(raw);
    applyEvent(this.o.progress, event);
    this.o.reporter.onEvent(event);
  }

  private at(): string {
    return new Date(this.o.clock.now()).toISOString();
  }

  async run(): Promise<RunOutcome> {
    const { plan, runId } = this.o;
    const mode: RunMode = this.o.gate ? 'interactive' : 'unattended';
    const resumed = this.o.progress.plan !== undefined;
    const doneBefore = [...this.o.progress.doneNodes];
    this.emit({
      type: 'run-start',
      runId,
      plan,
      resumed,
      mode,
      ...(resumed ? { doneBefore } : {}),
      at: this.at(),
    });
    let lockTaken = false;
    try {
      refuseOutsideWindow(plan, this.o.clock.now());
      await connectAll(this.beforeRun);
      const swarm = await this.o.cluster.swarm();
      const { adopted } = await acquireLock(swarm, { ...this.o.lock, runId, now: this.o.clock.now() });
      lockTaken = true;
      this.startHeartbeat();
      this.emit({ type: 'lock', action: 'acquired', owner: this.o.lock.owner, at: this.at() });
      if (adopted) this.progressNote(null, 'adopted the cluster lock this run already held');

      await recordAvailability(this.beforeRun, swarm);
      await runPreflight(this.beforeRun);
      await ensureBaseline(this.beforeRun);
      await runRollout(
        {
          plan,
          progress: this.o.progress,
          cluster: this.o.cluster,
          clock: this.o.clock,
          stopSignal: this.o.stopSignal,
          note: (node, message) => this.progressNote(node, message),
        },
        (nodes) => this.runBatch(nodes),
      );
      await this.releaseLock();
      lockTaken = false;
      this.emitRunEnd('succeeded');
      return 'succeeded';
    } catch (error) {
      if (!isRunHalt(error)) {
        if (isDrydockError(error) && error.code === 'DRYDOCK_LOCK_HELD') {
          this.emitRunEnd('refused');
        }
        if (lockTaken) this.emit({ type: 'lock', action: 'kept', owner: this.o.lock.owner, at: this.at() });
        throw error;
      }
      // A lock taken away is no longer this run's to keep or release.
      return this.stop(error, lockTaken && !this.heartbeat?.lost());
    } finally {
      this.heartbeat?.stop();
    }
  }

  private startHeartbeat(): void {
    const { runId, lock, clock } = this.o;
    this.heartbeat = new LockHeartbeat({
      swarm: () => this.o.cluster.swarm(),
      runId,
      ttlMs: lock.ttlMs,
      clock,
      ...(lock.renewEveryMs ? { everyMs: lock.renewEveryMs } : {}),
    });
    this.heartbeat.start();
  }

  /**
   * Between two steps: stop here, cleanly, if the run can no longer record what it does (the
   * journal) or no longer holds the cluster (the lock). The node stays as it is, as in any halt.
   */
  private haltAtSafePoint(node: string, stage: string): void {
    const fault = this.o.journalFault?.();
    const lockLost = this.heartbeat?.lost();
    if (!fault && !lockLost) return;
    const reason = fault
      ? `the journal cannot be written (${fault.message}): stopped before ${node} / ${stage}; free space or fix the journal directory, then resume`
      : `${lockLost}: stopped before ${node} / ${stage}; check who runs on this cluster before resuming`;
    this.haltWith(node, stage, reason);
  }

  /** The summary counts every session's nodes (progress holds the journal's earlier ones). */
  private emitRunEnd(outcome: RunOutcome): void {
    const summary = summarizeNodes(this.o.progress);
    const { runId } = this.o;
    this.emit({ type: 'run-end', runId, outcome, durationMs: this.elapsed(), summary, at: this.at() });
  }

  private elapsed(): number {
    return this.o.clock.now() - this.started;
  }

  /** Stop: report, keep the lock (a half-maintained cluster must not be picked up by another run). */
  private async stop(halt: RunHalt, lockTaken: boolean): Promise<RunOutcome> {
    if (halt.kind === 'interrupted') {
      this.emit({
        type: 'interrupted',
        node: halt.node || null,
        stage: halt.stage || null,
        resumeCommand: this.o.resumeCommand,
        reason: halt.stopReason,
        ...(halt.stopReason === 'window-end' ? { message: halt.message } : {}),
        at: this.at(),
      });
    } else {
      const report = await buildHaltReport(halt, this.o);
      this.emit({ type: 'halt', report, at: this.at() });
    }
    if (lockTaken) {
      if (halt.kind === 'refused' && this.nothingChanged()) {
        await this.releaseLock();
      } else if (halt.stopReason === 'window-end') {
        await this.notePausedLock();
      } else {
        this.emit({ type: 'lock', action: 'kept', owner: this.o.lock.owner, at: this.at() });
      }
    }
    const outcome: RunOutcome = halt.kind;
    this.emitRunEnd(outcome);
    return outcome;
  }

  private nothingChanged(): boolean {
    const p = this.o.progress;
    return p.drainedByRun.size === 0 && Object.keys(p.doneStages).length === 0;
  }

  /**
   * Across nights the lock stays held (the cluster is mid-rollout), labelled as paused so
   * `unlock` and `plan` say why; `resume` adopts it and the heartbeat's renewal drops the note.
   */
  private async notePausedLock(): Promise<void> {
    this.heartbeat?.stop();
    const note = `paused at the window's end (${this.at()}) until the next window: ${this.o.resumeCommand}`;
    try {
      await noteLock(await this.o.cluster.swarm(), this.o.runId, note);
    } catch {
      // The lock is still held; only the note is missing.
    }
    this.emit({ type: 'lock', action: 'kept', owner: this.o.lock.owner, at: this.at() });
  }

  private async releaseLock(): Promise<void> {
    this.heartbeat?.stop();
    try {
      const swarm = await this.o.cluster.swarm();
      if (await releaseLock(swarm, this.o.runId)) {
        this.emit({ type: 'lock', action: 'released', owner: this.o.lock.owner, at: this.at() });
      }
    } catch {
      this.emit({ type: 'lock', action: 'kept', owner: this.o.lock.owner, at: this.at() });
    }
  }

  private acknowledgeSignal(kind: 'stop' | 'cancel'): void {
    const signal = kind === 'stop' ? this.o.stopSignal : this.o.cancelSignal;
    const name = typeof signal.reason === 'string' ? signal.reason : 'stop request';
    // A cancel also stops: one acknowledgement (the cancel's) is enough.
    if (kind === 'stop' && this.o.cancelSignal.aborted) return;
    const message =
      kind === 'stop'
        ? `${name} received: stopping at the next safe point. The current step finishes, then the run halts (resumable); ${name} again cancels the running command now`
        : `${name} received: cancelling the running command now; the run halts after it (resumable)`;
    if (this.runningStages.size === 0) this.progressNote(null, message);
    for (const [node, stage] of this.runningStages) this.progressNote(node, message, stage);
  }

  private heartbeatMs(): number {
    return this.o.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  }

  private waiting(
    node: string,
    stage: string,
    wait: WaitKind,
    timeoutMs: number | undefined,
    missing: string,
    waitedMs: number,
  ): void {
    this.emit({
      type: 'waiting',
      node,
      stage,
      wait,
      waitedMs,
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
      missing,
      at: this.at(),
    });
  }

  private progressNote(node: string | null, message: string, stage = ''): void {
    this.emit({ type: 'progress', node: node ?? '', stage, message, at: this.at() });
  }

  /** Nodes of one batch in parallel; the first failure stops the others at their next stage. */
  private async runBatch(nodes: PlannedNode[]): Promise<void> {
    const results = await Promise.allSettled(nodes.map((n) => this.runNode(n)));
    const firstHalt = this.halted;
    if (firstHalt) throw firstHalt;
    const failure = results.find((r) => r.status === 'rejected');
    if (failure) throw (failure as PromiseRejectedResult).reason;
  }

  private async runNode(node: PlannedNode): Promise<void> {
    // Before each node: the lock must still be this run's (a forced unlock ends the run here).
    await this.heartbeat?.verify();
    this.haltAtSafePoint(
      node.name,
      node.stages.find((s) => !isStageDone(this.o.progress, node.name, s.name))?.name ?? '',
    );
    const swarm = await this.o.cluster.swarm();
    const current = await findNode(swarm, node.name);
    const before = this.o.progress.availabilityBefore[node.name] ?? current.availability;
    this.emit({
      type: 'node-start',
      node: node.name,
      position: node.position,
      batch: node.batch,
      availabilityBefore: before,
      at: this.at(),
    });
    if (before !== 'active') {
      this.progressNote(node.name, `was ${before} before the run: drydock leaves its availability alone`);
    }
    const skip = await decideNodeSkip(node, this.stageContext);
    if (skip.kind === 'error') this.haltWith(node.name, skip.stage, skip.reason);
    if (skip.kind === 'skip') return this.skipNode(node, skip.reason, current.availability);
    for (const stage of node.stages) {
      if (isStageDone(this.o.progress, node.name, stage.name)) continue;
      if (this.halted) return;
      if (this.o.stopSignal.aborted) this.interrupt(node.name, stage.name);
      this.haltAtSafePoint(node.name, stage.name);
      if (this.drainedBefore.has(node.name)) await this.verifyDrained(node, stage);
      await this.runStage(node, stage);
    }
    await this.afterNodeChecks(node);
    const after = await this.o.cluster
      .swarm()
      .then((swarm) => findNode(swarm, node.name))
      .catch(() => undefined);
    this.emit({
      type: 'node-end',
      node: node.name,
      availabilityAfter: after?.availability ?? 'unknown',
      at: this.at(),
    });
  }

  private async verifyDrained(node: PlannedNode, stage: PlannedStage): Promise<void> {
    const options = { redrain: this.o.redrain ?? false, resumeCommand: this.o.resumeCommand };
    try {
      await verifyStillDrained(this.stageContext, node, stage, options);
    } catch (error) {
      // A refusal stops the other nodes of the batch at their next stage, as any halt does.
      if (isRunHalt(error)) this.halted ??= error;
      throw error;
    }
  }

  /** Nothing left to do on the node: every stage is journaled as skipped, nothing is drained. */
  private skipNode(node: PlannedNode, reason: string, availability: string): void {
    this.progressNote(node.name, `skipped whole, not drained: ${reason}`);
    for (const stage of node.stages) {
      if (isStageDone(this.o.progress, node.name, stage.name)) continue;
      this.stageEnd(node, stage, 'skipped', 0, `node skipped: ${reason}`);
    }
    this.emit({
      type: 'node-end',
      node: node.name,
      availabilityAfter: availability,
      skipped: reason,
      at: this.at(),
    });
  }

  private interrupt(node: string, stage: string): never {
    const halt: RunHalt = new HaltError('interrupted by signal', { kind: 'interrupted', node, stage });
    this.halted ??= halt;
    throw halt;
  }

  private async runStage(node: PlannedNode, stage: PlannedStage): Promise<void> {
    if (this.o.gate && !this.askNoMore && !this.unaskedNodes.has(node.name)) {
      const decision = await this.ask(() =>
        this.o.gate!.beforeStage(node.name, stage.name, describeStage(stage).join('\n')),
      );
      if (decision === 'continue-node') {
        this.unaskedNodes.add(node.name);
        this.progressNote(
          node.name,
          `no more stage prompts for ${node.name} (failures still ask)`,
          stage.name,
        );
      }
      if (decision === 'continue-run') {
        this.askNoMore = true;
        this.progressNote(node.name, 'no more stage prompts in this run (failures still ask)', stage.name);
      }
      if (decision === 'skip') {
        this.stageEnd(node, stage, 'skipped', 0, 'skipped by the operator');
        return;
      }
      if (decision === 'abort') this.haltWith(node.name, stage.name, 'aborted by the operator');
    }
    this.runningStages.set(node.name, stage.name);
    try {
      await this.runStageAttempts(node, stage);
    } finally {
      this.runningStages.delete(node.name);
    }
  }

  /** The stage, its checks, and the operator's retry/skip answers after a failure. */
  private async runStageAttempts(node: PlannedNode, stage: PlannedStage): Promise<void> {
    for (;;) {
      const startedAt = this.o.clock.now();
      this.state.stageStartedAt = new Date(startedAt);
      this.emit({
        type: 'stage-start',
        node: node.name,
        stage: stage.name,
        kind: stage.kind,
        index: stage.index,
        at: this.at(),
      });
      let result = await this.runHandler(node, stage);
      if (result.ok && result.outcome === 'succeeded' && stage.checksAfter.length > 0) {
        result = await this.runChecks(stage.checksAfter, [node.name], node.name, stage.name).catch(
          (error: Error): StageResult => ({ ok: false, reason: `checks could not run: ${error.message}` }),
        );
      }
      const durationMs = this.o.clock.now() - startedAt;
      if (result.ok) {
        this.stageEnd(node, stage, result.outcome, durationMs, result.message);
        return;
      }
      if (
        result.checks &&
        !this.halted &&
        (await offerForceUpdate(this.stageContext, node.name, result.checks))
      ) {
        const names = unique(result.checks.map((c) => c.check));
        const again = await this.runChecks(names, [node.name], node.name, stage.name);
        if (again.ok) {
          this.stageEnd(
            node,
            stage,
            'succeeded',
            this.o.clock.now() - startedAt,
            'converged after force-update',
          );
          return;
        }
        result = again;
      }
      this.stageEnd(node, stage, 'failed', durationMs, result.reason);
      if (this.o.stopSignal.aborted) this.interrupt(node.name, stage.name);
      const decision = await this.decideOnFailure(node, stage, result);
      if (decision === 'retry') continue;
      if (decision === 'skip') {
        this.stageEnd(node, stage, 'skipped', 0, `failed, skipped by the operator: ${result.reason}`);
        return;
      }
      this.haltWith(node.name, stage.name, result.reason, result.command, result.checks);
    }
  }

  private async decideOnFailure(
    node: PlannedNode,
    stage: PlannedStage,
    result: Extract<StageResult, { ok: false }>,
  ): Promise<FailureDecision> {
    if (!this.o.gate || this.halted) return 'abort';
    return this.ask(() => this.o.gate!.onFailure(node.name, stage.name, describeFailure(result)));
  }

  private stageEnd(
    node: PlannedNode,
    stage: PlannedStage,
    outcome: StageOutcome,
    durationMs: number,
    message?: string,
  ): void {
    this.emit({
      type: 'stage-end',
      node: node.name,
      stage: stage.name,
      index: stage.index,
      outcome,
      durationMs,
      ...(message ? { message } : {}),
      at: this.at(),
    });
  }

  private haltWith(
    node: string,
    stage: string,
    reason: string,
    command?: CommandResult,
    checks?: CheckResult[],
  ): never {
    const failedChecks = checks?.filter((c) => c.status === 'fail') ?? [];
    const halt: RunHalt = new HaltError(reason, {
      kind: 'halted',
      node,
      stage,
      evidence: { ...(command ? { command } : {}), failedChecks },
    });
    this.halted ??= halt;
    throw halt;
  }

  /** Prompts are serialized: parallel workers never ask two questions at once. */
  private ask<T>(question: () => Promise<T>): Promise<T> {
    const answer = this.gateQueue.then(question);
    this.gateQueue = answer.catch(() => undefined);
    return answer;
  }

  private async runChecks(
    names: CheckName[],
    scope: string[],
    node: string | null,
    stage: string | null,
  ): Promise<StageResult> {
    const startedAt = this.o.clock.now();
    const results = await this.o.checks.run(names, scope, this.state, {
      everyMs: this.heartbeatMs(),
      write: (line) =>
        this.waiting(node ?? '', stage ?? '', 'checks', undefined, line, this.o.clock.now() - startedAt),
    });
    this.emit({ type: 'checks', node, stage, results, at: this.at() });
    const failed = results.filter((r) => r.status === 'fail');
    if (failed.length === 0) return { ok: true, outcome: 'succeeded' };
    return {
      ok: false,
      reason: `check failed: ${failed.map((f) => `${f.check}${f.node ? `@${f.node}` : ''}: ${f.message}`).join('; ')}`,
      checks: failed,
    };
  }

  private async afterNodeChecks(node: PlannedNode): Promise<void> {
    const names = this.o.plan.checks.afterNode;
    if (names.length === 0) return;
    const scope = this.o.plan.nodes.map((n) => n.name);
    for (;;) {
      this.state.stageStartedAt = new Date(this.o.clock.now());
      const result = await this.runChecks(names, scope, node.name, 'after-node');
      if (result.ok) return;
      const pseudo = { name: 'after-node' } as PlannedStage;
      const decision = await this.decideOnFailure(node, pseudo, result);
      if (decision === 'retry') continue;
      if (decision === 'skip') return;
      this.haltWith(node.name, pseudo.name, result.reason, undefined, result.checks);
    }
  }

  private async runHandler(node: PlannedNode, stage: PlannedStage): Promise<StageResult> {
    const handler = stageHandlers[stage.kind] as (
      s: PlannedStage,
      n: PlannedNode,
      run: StageContext,
    ) => Promise<StageResult>;
    try {
      return await handler(stage, node, this.stageContext);
    } catch (error) {
      if (isRunHalt(error)) throw error;
      const message = (error as Error)?.message ?? String(error);
      return { ok: false, reason: `${stage.kind} failed: ${message}` };
    }
  }

  private scopeFor(node: PlannedNode): SubstitutionScope {
    return scopeForPlannedNode(this.o.runbook, node);
  }
}

function unique<T>(items: T[]): T[] {
  return [...new Set(items)];
}
