import { evaluateSkipConditions, listDisruptiveStages } from '../../executor/stages/skip-if.js';
import { scopeForPlannedNode } from '../../plan/node-scope.js';
import type { Plan } from '../../plan/types.js';
import type { Runbook } from '../../runbook/types.js';
import type { ClusterPort } from '../../transport/types.js';

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
    const { disruptive, conditional } = listDisruptiveStages(node);
    if (conditional.length === 0) continue;
    let skipped = 0;
    try {
      const shell = await cluster.shellOf(node.name);
      const scope = scopeForPlannedNode(runbook, node);
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
