import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runsCommand } from '../../../src/cli/commands/runs.js';
import { JournalError } from '../../../src/errors.js';
import type { JournalLine } from '../../../src/executor/journal.js';
import {
  endRun,
  haltedJournal,
  JournalRecorder,
  maintainNode,
  startRun,
} from '../../support/run-journal-factory.js';

function captureIo() {
  const out = { stdout: '', stderr: '' };
  const io = {
    stdout: (s: string) => {
      out.stdout += s;
    },
    stderr: (s: string) => {
      out.stderr += s;
    },
    isTTY: false,
    env: {},
  };
  return { out, io };
}

function journalDirWith(lines: JournalLine[], runId: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'drydock-runs-'));
  writeFileSync(join(dir, `${runId}.jsonl`), `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
  return dir;
}

/** A forced run halted on node2 / patch with node2 drained; then a resume refused at pre-flight. */
function haltedThenRefusedResume(): JournalRecorder {
  const r = new JournalRecorder();
  const { plan } = haltedJournal(4, r);
  r.lines.splice(
    r.lines.findIndex((l) => l.type === 'stage-start' && l.node === 'node2' && l.stage === 'patch'),
    0,
    {
      type: 'drained',
      node: 'node2',
      tasksMoved: 2,
      waitedMs: 900,
      standalone: [],
      at: '2024-05-01T12:03:00.000Z',
      seq: 0,
    },
  );
  r.wait(3_600_000);
  r.emit({ type: 'run-start', runId: r.runId, plan, resumed: true, mode: 'unattended' }, 0);
  r.emit({ type: 'lock', action: 'acquired', owner: 'bob@jump' });
  r.emit({
    type: 'halt',
    report: {
      runId: r.runId,
      node: '',
      stage: 'pre-flight',
      reason: 'pre-flight failed: node-ready on node2: availability drain',
      failedChecks: [],
      lastOutput: [],
      nodes: [],
      resumeCommand: `drydock resume ${r.runId}`,
    },
  });
  r.emit({ type: 'run-end', runId: r.runId, outcome: 'refused', durationMs: 2000 });
  return r;
}

describe('drydock runs', () => {
  it('shows a run that left a node drained as halted there, not as refused by a later resume', async () => {
    const r = haltedThenRefusedResume();
    const dir = journalDirWith(r.lines, r.runId);
    const { out, io } = captureIo();
    expect(await runsCommand({ journalDir: dir }, io)).toBe(0);
    expect(out.stdout).toContain(
      'halted at node2 / patch (node2 drained); last resume refused at pre-flight',
    );
    expect(out.stdout).not.toMatch(/refused 0\/4/);
    expect(out.stdout).toContain('1/4 nodes');

    const json = captureIo();
    await runsCommand({ journalDir: dir, json: true }, json.io);
    expect(JSON.parse(json.out.stdout)[0]).toMatchObject({
      outcome: 'halted',
      stoppedAt: 'node2/patch',
      drained: ['node2'],
      by: 'alice@ops-laptop',
      startedAt: '2024-05-01T12:00:00.000Z',
      // Two attempts: 100 s, then the refused resume's 2 s (not the hour between them).
      durationMs: 102_000,
    });
  });

  it('clears the stop of a run whose resume succeeded, and shows start, duration and who ran it', async () => {
    const { r, plan } = haltedJournal(3);
    r.wait(3_600_000);
    startRun(r, plan, true);
    maintainNode(r, plan, 'node2');
    maintainNode(r, plan, 'node3');
    endRun(r, 'succeeded');
    const dir = journalDirWith(r.lines, r.runId);
    const { out, io } = captureIo();
    await runsCommand({ journalDir: dir }, io);
    expect(out.stdout).toMatch(
      /^20240501-120000-abcd {2}2024-05-01T12:00:00Z +3m20s {2}3\/3 nodes {2}succeeded {2}by alice@ops-laptop {2}runbooks\/rolling-patch.yaml/,
    );
    const json = captureIo();
    await runsCommand({ journalDir: dir, json: true }, json.io);
    expect(JSON.parse(json.out.stdout)[0]).toMatchObject({
      outcome: 'succeeded',
      stoppedAt: '',
      drained: [],
    });
  });

  it('RUN_ID shows one run: every node, the halt, the resume command and the report', async () => {
    const r = haltedThenRefusedResume();
    const dir = journalDirWith(r.lines, r.runId);
    const { out, io } = captureIo();
    expect(await runsCommand({ journalDir: dir }, io, r.runId)).toBe(0);
    const text = out.stdout;
    expect(text).toContain(`run ${r.runId}: halted at node2 / patch (node2 drained)`);
    expect(text).toContain('started   2024-05-01T12:00:00.000Z by alice@ops-laptop');
    expect(text).toContain('in 2 attempts');
    expect(text).toMatch(/resume {2}\S+ {2}refused .*by bob@jump/);
    expect(text).toMatch(/node1 {2}manager {2}done/);
    expect(text).toMatch(/node2 {2}worker +stopped at patch, drained: command exited with 100/);
    expect(text).toMatch(/node3 {2}worker +not started/);
    expect(text).toContain('stopped   node2 / patch: command exited with 100');
    expect(text).toContain('refused   the last resume');
    expect(text).toContain(`resume    drydock resume ${r.runId}`);
    expect(text).toContain(`report    (drydock report ${r.runId})`);

    const json = captureIo();
    await runsCommand({ journalDir: dir, json: true }, json.io, r.runId);
    expect(JSON.parse(json.out.stdout)).toMatchObject({
      runId: r.runId,
      resumeCommand: `drydock resume ${r.runId} --journal-dir ${dir}`,
      stoppedAt: { node: 'node2', stage: 'patch' },
      nodes: [
        { name: 'node1', standing: { kind: 'done' } },
        { name: 'node2', standing: { kind: 'stopped', stage: 'patch', drained: true } },
        { name: 'node3', standing: { kind: 'not-started' } },
        { name: 'node4', standing: { kind: 'not-started' } },
      ],
    });
  });

  it('RUN_ID of an unknown run is refused with a hint', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'drydock-runs-'));
    const { io } = captureIo();
    await expect(runsCommand({ journalDir: dir }, io, 'nope')).rejects.toBeInstanceOf(JournalError);
  });
});
