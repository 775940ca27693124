import { resolve } from 'node:path';
import { JournalError } from '../../errors.js';
import { defaultJournalDir, JournalWriter } from '../../executor/journal.js';
import { replayJournalFile } from '../../executor/run-progress.js';
import { parseRunbookFile } from '../../runbook/parse.js';
import type { ConnectionFlags } from '../connection-options.js';
import type { CliIo } from '../io.js';
import { connectWith } from './connect.js';
import { runSession, type SessionFlags, validateSessionFlags } from './run-session.js';

export interface ResumeOptions extends ConnectionFlags, Omit<SessionFlags, 'force'> {
  journalDir?: string;
  force?: boolean;
}

/**
 * `drydock resume RUN_ID`: continue from the failed or interrupted stage (re-running it),
 * skipping what the journal says is done. The plan is the journaled one, so the order holds.
 */
export async function resumeCommand(runId: string, options: ResumeOptions, io: CliIo): Promise<number> {
  const { force, ...sessionFlags } = options;
  const { lockTtlMs } = validateSessionFlags(sessionFlags);
  const journalDir = options.journalDir ?? defaultJournalDir(io.env);
  const progress = await replayJournalFile(journalDir, runId);
  const { header, plan } = progress;
  if (!plan)
    throw new JournalError(`run ${runId} never got past its start: nothing to resume; start a new run`);
  if (progress.outcome === 'succeeded') {
    throw new JournalError(`run ${runId} already finished successfully: nothing to resume`);
  }
  // Journals record the runbook's absolute path; older ones were relative to where the run began.
  const runbook = await parseRunbookFile(resolve(header.runbookFile));
  if (runbook.hash !== header.runbookHash && !force) {
    throw new JournalError(`the runbook ${header.runbookFile} changed since run ${runId} started`, {
      hint: 'restore it, or resume anyway with --force (the plan stays the journaled one)',
    });
  }
  const flags: ConnectionFlags = { ...(header.connection as ConnectionFlags), ...definedFlags(options) };
  const cluster = await connectWith(
    runbook.connection,
    flags,
    io,
    {
      command: 'resume',
      hint: 'or set connection.docker.managers in the runbook (e.g. managers: [10.0.0.11])',
    },
    runbook.file,
  );
  try {
    const { journal, torn } = await JournalWriter.reopen(journalDir, runId);
    if (torn) {
      io.stderr(
        `drydock: the journal's last line was torn by a crash (${torn.bytes} bytes): kept in ${torn.keptIn}; the run goes on on a fresh line\n`,
      );
    }
    if (progress.stoppedAt) {
      io.stderr(
        `drydock: resuming run ${runId} at ${progress.stoppedAt.node} / ${progress.stoppedAt.stage} (${progress.stoppedAt.reason})\n`,
      );
    }
    return await runSession({
      runId,
      runbook,
      plan,
      progress,
      journal,
      cluster,
      flags: sessionFlags,
      io,
      journalDir: options.journalDir,
      lockTtlMs,
    });
  } finally {
    await cluster.close();
  }
}

function definedFlags(options: ConnectionFlags): ConnectionFlags {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as ConnectionFlags;
}
