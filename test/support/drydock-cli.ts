import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { RunEvent } from '../../src/executor/events.js';

export const REPO = resolve(import.meta.dirname, '../..');
const BIN = join(REPO, 'bin/drydock.js');
/** How Node prints a warning on stderr, e.g. `(node:123) MaxListenersExceededWarning: …`. */
const NODE_WARNING = /^\(node:\d+\) (?:\[\w+\] )?\w*Warning: .*$/gm;

export interface CliResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Parsed JSON-lines events (when run with --json). */
  events: RunEvent[];
}

export interface CliHandle {
  proc: ChildProcess;
  done: Promise<CliResult>;
}

/**
 * Run the real CLI as a process. `onEvent` sees each JSON event as it is printed, so a test
 * can inject a fault at an exact point of the run (e.g. when a stage starts).
 */
export function startDrydock(
  args: string[],
  options: {
    env?: NodeJS.ProcessEnv;
    /** Working directory of the process (default: the repository). */
    cwd?: string;
    onEvent?: (event: RunEvent, proc: ChildProcess) => void | Promise<void>;
  } = {},
): CliHandle {
  const proc = spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? REPO,
    env: { ...process.env, FORCE_COLOR: '0', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events: RunEvent[] = [];
  let stdout = '';
  let stderr = '';
  proc.stderr!.on('data', (chunk) => {
    stderr += chunk;
  });
  const lines = createInterface({ input: proc.stdout! });
  const pending: Promise<void>[] = [];
  lines.on('line', (line) => {
    stdout += `${line}\n`;
    if (!line.startsWith('{')) return;
    try {
      const event = JSON.parse(line) as RunEvent;
      events.push(event);
      const reaction = options.onEvent?.(event, proc);
      if (reaction) pending.push(reaction);
    } catch {
      // Not an event line.
    }
  });
  const done = new Promise<CliResult>((resolvePromise) => {
    proc.on('close', async (exitCode, signal) => {
      await Promise.allSettled(pending);
      // The CLI's own Node warnings count as the test's (fail-on-warnings.ts fails the test).
      for (const line of stderr.match(NODE_WARNING) ?? [])
        process.emitWarning(`drydock CLI: ${line}`, 'CliWarning');
      resolvePromise({ exitCode, signal, stdout, stderr, events });
    });
  });
  return { proc, done };
}

export function runDrydock(
  args: string[],
  options: Parameters<typeof startDrydock>[1] = {},
): Promise<CliResult> {
  return startDrydock(args, options).done;
}

export function tempDir(prefix = 'drydock-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Write a runbook into a temp dir and return its path. */
export function writeRunbook(dir: string, name: string, yaml: string): string {
  const path = join(dir, name);
  writeFileSync(path, yaml);
  return path;
}

export function eventsOf<T extends RunEvent['type']>(
  events: RunEvent[],
  type: T,
): Extract<RunEvent, { type: T }>[] {
  return events.filter((e): e is Extract<RunEvent, { type: T }> => e.type === type);
}

export function readJournalLines(journalDir: string, runId: string): Record<string, unknown>[] {
  return readFileSync(join(journalDir, `${runId}.jsonl`), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** For assertion messages: stderr, the halt report, and the last events, so a failure explains itself. */
export function explain(result: CliResult): string {
  const halt = result.events.find((e) => e.type === 'halt');
  const last = result.events
    .filter((e) => e.type !== 'output' && e.type !== 'baseline' && e.type !== 'run-start')
    .slice(-6)
    .map((e) => JSON.stringify(e).slice(0, 600));
  return [
    result.stderr.slice(-2000),
    // Commands without events (check, plan) explain themselves on stdout.
    result.events.length === 0 ? result.stdout.slice(-3000) : '',
    halt ? `HALT ${JSON.stringify(halt).slice(0, 3000)}` : '',
    ...last,
  ].join('\n');
}
