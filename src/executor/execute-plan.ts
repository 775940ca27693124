import type { CheckResult } from '../checks/types.js';
import { isDrydockError } from '../errors.js';
import { describeStage } from '../plan/describe-stage.js';
import type { Plan, PlannedNode, PlannedStage } from '../plan/types.js';
import { renderCommand, type SubstitutionScope } from '../runbook/substitute.js';
import type { CheckName, Runbook } from '../runbook/types.js';
import type { Clock } from '../shared/clock.js';
import { waitUntil } from '../shared/wait-until.js';
import type { CommandResult, SwarmApi, SwarmNode } from '../transport/types.js';
import { activateNode, describeConvergence, drainNode, findNode } from './drain-node.js';
import { EventWaker } from './event-waker.js';
import type {
  FailureDecision,
  HaltReport,
  OperatorGate,
  RunEvent,
  RunMode,
  RunOutcome,
  RunReporter,
  StageOutcome,
} from './events.js';
import { acquireLock, releaseLock } from './lock.js';
import { LockHeartbeat } from './lock-heartbeat.js';
import type { CheckRunnerPort, ClusterPort, RunCheckState } from './ports.js';
import { rebootNode } from './reboot-node.js';
import { applyEvent, isStageDone, type RunProgress } from './run-progress.js';

export interface ExecutorOptions {
  runId: string;
  plan: Plan;
  runbook: Runbook;
  cluster: ClusterPort;
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
}

/** The result of one stage's action, before checks. */
type StageResult =
  | { ok: true; outcome: 'succeeded' | 'skipped'; message?: string }
  | { ok: false; reason: string; command?: CommandResult; checks?: CheckResult[] };

type StageHandlers = {
  [K in PlannedStage['kind']]: (
    stage: Extract<PlannedStage, { kind: K }>,
    node: PlannedNode,
  ) => Promise<StageResult>;
};

class Halt extends Error {
  constructor(
    readonly kind: 'halted' | 'interrupted' | 'refused',
    readonly node: string,
    readonly stage: string,
    readonly reason: string,
    readonly command?: CommandResult,
    readonly failedChecks: CheckResult[] = [],
  ) {
    super(reason);
  }
}

/**
 * Run the plan: pre-flight, baseline, then node by node (workers in batches, managers one at a
 * time with the current leader last), checks between stages, halting on the first failure with
 * the failing node left drained. Everything it learns goes through events to the journal.
 */
export async function executePlan(options: ExecutorOptions): Promise<RunOutcome> {
  return new Executor(options).run();
}

class Executor {
  private readonly o: ExecutorOptions;
  private readonly state: RunCheckState;
  private readonly secrets: string[];
  private gateQueue: Promise<unknown> = Promise.resolve();
  private halted: Halt | undefined;
  private readonly started: number;
  private heartbeat: LockHeartbeat | undefined;

  constructor(options: ExecutorOptions) {
    this.o = options;
    this.started = options.clock.now();
    this.state = {
      expectedAvailability: {},
      rebootedFrom: { ...options.progress.rebootedFrom },
      stageStartedAt: new Date(options.clock.now()),
      ...(options.progress.baseline ? { baseline: options.progress.baseline } : {}),
    };
    // Values long enough to be meaningful are masked wherever command output mentions them.
    this.secrets = options.runbook.variables
      .filter((v) => v.secret && v.value && v.value.length >= 3)
      .map((v) => v.value as string);
  }

