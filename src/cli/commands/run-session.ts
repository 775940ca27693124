import { hostname, userInfo } from 'node:os';
import { dirname } from 'node:path';
import { ExitCode, UsageError } from '../../errors.js';
import { createCheckRunner } from '../../executor/check-runner.js';
import type { OperatorGate, RunEvent, RunOutcome } from '../../executor/events.js';
import { executePlan } from '../../executor/execute-plan.js';
import type { JournalWriter } from '../../executor/journal.js';
import type { ClusterPort } from '../../executor/ports.js';
import type { RunProgress } from '../../executor/run-progress.js';
import type { Notifier } from '../../notify/notifier.js';
import type { Plan } from '../../plan/types.js';
import type { Runbook } from '../../runbook/types.js';
import { type Clock, systemClock } from '../../shared/clock.js';
import { describeDurationBounds, parseDuration } from '../../shared/parse-duration.js';
import { createLocalRunner } from '../../transport/local-exec.js';
import type { CliIo } from '../io.js';

export interface SessionFlags {
  yes?: boolean;
  json?: boolean;
  force?: string;
  lockTtl?: string;
}

/** Exit code per outcome (documented in the README). */
export const OUTCOME_EXIT: Record<RunOutcome, number> = {
  succeeded: ExitCode.ok,
  halted: ExitCode.failed,
  refused: ExitCode.refused,
  interrupted: ExitCode.interrupted,
};

/** The exact command that continues a run, printed on halt and interruption. */
function resumeCommandFor(runId: string, journalDir: string | undefined): string {
  return `drydock resume ${runId}${journalDir ? ` --journal-dir ${journalDir}` : ''}`;
}

export function operatorName(): string {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (containers): fall back to the environment.
    user = process.env.USER ?? 'unknown';
  }
  return `${user}@${hostname()}`;
}

/**
 * Run (or resume) a plan with the right UI: interactive (listr2 + prompts) on a TTY, otherwise
 * unattended with plain lines or JSON events. Signals stop at a safe point.
 */
export async function runSession(args: {
  runId: string;
  runbook: Runbook;
  plan: Plan;
  progress: RunProgress;
  journal: JournalWriter;
  cluster: ClusterPort;
  flags: SessionFlags;
  io: CliIo;
  /** As given on the command line (it goes into the printed resume command). */
  journalDir: string | undefined;
  /** From `validateSessionFlags`, checked before anything was touched. */
  lockTtlMs: number;
  clock?: Clock;
}): Promise<number> {
  const { io, flags } = args;
  const interactive = io.isTTY && !flags.yes && !flags.json;
  const { createReporter, combineReporters } = await import('../../report/reporters.js');
  const ui = createReporter(flags.json ? 'json' : interactive ? 'interactive' : 'simple', {
    stdout: io.stdout,
    stderr: io.stderr,
    isTTY: io.isTTY,
  });
  let gate: OperatorGate | undefined;
  if (interactive) {
    const { createInquirerGate } = await import('../../prompts/operator-gate.js');
    gate = createInquirerGate({ plan: args.plan, onBeforePrompt: ui.pause, onAfterPrompt: ui.resume });
  }
  const journalDir = dirname(args.journal.path);
  const { reportPaths } = await import('../../report/run-report/outcome-text.js');
  // Late-bound: the notifier's warnings go to the journal and the screen like any event.
  const emit = (event: RunEvent) => reporter.onEvent(event);
  const notifier = await createSessionNotifier(args, reportPaths(args.journal.path).html, emit);
  const reporter = combineReporters(args.journal, ui, ...(notifier ? [notifier] : []));
  const clock = args.clock ?? systemClock;
  const { writeRunReports } = await import('./report.js');
  const finish = async () => {
    await notifier?.close();
    await reporter.close?.();
    await writeRunReports(args.journal.path, args.runId, journalDir, args.journalDir, io);
  };

  if (notifier) {
    const { refused } = await notifier.announce(new Date(clock.now()).toISOString());
    if (refused) {
      const at = new Date(clock.now()).toISOString();
      emit({ type: 'warning', source: 'notify', message: `${refused}: run refused`, at });
      emit({ type: 'run-end', runId: args.runId, outcome: 'refused', durationMs: 0, at });
      await finish();
      return OUTCOME_EXIT.refused;
    }
  }

  // First signal: finish the current command or wait, then stop. Second: cancel it too.
  const stop = new AbortController();
  const cancel = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (!stop.signal.aborted) {
      io.stderr(`\ndrydock: ${signal} received: stopping after the current step (again to cancel it now)\n`);
      stop.abort();
    } else {
      io.stderr(`\ndrydock: ${signal} again: cancelling the current remote command\n`);
      cancel.abort();
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const outcome = await executePlan({
      runId: args.runId,
      plan: args.plan,
      runbook: args.runbook,
      cluster: args.cluster,
      local: createLocalRunner(),
      checks: createCheckRunner(args.cluster, args.runbook, clock),
      reporter,
      ...(gate ? { gate } : {}),
      clock,
      stopSignal: stop.signal,
      cancelSignal: cancel.signal,
      progress: args.progress,
      ...(flags.force ? { force: flags.force } : {}),
      lock: { owner: operatorName(), ttlMs: args.lockTtlMs },
      resumeCommand: resumeCommandFor(args.runId, args.journalDir),
      journalFault: () => args.journal.fault(),
    });
    return OUTCOME_EXIT[outcome];
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await finish();
    reportUnwrittenJournal(args.journal, args.runId, args.journalDir, io);
  }
}

