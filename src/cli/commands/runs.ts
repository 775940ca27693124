import { existsSync } from 'node:fs';
import { defaultJournalDir, journalPath, listJournals, readJournal } from '../../executor/journal.js';
import { replayJournal } from '../../executor/run-progress.js';
import { reportPaths } from '../../report/run-report/outcome-text.js';
import type { CliIo } from '../io.js';

/** `drydock runs`: every journal with its outcome and where it stopped. */
export async function runsCommand(
  options: { journalDir?: string; json?: boolean },
  io: CliIo,
): Promise<number> {
  const dir = options.journalDir ?? defaultJournalDir(io.env);
  const rows = listJournals(dir).map((runId) => {
    // The HTML report sits next to the journal; without it, `drydock report` rebuilds it.
    const { html } = reportPaths(journalPath(dir, runId));
    const report = existsSync(html) ? html : `(drydock report ${runId})`;
    try {
      const p = replayJournal(readJournal(dir, runId));
      return {
        runId,
        runbook: p.header.runbookFile,
        startedAt: p.header.startedAt,
        outcome: p.outcome === 'running' ? 'killed (resumable)' : p.outcome,
        stoppedAt: p.stoppedAt ? `${p.stoppedAt.node}/${p.stoppedAt.stage}` : '',
        nodesDone: p.doneNodes.size,
        nodes: p.plan?.nodes.length ?? 0,
        report,
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
      };
    }
  });
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
      `${r.runId}  ${r.outcome.padEnd(18)} ${r.nodesDone}/${r.nodes} nodes  ${r.stoppedAt.padEnd(20)} ${r.runbook}  ${r.report}\n`,
    );
  }
  return 0;
}
