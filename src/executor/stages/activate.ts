import { activateNode } from './drain-node.js';
import type { StageHandler } from './types.js';

/** Availability back to active, only for a node this run drained. */
export const runActivateStage: StageHandler<'activate'> = async (stage, node, run) => {
  if (!run.progress.drainedByRun.has(node.name)) {
    const before = run.progress.availabilityBefore[node.name] ?? 'unknown';
    return {
      ok: true,
      outcome: 'skipped',
      message: stage.skipReason ?? `not drained by this run (was ${before}): left as is`,
    };
  }
  // No black hole on return: until the node's own ingress sandbox is programmed, its published
  // ports accept connections and drop them. Where there is no mesh the check does not apply.
  const mesh = await run.runChecks(['ingress-mesh'], [node.name], node.name, stage.name);
  if (!mesh.ok) return { ...mesh, reason: `not activated: its routing mesh is not ready: ${mesh.reason}` };
  const swarm = await run.cluster.swarm();
  const outcome = await activateNode(swarm, node.name, {
    timeoutMs: stage.timeoutMs,
    clock: run.clock,
    signal: run.cancelSignal,
    heartbeat: run.heartbeatFor(
      node.name,
      stage.name,
      'activate',
      stage.timeoutMs,
      (detail: string) => `waiting for ${node.name} to take tasks again: ${detail}`,
    ),
  });
  if (!outcome.ok)
    return { ok: false, reason: `activate: not schedulable within the timeout: ${outcome.detail}` };
  run.emit({ type: 'activated', node: node.name, at: run.at() });
  run.state.expectedAvailability[node.name] = 'active';
  return { ok: true, outcome: 'succeeded', message: `${outcome.detail} after ${outcome.waitedMs}ms` };
};
