import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { quoteShellArg } from '../../src/shared/shell-quote.js';

/**
 * Drive a real pseudo-terminal with tmux, the way a person uses the CLI: type keys, read the
 * screen. Generic on purpose: the fake-run test and the real-CLI lab tests both use it.
 */
export interface Tty {
  /** The visible screen, as plain text (no escape sequences), trailing blank lines trimmed. */
  screen(): Promise<string>;
  /** The screen and everything scrolled off it, as plain text: what the operator can scroll back to. */
  transcript(): Promise<string>;
  /** Polls the screen until `text` appears; throws with the last screen on timeout. */
  waitFor(text: string | RegExp, timeoutMs?: number): Promise<string>;
  /** tmux key names or literal text: `send('Up', 'Up', 'Enter')`, `send('C-c')`. */
  send(...keys: string[]): Promise<void>;
  /** Types `text` literally, then Enter. */
  sendLine(text: string): Promise<void>;
  /** Waits for the command to exit and returns its exit code. */
  exitCode(timeoutMs?: number): Promise<number>;
  kill(): Promise<void>;
}

export interface TtyOptions {
  cwd?: string;
  env?: Record<string, string>;
  cols?: number;
  rows?: number;
}

const POLL_MS = 100;

export async function startTty(command: string, opts: TtyOptions = {}): Promise<Tty> {
  const session = `drydock-${randomUUID().slice(0, 8)}`;
  const dir = await mkdtemp(join(tmpdir(), 'drydock-tty-'));
  const exitFile = join(dir, 'exit-code');
  // The wrapper records the exit code, then keeps the pane open so the last screen stays readable.
  const wrapped = `${command}; echo $? > ${quoteShellArg(exitFile)}; sleep 86400`;
  const envArgs = Object.entries(opts.env ?? {}).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
  await execa('tmux', [
    'new-session',
    '-d',
    '-s',
    session,
    '-x',
    String(opts.cols ?? 120),
    '-y',
    String(opts.rows ?? 40),
    ...(opts.cwd ? ['-c', opts.cwd] : []),
    ...envArgs,
    'bash',
    '--norc',
    '--noprofile',
    '-c',
    wrapped,
  ]);

  const tty: Tty = {
    async screen() {
      const { stdout } = await execa('tmux', ['capture-pane', '-p', '-t', session]);
      return stdout.replace(/\s+$/, '');
    },
    async transcript() {
      const { stdout } = await execa('tmux', ['capture-pane', '-p', '-S', '-', '-t', session]);
      return stdout.replace(/\s+$/, '');
    },
    async waitFor(text, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      let last = '';
      for (;;) {
        last = await tty.screen();
        if (typeof text === 'string' ? last.includes(text) : text.test(last)) return last;
        if (Date.now() > deadline) {
          throw new Error(`timed out after ${timeoutMs}ms waiting for ${String(text)}; screen:\n${last}`);
        }
        await sleep(POLL_MS);
      }
    },
    async send(...keys) {
      for (const key of keys) await execa('tmux', ['send-keys', '-t', session, key]);
    },
    async sendLine(text) {
      await execa('tmux', ['send-keys', '-t', session, '-l', text]);
      await execa('tmux', ['send-keys', '-t', session, 'Enter']);
    },
    async exitCode(timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const code = await readFile(exitFile, 'utf8').catch(() => undefined);
        if (code !== undefined && code.trim() !== '') return Number(code.trim());
        if (Date.now() > deadline) throw new Error(`command did not exit within ${timeoutMs}ms`);
        await sleep(POLL_MS);
      }
    },
    async kill() {
      await execa('tmux', ['kill-session', '-t', session], { reject: false });
      await rm(dir, { recursive: true, force: true });
    },
  };
  return tty;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
