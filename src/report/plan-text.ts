import { describeStage } from '../plan/describe-stage.js';
import { formatTrafficWarning } from '../plan/traffic-warnings.js';
import type { Plan, PlannedNode } from '../plan/types.js';
import { escapeControl } from '../shared/escape-control.js';
import { formatDuration } from '../shared/format-duration.js';

/** Human plan for a terminal: order and why, then every stage with its exact commands. */
export function renderPlanText(plan: Plan): string {
  const out: string[] = [];
  out.push(
    `drydock plan — ${plan.runbook.name} (${plan.runbook.file}, sha256 ${plan.runbook.hash.slice(0, 12)})`,
  );
  if (plan.runbook.description) out.push(`  ${plan.runbook.description.trim()}`);
  out.push(
    `cluster: ${plan.cluster.nodes} nodes, ${plan.cluster.managers} managers, leader ${plan.cluster.leader ?? 'unknown'} (from ${plan.cluster.source} ${plan.cluster.origin})`,
  );
  out.push(
    `rollout: ${plan.nodes.length} nodes in ${plan.batches.length} batches; workers ${plan.rollout.concurrency} at a time, managers one at a time, leader last` +
      (plan.rollout.soakBetweenNodesMs
        ? `; soak ${formatDuration(plan.rollout.soakBetweenNodesMs)} between batches`
        : ''),
  );
  if (plan.rollout.windowStart || plan.rollout.windowEnd) {
    out.push(`window: ${plan.rollout.windowStart ?? '…'} → ${plan.rollout.windowEnd ?? '…'}`);
  }
  out.push(`checks: pre-flight [${plan.checks.preflight.join(', ')}]`);
  out.push(`        between stages [${plan.checks.between.join(', ')}]`);
  out.push(`        after each node [${plan.checks.afterNode.join(', ')}]`);
  if (plan.variables.length > 0) {
    out.push('variables:');
    for (const v of plan.variables)
      out.push(`  ${v.name} = ${v.value}${v.secret ? ' (secret)' : ''}  [${v.source}]`);
  }
  for (const hook of plan.notify ?? []) {
    out.push(
      `notify: ${hook.format} webhook at ${hook.host} on ${hook.events.join(', ')}${hook.required ? ' (required: the run is refused if run-start cannot be delivered)' : ''}`,
    );
  }
  for (const w of plan.warnings) out.push(`warning: ${w}`);
  out.push(...describeTraffic(plan));
  if (plan.continueFrom) out.push(describeContinueFrom(plan).trimEnd());
  out.push('');
  out.push('order:');
  for (const node of plan.nodes) {
    const skip = node.skip ? ` — skipped: ${node.skip.reason}` : '';
    out.push(`  ${String(node.position).padStart(2)}. ${node.name.padEnd(16)} ${node.reason}${skip}`);
  }
  for (const s of plan.skipped) out.push(`   -  ${s.name.padEnd(16)} skipped: ${s.reason}`);
  for (const node of plan.nodes) {
    out.push('');
    out.push(...renderNode(node, plan.nodes.length));
  }
  out.push('');
  out.push('Nothing was changed: this is a preview. `drydock run` executes exactly this plan.');
  return escapeControl(`${out.join('\n')}\n`);
}

/**
 * The traffic warnings, when the facts could say where tasks run (a live cluster): each with
 * what drydock does about it. Said at the start of `run` too, as warning events.
 */
export function describeTraffic(plan: Plan): string[] {
  if (!plan.traffic) return [];
  if (plan.traffic.length === 0) return ['traffic: nothing to warn about for the services on drained nodes'];
  return [
    'traffic (services on drained nodes):',
    ...plan.traffic.map((w) => `  warning: ${formatTrafficWarning(w)}`),
  ];
}

/** `--continue-from`: which nodes are skipped and why, said at the start of plan and run. */
export function describeContinueFrom(plan: Plan): string {
  if (!plan.continueFrom) return '';
  const { runId, notes } = plan.continueFrom;
  const skipped = plan.nodes.filter((n) => n.skip);
  const lines = [
    skipped.length
      ? `continue-from ${runId}: skipping ${skipped.map((n) => n.name).join(', ')}`
      : `continue-from ${runId}: it finished no node of this plan: nothing skipped`,
    ...skipped.map((n) => `  ${n.name}: ${n.skip?.reason}`),
    ...notes.map((note) => `  note: ${note}`),
  ];
  return escapeControl(`${lines.join('\n')}\n`);
}

function renderNode(node: PlannedNode, total: number): string[] {
  const lines = [
    `[${node.position}/${total}] ${node.name} (${node.role}${node.leader ? ', leader' : ''}, ${node.address}, ${node.availabilityBefore})`,
  ];
  for (const note of node.notes) lines.push(`    note: ${note}`);
  if (node.skip) lines.push(`    skipped whole (not drained, no stage runs): ${node.skip.reason}`);
  for (const stage of node.stages) {
    lines.push(
      `  ${stage.index + 1}. ${stage.name} (${stage.kind})${stage.description ? ` — ${stage.description}` : ''}`,
    );
    for (const line of describeStage(stage)) lines.push(`       ${line}`);
    for (const c of stage.conditions) lines.push(`       ? ${c}`);
    if (stage.checksAfter.length > 0) lines.push(`       then check: ${stage.checksAfter.join(', ')}`);
  }
  return lines;
}
