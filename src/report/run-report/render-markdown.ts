import { formatDuration } from '../../shared/format-duration.js';
import type { NodeModel, RunModel } from './model.js';
import {
  describeCheck,
  describeMode,
  describeOutcome,
  formatEvidence,
  OUTCOME_TITLE,
} from './outcome-text.js';

/**
 * The Markdown summary: the facts of the HTML report without the picture, short enough to
 * paste into a change ticket (a line per node and a line per stage that did not simply pass).
 */
export function renderRunMarkdown(model: RunModel, options: { htmlLink?: string } = {}): string {
  const out: string[] = [];
  out.push(
    `# ${OUTCOME_TITLE[model.outcome]}: ${model.runbook.name || model.runbook.file} (run ${model.runId})`,
    '',
  );
  out.push(`**${describeOutcome(model)}**`, '');
  const halt = model.halt;
  if (halt) {
    out.push(`- Node: \`${halt.node}\`, stage: \`${halt.stage}\``);
    out.push(`- Reason: ${halt.reason}`);
    if (halt.command) {
      out.push(
        `- Command: \`${halt.command.command}\` → ${halt.command.timedOut ? 'timed out' : `exit ${halt.command.exitCode ?? 'none'}`}`,
      );
    }
    for (const c of halt.failedChecks) {
      out.push(`- Failed check: ${describeCheck(c)}`);
      if (c.hint) out.push(`  - Fix: ${c.hint}`);
    }
    if (halt.lastOutput.length) out.push('', '```', ...halt.lastOutput.slice(-10), '```');
  }
  if (model.resumeCommand) out.push('', `Resume with: \`${model.resumeCommand}\``);
  if (options.htmlLink) out.push('', `Full report with timeline: [${options.htmlLink}](${options.htmlLink})`);
  out.push('', '## Summary', '');
  out.push('| | |', '|---|---|');
  const c = model.cluster;
  out.push(`| Runbook | ${model.runbook.name} (\`${model.runbook.file}\`) |`);
  out.push(`| sha256 | \`${model.runbook.hash}\` |`);
  out.push(`| Operator | ${model.operator.user} on ${model.operator.host} |`);
  out.push(
    `| Cluster | ${c ? `${c.nodes} nodes, ${c.managers} managers, leader ${c.leader ?? 'unknown'}` : 'unknown'} |`,
  );
  out.push(`| Start → end | ${model.startedAt} → ${model.endedAt} (${formatDuration(model.durationMs)}) |`);
  out.push(`| Mode | ${describeMode(model)} |`);
  out.push('', '## Nodes', '');
  out.push('| Node | Result | Availability | Engine | Boot id | Stages |', '|---|---|---|---|---|---|');
  for (const node of model.nodes) out.push(nodeRow(node));
  const notable = model.nodes.flatMap((node) =>
    node.stages
      .filter((s) => s.outcome !== 'succeeded')
      .map(
        (s) =>
          `- ${node.name} › ${s.name}: ${s.outcome === 'open' ? 'no end recorded' : s.outcome}${s.message ? ` — ${s.message}` : ''}`,
      ),
  );
  const routes = model.nodes.flatMap((node) =>
    node.routeDiff && (node.routeDiff.added.length || node.routeDiff.removed.length)
      ? [
          `- ${node.name}: ${[...node.routeDiff.removed.map((r) => `-${r}`), ...node.routeDiff.added.map((r) => `+${r}`)].join('; ')}`,
        ]
      : [],
  );
  const failedChecks = model.nodes.flatMap((node) =>
    node.checks.flatMap((round) =>
      round.results
        .filter((r) => r.status === 'fail')
        .map((r) => `- ${describeCheck(r)} ${formatEvidence(r.evidence, 200).replace(/\s+/g, ' ')}`),
    ),
  );
  if (notable.length) out.push('', '## Stages that did not pass', '', ...notable.slice(0, 40));
  if (failedChecks.length) out.push('', '## Failed checks', '', ...failedChecks.slice(0, 30));
  if (routes.length) out.push('', '## ip route changes (baseline → end)', '', ...routes);
  const preflight = model.preflight?.results ?? [];
  out.push('', '## Pre-flight, warnings, lock', '');
  out.push(
    `- Pre-flight: ${preflight.length ? `${preflight.filter((r) => r.status === 'pass').length}/${preflight.length} passed` : 'not recorded'}${model.preflight?.forced ? `; forced: ${model.preflight.forced}` : ''}`,
  );
  for (const w of model.warnings.slice(0, 30)) out.push(`- Warning: ${w}`);
  if (model.warnings.length > 30)
    out.push(`- … ${model.warnings.length - 30} more warnings in the HTML report`);
  const lock = model.locks.at(-1);
  if (lock) out.push(`- Lock: ${lock.action} by ${lock.owner} at ${lock.at}`);
  return `${out.join('\n')}\n`;
}

function nodeRow(node: NodeModel): string {
  const change = (a: string | undefined, b: string | undefined) =>
    a === undefined ? '—' : b === undefined || a === b ? a : `${a} → ${b}`;
  const boot = (id: string | undefined) => (id ? id.slice(0, 8) : undefined);
  const stages = node.stages
    .map(
      (s) =>
        `${s.name}${s.outcome === 'succeeded' ? '' : ` (${s.outcome})`} ${s.durationMs === undefined ? '?' : formatDuration(s.durationMs)}`,
    )
    .join(', ');
  return `| ${node.name}${node.leader ? ' (leader)' : ''} | ${node.state} | ${change(node.availabilityBefore, node.availabilityAfter)} | ${change(node.engineBefore, node.engineAfter)} | ${change(boot(node.bootBefore), boot(node.bootAfter))} | ${stages || '—'} |`;
}
