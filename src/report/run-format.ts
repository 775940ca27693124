import type { CheckResult } from '../checks/types.js';
import type { CommandResult, HaltReport, NodeSummary, RunEvent } from '../executor/events.js';
import { formatDuration } from '../shared/format-duration.js';

/** The minimum a reporter needs from an output stream (process.stdout, a PassThrough, a test sink). */
export interface TextSink {
  write(chunk: string): unknown;
}

/** How a command ended, in words: `exit 0`, `exit 100`, `timed out`, `killed by SIGKILL`, `connection lost`. */
export function describeExit(result: CommandResult): string {
  if (result.timedOut) return 'timed out';
  if (result.connectionLost) return 'connection lost';
  if (result.exitCode !== null) return `exit ${result.exitCode}`;
  if (result.signal) return `killed by ${result.signal}`;
  return 'no exit status';
}

/** One line per check: `PASS node-ready node2: ready (120ms)`. */
/** A heartbeat line: `waiting for drain of node2: … (15s of 45s)`; checks say their own elapsed time. */
export function describeWaiting(event: Extract<RunEvent, { type: 'waiting' }>): string {
  if (event.timeoutMs === undefined) return event.missing;
  const waited = formatDuration(Math.round(event.waitedMs / 1000) * 1000);
  return `${event.missing} (${waited} of ${formatDuration(event.timeoutMs)})`;
}

/** `paused: replacements start elsewhere first` / `scaled up before the drain: web 2→3`. */
export function describeMoveEvent(event: Extract<RunEvent, { type: 'paused' | 'replicas' }>): string {
  if (event.type === 'paused') return 'paused (no new tasks here): replacements start elsewhere first';
  const counts = event.services.map((s) =>
    event.action === 'scaled-up' ? `${s.name} ${s.from}→${s.to}` : `${s.name} ${s.to}→${s.from}`,
  );
  return event.action === 'scaled-up'
    ? `scaled up to start replacements before the drain: ${counts.join(', ')}`
    : `replica counts set back: ${counts.join(', ')}`;
}

export function describeCheck(result: CheckResult): string {
  const subject = result.node ? ` ${result.node}:` : '';
  return `${result.status.toUpperCase()} ${result.check}${subject} ${result.message} (${formatDuration(result.durationMs)})`;
}

/** Evidence as one compact line, cut so a huge blob cannot flood a terminal. */
export function formatEvidence(evidence: unknown, max = 300): string | undefined {
  if (evidence === undefined) return undefined;
  const text = typeof evidence === 'string' ? evidence : safeStringify(evidence);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** JSON.stringify that never throws: bigint as string, errors as their message, cycles cut. */
export function safeStringify(value: unknown): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'bigint') return v.toString();
    if (v instanceof Error) return { name: v.name, message: v.message };
    if (typeof v === 'object' && v !== null) {
      if (seen.has(v)) return '[circular]';
      seen.add(v);
    }
    return v;
  });
}

/** "node2 › patch", or just "pre-flight" when the run stopped before any node. */
export function formatWhere(node: string | null | undefined, stage: string | null | undefined): string {
  return [node, stage].filter((part) => part).join(' › ');
}

/** Lines of the halt block shared by the plain and the interactive reporters (no colour, no indent). */
export function formatHaltReport(report: HaltReport): string[] {
  const lines = [
    `HALT  run ${report.runId} stopped at ${formatWhere(report.node, report.stage)}`,
    `reason: ${report.reason}`,
  ];
  const command = report.command;
  if (command) {
    lines.push(`command: ${command.command}`);
    lines.push(`result: ${describeExit(command)} after ${formatDuration(command.durationMs)}`);
  }
  if (report.lastOutput.length > 0) {
    lines.push('last output:');
    for (const line of report.lastOutput) lines.push(`  | ${line}`);
  }
  if (report.failedChecks.length > 0) {
    lines.push('failed checks:');
    for (const check of report.failedChecks) {
      lines.push(`  ${describeCheck(check)}`);
      const evidence = formatEvidence(check.evidence);
      if (evidence) lines.push(`    evidence: ${evidence}`);
      if (check.hint) lines.push(`    fix: ${check.hint}`);
    }
  }
  lines.push('nodes:');
  lines.push(
    ...formatTable(
      ['NODE', 'AVAILABILITY', 'STATE', 'PROGRESS'],
      report.nodes.map((n) => [n.name, n.availability, n.state, n.progress]),
    ).map((row) => `  ${row}`),
  );
  lines.push(`resume: ${report.resumeCommand}`);
  return lines;
}

/** Left-aligned columns separated by two spaces; trailing spaces trimmed. */
export function formatTable(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const render = (cells: string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [render(header), ...rows.map(render)];
}

/** `nodes 2 done, 1 halted, 0 unfinished, 0 not started of 3`: the same words in every reporter. */
export function formatNodeSummary(summary: NodeSummary): string {
  return `nodes ${summary.done} done, ${summary.halted} halted, ${summary.unfinished} unfinished, ${summary.notStarted} not started of ${summary.total}`;
}
