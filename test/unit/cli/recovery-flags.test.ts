import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../../src/cli/io.js';
import { main } from '../../../src/cli/main.js';
import { parseRunbookText } from '../../../src/runbook/parse.js';

/**
 * The recovery flags of `run` and `resume`, refused or applied before anything is connected
 * to: a journal on disk and an address nothing answers on are all they need.
 */
const dir = mkdtempSync(join(tmpdir(), 'drydock-recovery-flags-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// Nothing answers here: a command that got as far as connecting would fail differently.
const UNREACHABLE = ['--manager', '10.255.255.1', '--insecure-ignore-host-keys'];

async function drydock(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = { stdout: '', stderr: '' };
  const io: CliIo = {
    stdout: (s) => {
      out.stdout += s;
    },
    stderr: (s) => {
      out.stderr += s;
    },
    isTTY: false,
    env: { ...process.env, DRYDOCK_HOME: dir },
  };
  const code = await main(['node', 'drydock', ...args], io);
  return { code, ...out };
}

function runbookText(window: string): string {
  return `version: 1
name: flags
rollout: { window: ${window} }
stages:
  - { kind: run, commands: ["true"] }
`;
}

/** A journal of a run stopped at its window's end, on `runbookText(window)`. */
function journalOf(runId: string, window: string): string {
  const file = join(dir, `${runId}.yaml`);
  writeFileSync(file, runbookText(window));
  const runbook = parseRunbookText(runbookText(window), file);
  const lines = [
    {
      seq: 0,
      type: 'journal-header',
      formatVersion: 1,
      runId,
      runbookFile: file,
      runbookHash: runbook.hash,
      runbookHashOutsideWindow: runbook.hashOutsideWindow,
      startedAt: '2026-12-01T22:00:00.000Z',
      connection: {},
      user: 'ops',
      host: 'laptop',
    },
    {
      seq: 1,
      type: 'run-start',
      runId,
      plan: { rollout: { concurrency: 1, soakBetweenNodesMs: 0 }, nodes: [] },
      resumed: false,
      mode: 'unattended',
      at: '2026-12-01T22:00:00.000Z',
    },
    {
      seq: 2,
      type: 'interrupted',
      node: null,
      stage: null,
      resumeCommand: `drydock resume ${runId}`,
      reason: 'window-end',
      message: 'window ended',
      at: '2026-12-01T23:00:00.000Z',
    },
  ];
  writeFileSync(join(dir, 'runs', `${runId}.jsonl`), `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
  return file;
}

describe('recovery flags', () => {
  it('`resume --force REASON` is ambiguous; `run` refuses both spellings of the pre-flight override at once', async () => {
    const resume = await drydock('resume', 'r1', '--force', 'node3 is known bad', ...UNREACHABLE);
    expect(resume.code).toBe(2);
    expect(resume.stderr).toMatch(/resume --force "node3 is known bad" is ambiguous/);
    expect(resume.stderr).toMatch(/--force-preflight REASON .* or --accept-runbook-change/);
    const run = await drydock('run', 'x.yaml', '--force', 'a', '--force-preflight', 'b', ...UNREACHABLE);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/give --force-preflight REASON once/);
    const empty = await drydock('run', 'x.yaml', '--force-preflight', ' ', ...UNREACHABLE);
    expect(empty.stderr).toMatch(/--force-preflight needs a reason/);
  }, 60_000);

  it('resume takes the window from the runbook as it is now, or --window; a closed one is refused before connecting', async () => {
    mkdirSync(join(dir, 'runs'), { recursive: true });
    const past = '{ start: "2026-01-01T22:00:00Z", end: "2026-01-02T04:00:00Z" }';
    const file = journalOf('w1', past);
    const closed = await drydock('resume', 'w1', ...UNREACHABLE);
    expect(closed.code, closed.stderr).toBe(3);
    expect(closed.stderr).toMatch(
      /the maintenance window closed at 2026-01-02T04:00:00.000Z; .*--window START\/END.* \[window from the runbook\]/,
    );
    const early = await drydock('resume', 'w1', '--window', '2999-01-01T22:00:00Z/', ...UNREACHABLE);
    expect(early.code, early.stderr).toBe(3);
    expect(early.stderr).toMatch(/window opens at 2999-01-01T22:00:00.000Z; .*\[window from --window\]/);
    const bad = await drydock('resume', 'w1', '--window', 'tonight', ...UNREACHABLE);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--window: expected START\/END/);

    // Moving only the window is not a runbook change: it gets past both checks, to connecting
    // (to a socket that does not exist: fails at once, no network).
    writeFileSync(file, runbookText('{ start: "2026-01-01T22:00:00Z", end: "2999-01-02T04:00:00Z" }'));
    const moved = await drydock('resume', 'w1', '--docker-host', `unix://${join(dir, 'none.sock')}`);
    expect(moved.stderr).not.toMatch(/changed since|window/);
    // Any other edit is a change, and says which flag accepts it.
    writeFileSync(file, runbookText('{ end: "2999-01-02T04:00:00Z" }').replace('"true"', '"false"'));
    const changed = await drydock('resume', 'w1', ...UNREACHABLE);
    expect(changed.code).toBe(2);
    expect(changed.stderr).toMatch(/changed since run w1 started[\s\S]*--accept-runbook-change/);
  }, 60_000);
});
