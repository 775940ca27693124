import { HaltError } from '../errors.js';
import type { Plan } from '../plan/types.js';
import type { CheckName } from '../runbook/types.js';
import type { Clock } from '../shared/clock.js';
import type { SwarmApi } from '../transport/types.js';
import type { RunEvent } from './events.js';
import type { HaltEvidence } from './halt-report.js';
import type { CheckRunnerPort, ClusterPort, RunCheckState } from './ports.js';

/** Everything that happens before the first node: reach every node, record, check, take a baseline. */
export interface BeforeRunContext {
  plan: Plan;
  cluster: ClusterPort;
  checks: CheckRunnerPort;
  clock: Clock;
  state: RunCheckState;
  force?: string;
  /** Why an earlier session of this run forced its pre-flight (a resume names it when refusing). */
  forcedBefore?: string;
  emit(event: RunEvent): void;
  at(): string;
}

/**
 * Open every planned node's connection before anything changes: an unknown or changed host
 * key, or an unreachable node, refuses the run up front instead of halting it half-way.
 */
export async function connectAll(ctx: BeforeRunContext): Promise<void> {
  const results = await Promise.allSettled(ctx.plan.nodes.map((n) => ctx.cluster.shellOf(n.name)));
  const failures = results.flatMap((r, i) =>
    r.status === 'rejected'
      ? [`${ctx.plan.nodes[i]!.name}: ${(r.reason as Error)?.message ?? r.reason}`]
      : [],
  );
  if (failures.length > 0) {
    throw new HaltError(`cannot reach every node over SSH: ${failures.join('; ')}`, {
      kind: 'refused',
      stage: 'connect',
    });
  }
}

/** The availability every node has now: what the checks expect until a stage changes it. */
export async function recordAvailability(ctx: BeforeRunContext, swarm: SwarmApi): Promise<void> {
  const nodes = await swarm.listNodes();
  for (const n of nodes) ctx.state.expectedAvailability[n.hostname] = n.availability;
}

/** Refuse to start on an unhealthy cluster, unless forced (the reason is journaled). */
export async function runPreflight(ctx: BeforeRunContext): Promise<void> {
  const scope = ctx.plan.nodes.map((n) => n.name);
  if (scope.length === 0) return;
  // The safety pre-conditions are always part of pre-flight, whatever the runbook lists.
  const names = [
    ...new Set<CheckName>([
      'node-ready',
      'manager-quorum',
      'services-converged',
      ...ctx.plan.checks.preflight,
    ]),
  ];
  ctx.state.stageStartedAt = new Date(ctx.clock.now());
  const results = await ctx.checks.run(names, scope, ctx.state);
  const failed = results.filter((r) => r.status === 'fail');
  ctx.emit({
    type: 'preflight',
    results,
    ...(failed.length && ctx.force ? { forced: ctx.force } : {}),
    at: ctx.at(),
  });
  if (failed.length > 0 && !ctx.force) {
    // Name the override: a resumed forced run fails the same pre-flight again.
    const override = ctx.forcedBefore
      ? `this run was started with --force-preflight ${JSON.stringify(ctx.forcedBefore)}: resume it with --force-preflight REASON`
      : 'to start anyway: --force-preflight REASON (journaled)';
    throw new HaltError<HaltEvidence>(
      `the cluster is not healthy before the run: ${failed.map((f) => `${f.check}${f.node ? `@${f.node}` : ''}: ${f.message}`).join('; ')} (${override})`,
      { kind: 'refused', stage: 'pre-flight', evidence: { failedChecks: failed } },
    );
  }
}

/** Every node's routes, addresses, sysctls and boot id, once per run (a resume keeps the first). */
export async function ensureBaseline(ctx: BeforeRunContext): Promise<void> {
  if (ctx.state.baseline) return;
  const nodes = (await (await ctx.cluster.swarm()).listNodes()).map((n) => n.hostname);
  const baseline = await ctx.checks.takeBaseline(nodes);
  ctx.state.baseline = baseline;
  ctx.emit({ type: 'baseline', nodes, baseline, at: ctx.at() });
}