/** The webhooks of the runbook as one more event consumer, or none. */
async function createSessionNotifier(
  args: { runId: string; runbook: Runbook; plan: Plan; progress: RunProgress },
  reportPath: string,
  emit: (event: RunEvent) => void,
): Promise<Notifier | undefined> {
  if (args.runbook.notify.length === 0) return undefined;
  const [{ createNotifier }, { createHttpWebhookPort }, { listSecretValues }] = await Promise.all([
    import('../../notify/notifier.js'),
    import('../../transport/webhook.js'),
    import('../../runbook/substitute.js'),
  ]);
  return createNotifier({
    hooks: args.runbook.notify,
    port: createHttpWebhookPort(),
    context: { runId: args.runId, plan: args.plan, reportPath, resumed: args.progress.plan !== undefined },
    secrets: listSecretValues(args.runbook.variables),
    clock: systemClock,
    onWarning: (message) =>
      emit({ type: 'warning', source: 'notify', message, at: new Date().toISOString() }),
  });
}

/** Records the journal could not take (disk still full) are said, with what to do, never hidden. */
function reportUnwrittenJournal(
  journal: JournalWriter,
  runId: string,
  journalDir: string | undefined,
  io: CliIo,
): void {
  const fault = journal.fault();
  if (!fault) return;
  io.stderr(
    `drydock: the journal ${journal.path} is missing its last ${journal.unwrittenCount()} record(s): ${fault.message}\n` +
      `  every record it has is whole; free space, then: ${resumeCommandFor(runId, journalDir)}\n`,
  );
}

/** The shortest lock ttl: the heartbeat renews it every ttl/3. */
const MIN_LOCK_TTL_MS = 10_000;

/**
 * Check every session flag before anything is touched (no connection, no journal yet):
 * a typo must cost nothing.
 */
export function validateSessionFlags(flags: SessionFlags): { lockTtlMs: number } {
  const text = flags.lockTtl ?? '2h';
  let ms = Number.NaN;
  try {
    ms = parseDuration(text);
  } catch {
    // reported below
  }
  if (!Number.isFinite(ms)) {
    throw new UsageError(`--lock-ttl: not a duration: ${text}`, { hint: 'e.g. --lock-ttl 90m or 2h' });
  }
  const bounds = describeDurationBounds(text, { allowZero: false });
  if (bounds || ms < MIN_LOCK_TTL_MS) {
    throw new UsageError(`--lock-ttl: ${bounds ?? `${text} is too short: at least 10s`}`, {
      hint: 'e.g. --lock-ttl 90m or 2h; the lock is renewed while the run lives',
    });
  }
  if (flags.force !== undefined && !flags.force.trim()) {
    throw new UsageError('--force needs a reason (it is journaled)', {
      hint: '--force "node3 is known bad"',
    });
  }
  return { lockTtlMs: ms };
}
