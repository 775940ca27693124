import { listJournals } from '../../executor/journal.js';
import { type RunProgress, replayJournalFile } from '../../executor/run-progress.js';

/**
 * Past runs, read from the journal directory: which one holds the lock, which one drained a
 * node. Journals are replayed one at a time (each streamed), newest first, so memory stays
 * bounded; unreadable journals are skipped here (`drydock runs` reports them).
 */
async function* newestFirst(dir: string): AsyncGenerator<RunProgress> {
  for (const runId of listJournals(dir).reverse()) {
    try {
      yield await replayJournalFile(dir, runId);
    } catch {
      // Reported by `drydock runs`; a broken journal must not hide the others.
    }
  }
}

/** The newest run whose journal says it still holds the cluster lock (kept after a stop). */
export async function findLatestLockHolder(dir: string): Promise<RunProgress | undefined> {
  for await (const run of newestFirst(dir)) {
    if (run.lockOwner !== undefined && run.outcome !== 'succeeded') return run;
  }
  return undefined;
}

/** The newest run that drained `node` and did not re-activate it. */
export async function findDrainingRun(dir: string, node: string): Promise<RunProgress | undefined> {
  for await (const run of newestFirst(dir)) {
    if (run.drainedByRun.has(node)) return run;
  }
  return undefined;
}

/** "run 2026…-k3f9 (started 2026-12-02T01:00:00Z by ops@laptop, halted at node3/patch)". */
export function describeRun(run: RunProgress): string {
  const { header } = run;
  const state =
    run.outcome === 'running'
      ? 'killed or still running'
      : run.outcome === 'interrupted' && run.stopReason === 'window-end'
        ? 'stopped at the window end'
        : run.outcome;
  const where = run.stoppedAt ? ` at ${run.stoppedAt.node}/${run.stoppedAt.stage}` : '';
  return `run ${header.runId} (started ${header.startedAt} by ${header.user}, ${state}${where})`;
}
