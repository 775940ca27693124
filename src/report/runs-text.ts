import type { NodeStanding, RunSummary } from '../executor/run-summary.js';
import { formatDuration } from '../shared/format-duration.js';

/**
 * `drydock runs` and `drydock runs RUN_ID` as text. The state is where the run really stands:
 * a refused resume never hides a halt that left a node drained, and a resume that succeeded
 * leaves no stale stop behind.
 */

/** One line: `halted at node2 / upgrade (node2 drained)`, `succeeded`, `killed at … (resumable)`. */
export function describeRunState(run: RunSummary): string {
  const stop = run.stoppedAt;
  const where = stop ? ` at ${stop.node ? `${stop.node} / ` : ''}${stop.stage}` : '';
  const drained = run.drained.length > 0 ? ` (${run.drained.join(', ')} drained)` : '';
  const refused = run.refusedAttempt ? `; last resume refused at ${run.refusedAttempt.stage}` : '';
  switch (run.outcome) {
    case 'succeeded':
      return 'succeeded';
    case 'running':
      return `killed${where} (resumable)${drained}${refused}`;
    case 'unknown':
      return 'never started';
    case 'halted':
    case 'interrupted':
    case 'refused':
      return `${run.outcome}${where}${drained}${refused}`;
  }
}

/** The table row of `drydock runs`. */
export function formatRunRow(run: RunSummary, report: string): string {
  return [
    run.runId,
    run.startedAt.replace(/\.\d+Z$/, 'Z'),
    formatDuration(run.durationMs).padStart(7),
    `${run.nodesDone}/${run.nodes.length} nodes`,
    describeRunState(run),
    `by ${run.by}`,
    run.runbook.file,
    report,
  ].join('  ');
}

function describeStanding(standing: NodeStanding): string {
  switch (standing.kind) {
    case 'done':
      return 'done';
    case 'skipped':
      return `skipped: ${standing.reason}`;
    case 'stopped':
      return `stopped at ${standing.stage}${standing.drained ? ', drained' : ''}: ${standing.reason}`;
    case 'in-progress':
      return `${standing.stagesDone}/${standing.stages} stages done${standing.drained ? ', drained' : ''}`;
    case 'not-started':
      return 'not started';
  }
}

/** `drydock runs RUN_ID`: one run in detail. */
export function formatRunDetail(
  run: RunSummary,
  extra: { report: string; resumeCommand: string | undefined },
): string {
  const lines = [
    `run ${run.runId}: ${describeRunState(run)}`,
    `  runbook   ${run.runbook.name} (${run.runbook.file})`,
    `  started   ${run.startedAt} by ${run.by}`,
    `  ran for   ${formatDuration(run.durationMs)} in ${run.attempts.length} attempt${run.attempts.length === 1 ? '' : 's'}`,
  ];
  for (const a of run.attempts) {
    lines.push(
      `    ${a.resumed ? 'resume' : 'run   '}  ${a.startedAt}  ${a.outcome.padEnd(11)} ${formatDuration(a.durationMs).padStart(7)}${a.by ? `  by ${a.by}` : ''}`,
    );
  }
  lines.push(`  nodes     ${run.nodesDone}/${run.nodes.length} done`);
  const width = Math.max(0, ...run.nodes.map((n) => n.name.length));
  for (const node of run.nodes) {
    lines.push(`    ${node.name.padEnd(width)}  ${node.role.padEnd(7)}  ${describeStanding(node.standing)}`);
  }
  if (run.stoppedAt) {
    const s = run.stoppedAt;
    lines.push(`  stopped   ${s.node ? `${s.node} / ` : ''}${s.stage}: ${s.reason}`);
  }
  if (run.refusedAttempt) {
    const r = run.refusedAttempt;
    lines.push(`  refused   the last resume (${r.at}) at ${r.stage}: ${r.reason}`);
  }
  if (run.drained.length > 0) lines.push(`  drained   ${run.drained.join(', ')} (by this run)`);
  if (extra.resumeCommand) lines.push(`  resume    ${extra.resumeCommand}`);
  lines.push(`  report    ${extra.report}`);
  return `${lines.join('\n')}\n`;
}
