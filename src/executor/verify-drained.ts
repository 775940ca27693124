import { HaltError } from '../errors.js';
import type { PlannedNode, PlannedStage } from '../plan/types.js';
import type { StageKind } from '../runbook/types.js';
import type { SwarmNode } from '../transport/types.js';
import { stageHandlers } from './stages/stage-handlers.js';
import type { StageContext } from './stages/types.js';

/**
 * Before which stage kinds a node an earlier session drained must still be that node, still
 * drained: everything but `drain` (it drains), `activate` (it ends the drain anyway) and `local`
 * (it runs on the operator's machine, e.g. the load balancer's switch, and must run regardless).
 */
const NEEDS_DRAINED: Record<StageKind, boolean> = {
  drain: false,
  activate: false,
  run: true,
  reboot: true,
  checks: true,
  pause: true,
  prompt: true,
  local: false,
};

export interface DrainedCheck {
  /** Let a resume drain the node again when it is no longer drained (`--redrain`). */
  redrain: boolean;
  /** The resume command, for the refusal's "continue with". */
  resumeCommand: string;
}

/** What is wrong with the node now, against what the journal says this run drained; undefined when nothing. */
export function describeDrainMismatch(
  name: string,
  journaledId: string,
  current: SwarmNode | undefined,
): string | undefined {
  if (!current) return `${name} is no longer in the swarm (the journal has node ID ${journaledId})`;
  if (current.id !== journaledId) {
    return `${name} is not the node this run drained: the journal has node ID ${journaledId}, the swarm now has ${current.id} (availability ${current.availability})`;
  }
  if (current.availability !== 'drain') {
    return `${name} is no longer drained: its availability is ${current.availability} (node ID ${current.id}, as journaled)`;
  }
  return undefined;
}

/**
 * A resume re-checks a node an earlier session drained before each stage on it: the node may
 * have left the swarm and been re-added (a new ID, active) or been set active by hand since.
 * Running a disruptive stage on it then would hit live tasks. Refuses, or drains again when
 * the operator agrees (interactively, or with the flag).
 */
export async function verifyStillDrained(
  run: StageContext,
  node: PlannedNode,
  stage: PlannedStage,
  options: DrainedCheck,
): Promise<void> {
  if (!NEEDS_DRAINED[stage.kind] || !run.progress.drainedByRun.has(node.name)) return;
  const journaledId = run.progress.drainedIds[node.name] ?? node.id;
  let current: SwarmNode | undefined;
  try {
    const nodes = await (await run.cluster.swarm()).listNodes();
    current = nodes.find((n) => n.hostname === node.name);
  } catch (error) {
    run.halt(
      node.name,
      stage.name,
      `cannot confirm that ${node.name} is still drained before ${stage.name}: ${(error as Error).message}`,
    );
  }
  const problem = describeDrainMismatch(node.name, journaledId, current);
  if (!problem) return;
  const drainStage = node.stages.find((s) => s.kind === 'drain');
  const agreed =
    current !== undefined &&
    drainStage !== undefined &&
    (options.redrain ||
      (run.gate !== undefined &&
        (await run.ask(() => run.gate!.confirm(node.name, `${problem}. Drain it again, then continue?`)))));
  if (!agreed) {
    const how = current
      ? `drain it again and continue with: ${options.resumeCommand} --redrain`
      : `bring it back into the swarm, then: ${options.resumeCommand} --redrain`;
    throw new HaltError(
      `${problem}: refusing to run ${stage.name} on a node this run no longer holds drained; ${how}`,
      {
        kind: 'refused',
        node: node.name,
        stage: stage.name,
      },
    );
  }
  run.note(node.name, `${problem}: draining it again before ${stage.name}`, stage.name);
  const drained = await stageHandlers.drain(
    drainStage as Extract<PlannedStage, { kind: 'drain' }>,
    node,
    run,
  );
  if (!drained.ok) run.halt(node.name, stage.name, `re-drain of ${node.name} failed: ${drained.reason}`);
}
