import { randomBytes } from 'node:crypto';
import type { Client, ClientChannel } from 'ssh2';
import { execUnderSh, formatGroupKill, runSideCommand } from './ssh-channel.js';
import { type RemoteRun, signalOfStatus } from './ssh-exec.js';

/**
 * A persistent remote shell: one long-lived exec channel running a small loop under `/bin/sh`
 * (started through `execUnderSh`, so the login shell never parses it) that reads framed requests
 * (`<id> <base64 command>\n`) from stdin and runs each command under `/bin/sh` as a child in its
 * own session (setsid), so commands need no new channel (sshd spends 0.4–1s per channel).
 *
 * After the child exits the loop writes `\036DRYDOCK-END <id> <rc> <leftover>\n` to stdout AND
 * stderr: a command is done once both streams reached the marker, so no byte of either stream
 * is lost or given to the next command. The id carries a random nonce, so the marker is matched
 * anywhere in the stream (output without a trailing newline needs no padding), and a command
 * cannot forge it. `leftover` is 1 when processes of the command's group outlive it; they may
 * still write to the shared pipes, so the session is retired instead of reused.
 */
const LOOP_SCRIPT = [
  'command -v base64 >/dev/null 2>&1 && command -v setsid >/dev/null 2>&1 || { echo DRYDOCK-UNSUPPORTED; exit 0; }',
  // The login shell that started this loop has read its rc files (their exports are inherited).
  // Where /bin/sh is bash, it may re-read ~/.bashrc for every command it thinks sshd started
  // (SHLVL < 2), which can cost most of a second (pyenv, nvm…): count this loop as a shell
  // level so it does not.
  'SHLVL=$((${SHLVL:-0} + 1)); export SHLVL',
  // Whether a process group still has a live member. A member killed with the command may stay
  // a zombie for a while (reparented to an init that reaps lazily); zombies hold no pipes, so
  // on Linux they are skipped by reading /proc/PID/stat ("pid (comm) state ppid pgrp ...").
  '__dd_live() {',
  '  kill -0 "-$1" 2>/dev/null || return 1',
  '  [ -r /proc/self/stat ] || return 0',
  '  for __dd_f in /proc/[0-9]*/stat; do',
  '    { read -r __dd_s <"$__dd_f"; } 2>/dev/null || continue',
  '    __dd_s=${__dd_s##*) }',
  '    case $__dd_s in Z*) continue ;; esac',
  '    __dd_s=${__dd_s#* }; __dd_s=${__dd_s#* }',
  '    [ "${__dd_s%% *}" = "$1" ] && return 0',
  '  done',
  '  return 1',
  '}',
  // On both streams: rc-file noise on stderr (written before the loop started) must not be
  // taken for output of the first command, or make an idle shell look busy.
  "printf '\\036DRYDOCK-READY\\n'; printf '\\036DRYDOCK-READY\\n' >&2",
  'while read -r __dd_id __dd_b64; do',
  `  __dd_cmd=$(printf '%s' "$__dd_b64" | base64 -d 2>/dev/null) || __dd_cmd='echo "drydock: undecodable request" >&2; exit 126'`,
  // Not a process group leader (no job control), so setsid does not fork: $! is the new PGID.
  '  setsid /bin/sh -c "$__dd_cmd" </dev/null &',
  '  __dd_pid=$!',
  // 2>/dev/null: dash reports a child killed by a signal ("Terminated"); that is not the command's output.
  '  wait "$__dd_pid" 2>/dev/null; __dd_rc=$?',
  // Group members killed with the command may take a moment to die: look again, a few more
  // times when the command died of a signal (on timeout its whole group got that signal).
  '  __dd_tries=1; [ "$__dd_rc" -gt 128 ] && __dd_tries=5',
  '  __dd_left=0',
  '  while __dd_live "$__dd_pid"; do',
  '    [ "$__dd_tries" -gt 0 ] || { __dd_left=1; break; }',
  '    __dd_tries=$((__dd_tries - 1)); sleep 0.1 2>/dev/null',
  '  done',
  `  printf '\\036DRYDOCK-END %s %s %s\\n' "$__dd_id" "$__dd_rc" "$__dd_left"`,
  `  printf '\\036DRYDOCK-END %s %s %s\\n' "$__dd_id" "$__dd_rc" "$__dd_left" >&2`,
  'done',
].join('\n');

const READY = Buffer.from('\x1eDRYDOCK-READY\n', 'latin1');
const UNSUPPORTED = Buffer.from('DRYDOCK-UNSUPPORTED', 'latin1');

