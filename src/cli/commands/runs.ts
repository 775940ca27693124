import { existsSync } from 'node:fs';
import { defaultJournalDir, journalPath, listJournals } from '../../executor/journal.js';
import { replayJournalFile } from '../../executor/run-progress.js';
import { reportPaths } from '../../report/run-report/outcome-text.js';
import { escapeControl } from '../../shared/escape-control.js';
import { describeClusterAddress } from '../connection-options.js';
import type { CliIo } from '../io.js';

interface RunRow {
  runId: string;
  runbook: string;
  startedAt: string;
  outcome: string;
  stoppedAt: string;
  nodesDone: number;
  nodes: number;
  /** The HTML report next to the journal, or how to rebuild it. */
  report: string;
  /** Which cluster it reached (manager address or Docker host): `unlock --run` connects the same way. */
  cluster: string;
}

/** `drydock runs`: every journal with its outcome and where it stopped. */
export async function runsCommand(
  options: { journalDir?: string; json?: boolean },
  io: CliIo,
): Promise<number> {
  const dir = options.journalDir ?? defaultJournalDir(io.env);
  const rows: RunRow[] = [];
  // One journal at a time, each streamed: memory stays bounded whatever their size.
  for (const runId of listJournals(dir)) rows.push(await describeRun(dir, runId));
  if (options.json) {
    io.stdout(`${JSON.stringify(rows, null, 2)}\n`);
    return 0;
  }
  if (rows.length === 0) {
    io.stdout(`no runs in ${dir}\n`);
    return 0;
  }
  for (const r of rows) {
    io.stdout(
      escapeControl(
        `${r.runId}  ${r.outcome.padEnd(18)} ${r.nodesDone}/${r.nodes} nodes  ${r.stoppedAt.padEnd(20)} ${r.runbook}  ${r.report}  via ${r.cluster}`,
      ) + '\n',
    );
  }
  return 0;
}

async function describeRun(dir: string, runId: string): Promise<RunRow> {
  // The HTML report sits next to the journal; without it, `drydock report` rebuilds it.
  const { html } = reportPaths(journalPath(dir, runId));
  const report = existsSync(html) ? html : `(drydock report ${runId})`;
  try {
    const p = await replayJournalFile(dir, runId);
    return {
      runId,
      runbook: p.header.runbookFile,
      startedAt: p.header.startedAt,
      outcome: p.outcome === 'running' ? 'killed (resumable)' : p.outcome,
      stoppedAt: p.stoppedAt ? `${p.stoppedAt.node}/${p.stoppedAt.stage}` : '',
      nodesDone: p.doneNodes.size,
      nodes: p.plan?.nodes.length ?? 0,
      report,
      cluster: describeClusterAddress(p.header.cluster),
    };
  } catch (error) {
    return {
      runId,
      runbook: '?',
      startedAt: '?',
      outcome: `unreadable: ${(error as Error).message}`,
      stoppedAt: '',
      nodesDone: 0,
      nodes: 0,
      report,
      cluster: '?',
    };
  }
}
