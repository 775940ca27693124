import { SafetyRefusal, UsageError } from '../errors.js';
import type { ClusterNodeFacts, Plan } from './types.js';

/** What `--continue-from` needs of the earlier run, read from its journal by the caller. */
export interface PreviousRun {
  runId: string;
  runbook: { name: string; file: string; hash: string };
  /** Every node that run planned, with its swarm node id. */
  nodes: { name: string; id: string }[];
  /** Nodes it finished (node-end journaled), with what it did to them. */
  finished: { name: string; how: string }[];
}

/**
 * `run --continue-from RUN_ID`: which nodes to skip, or a refusal saying how the earlier run
 * differs (another runbook, another cluster, a node that rejoined under a new id). Pure.
 * A changed runbook *file* (same name and path) is allowed and said: fixing the runbook is the
 * usual reason to start again.
 */
export function resolveContinueFrom(
  previous: PreviousRun,
  runbook: { name: string; file: string; hash: string },
  nodes: readonly ClusterNodeFacts[],
): { skip: Record<string, string>; summary: NonNullable<Plan['continueFrom']> } {
  const was = previous.runbook;
  if (was.name !== runbook.name || was.file !== runbook.file) {
    const differs = [
      ...(was.name !== runbook.name ? [`runbook name \`${was.name}\`, not \`${runbook.name}\``] : []),
      ...(was.file !== runbook.file ? [`file ${was.file}, not ${runbook.file}`] : []),
    ];
    throw new UsageError(`run ${previous.runId} is from another runbook: ${differs.join('; ')}`, {
      hint: `continue from a run of ${runbook.file} (see \`drydock runs\`), or run ${was.file} again`,
    });
  }
  const byName = new Map(nodes.map((n) => [n.hostname, n]));
  const byId = new Set(nodes.map((n) => n.id));
  if (previous.nodes.length > 0 && !previous.nodes.some((n) => byId.has(n.id))) {
    const sample = previous.nodes.slice(0, 3).map((n) => `${n.name} (${n.id.slice(0, 12)})`);
    throw new SafetyRefusal(
      `run ${previous.runId} was on another cluster: none of its nodes (${sample.join(', ')}) is in this swarm`,
      { hint: 'point --manager/--docker-host at the cluster of that run, or start without --continue-from' },
    );
  }
  const skip: Record<string, string> = {};
  const notes: string[] = [];
  for (const done of previous.finished) {
    const then = previous.nodes.find((n) => n.name === done.name);
    const now = byName.get(done.name);
    if (!now) {
      notes.push(`${done.name}, finished by run ${previous.runId}, is no longer in the swarm`);
      continue;
    }
    if (then && then.id !== now.id) {
      throw new SafetyRefusal(
        `node ${done.name} was swarm node ${then.id.slice(0, 12)} in run ${previous.runId} and is ${now.id.slice(0, 12)} now: it rejoined or was replaced, so that run's work on it does not count`,
        { hint: 'start without --continue-from (skipIf conditions skip what is really done)' },
      );
    }
    skip[done.name] = `${done.how} by run ${previous.runId}`;
  }
  if (was.hash !== runbook.hash) {
    notes.push(
      `the runbook changed since run ${previous.runId} (sha256 ${was.hash.slice(0, 12)} → ${runbook.hash.slice(0, 12)}): the nodes it finished are skipped all the same`,
    );
  }
  return { skip, summary: { runId: previous.runId, nodes: Object.keys(skip), notes } };
}
