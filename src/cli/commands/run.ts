import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { defaultJournalDir, JournalWriter, newRunId, prepareJournalDir } from '../../executor/journal.js';
import { readClusterFacts } from '../../executor/read-cluster-facts.js';
import { emptyProgress } from '../../executor/run-progress.js';
import { readPreviousRun } from '../../executor/run-summary.js';
import { planRollout } from '../../plan/plan-rollout.js';
import { describeContinueFrom } from '../../report/plan-text.js';
import { parseRunbookFile } from '../../runbook/parse.js';
import { applyConnectionFlags, type ConnectionFlags, describeConnectionUsed } from '../connection-options.js';
import type { CliIo } from '../io.js';
import { connectionFlagsForJournal, connectWith } from './connect.js';
import { operatorName, runSession, type SessionFlags, validateSessionFlags } from './run-session.js';

export interface RunOptions extends ConnectionFlags, SessionFlags {
  journalDir?: string;
  /** Skip the nodes this earlier run finished. */
  continueFrom?: string;
}

/** `drydock run`: plan against the live cluster, then execute exactly that plan. */
export async function runCommand(runbookPath: string, options: RunOptions, io: CliIo): Promise<number> {
  // Flags, runbook and journal directory first: nothing is connected to before they are sound.
  const { lockTtlMs, forcePreflight } = validateSessionFlags(options);
  const runbook = await parseRunbookFile(runbookPath);
  const journalDir = prepareJournalDir(options.journalDir ?? defaultJournalDir(io.env));
  // An unknown run id is refused before anything is connected to.
  const previous = options.continueFrom ? await readPreviousRun(journalDir, options.continueFrom) : undefined;
  const cluster = await connectWith(
    runbook.connection,
    options,
    io,
    {
      command: 'run',
      hint: 'or set connection.docker.managers in the runbook (e.g. managers: [10.0.0.11])',
    },
    runbook.file,
  );
  try {
    const plan = planRollout(runbook, await readClusterFacts(await cluster.swarm()), {
      now: Date.now(),
      ...(previous ? { continueFrom: { previous, runbookFile: resolve(runbook.file) } } : {}),
    });
    const runId = newRunId();
    const header = {
      runId,
      // Absolute: `resume` may be typed in another directory.
      runbookFile: resolve(runbook.file),
      runbookHash: runbook.hash,
      ...(runbook.hashOutsideWindow ? { runbookHashOutsideWindow: runbook.hashOutsideWindow } : {}),
      startedAt: new Date().toISOString(),
      connection: connectionFlagsForJournal(options),
      // What it reached, flags and runbook together: `unlock --run` and `runs` name it.
      cluster: describeConnectionUsed(applyConnectionFlags(runbook.connection, options, io.env)),
      user: operatorName(),
      host: hostname(),
    };
    const journal = JournalWriter.create(journalDir, header);
    io.stderr(`drydock: run ${runId} (journal ${journal.path})\n`);
    if (plan.continueFrom) io.stderr(describeContinueFrom(plan));
    const progress = emptyProgress({ type: 'journal-header', formatVersion: 1, ...header });
    return await runSession({
      runId,
      runbook,
      plan,
      progress,
      journal,
      cluster,
      flags: { ...options, ...(forcePreflight !== undefined ? { forcePreflight } : {}) },
      io,
      journalDir: options.journalDir,
      lockTtlMs,
    });
  } finally {
    await cluster.close();
  }
}
