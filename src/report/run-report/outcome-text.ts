import type { CheckResult } from '../../checks/types.js';
import { formatDuration } from '../../shared/format-duration.js';
import type { ReportOutcome, RunModel } from './model.js';

/** Words shared by the HTML and Markdown reports, so both say the same thing. */
export const OUTCOME_TITLE: Record<ReportOutcome, string> = {
  succeeded: 'Succeeded',
  halted: 'Halted',
  interrupted: 'Interrupted',
  refused: 'Refused',
  unfinished: 'Unfinished (journal ends without a result)',
};

/** One sentence: what happened, where. */
export function describeOutcome(model: RunModel): string {
  const done = model.nodes.filter((node) => node.state === 'done').length;
  const nodes = `${done}/${model.nodes.length} nodes done`;
  switch (model.outcome) {
    case 'succeeded':
      return `All ${model.nodes.length} nodes maintained in ${formatDuration(model.durationMs)}.`;
    case 'halted':
      return model.halt
        ? `Halted on ${model.halt.node} at stage ${model.halt.stage}: ${model.halt.reason} (${nodes}).`
        : `Halted (${nodes}).`;
    case 'interrupted': {
      if (model.interrupted?.windowEnd)
        return `Stopped at the window's end: ${model.interrupted.windowEnd} (${nodes}).`;
      const where = model.interrupted?.node
        ? ` on ${model.interrupted.node}${model.interrupted.stage ? ` at stage ${model.interrupted.stage}` : ''}`
        : '';
      return `Interrupted by the operator${where} (${nodes}).`;
    }
    case 'refused':
      return `Refused before touching any node: ${refusalReason(model)}.`;
    case 'unfinished': {
      const t = model.truncated;
      const open = t?.openStage
        ? `; stage ${t.openStage.stage} on ${t.openStage.node} had started and has no end`
        : '';
      return `The journal ends at entry ${t?.seq ?? 0} (${t?.at ?? model.endedAt}) after ${t?.lastEvent ?? 'its header'}${open}. The process was probably killed (${nodes}).`;
    }
  }
}

function refusalReason(model: RunModel): string {
  const failed = model.preflight?.results.filter((r) => r.status === 'fail') ?? [];
  if (failed.length > 0)
    return `pre-flight failed (${failed.map((r) => `${r.check}: ${r.message}`).join('; ')})`;
  const notify = model.warnings.find((w) => w.startsWith('notify:'));
  if (notify) return notify;
  return 'see the warnings below';
}

export function describeMode(model: RunModel): string {
  const first = model.sessions[0];
  if (!first) return 'never started';
  const resumes = model.sessions.filter((s) => s.resumed);
  return `${first.mode}${resumes.length ? `, resumed ${resumes.length}× (last ${resumes.at(-1)?.mode})` : ''}`;
}

export function describeCheck(r: CheckResult): string {
  return `${r.check}${r.node ? ` on ${r.node}` : ''}: ${r.status} — ${r.message}`;
}

/** Evidence as compact JSON, capped so one check cannot flood a report. */
export function formatEvidence(evidence: unknown, cap = 1500): string {
  if (evidence === undefined) return '';
  const text = JSON.stringify(evidence, null, 1) ?? '';
  return text.length > cap ? `${text.slice(0, cap)}…` : text;
}

/** `report.html` sits next to the journal `RUN.jsonl`. */
export function reportPaths(journalPath: string): { html: string; markdown: string } {
  const base = journalPath.replace(/\.jsonl$/, '');
  return { html: `${base}.html`, markdown: `${base}.md` };
}
