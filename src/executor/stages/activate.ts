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
