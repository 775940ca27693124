import { describeStage } from '../plan/describe-stage.js';
import type { Plan } from '../plan/types.js';
import { escapeControl } from '../shared/escape-control.js';
import { formatDuration } from '../shared/format-duration.js';

/** Markdown plan, for a change ticket or a pull request. */
export function renderPlanMarkdown(plan: Plan): string {
  const out: string[] = [];
  out.push(`# Maintenance plan: ${plan.runbook.name}`, '');
  if (plan.runbook.description) out.push(plan.runbook.description.trim(), '');
  out.push(`- Runbook: \`${plan.runbook.file}\` (sha256 \`${plan.runbook.hash.slice(0, 12)}\`)`);
  out.push(
    `- Cluster: ${plan.cluster.nodes} nodes, ${plan.cluster.managers} managers, leader \`${plan.cluster.leader ?? 'unknown'}\` (${plan.cluster.source}: \`${plan.cluster.origin}\`)`,
  );
  out.push(
    `- Rollout: workers ${plan.rollout.concurrency} at a time, managers one at a time, leader last` +
      (plan.rollout.soakBetweenNodesMs ? `, soak ${formatDuration(plan.rollout.soakBetweenNodesMs)}` : ''),
  );
  if (plan.rollout.windowStart || plan.rollout.windowEnd) {
    out.push(`- Window: ${plan.rollout.windowStart ?? '…'} → ${plan.rollout.windowEnd ?? '…'}`);
  }
  out.push(`- Pre-flight checks: ${plan.checks.preflight.map((c) => `\`${c}\``).join(', ') || 'none'}`);
  out.push(`- Checks between stages: ${plan.checks.between.map((c) => `\`${c}\``).join(', ') || 'none'}`);
  out.push(`- Checks after each node: ${plan.checks.afterNode.map((c) => `\`${c}\``).join(', ') || 'none'}`);
  for (const hook of plan.notify ?? []) {
    out.push(
      `- Notify: ${hook.format} webhook at ${hook.host} on ${hook.events.join(', ')}${hook.required ? ' (required)' : ''}`,
    );
  }
  for (const w of plan.warnings) out.push(`- **Warning:** ${w}`);
  if (plan.continueFrom) {
    const { runId, nodes, notes } = plan.continueFrom;
    out.push(
      `- Continue from run \`${runId}\`: ${nodes.length ? `skips ${nodes.map((n) => `\`${n}\``).join(', ')} (finished by it)` : 'it finished no node'}`,
    );
    for (const note of notes) out.push(`  - ${note}`);
  }
  if (plan.traffic) {
    out.push('', '## Traffic', '');
    if (plan.traffic.length === 0) out.push('Nothing to warn about for the services on drained nodes.');
    for (const w of plan.traffic) out.push(`- **${w.problem}**: ${w.action}`);
  }
  if (plan.variables.length > 0) {
    out.push('', '## Variables', '', '| Name | Value | Source |', '|---|---|---|');
    for (const v of plan.variables) {
      out.push(
        `| \`${v.name}\` | \`${v.value.replaceAll('|', '\\|')}\`${v.secret ? ' (secret)' : ''} | ${v.source} |`,
      );
    }
  }
  out.push('', '## Order', '', '| # | Node | Role | Batch | Why |', '|---|---|---|---|---|');
  for (const n of plan.nodes) {
    out.push(
      `| ${n.position} | \`${n.name}\` | ${n.role}${n.leader ? ' (leader)' : ''} | ${n.batch} | ${n.reason}${n.skip ? `; **skipped:** ${n.skip.reason}` : ''} |`,
    );
  }
  for (const s of plan.skipped) out.push(`| – | \`${s.name}\` | | | skipped: ${s.reason} |`);
  for (const n of plan.nodes) {
    out.push('', `## ${n.position}. ${n.name}`, '');
    for (const note of n.notes) out.push(`> ${note}`, '');
    if (n.skip) out.push(`> **Skipped whole** (not drained, no stage runs): ${n.skip.reason}`, '');
    for (const s of n.stages) {
      out.push(`${s.index + 1}. **${s.name}** (${s.kind})`);
      for (const line of describeStage(s)) {
        out.push(line.startsWith('$ ') ? `   - \`${line.slice(2)}\`` : `   - ${line}`);
      }
      for (const c of s.conditions) out.push(`   - _${c}_`);
      if (s.checksAfter.length) out.push(`   - then check: ${s.checksAfter.join(', ')}`);
    }
  }
  return escapeControl(`${out.join('\n')}\n`);
}
