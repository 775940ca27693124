import { taskIps } from '../../checks/ipvs-backends.js';
import type { PlannedNode } from '../../plan/types.js';
import { formatDuration } from '../../shared/format-duration.js';
import { NODE_POLL_SPACING, waitUntil } from '../../shared/wait-until.js';
import type { SwarmApi, SwarmTask } from '../../transport/types.js';
import { EventWaker } from '../event-waker.js';
import {
  type ConvergenceReport,
  describeConvergence,
  drainNode,
  findNode,
  isLiveTask,
  waitClock,
} from './drain-node.js';
import { nodesStillRoutingTo, restoreReplicas, startReplacementsFirst } from './move-first.js';
import type { PlannedStageOf, StageContext, StageHandler } from './types.js';

/** Set the node to drain and wait until it is empty and every service is back at full count. */
export const runDrainStage: StageHandler<'drain'> = async (stage, node, run) => {
  if (stage.skipReason) return { ok: true, outcome: 'skipped', message: stage.skipReason };
  const before = run.progress.availabilityBefore[node.name];
  if (before && before !== 'active') {
    return { ok: true, outcome: 'skipped', message: `was ${before} before the run: left as is` };
  }
  const swarm = await apiFor(run, node);
  // An earlier session scaled services up for this node and stopped before setting them back.
  await restoreScaledFor(swarm, node.name, run, stage.name);
  let target = await findNode(swarm, node.name);
  const standalone = await listStandaloneContainers(run, node.name);
  if (standalone.length > 0) {
    run.note(
      node.name,
      `standalone containers that drain does not move: ${standalone.join(', ')}`,
      stage.name,
    );
  }
  const waker = new EventWaker([{ api: swarm, filters: { type: ['service', 'node'] } }]);
  try {
    const engine = await run.cluster.engineOf(node.name).catch(() => undefined);
    // The addresses the mesh routes to on this node now: none may be routed to once it is drained.
    const tasks = await swarm.listTasks();
    const leaving = taskIpsOn(tasks, target.id);
    if (stage.moveFirst && target.availability !== 'drain') {
      await startReplacementsFirst(swarm, target, tasks, stage, node, run, waker);
      // Pausing it moved the node's version on.
      target = await findNode(swarm, node.name);
    }
    const setAt = run.clock.now();
    const outcome = await drainNode(swarm, target, {
      timeoutMs: stage.timeoutMs,
      clock: run.clock,
      waker,
      signal: run.cancelSignal,
      ...(engine ? { engine } : {}),
      // Journaled the moment the node IS drained, before the wait that may fail, hang or be
      // interrupted: only this run may re-activate it, and resume/abort must know.
      onDrainSet: (tasksToMove) => {
        run.emit({
          type: 'drained',
          node: node.name,
          nodeId: target.id,
          tasksMoved: tasksToMove,
          waitedMs: run.clock.now() - setAt,
          standalone,
          at: run.at(),
        });
        run.state.expectedAvailability[node.name] = 'drain';
      },
      whenNodeEmpty: () => restoreScaledFor(swarm, node.name, run, stage.name),
      heartbeat: run.heartbeatFor(
        node.name,
        stage.name,
        'drain',
        stage.timeoutMs,
        (report: ConvergenceReport) => `waiting for drain of ${node.name}: ${describeConvergence(report)}`,
      ),
    });
    if (!outcome.ok) {
      return {
        ok: false,
        reason: `drain did not converge within ${Math.round(stage.timeoutMs / 1000)}s: ${describeConvergence(outcome.report)}`,
      };
    }
    const stale = await waitUntilUnrouted(swarm, leaving, node.name, stage, run, waker);
    if (stale) return { ok: false, reason: stale };
    return {
      ok: true,
      outcome: 'succeeded',
      message: `${outcome.tasksMoved} task(s) moved, services converged in ${outcome.waitedMs}ms`,
    };
  } finally {
    waker.close();
    // A failure or an interruption after the scale-up: the services go back to their counts.
    await restoreScaledFor(swarm, node.name, run, stage.name).catch((error: Error) =>
      run.note(node.name, `could not set replica counts back: ${error.message}`, stage.name),
    );
  }
};

async function restoreScaledFor(swarm: SwarmApi, node: string, run: StageContext, stage: string) {
  const left = run.progress.scaledByRun[node];
  if (left && left.length > 0) await restoreReplicas(swarm, left, node, run, stage);
}

function taskIpsOn(tasks: SwarmTask[], nodeId: string): string[] {
  return tasks
    .filter((t) => t.nodeId === nodeId && isLiveTask(t))
    .flatMap((t) => taskIps(t.ingressAddresses ?? t.addresses));
}

/**
 * Stale backends: other nodes' IPVS may still send connections to the tasks that just stopped.
 * Wait until no ready node routes to them before the stage ends (the next one stops the engine
 * or reboots). An address a running task elsewhere now holds again is not stale.
 */
async function waitUntilUnrouted(
  swarm: SwarmApi,
  leaving: string[],
  node: string,
  stage: PlannedStageOf<'drain'>,
  run: StageContext,
  waker: EventWaker,
): Promise<string | undefined> {
  if (leaving.length === 0) return undefined;
  const result = await waitUntil(
    waitClock({ clock: run.clock, signal: run.cancelSignal }),
    stage.timeoutMs,
    async () => {
      const [tasks, nodes] = await Promise.all([swarm.listTasks(), swarm.listNodes()]);
      const reused = new Set(tasks.filter(isLiveTask).flatMap((t) => taskIps(t.addresses)));
      const gone = leaving.filter((ip) => !reused.has(ip));
      const ready = nodes.filter((n) => n.state === 'ready').map((n) => n.hostname);
      const stale = await nodesStillRoutingTo(run, ready, gone);
      return { done: stale.length === 0, value: stale.join('; ') };
    },
    {
      // Each round reads every node's IPVS over SSH: every 2 s is enough to catch the gossip settling.
      pollMs: 2000,
      spacing: NODE_POLL_SPACING,
      wake: waker.next,
      heartbeat: run.heartbeatFor(
        node,
        stage.name,
        'drain',
        stage.timeoutMs,
        (stale: string) => `waiting until no node routes to ${node}'s old tasks: ${stale}`,
      ),
    },
  );
  return result.done
    ? undefined
    : `drained, but still routed to its old tasks after ${formatDuration(result.waitedMs)}: ${result.value}`;
}

async function listStandaloneContainers(run: StageContext, node: string): Promise<string[]> {
  try {
    const engine = await run.cluster.engineOf(node);
    return (await engine.listContainers()).filter((c) => !c.swarmTask).map((c) => c.name);
  } catch {
    return [];
  }
}

/**
 * The API to maintain `node` through: never a manager's own API when another manager can
 * serve (it is about to go down). A single-manager swarm has no other choice.
 */
async function apiFor(run: StageContext, node: PlannedNode): Promise<SwarmApi> {
  if (node.role !== 'manager') return run.cluster.swarm();
  try {
    return await run.cluster.swarmAvoiding(node.name);
  } catch (error) {
    const swarm = await run.cluster.swarm();
    const managers = (await swarm.listNodes()).filter((n) => n.role === 'manager');
    if (managers.length > 1) throw error;
    run.note(node.name, 'single-manager swarm: maintaining the manager through its own API');
    return swarm;
  }
}
