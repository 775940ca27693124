import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { JournalError } from '../errors.js';
import type { RunEvent, RunReporter } from './events.js';

/**
 * The run journal: one append-only JSON-lines file per run. Every line is written and
 * fsync'd before the executor moves on, so `kill -9` loses nothing that happened.
 *
 * Line 1 is the header; every other line is a RunEvent plus a sequence number.
 */
export interface JournalHeader {
  type: 'journal-header';
  formatVersion: 1;
  runId: string;
  runbookFile: string;
  runbookHash: string;
  startedAt: string;
  /** Connection settings needed to resume (no secrets: paths and addresses only). */
  connection: Record<string, unknown>;
  user: string;
  host: string;
}

export type JournalLine = (JournalHeader | RunEvent) & { seq: number };

/** Default: $DRYDOCK_HOME/runs, else ~/.drydock/runs. */
export function defaultJournalDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.DRYDOCK_HOME ? join(env.DRYDOCK_HOME, 'runs') : join(homedir(), '.drydock', 'runs');
}

export function journalPath(dir: string, runId: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(runId)) throw new JournalError(`not a run id: ${runId}`);
  return join(resolve(dir), `${runId}.jsonl`);
}

/** `20261128-223015-k3f9`: sortable, readable, unique enough for one operator's machine. */
export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${Math.random().toString(36).slice(2, 6)}`;
}

export class JournalWriter implements RunReporter {
  private fd: number;
  private seq: number;

  private constructor(
    readonly path: string,
    fd: number,
    seq: number,
  ) {
    this.fd = fd;
    this.seq = seq;
  }

  /** Create a new journal with its header. */
  static create(dir: string, header: Omit<JournalHeader, 'type' | 'formatVersion'>): JournalWriter {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const path = journalPath(dir, header.runId);
    const fd = openSync(path, 'wx', 0o600);
    const writer = new JournalWriter(path, fd, 0);
    writer.append({ type: 'journal-header', formatVersion: 1, ...header });
    return writer;
  }

  /** Re-open an existing journal to continue it (resume). */
  static reopen(dir: string, runId: string): JournalWriter {
    const path = journalPath(dir, runId);
    const lines = readJournal(dir, runId);
    const fd = openSync(path, 'a', 0o600);
    return new JournalWriter(path, fd, lines.length);
  }

  onEvent(event: RunEvent): void {
    this.append(event);
  }

  private append(record: JournalHeader | RunEvent): void {
    const line = `${JSON.stringify({ seq: this.seq++, ...record })}\n`;
    writeSync(this.fd, line);
    // Why fsync every line: the journal is what resume trusts after a crash or kill -9.
    fsyncSync(this.fd);
  }

  async close(): Promise<void> {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

/** Read every complete line; a torn last line (killed mid-write) is ignored, not fatal. */
export function readJournal(dir: string, runId: string): JournalLine[] {
  const path = journalPath(dir, runId);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new JournalError(`no journal for run ${runId} in ${dir}`, {
      cause: error,
      hint: 'list runs with `drydock runs`, or pass --journal-dir',
    });
  }
  const lines: JournalLine[] = [];
  const raw = text.split('\n');
  raw.forEach((line, i) => {
    if (!line.trim()) return;
    try {
      lines.push(JSON.parse(line) as JournalLine);
    } catch (error) {
      const isLast = raw.slice(i + 1).every((l) => !l.trim());
      if (!isLast) throw new JournalError(`journal ${path} is corrupt at line ${i + 1}`, { cause: error });
    }
  });
  const header = lines[0];
  if (header?.type !== 'journal-header') {
    throw new JournalError(`journal ${path} has no header`);
  }
  return lines;
}

export function listJournals(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith('.jsonl'))
      .map((f) => f.slice(0, -'.jsonl'.length))
      .sort();
  } catch {
    return [];
  }
}
