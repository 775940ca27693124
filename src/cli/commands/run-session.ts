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
import { formatTrafficWarning } from '../../plan/traffic-warnings.js';
import type { Plan } from '../../plan/types.js';
import type { Runbook } from '../../runbook/types.js';
import { type Clock, systemClock } from '../../shared/clock.js';
import { describeDurationBounds, parseDuration } from '../../shared/parse-duration.js';
import { createLocalRunner } from '../../transport/local-exec.js';
import type { CliIo } from '../io.js';

export interface SessionFlags {
  yes?: boolean;
  json?: boolean;
  /** Start despite a failed pre-flight; the reason is journaled. */
  forcePreflight?: string;
  /** `run --force REASON`: the older spelling of `--force-preflight`. */
  force?: string;
  lockTtl?: string;
  /** Plain mode: print command output lines too (interactive and --json always have them). */
  streamOutput?: boolean;
  /** How often a wait emits a heartbeat (`waiting` event). */
  heartbeat?: string;
}

/** Exit code per outcome (documented in the README). */
export const OUTCOME_EXIT: Record<RunOutcome, number> = {
  succeeded: ExitCode.ok,
  halted: ExitCode.failed,
  refused: ExitCode.refused,
  interrupted: ExitCode.interrupted,
};

/** The exact command that continues a run, printed on halt and interruption. */
export function resumeCommandFor(runId: string, journalDir: string | undefined): string {
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
  /** Resume only: `--redrain`. */
  redrain?: boolean;
}): Promise<number> {
  const { io, flags } = args;
  const interactive = io.isTTY && !flags.yes && !flags.json;
  const { createReporter, combineReporters } = await import('../../report/reporters.js');
  const ui = createReporter(flags.json ? 'json' : interactive ? 'interactive' : 'simple', {
    stdout: io.stdout,
    stderr: io.stderr,
    isTTY: io.isTTY,
    ...(flags.streamOutput ? { verbose: true } : {}),
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

  // SIGINT: first, finish the current command or wait, then stop; second, cancel it too.
  // SIGTERM (kill, a service manager): cancel at once. Once cancelled, the run gets a bounded
  // grace to stop by itself; a call that still hangs then (a dead link) cannot hold it: the
  // interruption is journaled here and the session ends. The executor acknowledges each signal
  // at once, through the reporters (a raw stderr write would sit in listr2's buffer).
  const stop = new AbortController();
  const cancel = new AbortController();
  const forced = new AbortController();
  const open = trackOpenStages();
  let forceTimer: NodeJS.Timeout | undefined;
  const cancelNow = (signal: NodeJS.Signals) => {
    if (cancel.signal.aborted) return;
    cancel.abort(signal);
    stop.abort(signal);
    forceTimer = setTimeout(() => forced.abort(), CANCEL_GRACE_MS);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (signal === 'SIGINT' && !stop.signal.aborted) stop.abort(signal);
    else cancelNow(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Events of a run that was given up on go nowhere: the journal has ended.
  const gated: typeof reporter = {
    onEvent: (event) => {
      open.onEvent(event);
      if (forced.signal.aborted) return;
      reporter.onEvent(event);
      for (const warning of listTrafficWarningEvents(event)) reporter.onEvent(warning);
    },
  };
  try {
    const running = executePlan({
      runId: args.runId,
      plan: args.plan,
      runbook: args.runbook,
      cluster: args.cluster,
      local: createLocalRunner(),
      checks: createCheckRunner(args.cluster, args.runbook, clock),
      reporter: gated,
      ...(gate ? { gate } : {}),
      clock,
      stopSignal: stop.signal,
      cancelSignal: cancel.signal,
      progress: args.progress,
      ...(flags.forcePreflight ? { force: flags.forcePreflight } : {}),
      lock: { owner: operatorName(), ttlMs: args.lockTtlMs },
      resumeCommand: resumeCommandFor(args.runId, args.journalDir),
      journalFault: () => args.journal.fault(),
      ...(args.redrain ? { redrain: true } : {}),
      // Checked already by validateSessionFlags, before anything was touched.
      ...validateHeartbeat(flags.heartbeat),
    });
    const outcome = await Promise.race([running, whenAborted(forced.signal)]);
    if (outcome === 'forced') {
      running.catch(() => undefined);
      const at = new Date(clock.now()).toISOString();
      const where = open.last();
      const waiting = `the current step did not end within ${CANCEL_GRACE_MS / 1000}s of the cancel (a call that hangs)`;
      reporter.onEvent({
        type: 'progress',
        node: where?.node ?? '',
        stage: where?.stage ?? '',
        message: waiting,
        at,
      });
      reporter.onEvent({
        type: 'interrupted',
        node: where?.node ?? null,
        stage: where?.stage ?? null,
        resumeCommand: resumeCommandFor(args.runId, args.journalDir),
        at,
      });
      reporter.onEvent({ type: 'run-end', runId: args.runId, outcome: 'interrupted', durationMs: 0, at });
      io.stderr(
        `drydock: ${waiting}: interrupted at ${where ? `${where.node} / ${where.stage}` : 'start'}\n`,
      );
      // The hung call holds sockets and timers; they must not keep the process alive.
      exitSoon(OUTCOME_EXIT.interrupted);
      return OUTCOME_EXIT.interrupted;
    }
    // The window's end is a planned stop with its own code, not an interruption.
    if (outcome === 'interrupted' && args.progress.stopReason === 'window-end') return ExitCode.windowEnded;
    return OUTCOME_EXIT[outcome];
  } finally {
    clearTimeout(forceTimer);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await finish();
    reportUnwrittenJournal(args.journal, args.runId, args.journalDir, io);
  }
}

/**
 * The plan's traffic warnings, once, right after a new run starts and before the first node:
 * to the screen, the journal and the report like any warning. A resume does not repeat them
 * (its plan's facts are those of the first session).
 */
export function listTrafficWarningEvents(event: RunEvent): RunEvent[] {
  if (event.type !== 'run-start' || event.resumed) return [];
  return (event.plan.traffic ?? []).map((warning) => ({
    type: 'warning',
    source: 'traffic',
    message: formatTrafficWarning(warning),
    at: event.at,
  }));
}

/** How long a cancelled run may take to stop by itself (the kill grace of a command, and more). */
const CANCEL_GRACE_MS = 15_000;

/** After a forced stop: leave once the reports are written, whatever still hangs. */
const EXIT_BACKSTOP_MS = 10_000;

function exitSoon(code: number): void {
  // unref: only fires if something else keeps the process alive.
  setTimeout(() => process.exit(code), EXIT_BACKSTOP_MS).unref();
}

function whenAborted(signal: AbortSignal): Promise<'forced'> {
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve('forced'), { once: true }));
}

/** The stages started and not yet ended, so a forced stop can say where the run was. */
function trackOpenStages(): {
  onEvent(event: RunEvent): void;
  last(): { node: string; stage: string } | undefined;
} {
  const open: { node: string; stage: string }[] = [];
  return {
    onEvent(event) {
      if (event.type === 'stage-start') open.push({ node: event.node, stage: event.stage });
      if (event.type === 'stage-end') {
        const at = open.findIndex((o) => o.node === event.node && o.stage === event.stage);
        if (at >= 0) open.splice(at, 1);
      }
    },
    last: () => open.at(-1),
  };
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
export function validateSessionFlags(flags: SessionFlags): {
  lockTtlMs: number;
  forcePreflight?: string;
  heartbeatMs?: number;
} {
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
  const forcePreflight = resolveForcePreflight(flags);
  if (forcePreflight !== undefined && !forcePreflight.trim()) {
    throw new UsageError('--force-preflight needs a reason (it is journaled)', {
      hint: '--force-preflight "node3 is known bad"',
    });
  }
  return {
    lockTtlMs: ms,
    ...(forcePreflight !== undefined ? { forcePreflight } : {}),
    ...validateHeartbeat(flags.heartbeat),
  };
}

/** `--force-preflight REASON`, or its older spelling `run --force REASON`; both at once is ambiguous. */
function resolveForcePreflight(flags: SessionFlags): string | undefined {
  if (flags.force !== undefined && flags.forcePreflight !== undefined) {
    throw new UsageError('give --force-preflight REASON once (--force is its older spelling)');
  }
  return flags.forcePreflight ?? flags.force;
}

/** `--heartbeat`: a duration of at least 1s (a beat per poll would bury the output). */
function validateHeartbeat(text: string | undefined): { heartbeatMs?: number } {
  if (text === undefined) return {};
  let ms = Number.NaN;
  try {
    ms = parseDuration(text);
  } catch {
    // reported below
  }
  if (!Number.isFinite(ms) || ms < 1000 || describeDurationBounds(text, { allowZero: false })) {
    throw new UsageError(`--heartbeat: not a duration of at least 1s: ${text}`, {
      hint: 'e.g. --heartbeat 10s',
    });
  }
  return { heartbeatMs: ms };
}
