import { open } from 'node:fs/promises';
import { JournalError } from '../errors.js';
import type { RunEvent, RunEventType } from './events.js';

/** The journal format this drydock writes and reads. */
export const JOURNAL_FORMAT_VERSION = 1;

/** Line 1 of a journal. */
export interface JournalHeader {
  type: 'journal-header';
  formatVersion: 1;
  runId: string;
  /** Absolute path of the runbook, so `resume` works from any working directory. */
  runbookFile: string;
  runbookHash: string;
  /** The runbook's hash without its window (absent in older journals): a moved window is no change. */
  runbookHashOutsideWindow?: string;
  startedAt: string;
  /** Connection settings needed to resume (no secrets: paths and addresses only). */
  connection: Record<string, unknown>;
  /** The connection the run used, runbook and flags together (absent in older journals). */
  cluster?: ConnectionUsed;
  user: string;
  host: string;
}

/** How a run reached the cluster: addresses and file paths only, never a secret. */
export interface ConnectionUsed {
  via: 'ssh' | 'tcp' | 'env';
  managers: string[];
  dockerHost?: string;
  host?: string;
  sshUser: string;
  sshPort: number;
  identityFile?: string;
  knownHosts: string;
  hostKeyPolicy: 'strict' | 'accept-new' | 'insecure-ignore';
  sshConfig: boolean;
}

export type JournalLine = (JournalHeader | RunEvent) & { seq: number };

type FieldKind = 'string' | 'object' | 'array' | 'string-or-null';

const KIND_NAMES: Record<FieldKind, string> = {
  string: 'a string',
  object: 'an object',
  array: 'a list',
  'string-or-null': 'a string or null',
};

/**
 * The fields replay and the reporters rely on, per record type. A line that parses as JSON but
 * lacks one is refused with its line number, instead of failing later with a stack trace.
 * A mapped type: adding an event type does not compile until it is listed here.
 */
const EVENT_FIELDS: { [K in RunEventType]: Record<string, FieldKind> } = {
  'run-start': { runId: 'string', plan: 'object' },
  warning: { source: 'string', message: 'string' },
  preflight: { results: 'array' },
  baseline: { nodes: 'array', baseline: 'object' },
  lock: { action: 'string', owner: 'string' },
  'node-start': { node: 'string', availabilityBefore: 'string' },
  'stage-start': { node: 'string', stage: 'string' },
  output: { node: 'string', stage: 'string', line: 'string' },
  command: { node: 'string', stage: 'string', result: 'object' },
  progress: { message: 'string' },
  waiting: { node: 'string', stage: 'string', missing: 'string' },
  drained: { node: 'string' },
  activated: { node: 'string' },
  paused: { node: 'string', nodeId: 'string' },
  replicas: { node: 'string', action: 'string', services: 'array' },
  rebooted: { node: 'string', bootIdBefore: 'string' },
  checks: { results: 'array' },
  'stage-end': { node: 'string', stage: 'string', outcome: 'string' },
  'node-end': { node: 'string' },
  halt: { report: 'object' },
  interrupted: { node: 'string-or-null', stage: 'string-or-null' },
  'run-end': { outcome: 'string' },
};

const HEADER_FIELDS: Record<string, FieldKind> = {
  runId: 'string',
  runbookFile: 'string',
  runbookHash: 'string',
  startedAt: 'string',
  connection: 'object',
};

/**
 * Stream a journal's records, validated, one line at a time: a journal of any size is never
 * held in memory whole. A torn last line (killed mid-write) is skipped, not fatal.
 */
export async function* readJournalRecords(path: string, runId: string): AsyncGenerator<JournalLine> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw new JournalError(`no journal for run ${runId} at ${path}`, {
      cause: error,
      hint: 'list runs with `drydock runs`, or pass --journal-dir',
    });
  }
  try {
    // One line behind, so the last line is known to be last (it alone may be torn).
    let previous: { text: string; number: number } | undefined;
    let number = 0;
    let records = 0;
    for await (const text of handle.readLines({ encoding: 'utf8' })) {
      number += 1;
      if (!text.trim()) continue;
      if (previous) {
        records += 1;
        yield parseRecord(path, previous.text, previous.number, false);
      }
      previous = { text, number };
    }
    if (previous) {
      const last = parseRecord(path, previous.text, previous.number, true);
      if (last) {
        records += 1;
        yield last;
      }
    }
    if (records === 0)
      throw new JournalError(`journal ${path} has no header (empty, or torn while starting)`);
  } finally {
    await handle.close();
  }
}

/** Every record of a journal (tests and small tools; the CLI streams). */
export async function readJournalFile(path: string, runId: string): Promise<JournalLine[]> {
  const lines: JournalLine[] = [];
  for await (const line of readJournalRecords(path, runId)) lines.push(line);
  return lines;
}

function parseRecord(path: string, text: string, number: number, isLast: true): JournalLine | undefined;
function parseRecord(path: string, text: string, number: number, isLast: false): JournalLine;
function parseRecord(path: string, text: string, number: number, isLast: boolean): JournalLine | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    if (isLast) return undefined;
    throw new JournalError(`journal ${path} is corrupt at line ${number}`, {
      cause: error,
      hint: 'the line is not JSON; a journal is only appended to by drydock',
    });
  }
  const problem = describeShapeProblem(value, number);
  if (problem) {
    throw new JournalError(`journal ${path} line ${number}: ${problem}`, {
      hint: 'this file was not written by this version of drydock, or was edited by hand',
    });
  }
  return value as JournalLine;
}

/** What is wrong with a parsed line, or undefined when it is a well-formed record. */
export function describeShapeProblem(value: unknown, number: number): string | undefined {
  if (!isObject(value)) return 'not a journal record (expected a JSON object)';
  if (typeof value.seq !== 'number') return 'not a journal record (no sequence number `seq`)';
  if (number === 1 || value.type === 'journal-header') {
    if (value.type !== 'journal-header') return 'the journal has no header';
    if (number !== 1) return 'a second journal header';
    if (value.formatVersion !== JOURNAL_FORMAT_VERSION) {
      return `journal format version ${JSON.stringify(value.formatVersion)} is not one this drydock reads (it reads version ${JOURNAL_FORMAT_VERSION})`;
    }
    return describeMissingField(value, HEADER_FIELDS);
  }
  if (typeof value.type !== 'string' || !Object.hasOwn(EVENT_FIELDS, value.type)) {
    return `unknown record type ${JSON.stringify(value.type)}`;
  }
  return describeMissingField(value, EVENT_FIELDS[value.type as RunEventType]);
}

function describeMissingField(record: Record<string, unknown>, fields: Record<string, FieldKind>) {
  for (const [field, kind] of Object.entries(fields)) {
    if (!hasKind(record[field], kind)) {
      return `a \`${String(record.type ?? 'header')}\` record whose \`${field}\` is not ${KIND_NAMES[kind]}`;
    }
  }
  return undefined;
}

function hasKind(value: unknown, kind: FieldKind): boolean {
  switch (kind) {
    case 'string':
      return typeof value === 'string';
    case 'string-or-null':
      return value === null || typeof value === 'string';
    case 'array':
      return Array.isArray(value);
    case 'object':
      return isObject(value);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
