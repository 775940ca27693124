import type { PlannedNode } from '../../plan/types.js';
import { renderCommand } from '../../runbook/substitute.js';
import { formatDuration } from '../../shared/format-duration.js';
import { waitUntil } from '../../shared/wait-until.js';
import type { CommandResult } from '../../transport/types.js';
import { findNode } from './drain-node.js';
import { rebootNode } from './reboot-node.js';
import { checkStageSkipIf } from './skip-if.js';
import type { PlannedStageOf, StageContext, StageHandler } from './types.js';

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
    heartbeat: run.heartbeatFor(
      node.name,
      stage.name,
      'reboot-return',
      stage.returnTimeoutMs,
      (lastError: string) => `waiting for ${node.name} to come back: ${lastError}`,
    ),
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
  const ready = await waitForNodeReady(run, node.name, stage.name, remaining);
  if (!ready.done) {
    if (ready.value.engineAnswers) return { ok: false, reason: `reboot: ${ready.value.detail}` };
    // The engine's own words are the likeliest explanation ("timeout waiting for containerd").
    const log = await readEngineLog(run, node, stage);
    return {
      ok: false,
      reason: `reboot: ${ready.value.detail}${log ? `; the engine's last log lines below (${log.command})` : ''}`,
      ...(log ? { command: log } : {}),
    };
  }
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

type ReadyState = { engineAnswers: boolean; detail: string };

/** After the boot id changed: wait for the engine to answer and the node to be Ready, saying which is missing. */
async function waitForNodeReady(run: StageContext, name: string, stageName: string, timeoutMs: number) {
  const { clock } = run;
  const backAt = clock.now();
  return waitUntil<ReadyState>(
    { now: () => clock.now(), sleep: clock.sleep, signal: run.cancelSignal },
    timeoutMs,
    async () => {
      try {
        const engine = await run.cluster.engineOf(name);
        await engine.ping();
        const node = await findNode(await run.cluster.swarm(), name);
        return node.state === 'ready'
          ? { done: true, value: { engineAnswers: true, detail: 'ready' } }
          : {
              done: false,
              value: {
                engineAnswers: true,
                detail: `${name} back (boot id changed), engine answers, but the node is ${node.state} in the swarm`,
              },
            };
      } catch (error) {
        const silent = formatDuration(Math.round((clock.now() - backAt) / 1000) * 1000);
        return {
          done: false,
          value: {
            engineAnswers: false,
            detail: `${name} back (boot id changed), engine not answering for ${silent}: ${(error as Error).message}`,
          },
        };
      }
    },
    {
      pollMs: 500,
      heartbeat: run.heartbeatFor(name, stageName, 'engine-return', timeoutMs, (s: ReadyState) => s.detail),
    },
  );
}

/** The engine's last log lines over SSH (the runbook's `engineLog`), or undefined when SSH cannot say. */
async function readEngineLog(
  run: StageContext,
  node: PlannedNode,
  stage: PlannedStageOf<'reboot'>,
): Promise<CommandResult | undefined> {
  try {
    const shell = await run.cluster.shellOf(node.name);
    const text = renderCommand(stage.engineLog.template, run.scopeFor(node), { reveal: true }).text;
    const result = await shell.exec(text, {
      timeoutMs: 15_000,
      sudo: stage.sudo,
      display: stage.engineLog.display,
    });
    const said = `${result.stdout}${result.stderr}`.trim();
    return said ? run.maskResult(result) : undefined;
  } catch {
    return undefined;
  }
}
