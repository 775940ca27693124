import type { CheckName, CheckResult, CheckStatus, NodeCause } from '../checks/types.js';
import { escapeControl } from '../shared/escape-control.js';

const LABEL: Record<CheckStatus, string> = {
  pass: 'PASS',
  warn: 'WARN',
  fail: 'FAIL',
  skipped: 'SKIP',
  'not-applicable': 'N/A',
};
const ORDER: Record<CheckStatus, number> = { fail: 0, warn: 1, pass: 2, skipped: 3, 'not-applicable': 4 };

/** Which checks ran and why those: `check --runbook` runs another set than the run's pre-flight. */
export interface CheckSelection {
  names: CheckName[];
  /** Where the set came from, e.g. `runbook lab.yaml: checks.afterNode + checks.between`. */
  source: string;
  /** What the runbook's pre-flight would run, when there is a runbook. */
  preflight?: CheckName[];
}

export interface CheckReportOptions {
  durationMs?: number;
  selection?: CheckSelection;
  /** Nodes whose SSH or engine did not answer. */
  causes?: NodeCause[];
  /** Commands to run next, one per line. */
  hints?: string[];
}

/** The row that states a node's cause comes before everything else about that node. */
const isCauseRow = (r: CheckResult) =>
  r.status === 'fail' && r.cause !== undefined && r.cause.node === r.node;

/** Groups in output order: cluster-wide rows first, then each node in natural order (node2 < node10). */
function groupByNode(results: CheckResult[]): CheckResult[][] {
  const groups = new Map<string, CheckResult[]>();
  for (const r of results) {
    const key = r.node ?? '';
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b, undefined, { numeric: true })))
    .map(([, rows]) =>
      rows.sort(
        (a, b) =>
          Number(isCauseRow(b)) - Number(isCauseRow(a)) ||
          ORDER[a.status] - ORDER[b.status] ||
          a.check.localeCompare(b.check),
      ),
    );
}

function countStatuses(results: CheckResult[]): Record<CheckStatus, number> {
  const counts: Record<CheckStatus, number> = { pass: 0, warn: 0, fail: 0, skipped: 0, 'not-applicable': 0 };
  for (const r of results) counts[r.status]++;
  return counts;
}

/**
 * Results as an aligned text table (status, check, node, message) grouped by node, cluster-wide
 * rows first and a node's cause first in its group; then a summary line and what to run next.
 */
export function renderCheckTable(results: CheckResult[], options: CheckReportOptions = {}): string {
  const groups = groupByNode(results);
  const cells = (r: CheckResult) => [LABEL[r.status], r.check, r.node ?? '(cluster)', r.message];
  const header = ['STATUS', 'CHECK', 'NODE', 'MESSAGE'];
  const all = results.map(cells);
  const widths = [0, 1, 2].map((i) => Math.max(header[i]!.length, ...all.map((row) => row[i]!.length)));
  const line = (row: string[]) =>
    row
      .map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c))
      .join('  ')
      .trimEnd();
  // A failure or warning carries its evidence on the next line, under the message.
  const indent = ' '.repeat(widths.reduce((sum, w) => sum + w + 2, 0));
  const withEvidence = (r: CheckResult) => {
    const text = line(cells(r));
    if (r.status !== 'fail' && r.status !== 'warn') return text;
    const evidence = r.evidence === undefined ? '' : `\n${indent}evidence: ${formatEvidence(r.evidence)}`;
    return `${text}${evidence}${r.hint ? `\n${indent}fix: ${r.hint}` : ''}`;
  };
  const counts = countStatuses(results);
  const took = options.durationMs === undefined ? '' : ` in ${(options.durationMs / 1000).toFixed(1)}s`;
  const verdict = counts.fail > 0 ? 'UNHEALTHY' : 'HEALTHY';
  const skipped = counts.skipped > 0 ? `, ${counts.skipped} skipped` : '';
  const summary = `${verdict}: ${counts.pass} passed, ${counts.warn} warnings, ${counts.fail} failed${skipped}, ${counts['not-applicable']} not applicable${took}`;
  const top = options.selection ? `${describeSelection(options.selection)}\n\n` : '';
  const table = [line(header), groups.map((rows) => rows.map(withEvidence).join('\n')).join('\n\n')].join(
    '\n',
  );
  const hints = (options.hints ?? []).map((h) => `next: ${h}\n`).join('');
  return escapeControl(`${top}${table}\n\n${summary}\n${hints}`);
}

/** `checks (runbook x.yaml: …): a, b, c` and, with a runbook, what its pre-flight runs instead. */
function describeSelection(selection: CheckSelection): string {
  const lines = [`checks (${selection.source}): ${selection.names.join(', ')}`];
  if (selection.preflight) {
    lines.push(`the run's pre-flight runs instead: ${selection.preflight.join(', ')}`);
  }
  return lines.join('\n');
}

const EVIDENCE_MAX = 300;

/** Evidence as one line of JSON, cut short so a table row stays readable (--json has it all). */
function formatEvidence(evidence: unknown): string {
  const text = JSON.stringify(evidence) ?? String(evidence);
  return text.length > EVIDENCE_MAX ? `${text.slice(0, EVIDENCE_MAX - 1)}…` : text;
}

/** Results as JSON for scripts: the verdict, counts, the checks run, causes, hints, every result. */
export function renderCheckJson(results: CheckResult[], options: CheckReportOptions = {}): string {
  const counts = countStatuses(results);
  return `${JSON.stringify(
    {
      healthy: counts.fail === 0,
      counts,
      ...(options.durationMs === undefined ? {} : { durationMs: options.durationMs }),
      ...(options.selection ? { checks: options.selection } : {}),
      causes: options.causes ?? [],
      hints: options.hints ?? [],
      results: groupByNode(results).flat(),
    },
    null,
    2,
  )}\n`;
}