/** How a command on a session ended. */
export type SessionOutcome =
  /** The loop reported the exit status (128+n when the child died of signal n). */
  | { kind: 'exited'; code: number; leftover: boolean }
  /** The loop shell or its channel went away before the end markers (the command had started). */
  | { kind: 'died'; signal: string | null };

export interface SessionSinks {
  stdout(chunk: Buffer): void;
  stderr(chunk: Buffer): void;
}

/** Splits one command's bytes off a session stream: everything up to its end marker. */
export class EndMarkerReader {
  private pending: Buffer = Buffer.alloc(0);
  private readonly needle: Buffer;
  ended: { code: number; leftover: boolean } | undefined;

  constructor(id: string) {
    this.needle = Buffer.from(`\x1eDRYDOCK-END ${id} `, 'latin1');
  }

  /** Returns the command's bytes in this chunk; holds back a possible marker start. */
  push(chunk: Buffer): Buffer {
    if (this.ended) return Buffer.alloc(0);
    const data = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    const at = data.indexOf(this.needle);
    if (at >= 0) {
      const newline = data.indexOf(0x0a, at + this.needle.length);
      if (newline < 0) {
        this.pending = data.subarray(at);
        return data.subarray(0, at);
      }
      const [code, leftover] = data
        .subarray(at + this.needle.length, newline)
        .toString('latin1')
        .split(' ');
      this.ended = { code: Number(code), leftover: leftover === '1' };
      this.pending = Buffer.alloc(0);
      return data.subarray(0, at);
    }
    // Keep the longest tail that could be the start of the marker.
    const keep = partialMatchLength(data, this.needle);
    this.pending = data.subarray(data.length - keep);
    return data.subarray(0, data.length - keep);
  }
}

function partialMatchLength(data: Buffer, needle: Buffer): number {
  const from = Math.max(0, data.length - needle.length + 1);
  for (let start = data.indexOf(0x1e, from); start >= 0; start = data.indexOf(0x1e, start + 1)) {
    const tail = data.subarray(start);
    if (needle.subarray(0, tail.length).equals(tail)) return tail.length;
  }
  return 0;
}

interface ActiveRun {
  stdout: EndMarkerReader;
  stderr: EndMarkerReader;
  sinks: SessionSinks;
  resolve: (outcome: SessionOutcome) => void;
}

export type SessionState = 'idle' | 'busy' | 'dead';

/** One persistent shell on one channel; runs one command at a time. */
export class PersistentSession {
  state: SessionState = 'busy';
  private active: ActiveRun | undefined;
  private exitSignal: string | null = null;
  private sequence = 0;
  private readonly nonce = randomBytes(6).toString('hex');

  private constructor(
    private readonly channel: ClientChannel,
    private readonly onClose: () => void,
  ) {}

