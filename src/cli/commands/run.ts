import { hostname } from 'node:os';
import { defaultJournalDir, JournalWriter, newRunId } from '../../executor/journal.js';
import { readClusterFacts } from '../../executor/read-cluster-facts.js';
import { emptyProgress } from '../../executor/run-progress.js';
import { planRollout } from '../../plan/plan-rollout.js';
import { parseRunbookFile } from '../../runbook/parse.js';
import type { ConnectionFlags } from '../connection-options.js';
import type { CliIo } from '../io.js';
import { connectForRunbook, connectionFlagsForJournal } from './connect.js';
import { operatorName, resumeCommandFor, runSession, type SessionFlags } from './run-session.js';

export interface RunOptions extends ConnectionFlags, SessionFlags {
  journalDir?: string;
}

/** `drydock run`: plan against the live cluster, then execute exactly that plan. */
export async function runCommand(runbookPath: string, options: RunOptions, io: CliIo): Promise<number> {
  const runbook = await parseRunbookFile(runbookPath);
  const cluster = await connectForRunbook(runbook, options, io);
  try {
    const plan = planRollout(runbook, await readClusterFacts(await cluster.swarm()));
    const runId = newRunId();
    const journalDir = options.journalDir ?? defaultJournalDir(io.env);
    const header = {
      runId,
      runbookFile: runbook.file,
      runbookHash: runbook.hash,
      startedAt: new Date().toISOString(),
      connection: connectionFlagsForJournal(options),
      user: operatorName(),
      host: hostname(),
    };
    const journal = JournalWriter.create(journalDir, header);
    io.stderr(`drydock: run ${runId} (journal ${journal.path})\n`);
    const progress = emptyProgress({ type: 'journal-header', formatVersion: 1, ...header });
    return await runSession({
      runId,
      runbook,
      plan,
      progress,
      journal,
      cluster,
      flags: options,
      io,
      resumeCommand: resumeCommandFor(runId, options.journalDir),
    });
  } finally {
    await cluster.close();
  }
}
