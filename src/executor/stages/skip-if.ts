import type { PlannedNode, PlannedSkipCondition, PlannedStage, SkipEvaluation } from '../../plan/types.js';
import { renderCommand, type SubstitutionScope } from '../../runbook/substitute.js';
import type { CommandResult, NodeShell } from '../../transport/types.js';
import type { StageContext, StageResult } from './types.js';

/** How long one skipIf condition may run: they are read-only probes, not work. */
const SKIP_CONDITION_TIMEOUT_MS = 120_000;

/** The stages that change a node; a node whose every one of them is skipped is not drained. */
const DISRUPTIVE_KINDS: ReadonlySet<PlannedStage['kind']> = new Set(['run', 'reboot']);

/**
 * Run a stage's `skipIf` conditions on the node (all must hold to skip). Exit 0 holds, with its
 * output as the reason; a non-zero exit means "do the stage". A condition that could not run at
 * all (timeout, lost connection, signal, command not found, or a built-in's exit ≥ 2) is an error.
 */
export async function evaluateSkipConditions(
  shell: NodeShell,
  conditions: readonly PlannedSkipCondition[],
  scope: SubstitutionScope,
  options: { sudo: boolean; signal?: AbortSignal },
): Promise<SkipEvaluation> {
  const reasons: string[] = [];
  for (const condition of conditions) {
    const text = renderCommand(condition.command.template, scope, { reveal: true }).text;
    const result = await shell.exec(text, {
      timeoutMs: SKIP_CONDITION_TIMEOUT_MS,
      sudo: options.sudo,
      display: condition.command.display,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const said = lastLine(result.stdout);
    const problem = describeNotRun(condition, result);
    if (problem) return { verdict: 'error', reason: problem };
    if (result.exitCode !== 0) {
      return { verdict: 'run', reason: said || `not ${condition.label} (exit ${result.exitCode})` };
    }
    reasons.push(said || condition.label);
  }
  return { verdict: 'skip', reason: reasons.join('; ') };
}

function describeNotRun(condition: PlannedSkipCondition, result: CommandResult): string | undefined {
  const what = `skipIf \`${result.command}\``;
  const detail = lastLine(result.stderr);
  if (result.connectionLost) return `${what}: the SSH connection dropped`;
  if (result.timedOut) return `${what}: timed out after ${Math.round(SKIP_CONDITION_TIMEOUT_MS / 1000)}s`;
  if (result.exitCode === null) return `${what}: killed by ${result.signal ?? 'a signal'}`;
  // 126/127: the shell could not run the command at all; built-ins say so with exit ≥ 2.
  const cannot =
    result.exitCode === 126 ||
    result.exitCode === 127 ||
    (condition.kind !== 'command' && result.exitCode >= 2);
  return cannot
    ? `${what} could not tell (exit ${result.exitCode}${detail ? `: ${detail}` : ''})`
    : undefined;
}

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1)?.trim() ?? '';
}

/** A run or reboot stage's own skipIf, just before it runs: a skip result, a failure, or undefined (run it). */
export async function checkStageSkipIf(
  stage: Extract<PlannedStage, { kind: 'run' | 'reboot' }>,
  node: PlannedNode,
  run: StageContext,
): Promise<StageResult | undefined> {
  if (!stage.skipIf?.length) return undefined;
  const shell = await run.cluster.shellOf(node.name);
  const evaluation = await evaluateSkipConditions(shell, stage.skipIf, run.scopeFor(node), {
    sudo: stage.sudo,
    signal: run.cancelSignal,
  });
  switch (evaluation.verdict) {
    case 'skip':
      return { ok: true, outcome: 'skipped', message: `already done: ${evaluation.reason}` };
    case 'run':
      run.note(node.name, `skipIf does not hold (${evaluation.reason}): running the stage`, stage.name);
      return undefined;
    case 'error':
      return { ok: false, reason: evaluation.reason };
  }
}

type ConditionalStage = Extract<PlannedStage, { kind: 'run' | 'reboot' }>;

/** The node's run and reboot stages still to do, and those of them that carry a skipIf. */
export function listDisruptiveStages(
  node: PlannedNode,
  done?: ReadonlySet<string>,
): { disruptive: PlannedStage[]; conditional: ConditionalStage[] } {
  const disruptive = node.stages.filter((s) => DISRUPTIVE_KINDS.has(s.kind) && !done?.has(s.name));
  const conditional = disruptive.filter(
    (s): s is ConditionalStage => (s.kind === 'run' || s.kind === 'reboot') && (s.skipIf?.length ?? 0) > 0,
  );
  return { disruptive, conditional };
}

/** Whether a node is skipped whole, decided before it is drained. */
export type NodeSkip =
  | { kind: 'run' }
  | { kind: 'skip'; reason: string }
  | { kind: 'error'; stage: string; reason: string };

/**
 * Before a node starts: skipped whole when the plan says so (`--continue-from`), or when every
 * run and reboot stage still to do has a skipIf that holds now. Then nothing is drained.
 */
export async function decideNodeSkip(node: PlannedNode, run: StageContext): Promise<NodeSkip> {
  if (node.skip) return { kind: 'skip', reason: node.skip.reason };
  const { disruptive, conditional } = listDisruptiveStages(node, run.progress.doneStages[node.name]);
  // Without a condition on every one of them there is nothing to ask the node.
  if (disruptive.length === 0 || conditional.length < disruptive.length) return { kind: 'run' };
  const shell = await run.cluster.shellOf(node.name);
  const reasons: string[] = [];
  for (const stage of conditional) {
    const evaluation = await evaluateSkipConditions(shell, stage.skipIf ?? [], run.scopeFor(node), {
      sudo: stage.sudo,
      signal: run.cancelSignal,
    });
    if (evaluation.verdict === 'error')
      return { kind: 'error', stage: stage.name, reason: evaluation.reason };
    if (evaluation.verdict === 'run') return { kind: 'run' };
    reasons.push(`${stage.name}: ${evaluation.reason}`);
  }
  return { kind: 'skip', reason: `already done (${reasons.join('; ')})` };
}
