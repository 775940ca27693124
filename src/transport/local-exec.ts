import { execa } from 'execa';
import type { CommandResult, ExecOptions, LocalRunner } from './types.js';

/** How long a command may ignore SIGTERM after a timeout or a cancel before it gets SIGKILL. */
const KILL_GRACE_MS = 2000;

/**
 * Runs commands on the operator's machine under /bin/sh (like remote commands, whatever the
 * operator's login shell is). A non-zero exit, a timeout or a cancel is a result, never a throw.
 */
export function createLocalRunner(env: NodeJS.ProcessEnv = process.env): LocalRunner {
  return { exec: (command, options) => runLocalCommand(command, options ?? {}, env) };
}

async function runLocalCommand(
  command: string,
  options: Omit<ExecOptions, 'sudo'>,
  env: NodeJS.ProcessEnv,
): Promise<CommandResult> {
  const startedAt = Date.now();
  // Its own process group: a timeout or cancel must stop the pipeline's children too, or they
  // keep the output pipes open and the command never ends.
  const child = execa('/bin/sh', ['-c', command], {
    reject: false,
    stdin: 'ignore',
    env,
    extendEnv: false,
    stripFinalNewline: false,
    detached: true,
  });
  let timedOut = false;
  let stopped = false;
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, signal);
    } catch {
      // Already gone.
    }
  };
  const stop = () => {
    if (stopped) return;
    stopped = true;
    killGroup('SIGTERM');
    setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS).unref();
  };
  const timer = options.timeoutMs
    ? setTimeout(() => {
        timedOut = true;
        stop();
      }, options.timeoutMs)
    : undefined;
  if (options.signal?.aborted) stop();
  options.signal?.addEventListener('abort', stop, { once: true });
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => options.onStdout?.(chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => options.onStderr?.(chunk));
  try {
    const r = await child;
    const failedToStart = r.exitCode === undefined && !r.signal;
    return {
      node: 'local',
      command: options.display ?? command,
      exitCode: stopped ? null : (r.exitCode ?? null),
      signal: r.signal ?? (stopped ? 'SIGTERM' : null),
      stdout: String(r.stdout ?? ''),
      stderr: `${String(r.stderr ?? '')}${failedToStart ? (r.shortMessage ?? '') : ''}`,
      durationMs: Date.now() - startedAt,
      timedOut,
      connectionLost: false,
    };
  } finally {
    if (timer) clearTimeout(timer);
    options.signal?.removeEventListener('abort', stop);
  }
}
