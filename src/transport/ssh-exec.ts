import { constants as osConstants } from 'node:os';
import { StringDecoder } from 'node:string_decoder';
import { quoteShellArg } from '../shared/shell-quote.js';
import type { CommandResult, ExecOptions } from './types.js';

/**
 * The one exec path of the SSH adapter: output capture and streaming, the PID report, timeout,
 * abort, TERM → KILL escalation and the result shape. A command runs either on a plain exec
 * channel (ssh-channel.ts) or on a persistent remote shell (session-shell.ts); each supplies a
 * `RemoteRun` and this file does the rest, so both modes behave alike.
 */

/** How a remote run ended, as its mode reports it. */
export type RunEnd =
  /** The command ended; `signal` names the signal that ended it, if any. */
  | { kind: 'exited'; exitCode: number | null; signal: string | null; note?: string }
  /** The persistent shell went away while the command ran (the connection is still up). */
  | { kind: 'died'; signal: string | null }
  /** The connection dropped, or there was none to run on. */
  | { kind: 'lost'; signal?: string | null; note?: string };

export interface RunSinks {
  stdout(chunk: Buffer): void;
  stderr(chunk: Buffer): void;
}

/** One command on one mode: started once, signalled and abandoned by `runRemote`. */
export interface RemoteRun {
  start(sinks: RunSinks): Promise<RunEnd>;
  /**
   * Signal the command's process group (`pgid` once the command reported it). Resolves when the
   * signal was delivered, or could not be.
   */
  signal(name: 'TERM' | 'KILL', pgid: number | undefined): Promise<void>;
  /** Last resort when the command outlived KILL (or never reported its PID): close its channel. */
  abandon(): void;
}

export interface RunContext {
  node: string;
  /** Login user, named in the sudo hint. */
  user: string;
  maxOutputBytes: number;
  killGraceMs: number;
  /** The shell calls each of these when the connection drops: the runs end as lost. */
  inFlight: Set<() => void>;
  /**
   * A timed-out or aborted command whose end was never confirmed (the kill could not get
   * through: a frozen sshd, a dead link): its process group may still run on the node.
   */
  onLeftover?: (pgid: number) => void;
}

/** Run a command under non-interactive sudo: fails instead of prompting for a password. */
export function wrapSudo(command: string): string {
  return `sudo -n -- sh -c ${quoteShellArg(command)}`;
}

const PID_MARKER = '\x1edrydock-pgid ';

/**
 * Prefix a command so its `sh` reports its PID on stderr first. Both modes start that `sh` as a
 * session leader (sshd, or setsid in the persistent shell), so the PID is also the process group
 * to kill on timeout.
 */
export function announcePid(command: string): string {
  return `printf '\\036drydock-pgid %s\\n' "$$" >&2; ${command}`;
}

/** Strips the PID marker line from the start of stderr and reports the PID. */
export class PidMarkerReader {
  private pending: Buffer | undefined = Buffer.alloc(0);

  constructor(private readonly onPid: (pid: number) => void) {}

  push(chunk: Buffer): Buffer {
    if (this.pending === undefined) return chunk;
    const data = Buffer.concat([this.pending, chunk]);
    const marker = Buffer.from(PID_MARKER, 'latin1');
    const compared = Math.min(data.length, marker.length);
    if (!data.subarray(0, compared).equals(marker.subarray(0, compared))) {
      this.pending = undefined;
      return data;
    }
    const newline = data.indexOf(0x0a);
    if (newline < 0) {
      this.pending = data;
      return Buffer.alloc(0);
    }
    this.pending = undefined;
    const pid = Number(data.subarray(marker.length, newline).toString('latin1'));
    if (Number.isInteger(pid) && pid > 1) this.onPid(pid);
    return data.subarray(newline + 1);
  }
}

/** Longest wait for a kill to be delivered before escalating anyway (a stuck side channel). */
const DELIVERY_LIMIT_MS = 10_000;

const SUDO_PASSWORD_PATTERN = /sudo: (a password is required|a terminal is required)/;

/**
 * Runs one command to its end: streams and caps its output and, on timeout or abort, TERMs its
 * process group, KILLs it after the grace period and abandons the run after a second one (after
 * the first if its PID never arrived). Never throws: every ending is a `CommandResult`.
 */
