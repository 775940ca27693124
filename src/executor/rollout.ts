import { HaltError } from '../errors.js';
import type { Plan, PlannedNode } from '../plan/types.js';
import type { Clock } from '../shared/clock.js';
import type { ClusterPort } from './ports.js';
import type { RunProgress } from './run-progress.js';

/**
 * The rollout order at run time: worker batches as planned, then managers one at a time with
 * whoever leads *now* last, a soak between nodes, and the maintenance window enforced before
 * each start. The executor hands in how to run a batch.
 */
export interface RolloutContext {
  plan: Plan;
  progress: RunProgress;
  cluster: ClusterPort;
  clock: Clock;
  stopSignal: AbortSignal;
  note(node: string | null, message: string): void;
}

export async function runRollout(
  ctx: RolloutContext,
  runBatch: (nodes: PlannedNode[]) => Promise<void>,
): Promise<void> {
  const { plan, progress } = ctx;
  const managers = plan.nodes.filter((n) => n.role === 'manager');
  let first = true;
  // The nodes the window-end stop names as finished ("stopped after finishing node2").
  let lastBatch: string[] = [];
  for (const batch of plan.batches) {
    if (batch.role === 'manager') continue;
    const nodes = batch.nodes
      .map((name) => plan.nodes.find((n) => n.name === name)!)
      .filter((n) => !progress.doneNodes.has(n.name));
    if (nodes.length === 0) continue;
    if (!first) await soak(ctx, lastBatch);
    first = false;
    await runBatch(nodes);
    lastBatch = nodes.map((n) => n.name);
  }
  // Managers one at a time; the current leader always last (leadership can move mid-run).
  const remaining = managers.filter((n) => !progress.doneNodes.has(n.name));
  while (remaining.length > 0) {
    const next = await pickNextManager(ctx, remaining);
    remaining.splice(remaining.indexOf(next), 1);
    if (!first) await soak(ctx, lastBatch);
    first = false;
    await runBatch([next]);
    lastBatch = [next.name];
  }
}

/** The next manager to take down: anyone but the current leader, and only while the others are healthy. */
export async function pickNextManager(ctx: RolloutContext, remaining: PlannedNode[]): Promise<PlannedNode> {
  const swarm = await ctx.cluster.swarm();
  const nodes = await swarm.listNodes();
  const managers = nodes.filter((n) => n.role === 'manager');
  const leader = managers.find((m) => m.manager?.leader);
  const candidate = remaining.find((r) => r.name !== leader?.hostname) ?? remaining[0]!;
  // Never take a manager down while another manager is unreachable or there is no leader.
  const others = managers.filter((m) => m.hostname !== candidate.name);
  const unhealthy = others.filter((m) => m.manager?.reachability !== 'reachable' || m.state !== 'ready');
  if (!leader || unhealthy.length > 0) {
    throw new HaltError(
      !leader
        ? 'refusing to take a manager down: the swarm has no leader'
        : `refusing to take manager ${candidate.name} down: manager ${unhealthy.map((m) => `${m.hostname} (${m.manager?.reachability ?? 'unknown'}, ${m.state})`).join(', ')} is not healthy`,
      { kind: 'refused', node: candidate.name, stage: candidate.stages[0]?.name ?? '' },
    );
  }
  if (candidate !== remaining[0]) {
    ctx.note(
      candidate.name,
      `leader is now ${leader.hostname}: doing ${candidate.name} first, the leader last`,
    );
  }
  return candidate;
}

async function soak(ctx: RolloutContext, finished: string[]): Promise<void> {
  const ms = ctx.plan.rollout.soakBetweenNodesMs;
  if (ms > 0) {
    ctx.note(null, `soaking ${Math.round(ms / 1000)}s before the next node`);
    await ctx.clock.sleep(ms, ctx.stopSignal);
  }
  stopAfterWindow(ctx.plan, ctx.clock.now(), finished);
}

/** Never start outside the maintenance window (a resume is a start too). */
export function refuseOutsideWindow(plan: Plan, now: number): void {
  const closed = describeClosedWindow(plan.rollout, now);
  if (closed) throw new HaltError(closed, { kind: 'refused', stage: 'window' });
}

/**
 * Why the window is closed at `now` (when it opens, or when it closed, and how to override),
 * or undefined while it is open. Shared by the executor and `resume`'s early check.
 */
export function describeClosedWindow(
  window: { windowStart?: string; windowEnd?: string },
  now: number,
): string | undefined {
  const { windowStart, windowEnd } = window;
  const override = 'set rollout.window in the runbook or give `drydock resume … --window START/END`';
  if (windowStart && now < Date.parse(windowStart)) {
    return `the maintenance window opens at ${windowStart}; not starting before it (${override})`;
  }
  if (windowEnd && now > Date.parse(windowEnd)) {
    return `the maintenance window closed at ${windowEnd}; not starting (for the next window: ${override})`;
  }
  return undefined;
}

/**
 * Past the window's end no new node starts: a planned stop after the finished batch, not a
 * crash (its own exit code; `resume` continues in the next window).
 */
function stopAfterWindow(plan: Plan, now: number, finished: string[]): void {
  const end = plan.rollout.windowEnd;
  if (end && now > Date.parse(end)) {
    const after = finished.length ? `after finishing ${finished.join(', ')} ` : '';
    throw new HaltError(`window ended at ${end}: stopped ${after}as planned`, {
      kind: 'interrupted',
      stopReason: 'window-end',
    });
  }
}
