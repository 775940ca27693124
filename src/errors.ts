/**
 * Every error drydock raises on purpose. Each carries a stable `code` (for scripts and tests),
 * an optional user-facing `hint`, and the process exit code the CLI maps it to.
 * Only the CLI entry point turns these into messages; everything else throws or returns them.
 */

/** Exit codes, documented in the README. */
export const ExitCode = {
  ok: 0,
  /** A run halted on a failure, a check found the cluster unhealthy, or a runbook is invalid. */
  failed: 1,
  /** Usage error: unknown flag, missing file, bad option value. */
  usage: 2,
  /** Refused for safety: unhealthy pre-flight, quorum at risk, lock held, host key mismatch. */
  refused: 3,
  /** Interrupted by SIGINT/SIGTERM at a safe point; resumable. */
  interrupted: 130,
  /** The maintenance window ended: stopped between nodes as planned; resume in the next window (EX_TEMPFAIL). */
  windowEnded: 75,
  /** A bug in drydock. */
  internal: 70,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** Each exit code in a few words, for `--help` (a new code does not compile without one). */
export const EXIT_CODE_MEANINGS: Record<keyof typeof ExitCode, string> = {
  ok: 'ok',
  failed: 'halted/unhealthy/invalid',
  usage: 'usage',
  refused: 'refused for safety (lock, quorum, host key, window closed)',
  interrupted: 'interrupted (resumable)',
  windowEnded: "stopped at the window's end as planned (resume in the next window)",
  internal: 'internal error (a bug: please report it)',
};

/** "0 ok · 1 halted/unhealthy/invalid · …", in code order. */
export function describeExitCodes(): string {
  return (Object.keys(ExitCode) as (keyof typeof ExitCode)[])
    .sort((a, b) => ExitCode[a] - ExitCode[b])
    .map((key) => `${ExitCode[key]} ${EXIT_CODE_MEANINGS[key]}`)
    .join(' · ');
}

export interface DrydockErrorOptions {
  hint?: string;
  cause?: unknown;
}

export abstract class DrydockError extends Error {
  abstract readonly code: string;
  abstract readonly exitCode: ExitCodeValue;
  readonly hint: string | undefined;

  constructor(message: string, options: DrydockErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.hint = options.hint;
  }
}

/** The user asked for something the CLI can't parse or find. */
export class UsageError extends DrydockError {
  readonly code = 'DRYDOCK_USAGE';
  readonly exitCode = ExitCode.usage;
}

/** One located problem in a runbook or inventory file. */
export interface Problem {
  file: string;
  line: number;
  column: number;
  /** Dotted path of the offending field, e.g. `stages[2].timeout`; empty for the whole document. */
  path: string;
  message: string;
  hint?: string;
  /** `warning` problems are reported but do not fail validation; absent means `error`. */
  severity?: 'error' | 'warning';
}

/** A runbook or inventory failed to parse or validate; carries every problem found. */
export class InvalidInputError extends DrydockError {
  readonly code = 'DRYDOCK_INVALID_INPUT';
  readonly exitCode = ExitCode.failed;
  constructor(
    readonly problems: Problem[],
    options: DrydockErrorOptions = {},
  ) {
    super(`${problems.length} problem${problems.length === 1 ? '' : 's'} found`, options);
  }
}

/** A plan or run would break Swarm safety (quorum, leader, manager concurrency). */
export class SafetyRefusal extends DrydockError {
  readonly code = 'DRYDOCK_SAFETY_REFUSED';
  readonly exitCode = ExitCode.refused;
}

/** Another run holds the cluster lock, or the lock is stale. */
export class LockHeldError extends DrydockError {
  readonly code = 'DRYDOCK_LOCK_HELD';
  readonly exitCode = ExitCode.refused;
}

/** The SSH host key did not match known_hosts, or the host is unknown under strict checking. */
export class HostKeyError extends DrydockError {
  readonly code = 'DRYDOCK_HOST_KEY';
  readonly exitCode = ExitCode.refused;
}

/** Could not reach a node or the Docker API. */
export class ConnectionError extends DrydockError {
  readonly code = 'DRYDOCK_CONNECTION';
  readonly exitCode = ExitCode.failed;
}

/**
 * An engine took a request and never answered within the deadline of whatever waited on it (a
 * frozen dockerd, a link dropping every packet). Names the node, what was asked and how long.
 */
export class EngineNotAnsweringError extends DrydockError {
  readonly code = 'DRYDOCK_ENGINE_NOT_ANSWERING';
  readonly exitCode = ExitCode.failed;
  constructor(
    /** `manager node1` for a cluster call (only managers serve those), `node1` for its own engine. */
    readonly who: string,
    readonly what: string,
    readonly waitedMs: number,
    options: DrydockErrorOptions = {},
  ) {
    super(`${who}'s engine does not answer (waited ${Math.round(waitedMs / 1000)}s for ${what})`, options);
  }
}

/**
 * The operator cancelled (a second Ctrl-C, SIGTERM) while a request was in flight: it was ended
 * on purpose, not by a fault of the node. The run then stops as interrupted.
 */
export class CancelledError extends DrydockError {
  readonly code = 'DRYDOCK_CANCELLED';
  readonly exitCode = ExitCode.interrupted;
}

/** How a run stopped early: on a failure, at a safe point after a signal, or before changing anything. */
export type HaltKind = 'halted' | 'interrupted' | 'refused';

const HALT_EXIT_CODES: { [K in HaltKind]: ExitCodeValue } = {
  halted: ExitCode.failed,
  interrupted: ExitCode.interrupted,
  refused: ExitCode.refused,
};

/** Why an `interrupted` run stopped: a signal, or the maintenance window's end (a planned stop). */
export type StopReason = 'signal' | 'window-end';

export interface HaltErrorOptions<Evidence> extends DrydockErrorOptions {
  kind?: HaltKind;
  /** Only for `interrupted`: default `signal`. */
  stopReason?: StopReason;
  /** The node and stage it stopped at; empty when the run stopped before or between nodes. */
  node?: string;
  stage?: string;
  evidence?: Evidence;
}

/**
 * The run stopped: the one halt error. The executor throws it to unwind to its top, where it
 * becomes a `halt` or `interrupted` event; `evidence` carries what the halt report shows (the
 * executor's failing command and failed checks; this layer does not know their types).
 */
export class HaltError<Evidence = unknown> extends DrydockError {
  readonly code = 'DRYDOCK_HALTED';
  readonly exitCode: ExitCodeValue;
  readonly kind: HaltKind;
  readonly stopReason: StopReason;
  readonly node: string;
  readonly stage: string;
  readonly evidence: Evidence | undefined;

  constructor(message: string, options: HaltErrorOptions<Evidence> = {}) {
    super(message, options);
    this.kind = options.kind ?? 'halted';
    this.stopReason = options.stopReason ?? 'signal';
    this.node = options.node ?? '';
    this.stage = options.stage ?? '';
    this.evidence = options.evidence;
    this.exitCode =
      this.kind === 'interrupted' && this.stopReason === 'window-end'
        ? ExitCode.windowEnded
        : HALT_EXIT_CODES[this.kind];
  }
}

/** The journal is missing, corrupt, or belongs to a different runbook. */
export class JournalError extends DrydockError {
  readonly code = 'DRYDOCK_JOURNAL';
  readonly exitCode = ExitCode.usage;
}

/** A bug: something drydock assumed could not happen. */
export class InternalError extends DrydockError {
  readonly code = 'DRYDOCK_INTERNAL';
  readonly exitCode = ExitCode.internal;
}

export function isDrydockError(error: unknown): error is DrydockError {
  return error instanceof DrydockError;
}

/** For exhaustive switches: fails to compile when a union member is unhandled. */
export function assertNever(value: never, what = 'value'): never {
  throw new InternalError(`unhandled ${what}: ${JSON.stringify(value)}`);
}
