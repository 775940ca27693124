import { resolve } from 'node:path';
import { JournalError, SafetyRefusal, UsageError } from '../../errors.js';
import { defaultJournalDir, JournalWriter } from '../../executor/journal.js';
import { describeClosedWindow } from '../../executor/rollout.js';
import { type RunProgress, replayJournalFile } from '../../executor/run-progress.js';
import type { Plan } from '../../plan/types.js';
import { parseRunbookFile } from '../../runbook/parse.js';
import type { Runbook } from '../../runbook/types.js';
import type { ConnectionFlags } from '../connection-options.js';
import type { CliIo } from '../io.js';
import { connectWith } from './connect.js';
import { runSession, type SessionFlags, validateSessionFlags } from './run-session.js';

export interface ResumeOptions extends ConnectionFlags, Omit<SessionFlags, 'force'> {
  journalDir?: string;
  /** Resume although the runbook changed since the run started (outside its window). */
  acceptRunbookChange?: boolean;
  /** The older spelling of `--accept-runbook-change`; with a value it is ambiguous. */
  force?: boolean | string;
  /** `START/END`: the window to resume in, instead of the runbook's. */
  window?: string;
  /** Drain again a node this run drained that is no longer drained (unattended consent). */
  redrain?: boolean;
}

/**
 * `drydock resume RUN_ID`: continue from the failed or interrupted stage (re-running it),
 * skipping what the journal says is done. The plan is the journaled one, so the order holds;
 * only the window is taken fresh (the runbook as it is now, or `--window`), so a rollout
 * stopped at one window's end continues in the next.
 */
export async function resumeCommand(runId: string, options: ResumeOptions, io: CliIo): Promise<number> {
  const { force, acceptRunbookChange, window, redrain, ...sessionFlags } = options;
  const acceptChange = acceptRunbookChange === true || resolveLegacyForce(force);
  const { lockTtlMs, forcePreflight } = validateSessionFlags(sessionFlags);
  const windowOverride = window === undefined ? undefined : parseWindowFlag(window);
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
  refuseChangedRunbook(runbook, progress, acceptChange);
  applyWindow(plan, windowOverride ?? runbookWindow(runbook), windowOverride ? '--window' : 'the runbook');
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
      flags: { ...sessionFlags, ...(forcePreflight !== undefined ? { forcePreflight } : {}) },
      io,
      journalDir: options.journalDir,
      lockTtlMs,
      ...(redrain ? { redrain } : {}),
    });
  } finally {
    await cluster.close();
  }
}

/** `resume --force` once meant "the runbook changed"; with a reason it could mean either override. */
function resolveLegacyForce(force: boolean | string | undefined): boolean {
  if (force === undefined || force === false) return false;
  if (force === true) return true;
  throw new UsageError(`resume --force ${JSON.stringify(force)} is ambiguous`, {
    hint: 'say which override: --force-preflight REASON (start despite a failing pre-flight) or --accept-runbook-change',
  });
}

/** A runbook edited since the run started is refused, unless only its window moved. */
function refuseChangedRunbook(runbook: Runbook, progress: RunProgress, accept: boolean): void {
  const { header } = progress;
  if (runbook.hash === header.runbookHash || accept) return;
  const onlyWindow =
    header.runbookHashOutsideWindow !== undefined &&
    header.runbookHashOutsideWindow === runbook.hashOutsideWindow;
  if (onlyWindow) return;
  throw new JournalError(`the runbook ${header.runbookFile} changed since run ${header.runId} started`, {
    hint: 'restore it, or resume anyway with --accept-runbook-change (the plan stays the journaled one; only rollout.window may change freely)',
  });
}

type Window = { windowStart?: string; windowEnd?: string };

function runbookWindow(runbook: Runbook): Window {
  const w = runbook.rollout.window;
  return {
    ...(w?.start ? { windowStart: w.start.toISOString() } : {}),
    ...(w?.end ? { windowEnd: w.end.toISOString() } : {}),
  };
}

/** The journaled plan with the window as it is now; refused before connecting when it is closed. */
function applyWindow(plan: Plan, window: Window, from: string): void {
  const { windowStart: _start, windowEnd: _end, ...rollout } = plan.rollout;
  plan.rollout = { ...rollout, ...window };
  const closed = describeClosedWindow(window, Date.now());
  if (closed) throw new SafetyRefusal(`${closed} [window from ${from}]`);
}

const ZONED = /(Z|[+-]\d\d:\d\d)$/;

/** `--window 2026-12-03T22:00Z/2026-12-04T04:00Z`; either side may be empty (open-ended). */
function parseWindowFlag(text: string): Window {
  const parts = text.split('/');
  const hint =
    '--window 2026-12-03T22:00:00Z/2026-12-04T04:00:00Z (ISO 8601 with a zone; a side may be empty)';
  if (parts.length !== 2) throw new UsageError(`--window: expected START/END, got ${text}`, { hint });
  const [start, end] = parts.map((p) => p.trim()) as [string, string];
  for (const side of [start, end]) {
    if (side && (!ZONED.test(side) || !Number.isFinite(Date.parse(side)))) {
      throw new UsageError(`--window: not a date-time with a zone: ${side}`, { hint });
    }
  }
  if (start && end && Date.parse(end) <= Date.parse(start)) {
    throw new UsageError('--window: the window ends before it starts', { hint });
  }
  return {
    ...(start ? { windowStart: new Date(start).toISOString() } : {}),
    ...(end ? { windowEnd: new Date(end).toISOString() } : {}),
  };
}

function definedFlags(options: ConnectionFlags): ConnectionFlags {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as ConnectionFlags;
}
