import type { CheckResult, CheckStatus } from '../checks/types.js';
import { escapeControl } from '../shared/escape-control.js';

const LABEL: Record<CheckStatus, string> = {
  pass: 'PASS',
  warn: 'WARN',
  fail: 'FAIL',
  'not-applicable': 'N/A',
};
const ORDER: Record<CheckStatus, number> = { fail: 0, warn: 1, pass: 2, 'not-applicable': 3 };

/** Results as an aligned text table (status, check, node, message), failures first, plus a summary line. */
export function renderCheckTable(results: CheckResult[], options: { durationMs?: number } = {}): string {
  const sorted = [...results].sort(
    (a, b) =>
      ORDER[a.status] - ORDER[b.status] ||
      a.check.localeCompare(b.check) ||
      (a.node ?? '').localeCompare(b.node ?? ''),
  );
  const rows = sorted.map((r) => [LABEL[r.status], r.check, r.node ?? '(cluster)', r.message]);
  const header = ['STATUS', 'CHECK', 'NODE', 'MESSAGE'];
  const widths = [0, 1, 2].map((i) => Math.max(header[i]!.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c))
      .join('  ')
      .trimEnd();
  // A failure or warning carries its evidence on the next line, under the message.
  const indent = ' '.repeat(widths.reduce((sum, w) => sum + w + 2, 0));
  const withEvidence = (r: CheckResult, i: number) => {
    const text = line(rows[i]!);
    if ((r.status !== 'fail' && r.status !== 'warn') || r.evidence === undefined) return text;
    return `${text}\n${indent}evidence: ${formatEvidence(r.evidence)}`;
  };
  const counts = { pass: 0, warn: 0, fail: 0, 'not-applicable': 0 } as Record<CheckStatus, number>;
  for (const r of results) counts[r.status]++;
  const took = options.durationMs === undefined ? '' : ` in ${(options.durationMs / 1000).toFixed(1)}s`;
  const verdict = counts.fail > 0 ? 'UNHEALTHY' : 'HEALTHY';
  const summary = `${verdict}: ${counts.pass} passed, ${counts.warn} warnings, ${counts.fail} failed, ${counts['not-applicable']} not applicable${took}`;
  return escapeControl(`${[line(header), ...sorted.map(withEvidence)].join('\n')}\n\n${summary}\n`);
}

const EVIDENCE_MAX = 300;

/** Evidence as one line of JSON, cut short so a table row stays readable (--json has it all). */
function formatEvidence(evidence: unknown): string {
  const text = JSON.stringify(evidence) ?? String(evidence);
  return text.length > EVIDENCE_MAX ? `${text.slice(0, EVIDENCE_MAX - 1)}…` : text;
}

/** Results as JSON for scripts: the verdict, counts and every result with its evidence. */
export function renderCheckJson(results: CheckResult[], options: { durationMs?: number } = {}): string {
  const counts = { pass: 0, warn: 0, fail: 0, 'not-applicable': 0 } as Record<CheckStatus, number>;
  for (const r of results) counts[r.status]++;
  return `${JSON.stringify(
    {
      healthy: counts.fail === 0,
      counts,
      ...(options.durationMs === undefined ? {} : { durationMs: options.durationMs }),
      results,
    },
    null,
    2,
  )}\n`;
}
