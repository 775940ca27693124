import { appendFileSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JournalError } from '../../../src/errors.js';
import { JournalWriter, listJournals, newRunId, readJournal } from '../../../src/executor/journal.js';
import { replayJournal } from '../../../src/executor/run-progress.js';

const header = {
  runId: 'r1',
  runbookFile: 'runbooks/x.yaml',
  runbookHash: 'abc',
  startedAt: '2026-11-28T22:00:00.000Z',
  connection: { manager: ['10.0.0.11'] },
  user: 'ops',
  host: 'laptop',
};
const at = '2026-11-28T22:00:01.000Z';

function journalWithOpenStage(dir: string): JournalWriter {
  const journal = JournalWriter.create(dir, header);
  journal.onEvent({
    type: 'node-start',
    node: 'w1',
    position: 1,
    batch: 1,
    availabilityBefore: 'active',
    at,
  });
  journal.onEvent({ type: 'stage-start', node: 'w1', stage: 'drain', kind: 'drain', index: 0, at });
  journal.onEvent({ type: 'drained', node: 'w1', tasksMoved: 2, waitedMs: 900, standalone: [], at });
  journal.onEvent({
    type: 'stage-end',
    node: 'w1',
    stage: 'drain',
    index: 0,
    outcome: 'succeeded',
    durationMs: 1,
    at,
  });
  journal.onEvent({ type: 'stage-start', node: 'w1', stage: 'patch', kind: 'run', index: 1, at });
  return journal;
}

describe('the run journal', () => {
  it('is written line by line with a header, private to the operator', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'journal-'));
    const journal = journalWithOpenStage(dir);
    await journal.close();
    const lines = readJournal(dir, 'r1');
    expect(lines[0]).toMatchObject({ type: 'journal-header', seq: 0, runId: 'r1', formatVersion: 1 });
    expect(lines.map((l) => l.seq)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(statSync(journal.path).mode & 0o777).toBe(0o600);
    expect(listJournals(dir)).toEqual(['r1']);
  });

  it('survives a torn last line (killed mid-write) and shows where the run stopped', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'journal-'));
    const journal = journalWithOpenStage(dir);
    await journal.close();
    appendFileSync(journal.path, '{"seq":6,"type":"outp');
    const progress = replayJournal(readJournal(dir, 'r1'));
    expect(progress.outcome).toBe('running');
    expect(progress.stoppedAt).toMatchObject({ node: 'w1', stage: 'patch' });
    expect([...(progress.doneStages.w1 ?? [])]).toEqual(['drain']);
    expect(progress.drainedByRun.has('w1')).toBe(true);
    expect(progress.availabilityBefore.w1).toBe('active');
  });

  it('refuses a journal corrupted in the middle, and a missing one, with a hint', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'journal-'));
    const journal = journalWithOpenStage(dir);
    await journal.close();
    const text = readFileSync(journal.path, 'utf8').split('\n');
    text[2] = '{not json';
    const { writeFileSync } = await import('node:fs');
    writeFileSync(journal.path, text.join('\n'));
    expect(() => readJournal(dir, 'r1')).toThrow(/corrupt at line 3/);
    expect(() => readJournal(dir, 'nope')).toThrow(JournalError);
    expect(() => readJournal(dir, '../etc/passwd')).toThrow(/not a run id/);
  });

  it('continues the same file on resume, numbering on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'journal-'));
    await journalWithOpenStage(dir).close();
    const again = JournalWriter.reopen(dir, 'r1');
    again.onEvent({ type: 'run-end', runId: 'r1', outcome: 'succeeded', durationMs: 5, at });
    await again.close();
    const lines = readJournal(dir, 'r1');
    expect(lines.at(-1)).toMatchObject({ seq: 6, type: 'run-end' });
    expect(replayJournal(lines).outcome).toBe('succeeded');
  });

  it('makes sortable run ids', () => {
    expect(newRunId(new Date('2026-11-28T22:30:15Z'))).toMatch(/^20261128-223015-[a-z0-9]{1,4}$/);
  });
});
