import {
  accessSync,
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { JournalError } from '../errors.js';
import type { RunEvent, RunReporter } from './events.js';
import {
  JOURNAL_FORMAT_VERSION,
  type JournalHeader,
  type JournalLine,
  readJournalFile,
  readJournalRecords,
} from './journal-read.js';

/**
 * The run journal: one append-only JSON-lines file per run. Every line is written and
 * fsync'd before the executor moves on, so `kill -9` loses nothing that happened.
 *
 * Line 1 is the header; every other line is a RunEvent plus a sequence number (the format
 * and its reader are in journal-read.ts). Every line on disk is whole: a write that fails
 * half-way (disk full) is cut back, and a line torn by a crash is set aside on reopen.
 */
export type { JournalHeader, JournalLine } from './journal-read.js';

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

/**
 * Make sure the journal directory exists and can be written, before anything else happens
 * (before connecting): a run must never start without a place to record what it does.
 */
export function prepareJournalDir(dir: string): string {
  const path = resolve(dir);
  try {
    mkdirSync(path, { recursive: true, mode: 0o700 });
    if (!statSync(path).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
    accessSync(path, constants.W_OK | constants.X_OK);
    // A real write, because a full disk still passes every permission check.
    const probe = join(path, `.probe-${process.pid}`);
    writeFileSync(probe, Buffer.alloc(4096), { mode: 0o600 });
    unlinkSync(probe);
  } catch (error) {
    throw journalDirError(path, error);
  }
  return path;
}

function journalDirError(path: string, error: unknown): JournalError {
  const code = (error as NodeJS.ErrnoException)?.code;
  const why =
    code === 'ENOTDIR' || code === 'EEXIST'
      ? 'is not a directory'
      : code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
        ? `is not writable (${code})`
        : code === 'ENOSPC'
          ? 'is on a full disk (ENOSPC)'
          : `cannot be used: ${(error as Error)?.message ?? String(error)}`;
  return new JournalError(`the journal directory ${path} ${why}`, {
    cause: error,
    hint: 'pass --journal-dir with a writable directory, or set DRYDOCK_HOME',
  });
}

/** What reopening found at the end of a journal. */
export interface ReopenReport {
  /** A line torn by a crash: its bytes were moved to `keptIn` and the journal goes on after it. */
  torn?: { bytes: number; keptIn: string };
}

export class JournalWriter implements RunReporter {
  private fd: number;
  private seq: number;
  /** Bytes of whole lines on disk: where the next line goes, and where a failed write is cut back to. */
  private offset: number;
  /** Lines not yet on disk because writing failed (oldest first); retried on every append. */
  private readonly unwritten: string[] = [];
  private lastError: unknown;

  private constructor(
    readonly path: string,
    fd: number,
    seq: number,
    offset: number,
  ) {
    this.fd = fd;
    this.seq = seq;
    this.offset = offset;
  }

  /** Create a new journal with its header. */
  static create(dir: string, header: Omit<JournalHeader, 'type' | 'formatVersion'>): JournalWriter {
    const path = journalPath(prepareJournalDir(dir), header.runId);
    let fd: number;
    try {
      fd = openSync(path, 'wx', 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new JournalError(`a journal for run ${header.runId} already exists: ${path}`, {
          cause: error,
          hint: 'run ids must be unique; start the run again (it gets a new id)',
        });
      }
      throw journalDirError(dir, error);
    }
    const writer = new JournalWriter(path, fd, 0, 0);
    writer.append({ type: 'journal-header', formatVersion: JOURNAL_FORMAT_VERSION, ...header });
    const failure = writer.fault();
    if (failure) {
      closeSync(fd);
      unlinkSync(path);
      throw new JournalError(`cannot write the journal ${path}: ${failure.message}`, {
        cause: failure,
        hint: 'free space on that disk, or pass --journal-dir with another directory',
      });
    }
    return writer;
  }

  /**
   * Re-open an existing journal to continue it (resume). A torn last line (the process died
   * mid-write) is evidence: it is moved to `<journal>.torn-<n>` and the journal goes on on a
   * fresh line, so the first resumed record is never glued to the fragment.
   */
  static async reopen(dir: string, runId: string): Promise<{ journal: JournalWriter } & ReopenReport> {
    const path = journalPath(dir, runId);
    let seq = 0;
    for await (const line of readJournalRecords(path, runId)) seq = line.seq + 1;
    const fd = openSync(path, 'r+');
    try {
      const size = fstatSync(fd).size;
      const tailStart = findTailStart(fd, size);
      const report: ReopenReport = {};
      let offset = size;
      if (tailStart < size) {
        const tail = Buffer.alloc(size - tailStart);
        readSync(fd, tail, 0, tail.length, tailStart);
        if (isWholeRecord(tail)) {
          // Complete but for its newline: keep it, end the line.
          writeAll(fd, Buffer.from('\n'), size);
          offset = size + 1;
        } else {
          const keptIn = keepTornTail(path, tail);
          ftruncateSync(fd, tailStart);
          offset = tailStart;
          report.torn = { bytes: tail.length, keptIn };
        }
        fsyncSync(fd);
      }
      return { journal: new JournalWriter(path, fd, seq, offset), ...report };
    } catch (error) {
      closeSync(fd);
      throw new JournalError(`cannot repair the end of the journal ${path}: ${(error as Error).message}`, {
        cause: error,
        hint: 'free space on that disk, then resume again',
      });
    }
  }

  onEvent(event: RunEvent): void {
    // Heartbeats are for the screen: the halt or the stage's end journals the last state.
    if (event.type === 'waiting') return;
    this.append(event);
  }

  /**
   * Why the journal is behind (lines not on disk), or undefined when every line is written.
   * The executor halts at its next safe point while this is set.
   */
  fault(): Error | undefined {
    if (this.unwritten.length === 0) return undefined;
    const error = this.lastError as Error | undefined;
    return error instanceof Error ? error : new Error(String(error));
  }

  /** How many records could not be written (reported when the run ends). */
  unwrittenCount(): number {
    return this.unwritten.length;
  }

  private append(record: JournalHeader | RunEvent): void {
    this.unwritten.push(`${JSON.stringify({ seq: this.seq++, ...record })}\n`);
    this.flush();
  }

  /** Write pending lines in order; on failure cut the file back to its last whole line. */
  private flush(): void {
    while (this.unwritten.length > 0 && this.fd >= 0) {
      const line = Buffer.from(this.unwritten[0]!);
      try {
        writeAll(this.fd, line, this.offset);
        // Why fsync every line: the journal is what resume trusts after a crash or kill -9.
        fsyncSync(this.fd);
      } catch (error) {
        this.lastError = error;
        try {
          ftruncateSync(this.fd, this.offset);
        } catch {
          // The next reopen sets any fragment aside.
        }
        return;
      }
      this.offset += line.length;
      this.unwritten.shift();
    }
  }

  async close(): Promise<void> {
    if (this.fd >= 0) {
      this.flush();
      closeSync(this.fd);
    }
    this.fd = -1;
  }
}

/** Every record of a journal, validated (streamed from disk; see `readJournalRecords`). */
export async function readJournal(dir: string, runId: string): Promise<JournalLine[]> {
  return readJournalFile(journalPath(dir, runId), runId);
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

/** `writeSync` may write less than asked (a nearly full disk): loop until all of it is down. */
function writeAll(fd: number, buffer: Buffer, position: number): void {
  let done = 0;
  while (done < buffer.length) {
    done += writeSync(fd, buffer, done, buffer.length - done, position + done);
  }
}

/** Offset just after the last newline (0 if none): where a torn tail would start. */
function findTailStart(fd: number, size: number): number {
  const chunk = Buffer.alloc(64 * 1024);
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - chunk.length);
    const read = readSync(fd, chunk, 0, end - start, start);
    const at = chunk.subarray(0, read).lastIndexOf(0x0a);
    if (at >= 0) return start + at + 1;
    end = start;
  }
  return 0;
}

function isWholeRecord(tail: Buffer): boolean {
  try {
    const value: unknown = JSON.parse(tail.toString('utf8'));
    return typeof value === 'object' && value !== null;
  } catch {
    return false;
  }
}

function keepTornTail(path: string, tail: Buffer): string {
  for (let n = 1; ; n++) {
    const keptIn = `${path}.torn-${n}`;
    try {
      writeFileSync(keptIn, tail, { flag: 'wx', mode: 0o600 });
      return keptIn;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}