  /**
   * Opens the loop channel. Resolves 'unsupported' when the node lacks base64 or setsid, and
   * 'failed' when the channel could not be opened or did not become ready in time. `onClose`
   * runs exactly once, when the channel is gone (or was never opened).
   */
  static open(
    client: Client,
    timeoutMs: number,
    onClose: () => void,
  ): Promise<PersistentSession | 'unsupported' | 'failed'> {
    return new Promise((resolve) => {
      let settled = false;
      const settle = (value: PersistentSession | 'unsupported' | 'failed') => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(value);
      };
      let opened: ClientChannel | undefined;
      const timer = setTimeout(() => {
        opened?.close();
        settle('failed');
      }, timeoutMs);
      try {
        execUnderSh(client, LOOP_SCRIPT, true, (error, channel) => {
          if (error || !channel) {
            settle('failed');
            onClose();
            return;
          }
          opened = channel;
          if (settled) channel.close();
          const session = new PersistentSession(channel, onClose);
          // Anything before READY on either stream (a chatty rc file) is not ours and is dropped.
          let readyStreams = 0;
          const onReady = () => {
            readyStreams += 1;
            if (readyStreams < 2) return;
            session.state = 'idle';
            settle(session);
          };
          let greeting = Buffer.alloc(0);
          const onGreeting = (chunk: Buffer) => {
            greeting = Buffer.concat([greeting, chunk]);
            const at = greeting.indexOf(READY);
            if (at >= 0) {
              channel.removeListener('data', onGreeting);
              session.attach(greeting.subarray(at + READY.length));
              onReady();
            } else if (greeting.includes(UNSUPPORTED)) {
              channel.removeListener('data', onGreeting);
              channel.end();
              settle('unsupported');
            }
          };
          let errGreeting = Buffer.alloc(0);
          const onErrGreeting = (chunk: Buffer) => {
            errGreeting = Buffer.concat([errGreeting, chunk]);
            const at = errGreeting.indexOf(READY);
            if (at < 0) return;
            channel.stderr.removeListener('data', onErrGreeting);
            channel.stderr.on('data', (later: Buffer) => session.onStderr(later));
            const rest = errGreeting.subarray(at + READY.length);
            if (rest.length > 0) session.onStderr(rest);
            onReady();
          };
          channel.on('data', onGreeting);
          channel.stderr.on('data', onErrGreeting);
          channel.on('exit', (_code: number | null, signalName?: string) => {
            if (signalName) session.exitSignal = signalName.replace(/^SIG/, '');
          });
          channel.on('close', () => {
            session.die();
            settle('failed');
          });
        });
      } catch {
        // ssh2 throws synchronously when the socket is already gone.
        settle('failed');
        onClose();
      }
    });
  }

  /**
   * Runs one command (already prefixed and wrapped by the caller). Resolves when both streams
   * reached the end marker or the session died; sinks get the command's bytes live.
   */
  run(command: string, sinks: SessionSinks): Promise<SessionOutcome> {
    if (this.state === 'dead') return Promise.resolve({ kind: 'died', signal: this.exitSignal });
    this.state = 'busy';
    this.sequence += 1;
    const id = `${this.nonce}-${this.sequence}`;
    return new Promise<SessionOutcome>((resolve) => {
      this.active = { stdout: new EndMarkerReader(id), stderr: new EndMarkerReader(id), sinks, resolve };
      this.channel.write(`${id} ${Buffer.from(command, 'utf8').toString('base64')}\n`);
    });
  }

  /** Stop taking commands; the loop exits at end of input (leftover processes keep the channel). */
  retire(): void {
    if (this.state === 'dead') return;
    this.state = 'dead';
    this.channel.end();
  }

  /** Close the channel now (a stuck command whose process group is unknown). */
  destroy(): void {
    this.retire();
    this.channel.close();
  }

  private attach(rest: Buffer): void {
    this.channel.on('data', (chunk: Buffer) => this.onStdout(chunk));
    if (rest.length > 0) this.onStdout(rest);
  }

  private onStdout(chunk: Buffer): void {
    const run = this.active;
    // Output between commands comes from a process we no longer track: stop trusting the pipes.
    if (!run) {
      this.retire();
      return;
    }
    const data = run.stdout.push(chunk);
    if (data.length > 0) run.sinks.stdout(data);
    this.settleIfEnded();
  }

  private onStderr(chunk: Buffer): void {
    const run = this.active;
    if (!run) {
      if (this.state === 'idle') this.retire();
      return;
    }
    const data = run.stderr.push(chunk);
    if (data.length > 0) run.sinks.stderr(data);
    this.settleIfEnded();
  }

  private settleIfEnded(): void {
    const run = this.active;
    if (!run?.stdout.ended || !run.stderr.ended) return;
    this.active = undefined;
    const { code, leftover } = run.stdout.ended;
    if (leftover) this.retire();
    else if (this.state === 'busy') this.state = 'idle';
    run.resolve({ kind: 'exited', code, leftover });
  }

  private die(): void {
    this.state = 'dead';
    const run = this.active;
    this.active = undefined;
    run?.resolve({ kind: 'died', signal: this.exitSignal });
    this.onClose();
  }
}

/**
 * A command on a persistent shell, for `runRemote`. Signals go to the command's process group
 * on a side channel: the loop is busy waiting for the command.
 */
export function createSessionRun(input: {
  client: Client;
  session: PersistentSession;
  script: string;
  sudo: boolean;
  isConnected: () => boolean;
}): RemoteRun {
  const { client, session, script, sudo, isConnected } = input;
  return {
    async start(sinks) {
      const outcome = await session.run(script, sinks);
      if (outcome.kind === 'exited') {
        const signal = signalOfStatus(outcome.code);
        return { kind: 'exited', exitCode: signal ? null : outcome.code, signal };
      }
      return isConnected() ? { kind: 'died', signal: outcome.signal } : { kind: 'lost' };
    },
    signal(name, pgid) {
      if (pgid === undefined) return Promise.resolve();
      return runSideCommand(client, formatGroupKill(name, pgid, sudo));
    },
    abandon() {
      session.destroy();
    },
  };
}
