import type { PlannedNode } from '../../plan/types.js';
import type { SwarmApi } from '../../transport/types.js';
import { EventWaker } from '../event-waker.js';
import { type ConvergenceReport, describeConvergence, drainNode, findNode } from './drain-node.js';
import type { StageContext, StageHandler } from './types.js';

/** Set the node to drain and wait until it is empty and every service is back at full count. */
export const runDrainStage: StageHandler<'drain'> = async (stage, node, run) => {
  if (stage.skipReason) return { ok: true, outcome: 'skipped', message: stage.skipReason };
  const before = run.progress.availabilityBefore[node.name];
  if (before && before !== 'active') {
    return { ok: true, outcome: 'skipped', message: `was ${before} before the run: left as is` };
  }
  const swarm = await apiFor(run, node);
  const target = await findNode(swarm, node.name);
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
    return {
      ok: true,
      outcome: 'succeeded',
      message: `${outcome.tasksMoved} task(s) moved, services converged in ${outcome.waitedMs}ms`,
    };
  } finally {
    waker.close();
  }
};

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
