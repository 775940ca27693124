import type { PlannedNode } from '../../plan/types.js';
import { renderCommand } from '../../runbook/substitute.js';
import { waitUntil } from '../../shared/wait-until.js';
import { findNode } from './drain-node.js';
import { rebootNode } from './reboot-node.js';
import { checkStageSkipIf } from './skip-if.js';
import type { StageContext, StageHandler } from './types.js';

/** Reboot, prove it (boot id changed), then wait until the node is back in the swarm. */
export const runRebootStage: StageHandler<'reboot'> = async (stage, node, run) => {
  const skip = await checkStageSkipIf(stage, node, run);
  if (skip) return skip;
  const text = renderCommand(stage.command.template, run.scopeFor(node), { reveal: true }).text;
  const outcome = await rebootNode(run.cluster, node.name, stage, text, {
    clock: run.clock,
    sudo: stage.sudo,
    signal: run.cancelSignal,
    onProgress: (message) => run.note(node.name, message, stage.name),
  });
  if (outcome.status === 'not-required')
    return { ok: true, outcome: 'skipped', message: `not required: ${outcome.detail}` };
  if (outcome.status === 'failed') {
    const moved = await describeMovedNode(run, node);
    return {
      ok: false,
      reason: `reboot: ${moved ? `${moved} (${outcome.detail})` : outcome.detail}`,
      ...(outcome.command ? { command: outcome.command } : {}),
    };
  }
  run.state.rebootedFrom[node.name] = outcome.bootIdBefore;
  run.emit({
    type: 'rebooted',
    node: node.name,
    bootIdBefore: outcome.bootIdBefore,
    bootIdAfter: outcome.bootIdAfter,
    downMs: outcome.downMs,
    at: run.at(),
  });
  // Back means back in the swarm: the engine answers and the node is Ready again.
  const remaining = Math.max(5_000, stage.returnTimeoutMs - outcome.waitedMs);
  const ready = await waitForNodeReady(run, node.name, remaining);
  if (!ready.done) return { ok: false, reason: `the node rebooted but ${ready.value}` };
  return {
    ok: true,
    outcome: 'succeeded',
    message: `rebooted in ${Math.round(outcome.downMs / 1000)}s (boot id changed)`,
  };
};

/**
 * A node that came back at another address looks, over SSH, like one that never came back.
 * The swarm knows better: say where it is, so the operator fixes the address, not the node.
 */
async function describeMovedNode(run: StageContext, node: PlannedNode): Promise<string | undefined> {
  try {
    const live = await findNode(await run.cluster.swarm(), node.name);
    if (live.state !== 'ready' || !live.address || live.address === node.address) return undefined;
    return `${node.name} is Ready in the swarm at ${live.address}, not at its inventory address ${node.address}: update the inventory/ssh address`;
  } catch {
    return undefined;
  }
}

async function waitForNodeReady(run: StageContext, name: string, timeoutMs: number) {
  const { clock } = run;
  return waitUntil(
    { now: () => clock.now(), sleep: clock.sleep, signal: run.cancelSignal },
    timeoutMs,
    async () => {
      try {
        const engine = await run.cluster.engineOf(name);
        await engine.ping();
        const node = await findNode(await run.cluster.swarm(), name);
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