export function runRemote(
  run: RemoteRun,
  options: ExecOptions,
  context: RunContext,
  result: (partial: Partial<CommandResult>) => CommandResult,
): Promise<CommandResult> {
  const stdout = new CappedOutput(context.maxOutputBytes);
  const stderr = new CappedOutput(context.maxOutputBytes);
  const outDecoder = new StringDecoder('utf8');
  const errDecoder = new StringDecoder('utf8');
  return new Promise<CommandResult>((resolve) => {
    let timedOut = false;
    let aborted = false;
    let pgid: number | undefined;
    let stopping = false;
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const graceTimers: NodeJS.Timeout[] = [];

    const finish = (end: RunEnd) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      for (const t of graceTimers) clearTimeout(t);
      options.signal?.removeEventListener('abort', onAbort);
      context.inFlight.delete(onLost);
      let exitCode: number | null = null;
      let signal: string | null = null;
      if (end.kind === 'exited') {
        exitCode = end.exitCode;
        signal = end.signal;
      } else {
        signal = end.signal ?? null;
      }
      if (end.kind === 'died' && !stopping) {
        stderr.push(
          Buffer.from(`drydock: the persistent shell on ${context.node} ended while the command ran\n`),
        );
      }
      if (end.kind !== 'died' && end.note) stderr.push(Buffer.from(end.note));
      // Confirmed only by an exit status or signal; a closed channel or lost connection is not.
      const confirmed = end.kind === 'exited' && (end.exitCode !== null || end.signal !== null);
      if (stopping && !confirmed && pgid !== undefined) context.onLeftover?.(pgid);
      if (aborted || timedOut) {
        exitCode = null;
        signal = 'TERM';
      }
      const err = stderr.text();
      resolve(
        result({
          exitCode,
          signal,
          stdout: stdout.text(),
          stderr:
            exitCode !== 0 && options.sudo && SUDO_PASSWORD_PATTERN.test(err)
              ? `${err}\ndrydock: sudo on ${context.node} wants a password; allow passwordless sudo (NOPASSWD) for ${context.user} or connect as root\n`
              : err,
          timedOut,
          connectionLost: end.kind === 'lost',
        }),
      );
    };
    const onLost = () => finish({ kind: 'lost' });

    const later = (ms: number, then: () => void) => {
      graceTimers.push(
        setTimeout(() => {
          if (!settled) then();
        }, ms),
      );
    };
    // Each grace period starts once its signal was delivered: a kill that must first open a
    // channel on a busy node, or a command whose PID has not come through yet, does not eat into
    // it. A delivery that hangs counts as done after DELIVERY_LIMIT_MS.
    const once = (then: () => void) => {
      let done = false;
      return () => {
        if (done || settled) return;
        done = true;
        then();
      };
    };
    const send = (name: 'TERM' | 'KILL', then: () => void) => {
      const next = once(then);
      run.signal(name, pgid).then(next, next);
      later(DELIVERY_LIMIT_MS, next);
    };
    const pidWaiters: (() => void)[] = [];
    const whenPidKnown = (then: () => void) => {
      if (pgid !== undefined) return then();
      const next = once(then);
      pidWaiters.push(next);
      later(DELIVERY_LIMIT_MS, next);
    };
    const stop = () => {
      if (stopping) return;
      stopping = true;
      // A plain channel also gets the signal request at once (sshd honours it for non-root users).
      if (pgid === undefined) void run.signal('TERM', undefined);
      whenPidKnown(() =>
        send('TERM', () =>
          later(context.killGraceMs, () => {
            if (pgid === undefined) {
              void run.signal('KILL', undefined);
              run.abandon();
              return;
            }
            send('KILL', () => later(context.killGraceMs, () => run.abandon()));
          }),
        ),
      );
    };
    const onAbort = () => {
      aborted = true;
      stop();
    };
    const pidReader = new PidMarkerReader((pid) => {
      pgid = pid;
      for (const next of pidWaiters.splice(0)) next();
    });

    context.inFlight.add(onLost);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.timeoutMs !== undefined) {
      timer = setTimeout(() => {
        timedOut = true;
        stop();
      }, options.timeoutMs);
    }
    run
      .start({
        stdout: (chunk) => {
          stdout.push(chunk);
          options.onStdout?.(outDecoder.write(chunk));
        },
        stderr: (raw) => {
          const chunk = pidReader.push(raw);
          if (chunk.length === 0) return;
          stderr.push(chunk);
          options.onStderr?.(errDecoder.write(chunk));
        },
      })
      .then(finish, (error: unknown) =>
        finish({ kind: 'exited', exitCode: null, signal: null, note: `drydock: ${String(error)}\n` }),
      );
  });
}

const SIGNAL_NAMES = new Map(
  Object.entries(osConstants.signals).map(([name, n]) => [n, name.replace(/^SIG/, '')]),
);

/** The shell reports a child killed by signal n as status 128+n; name that signal. */
export function signalOfStatus(status: number): string | null {
  return status > 128 ? (SIGNAL_NAMES.get(status - 128) ?? null) : null;
}

/** Keeps the last `max` bytes of a stream; older output is dropped, never the tail. */
class CappedOutput {
  private chunks: Buffer[] = [];
  private size = 0;
  private dropped = false;

  constructor(private readonly max: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > this.max && this.chunks.length > 0) {
      const first = this.chunks[0]!;
      const excess = this.size - this.max;
      this.dropped = true;
      if (first.length <= excess) {
        this.chunks.shift();
        this.size -= first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.size -= excess;
      }
    }
  }

  text(): string {
    const text = Buffer.concat(this.chunks).toString('utf8');
    // A cut may land inside a multi-byte character; drop the broken lead.
    return this.dropped ? text.replace(/^\uFFFD+/, '') : text;
  }
}
