import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JournalError } from '../../../src/errors.js';
import { executePlan } from '../../../src/executor/execute-plan.js';
import {
  JournalWriter,
  listJournals,
  newRunId,
  prepareJournalDir,
  readJournal,
} from '../../../src/executor/journal.js';
import { readClusterFacts } from '../../../src/executor/read-cluster-facts.js';
import { emptyProgress, replayJournal, replayJournalFile } from '../../../src/executor/run-progress.js';
import { planRollout } from '../../../src/plan/plan-rollout.js';
import { FakeChecks, FakeCluster, fakeClock } from '../../support/fake-cluster.js';
import { FakeSwarm, manager, node } from '../../support/fake-swarm.js';
import { FIVE_STAGES, runbookFrom } from '../../support/runbook-factory.js';

const header = {
  runId: 'r1',
  runbookFile: '/work/runbooks/x.yaml',
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

/** A real journal: the executor's own events of a run halted on node3's patch (fake cluster). */
async function journalOfHaltedRun(dir: string): Promise<string> {
  const swarm = new FakeSwarm([manager('node1', true), node('node2'), node('node3')]);
  swarm.addService('web', ['node2', 'node3']);
  const cluster = new FakeCluster(swarm);
  cluster.respond = (command, node) =>
    node === 'node3' && command.includes('apt-get') ? { exitCode: 100, stderr: 'E: dpkg' } : undefined;
  const runbook = runbookFrom(FIVE_STAGES);
  const journal = JournalWriter.create(dir, { ...header, runId: 'real' });
  const outcome = await executePlan({
    runId: 'real',
    plan: planRollout(runbook, await readClusterFacts(swarm)),
    runbook,
    cluster,
    checks: new FakeChecks(),
    reporter: journal,
    clock: fakeClock(),
    stopSignal: new AbortController().signal,
    cancelSignal: new AbortController().signal,
    progress: emptyProgress({ type: 'journal-header', formatVersion: 1, ...header, runId: 'real' }),
    lock: { owner: 'tester@laptop', ttlMs: 3_600_000 },
    resumeCommand: 'drydock resume real',
  });
  expect(outcome).toBe('halted');
  await journal.close();
  return journal.path;
}

describe('the run journal', () => {
  it('is written line by line with a header, private to the operator', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'journal-'));
    const journal = journalWithOpenStage(dir);
    await journal.close();
    const lines = await readJournal(dir, 'r1');
    expect(lines[0]).toMatchObject({ type: 'journal-header', seq: 0, runId: 'r1', formatVersion: 1 });
    expect(lines.map((l) => l.seq)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(statSync(journal.path).mode & 0o777).toBe(0o600);
    expect(listJournals(dir)).toEqual(['r1']);
  });

  it('leaves heartbeats out: they are for the screen', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'journal-'));
    const journal = journalWithOpenStage(dir);
    journal.onEvent({
      type: 'waiting',
      node: 'w1',
      stage: 'patch',
      wait: 'checks',
      waitedMs: 10_000,
      missing: 'still checking after 10s: node-ready',
      at,
    });
    await journal.close();
    const lines = await readJournal(dir, 'r1');
    expect(lines.map((l) => l.type)).not.toContain('waiting');
    expect(lines).toHaveLength(6);
  });

  it('survives a torn last line (killed mid-write) and shows where the run stopped', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'journal-'));
    const journal = journalWithOpenStage(dir);
    await journal.close();
    appendFileSync(journal.path, '{"seq":6,"type":"outp');
    const progress = replayJournal(await readJournal(dir, 'r1'));
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
    writeFileSync(journal.path, text.join('\n'));
    await expect(readJournal(dir, 'r1')).rejects.toThrow(/corrupt at line 3/);
    await expect(readJournal(dir, 'nope')).rejects.toThrow(JournalError);
    await expect(readJournal(dir, '../etc/passwd')).rejects.toThrow(/not a run id/);
  });

  it.each([
    ['a JSON value that is not a record', '[1,2,3]', /line 3: not a journal record/],
    ['a record without a sequence number', '{"type":"drained","node":"w1"}', /no sequence number/],
    ['an unknown record type', '{"seq":2,"type":"teleported","at":"x"}', /unknown record type "teleported"/],
    [
      'a known type without its fields',
      '{"seq":2,"type":"stage-end","stage":"patch","outcome":"failed"}',
      /`stage-end` record whose `node` is not a string/,
    ],
  ])('refuses %s with the line number (a JournalError, exit 2)', async (_what, line, message) => {
    const dir = mkdtempSync(join(tmpdir(), 'journal-'));
    await journalWithOpenStage(dir).close();
    const text = readFileSync(join(dir, 'r1.jsonl'), 'utf8').split('\n');
    text[2] = line;
    writeFileSync(join(dir, 'r1.jsonl'), text.join('\n'));
    const error = await readJournal(dir, 'r1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JournalError);
    expect((error as JournalError).exitCode).toBe(2);
    expect((error as Error).message).toMatch(message);
  });

  it('refuses a journal of an unknown format version, saying which', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'journal-'));
    await journalWithOpenStage(dir).close();
    const path = join(dir, 'r1.jsonl');
    writeFileSync(path, readFileSync(path, 'utf8').replace('"formatVersion":1', '"formatVersion":7'));
    await expect(replayJournalFile(dir, 'r1')).rejects.toThrow(
      /format version 7 is not one this drydock reads \(it reads version 1\)/,
    );
  });

  it('continues the same file on resume, numbering on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'journal-'));
    await journalWithOpenStage(dir).close();
    const { journal: again, torn } = await JournalWriter.reopen(dir, 'r1');
    expect(torn).toBeUndefined();
    again.onEvent({ type: 'run-end', runId: 'r1', outcome: 'succeeded', durationMs: 5, at });
    await again.close();
    const lines = await readJournal(dir, 'r1');
    expect(lines.at(-1)).toMatchObject({ seq: 6, type: 'run-end' });
    expect(replayJournal(lines).outcome).toBe('succeeded');
  });

  it('reopens after a crash at every byte of the last line: fragment kept aside, fresh line, readable', async () => {
    const source = mkdtempSync(join(tmpdir(), 'journal-real-'));
    const path = await journalOfHaltedRun(source);
    const whole = readFileSync(path);
    const lastLineStart = whole.subarray(0, whole.length - 1).lastIndexOf(0x0a) + 1;
    const complete = (await readJournal(source, 'real')).length;
    expect(complete).toBeGreaterThan(20);

    for (let cut = lastLineStart; cut <= whole.length; cut++) {
      const dir = mkdtempSync(join(tmpdir(), 'journal-torn-'));
      const copy = join(dir, 'real.jsonl');
      writeFileSync(copy, whole);
      truncateSync(copy, cut);
      const fragment = whole.subarray(lastLineStart, cut);
      // The last record survives only if every byte of it (newline aside) made it to disk.
      const kept = cut >= whole.length - 1 ? complete : complete - 1;

      const { journal, torn } = await JournalWriter.reopen(dir, 'real');
      journal.onEvent({ type: 'progress', node: 'node3', stage: 'patch', message: 'resumed', at });
      journal.onEvent({ type: 'run-end', runId: 'real', outcome: 'succeeded', durationMs: 1, at });
      await journal.close();

      const lines = await readJournal(dir, 'real');
      expect(lines.length, `cut at byte ${cut}`).toBe(kept + 2);
      expect(
        lines.map((l) => l.seq),
        `cut at byte ${cut}`,
      ).toEqual([...Array(kept + 2).keys()]);
      expect(lines.at(-2)).toMatchObject({ type: 'progress', message: 'resumed' });
      expect((await replayJournalFile(dir, 'real')).outcome).toBe('succeeded');
      if (fragment.length > 0 && kept < complete) {
        // The fragment is evidence: moved aside byte for byte, not deleted.
        expect(torn?.keptIn).toBe(`${copy}.torn-1`);
        expect(readFileSync(`${copy}.torn-1`).equals(fragment)).toBe(true);
      } else {
        expect(torn).toBeUndefined();
        expect(existsSync(`${copy}.torn-1`)).toBe(false);
      }
    }
  });

  it('refuses a journal directory that is a file, or a run id that exists, as JournalErrors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'journal-'));
    writeFileSync(join(dir, 'file'), 'x');
    expect(() => prepareJournalDir(join(dir, 'file'))).toThrow(/journal directory .*file is not a directory/);
    expect(() => prepareJournalDir(join(dir, 'file', 'runs'))).toThrow(JournalError);
    journalWithOpenStage(dir);
    expect(() => JournalWriter.create(dir, header)).toThrow(/a journal for run r1 already exists/);
  });

  it('makes sortable run ids', () => {
    expect(newRunId(new Date('2026-11-28T22:30:15Z'))).toMatch(/^20261128-223015-[a-z0-9]{1,4}$/);
  });
});