  private emit(event: RunEvent): void {
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
    this.emit({ type: 'run-start', runId, plan, resumed, mode, at: this.at() });
    let lockTaken = false;
    try {
      this.refuseOutsideWindow();
      await this.connectAll();
      const swarm = await this.o.cluster.swarm();
      const { adopted } = await acquireLock(swarm, { ...this.o.lock, runId, now: this.o.clock.now() });
      lockTaken = true;
      this.startHeartbeat();
      this.emit({ type: 'lock', action: 'acquired', owner: this.o.lock.owner, at: this.at() });
      if (adopted) this.progressNote(null, 'adopted the cluster lock this run already held');

      await this.recordAvailability(swarm);
      await this.preflight();
      await this.ensureBaseline();
      await this.runBatches();
      await this.releaseLock();
      lockTaken = false;
      this.emit({ type: 'run-end', runId, outcome: 'succeeded', durationMs: this.elapsed(), at: this.at() });
      return 'succeeded';
    } catch (error) {
      const halt = error instanceof Halt ? error : undefined;
      if (!halt) {
        if (isDrydockError(error) && error.code === 'DRYDOCK_LOCK_HELD') {
          this.emit({
            type: 'run-end',
            runId,
            outcome: 'refused',
            durationMs: this.elapsed(),
            at: this.at(),
          });
        }
        if (lockTaken) this.emit({ type: 'lock', action: 'kept', owner: this.o.lock.owner, at: this.at() });
        throw error;
      }
      // A lock taken away is no longer this run's to keep or release.
      return this.stop(halt, lockTaken && !this.heartbeat?.lost());
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
    const halt = new Halt('halted', node, stage, reason);
    this.halted ??= halt;
    throw halt;
  }

  private elapsed(): number {
    return this.o.clock.now() - this.started;
  }

  /** Stop: report, keep the lock (a half-maintained cluster must not be picked up by another run). */
  private async stop(halt: Halt, lockTaken: boolean): Promise<RunOutcome> {
    const { runId } = this.o;
    if (halt.kind === 'interrupted') {
      this.emit({
        type: 'interrupted',
        node: halt.node || null,
        stage: halt.stage || null,
        resumeCommand: this.o.resumeCommand,
        at: this.at(),
      });
    } else {
      this.emit({ type: 'halt', report: await this.haltReport(halt), at: this.at() });
    }
    if (lockTaken) {
      if (halt.kind === 'refused' && this.nothingChanged()) {
        await this.releaseLock();
      } else {
        this.emit({ type: 'lock', action: 'kept', owner: this.o.lock.owner, at: this.at() });
      }
    }
    const outcome: RunOutcome = halt.kind;
    this.emit({ type: 'run-end', runId, outcome, durationMs: this.elapsed(), at: this.at() });
    return outcome;
  }

  private nothingChanged(): boolean {
    const p = this.o.progress;
    return p.drainedByRun.size === 0 && Object.keys(p.doneStages).length === 0;
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

  /**
   * Open every planned node's connection before anything changes: an unknown or changed host
   * key, or an unreachable node, refuses the run up front instead of halting it half-way.
   */
  private async connectAll(): Promise<void> {
    const results = await Promise.allSettled(this.o.plan.nodes.map((n) => this.o.cluster.shellOf(n.name)));
    const failures = results.flatMap((r, i) =>
      r.status === 'rejected'
        ? [`${this.o.plan.nodes[i]!.name}: ${(r.reason as Error)?.message ?? r.reason}`]
        : [],
    );
    if (failures.length > 0) {
      throw new Halt('refused', '', 'connect', `cannot reach every node over SSH: ${failures.join('; ')}`);
    }
  }

  private progressNote(node: string | null, message: string, stage = ''): void {
    this.emit({ type: 'progress', node: node ?? '', stage, message, at: this.at() });
  }

  /** Availability now, and the availability each node had before the run (from the journal on resume). */
  private async recordAvailability(swarm: SwarmApi): Promise<void> {
    const nodes = await swarm.listNodes();
    for (const n of nodes) this.state.expectedAvailability[n.hostname] = n.availability;
  }

  private async preflight(): Promise<void> {
    const scope = this.o.plan.nodes.map((n) => n.name);
    if (scope.length === 0) return;
    // The safety pre-conditions are always part of pre-flight, whatever the runbook lists.
    const names = unique<CheckName>([
      'node-ready',
      'manager-quorum',
      'services-converged',
      ...this.o.plan.checks.preflight,
    ]);
    this.state.stageStartedAt = new Date(this.o.clock.now());
    const results = await this.o.checks.run(names, scope, this.state);
    const failed = results.filter((r) => r.status === 'fail');
    this.emit({
      type: 'preflight',
      results,
      ...(failed.length && this.o.force ? { forced: this.o.force } : {}),
      at: this.at(),
    });
    if (failed.length > 0 && !this.o.force) {
      throw new Halt(
        'refused',
        '',
        'pre-flight',
        `the cluster is not healthy before the run: ${failed.map((f) => `${f.check}${f.node ? `@${f.node}` : ''}: ${f.message}`).join('; ')}`,
        undefined,
        failed,
      );
    }
  }

  private async ensureBaseline(): Promise<void> {
    if (this.state.baseline) return;
    const swarm = await this.o.cluster.swarm();
    const nodes = (await swarm.listNodes()).map((n) => n.hostname);
    const baseline = await this.o.checks.takeBaseline(nodes);
    this.state.baseline = baseline;
    this.emit({ type: 'baseline', nodes, baseline, at: this.at() });
  }

  private async runBatches(): Promise<void> {
    const { plan } = this.o;
    const managers = plan.nodes.filter((n) => n.role === 'manager');
    let first = true;
    for (const batch of plan.batches) {
      if (batch.role === 'manager') continue;
      const nodes = batch.nodes
        .map((name) => plan.nodes.find((n) => n.name === name)!)
        .filter((n) => !this.o.progress.doneNodes.has(n.name));
      if (nodes.length === 0) continue;
      if (!first) await this.soak();
      first = false;
      await this.runBatch(nodes);
    }
    // Managers one at a time; the current leader always last (leadership can move mid-run).
    const remaining = managers.filter((n) => !this.o.progress.doneNodes.has(n.name));
    while (remaining.length > 0) {
      const next = await this.pickNextManager(remaining);
      remaining.splice(remaining.indexOf(next), 1);
      if (!first) await this.soak();
      first = false;
      await this.runBatch([next]);
    }
  }

  private async pickNextManager(remaining: PlannedNode[]): Promise<PlannedNode> {
    const swarm = await this.o.cluster.swarm();
    const nodes = await swarm.listNodes();
    const managers = nodes.filter((n) => n.role === 'manager');
    const leader = managers.find((m) => m.manager?.leader);
    const candidate = remaining.find((r) => r.name !== leader?.hostname) ?? remaining[0]!;
    // Never take a manager down while another manager is unreachable or there is no leader.
    const others = managers.filter((m) => m.hostname !== candidate.name);
    const unhealthy = others.filter((m) => m.manager?.reachability !== 'reachable' || m.state !== 'ready');
    if (!leader || unhealthy.length > 0) {
      throw new Halt(
        'refused',
        candidate.name,
        candidate.stages[0]?.name ?? '',
        !leader
          ? 'refusing to take a manager down: the swarm has no leader'
          : `refusing to take manager ${candidate.name} down: manager ${unhealthy.map((m) => `${m.hostname} (${m.manager?.reachability ?? 'unknown'}, ${m.state})`).join(', ')} is not healthy`,
      );
    }
    if (candidate !== remaining[0]) {
      this.progressNote(
        candidate.name,
        `leader is now ${leader.hostname}: doing ${candidate.name} first, the leader last`,
      );
    }
    return candidate;
  }

  private async soak(): Promise<void> {
    const ms = this.o.plan.rollout.soakBetweenNodesMs;
    if (ms > 0) {
      this.progressNote(null, `soaking ${Math.round(ms / 1000)}s before the next node`);
      await this.o.clock.sleep(ms, this.o.stopSignal);
    }
    this.checkWindow();
  }

  /** Never start outside the maintenance window (a resume is a start too). */
  private refuseOutsideWindow(): void {
    const { windowStart, windowEnd } = this.o.plan.rollout;
    const now = this.o.clock.now();
    if (windowStart && now < Date.parse(windowStart)) {
      throw new Halt(
        'refused',
        '',
        'window',
        `the maintenance window opens at ${windowStart}; not starting before it`,
      );
    }
    if (windowEnd && now > Date.parse(windowEnd)) {
      throw new Halt('refused', '', 'window', `the maintenance window closed at ${windowEnd}; not starting`);
    }
  }

  private checkWindow(): void {
    const end = this.o.plan.rollout.windowEnd;
    if (end && this.o.clock.now() > Date.parse(end)) {
      throw new Halt(
        'interrupted',
        '',
        '',
        `the maintenance window ended at ${end}: not starting another node`,
      );
    }
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
    for (const stage of node.stages) {
      if (isStageDone(this.o.progress, node.name, stage.name)) continue;
      if (this.halted) return;
      if (this.o.stopSignal.aborted) this.interrupt(node.name, stage.name);
      this.haltAtSafePoint(node.name, stage.name);
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

  private interrupt(node: string, stage: string): never {
    const halt = new Halt('interrupted', node, stage, 'interrupted by signal');
    this.halted ??= halt;
    throw halt;
  }

  private async runStage(node: PlannedNode, stage: PlannedStage): Promise<void> {
    if (this.o.gate) {
      const decision = await this.ask(() =>
        this.o.gate!.beforeStage(node.name, stage.name, describeStage(stage).join('\n')),
      );
      if (decision === 'skip') {
        this.stageEnd(node, stage, 'skipped', 0, 'skipped by the operator');
        return;
      }
      if (decision === 'abort') this.haltWith(node, stage, 'aborted by the operator');
    }
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
      if (result.checks && (await this.remediate(node, result.checks))) {
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
      this.haltWith(node, stage, result.reason, result.command, result.checks);
    }
  }

  /**
   * Interactive only: services that did not converge may be force-updated (`docker service
   * update --force`) if the operator agrees. Unattended runs never do this here; the
   * services-converged check's own `remediate` option covers that, opt-in.
   */
  private async remediate(node: PlannedNode, failed: CheckResult[]): Promise<boolean> {
    const gate = this.o.gate;
    if (!gate?.offerRemediation || this.halted) return false;
    const services = unique(
      failed
        .filter((c) => c.check === 'services-converged')
        .map((c) => (c.evidence as { service?: string } | undefined)?.service)
        .filter((s): s is string => typeof s === 'string'),
    );
    if (services.length === 0) return false;
    if (!(await this.ask(() => gate.offerRemediation!(node.name, services)))) return false;
    const swarm = await this.o.cluster.swarm();
    const all = await swarm.listServices();
    for (const name of services) {
      const service = all.find((s) => s.name === name);
      if (!service) continue;
      await swarm.forceUpdateService(service.id);
      this.progressNote(node.name, `force-updated service ${name} (operator's choice)`);
    }
    return true;
  }

  private async decideOnFailure(
    node: PlannedNode,
    stage: PlannedStage,
    result: Extract<StageResult, { ok: false }>,
  ): Promise<FailureDecision> {
    if (!this.o.gate || this.halted) return 'abort';
    const details = [
      result.reason,
      ...(result.command
        ? [`$ ${result.command.command}`, `exit ${result.command.exitCode ?? result.command.signal}`]
        : []),
      ...tail(result.command),
      ...(result.checks ?? []).map(
        (c) => `${c.status} ${c.check}${c.node ? `@${c.node}` : ''}: ${c.message}`,
      ),
    ].join('\n');
    return this.ask(() => this.o.gate!.onFailure(node.name, stage.name, details));
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
    node: PlannedNode,
    stage: PlannedStage,
    reason: string,
    command?: CommandResult,
    checks?: CheckResult[],
  ): never {
    const halt = new Halt(
      'halted',
      node.name,
      stage.name,
      reason,
      command,
      checks?.filter((c) => c.status === 'fail'),
    );
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
    const results = await this.o.checks.run(names, scope, this.state);
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
      this.haltWith(node, pseudo, result.reason, undefined, result.checks);
    }
  }

  private async runHandler(node: PlannedNode, stage: PlannedStage): Promise<StageResult> {
    const handler = this.handlers[stage.kind] as (s: PlannedStage, n: PlannedNode) => Promise<StageResult>;
    try {
      return await handler(stage, node);
    } catch (error) {
      if (error instanceof Halt) throw error;
      const message = (error as Error)?.message ?? String(error);
      return { ok: false, reason: `${stage.kind} failed: ${message}` };
    }
  }

  private readonly handlers: StageHandlers = {
    drain: async (stage, node) => {
      if (stage.skipReason) return { ok: true, outcome: 'skipped', message: stage.skipReason };
      const before = this.o.progress.availabilityBefore[node.name];
      if (before && before !== 'active') {
        return { ok: true, outcome: 'skipped', message: `was ${before} before the run: left as is` };
      }
      const swarm = await this.apiFor(node);
      const target = await findNode(swarm, node.name);
      const standalone = await this.standaloneContainers(node.name);
      if (standalone.length > 0) {
        this.progressNote(
          node.name,
          `standalone containers that drain does not move: ${standalone.join(', ')}`,
          stage.name,
        );
      }
      const waker = new EventWaker([{ api: swarm, filters: { type: ['service', 'node'] } }]);
      try {
        const engine = await this.o.cluster.engineOf(node.name).catch(() => undefined);
        const outcome = await drainNode(swarm, target, {
          timeoutMs: stage.timeoutMs,
          clock: this.o.clock,
          waker,
          signal: this.o.cancelSignal,
          ...(engine ? { engine } : {}),
        });
        // Recorded even on timeout: the node IS drained now, and only this run may re-activate it.
        this.emit({
          type: 'drained',
          node: node.name,
          tasksMoved: outcome.tasksMoved,
          waitedMs: outcome.waitedMs,
          standalone,
          at: this.at(),
        });
        this.state.expectedAvailability[node.name] = 'drain';
        if (!outcome.ok) {
          return {
            ok: false,
            reason: `drain did not converge within ${Math.round(stage.timeoutMs / 1000)}s: ${describeConvergence(outcome.report)}`,
          };
        }
        return {
          ok: true,
          outcome: 'succeeded',
          message: `${outcome.tasksMoved} task(s) moved, services converged in ${outcome.waitedMs}ms`,
        };
      } finally {
        waker.close();
      }
    },

    run: async (stage, node) => {
      const shell = await this.o.cluster.shellOf(node.name);
      const scope = this.scopeFor(node);
      for (const command of stage.commands) {
        const text = renderCommand(command.template, scope, { reveal: true }).text;
        let result: CommandResult | undefined;
        for (let attempt = 1; attempt <= stage.retries + 1; attempt++) {
          if (attempt > 1) await this.o.clock.sleep(stage.retryDelayMs, this.o.cancelSignal);
          result = await shell.exec(text, {
            timeoutMs: stage.timeoutMs,
            sudo: stage.sudo,
            display: command.display,
            signal: this.o.cancelSignal,
            ...this.streamTo(node.name, stage.name),
          });
          result = this.maskResult(result);
          this.emit({ type: 'command', node: node.name, stage: stage.name, result, attempt, at: this.at() });
          if (result.exitCode === 0) break;
        }
        if (result && result.exitCode !== 0) {
          return { ok: false, reason: describeCommandFailure(result), command: result };
        }
      }
      return { ok: true, outcome: 'succeeded' };
    },

    reboot: async (stage, node) => {
      const text = renderCommand(stage.command.template, this.scopeFor(node), { reveal: true }).text;
      const outcome = await rebootNode(this.o.cluster, node.name, stage, text, {
        clock: this.o.clock,
        sudo: stage.sudo,
        signal: this.o.cancelSignal,
        onProgress: (message) => this.progressNote(node.name, message, stage.name),
      });
      if (outcome.status === 'not-required')
        return { ok: true, outcome: 'skipped', message: `not required: ${outcome.detail}` };
      if (outcome.status === 'failed') {
        return {
          ok: false,
          reason: `reboot: ${outcome.detail}`,
          ...(outcome.command ? { command: outcome.command } : {}),
        };
      }
      this.state.rebootedFrom[node.name] = outcome.bootIdBefore;
      this.emit({
        type: 'rebooted',
        node: node.name,
        bootIdBefore: outcome.bootIdBefore,
        bootIdAfter: outcome.bootIdAfter,
        downMs: outcome.downMs,
        at: this.at(),
      });
      // Back means back in the swarm: the engine answers and the node is Ready again.
      const remaining = Math.max(5_000, stage.returnTimeoutMs - outcome.waitedMs);
      const ready = await this.waitForNodeReady(node.name, remaining);
      if (!ready.done) return { ok: false, reason: `the node rebooted but ${ready.value}` };
      return {
        ok: true,
        outcome: 'succeeded',
        message: `rebooted in ${Math.round(outcome.downMs / 1000)}s (boot id changed)`,
      };
    },

    activate: async (stage, node) => {
      if (!this.o.progress.drainedByRun.has(node.name)) {
        const before = this.o.progress.availabilityBefore[node.name] ?? 'unknown';
        return {
          ok: true,
          outcome: 'skipped',
          message: stage.skipReason ?? `not drained by this run (was ${before}): left as is`,
        };
      }
      const swarm = await this.o.cluster.swarm();
      const outcome = await activateNode(swarm, node.name, {
        timeoutMs: stage.timeoutMs,
        clock: this.o.clock,
        signal: this.o.cancelSignal,
      });
      if (!outcome.ok)
        return { ok: false, reason: `activate: not schedulable within the timeout: ${outcome.detail}` };
      this.emit({ type: 'activated', node: node.name, at: this.at() });
      this.state.expectedAvailability[node.name] = 'active';
      return { ok: true, outcome: 'succeeded', message: `${outcome.detail} after ${outcome.waitedMs}ms` };
    },

    checks: async (stage, node) => this.runChecks(stage.run, [node.name], node.name, stage.name),

    pause: async (stage) => {
      await this.o.clock.sleep(stage.durationMs, this.o.stopSignal);
      return { ok: true, outcome: 'succeeded' };
    },

    prompt: async (stage, node) => {
      if (!this.o.gate) {
        return stage.unattended === 'continue'
          ? { ok: true, outcome: 'succeeded', message: 'unattended: continued' }
          : { ok: false, reason: `unattended run reached the human gate: ${stage.message}` };
      }
      const yes = await this.ask(() => this.o.gate!.confirm(node.name, stage.message));
      return yes
        ? { ok: true, outcome: 'succeeded' }
        : { ok: false, reason: 'the operator declined the gate' };
    },
  };

  /**
   * The API to maintain `node` through: never a manager's own API when another manager can
   * serve (it is about to go down). A single-manager swarm has no other choice.
   */
  private async apiFor(node: PlannedNode): Promise<SwarmApi> {
    if (node.role !== 'manager') return this.o.cluster.swarm();
    try {
      return await this.o.cluster.swarmAvoiding(node.name);
    } catch (error) {
      const swarm = await this.o.cluster.swarm();
      const managers = (await swarm.listNodes()).filter((n) => n.role === 'manager');
      if (managers.length > 1) throw error;
      this.progressNote(node.name, 'single-manager swarm: maintaining the manager through its own API');
      return swarm;
    }
  }

  private async waitForNodeReady(name: string, timeoutMs: number) {
    const { clock } = this.o;
    return waitUntil(
      { now: () => clock.now(), sleep: clock.sleep, signal: this.o.cancelSignal },
      timeoutMs,
      async () => {
        try {
          const engine = await this.o.cluster.engineOf(name);
          await engine.ping();
          const node = await findNode(await this.o.cluster.swarm(), name);
          return node.state === 'ready'
            ? { done: true, value: 'ready' }
            : { done: false, value: `the node is ${node.state} in the swarm` };
        } catch (error) {
          return { done: false, value: `its engine does not answer: ${(error as Error).message}` };
        }
      },
      { pollMs: 500 },
    );
  }

  private async standaloneContainers(node: string): Promise<string[]> {
    try {
      const engine = await this.o.cluster.engineOf(node);
      return (await engine.listContainers()).filter((c) => !c.swarmTask).map((c) => c.name);
    } catch {
      return [];
    }
  }

  private scopeFor(node: PlannedNode): SubstitutionScope {
    return {
      variables: this.o.runbook.variables,
      node: { hostname: node.name, address: node.address, role: node.role },
      runbook: { name: this.o.runbook.name },
    };
  }

  /** Line-buffered streaming of command output into events (secrets masked). */
  private streamTo(node: string, stage: string) {
    const buffers = { stdout: '', stderr: '' };
    const feed = (stream: 'stdout' | 'stderr') => (chunk: string) => {
      buffers[stream] += chunk;
      const lines = buffers[stream].split('\n');
      buffers[stream] = lines.pop() ?? '';
      for (const line of lines) {
        this.emit({ type: 'output', node, stage, stream, line: this.mask(line), at: this.at() });
      }
    };
    return { onStdout: feed('stdout'), onStderr: feed('stderr') };
  }

  private mask(text: string): string {
    let out = text;
    for (const secret of this.secrets) out = out.split(secret).join('*****');
    return out;
  }

  private maskResult(result: CommandResult): CommandResult {
    if (this.secrets.length === 0) return result;
    return { ...result, stdout: this.mask(result.stdout), stderr: this.mask(result.stderr) };
  }

  private async haltReport(halt: Halt): Promise<HaltReport> {
    let nodes: HaltReport['nodes'] = [];
    try {
      const listed = await (await this.o.cluster.swarm()).listNodes();
      nodes = listed.map((n: SwarmNode) => ({
        name: n.hostname,
        availability: n.availability,
        state: n.state,
        progress: this.describeNodeProgress(n.hostname),
      }));
    } catch (error) {
      nodes = this.o.plan.nodes.map((n) => ({
        name: n.name,
        availability: 'unknown (API unreachable)',
        state: `unknown: ${(error as Error).message}`,
        progress: this.describeNodeProgress(n.name),
      }));
    }
    return {
      runId: this.o.runId,
      node: halt.node,
      stage: halt.stage,
      reason: halt.reason,
      ...(halt.command ? { command: halt.command } : {}),
      failedChecks: halt.failedChecks,
      lastOutput: tail(halt.command),
      nodes,
      resumeCommand: this.o.resumeCommand,
    };
  }

  private describeNodeProgress(name: string): string {
    const p = this.o.progress;
    const planned = this.o.plan.nodes.find((n) => n.name === name);
    if (!planned) return 'not in this run';
    if (p.doneNodes.has(name)) return 'done';
    const done = p.doneStages[name]?.size ?? 0;
    if (done === 0 && p.stoppedAt?.node !== name) return 'not started';
    return `${done}/${planned.stages.length} stages done${p.stoppedAt?.node === name ? `, stopped at ${p.stoppedAt.stage}` : ''}`;
  }
}

export function describeCommandFailure(result: CommandResult): string {
  if (result.connectionLost) return `the SSH connection dropped during \`${result.command}\``;
  if (result.timedOut)
    return `\`${result.command}\` timed out after ${Math.round(result.durationMs / 1000)}s`;
  if (result.exitCode === null) return `\`${result.command}\` was killed by ${result.signal ?? 'a signal'}`;
  return `\`${result.command}\` exited ${result.exitCode}`;
}

function tail(result: CommandResult | undefined, lines = 15): string[] {
  if (!result) return [];
  const all = `${result.stdout}\n${result.stderr}`.split('\n').filter((l) => l.trim());
  return all.slice(-lines);
}

function unique<T>(items: T[]): T[] {
  return [...new Set(items)];
}
