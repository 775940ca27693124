import { evaluateSkipConditions } from '../../executor/stages/skip-if.js';
import type { Plan, PlannedStage } from '../../plan/types.js';
import type { Runbook } from '../../runbook/types.js';
import type { ClusterPort } from '../../transport/types.js';

type ConditionalStage = Extract<PlannedStage, { kind: 'run' | 'reboot' }>;

/**
 * `plan --evaluate-skips`: asks each node now whether its stages' `skipIf` conditions hold, and
 * writes the answers into the plan as node notes (every format shows them). The conditions are
 * read-only by contract (README), so this still changes nothing. A node whose every run and
 * reboot stage would be skipped is said to be skipped whole, as `run` would do, without a drain.
 */
export async function annotatePlannedSkips(
  plan: Plan,
  runbook: Runbook,
  cluster: ClusterPort,
): Promise<void> {
  for (const node of plan.nodes) {
    if (node.skip) continue;
    const disruptive = node.stages.filter((s) => s.kind === 'run' || s.kind === 'reboot');
    const conditional = disruptive.filter(
      (s): s is ConditionalStage =>
        (s as ConditionalStage).skipIf !== undefined && ((s as ConditionalStage).skipIf?.length ?? 0) > 0,
    );
    if (conditional.length === 0) continue;
    let skipped = 0;
    try {
      const shell = await cluster.shellOf(node.name);
      const scope = {
        variables: runbook.variables,
        node: { hostname: node.name, address: node.address, role: node.role },
        runbook: { name: runbook.name },
      };
      for (const stage of conditional) {
        const evaluation = await evaluateSkipConditions(shell, stage.skipIf ?? [], scope, {
          sudo: stage.sudo,
        });
        if (evaluation.verdict === 'skip') skipped++;
        const verb =
          evaluation.verdict === 'skip'
            ? 'would be skipped'
            : evaluation.verdict === 'run'
              ? 'would run'
              : 'cannot tell';
        node.notes.push(`${stage.name} ${verb}: ${evaluation.reason}`);
      }
    } catch (error) {
      node.notes.push(`skip conditions not evaluated: ${(error as Error).message}`);
      continue;
    }
    if (skipped === disruptive.length)
      node.notes.push(
        'every run and reboot stage would be skipped: the node would be skipped whole, not drained',
      );
  }
}
