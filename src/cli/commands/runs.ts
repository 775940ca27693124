import { existsSync } from 'node:fs';
import { defaultJournalDir, journalPath, listJournals } from '../../executor/journal.js';
import { type RunSummary, summarizeRun } from '../../executor/run-summary.js';
import { reportPaths } from '../../report/run-report/outcome-text.js';
import { describeRunState, formatRunDetail, formatRunRow } from '../../report/runs-text.js';
import { escapeControl } from '../../shared/escape-control.js';
import { describeClusterAddress } from '../connection-options.js';
import type { CliIo } from '../io.js';
import { resumeCommandFor } from './run-session.js';

interface RunRow {
  runId: string;
  runbook: string;
  startedAt: string;
  durationMs: number;
  /** user@host that started the run. */
  by: string;
  outcome: string;
  /** Where it really stands, in words: `halted at node2 / upgrade (node2 drained)`. */
  state: string;
  stoppedAt: string;
  drained: string[];
  nodesDone: number;
  nodes: number;
  /** The HTML report next to the journal, or how to rebuild it. */
  report: string;
  /** Which cluster it reached (manager address or Docker host): `unlock --run` connects the same way. */
  cluster: string;
}

/**
 * `drydock runs`: every journal with its real state, start, duration and who ran it;
 * `drydock runs RUN_ID`: one run in detail (nodes, halt, resume command, report).
 */
export async function runsCommand(
  options: { journalDir?: string; json?: boolean },
  io: CliIo,
  runId?: string,
): Promise<number> {
  const dir = options.journalDir ?? defaultJournalDir(io.env);
  if (runId) return showRun(dir, runId, options, io);
  const rows: { row: RunRow; text: string }[] = [];
  // One journal at a time, each streamed: memory stays bounded whatever their size.
  for (const id of listJournals(dir)) rows.push(await describeRun(dir, id));
  if (options.json) {
    io.stdout(
      `${JSON.stringify(
        rows.map((r) => r.row),
        null,
        2,
      )}\n`,
    );
    return 0;
  }
  if (rows.length === 0) {
    io.stdout(`no runs in ${dir}\n`);
    return 0;
  }
  for (const r of rows) io.stdout(`${escapeControl(r.text)}\n`);
  return 0;
}

async function showRun(
  dir: string,
  runId: string,
  options: { journalDir?: string; json?: boolean },
  io: CliIo,
): Promise<number> {
  // An unknown or unreadable run is a JournalError: the CLI says so with a hint.
  const run = await summarizeRun(dir, runId);
  const report = findReport(dir, runId);
  const resumeCommand =
    run.outcome === 'succeeded' || run.outcome === 'unknown'
      ? undefined
      : resumeCommandFor(runId, options.journalDir);
  if (options.json) {
    const detail = { ...run, state: describeRunState(run), report, resumeCommand: resumeCommand ?? null };
    io.stdout(`${JSON.stringify(detail, null, 2)}\n`);
    return 0;
  }
  io.stdout(escapeControl(formatRunDetail(run, { report, resumeCommand })));
  return 0;
}

function findReport(dir: string, runId: string): string {
  // The HTML report sits next to the journal; without it, `drydock report` rebuilds it.
  const { html } = reportPaths(journalPath(dir, runId));
  return existsSync(html) ? html : `(drydock report ${runId})`;
}

async function describeRun(dir: string, runId: string): Promise<{ row: RunRow; text: string }> {
  const report = findReport(dir, runId);
  try {
    const run = await summarizeRun(dir, runId);
    const cluster = describeClusterAddress(run.cluster);
    return { row: toRow(run, report, cluster), text: `${formatRunRow(run, report)}  via ${cluster}` };
  } catch (error) {
    const outcome = `unreadable: ${(error as Error).message}`;
    const row: RunRow = {
      runId,
      runbook: '?',
      startedAt: '?',
      durationMs: 0,
      by: '?',
      outcome,
      state: outcome,
      stoppedAt: '',
      drained: [],
      nodesDone: 0,
      nodes: 0,
      report,
      cluster: '?',
    };
    return { row, text: `${runId}  ${outcome}  ${report}` };
  }
}

function toRow(run: RunSummary, report: string, cluster: string): RunRow {
  const stop = run.stoppedAt;
  return {
    runId: run.runId,
    runbook: run.runbook.file,
    startedAt: run.startedAt,
    durationMs: run.durationMs,
    by: run.by,
    outcome: run.outcome === 'running' ? 'killed (resumable)' : run.outcome,
    state: describeRunState(run),
    stoppedAt: stop ? `${stop.node}/${stop.stage}` : '',
    drained: run.drained,
    nodesDone: run.nodesDone,
    nodes: run.nodes.length,
    report,
    cluster,
  };
}
