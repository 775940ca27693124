import { execFileSync, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { labDocker, labUp } from '../lab/lab.js';
import { eventsOf, explain, REPO, runDrydock, tempDir, writeRunbook } from '../support/drydock-cli.js';
import { resetLab } from '../support/lab-reset.js';
import { labConnection, nodeAvailability } from '../support/lab-runbook.js';

/**
 * The journal and the lock under real faults: a journal directory that fills up mid-run (a
 * real tmpfs), journals that are torn, malformed or huge (the real CLI), and a lock that must
 * outlive its ttl while the run lives and stop the run when someone removes it (the lab).
 */
let dir: string;
const mounts: string[] = [];

beforeAll(() => {
  dir = tempDir('drydock-journal-');
});
afterAll(() => {
  for (const m of mounts.reverse()) spawnSync('umount', [m]);
  rmSync(dir, { recursive: true, force: true });
});

/** A real, tiny filesystem for journals: `mount -t tmpfs -o size=…`. */
function mountTmpfs(path: string, options: string): string {
  mkdirSync(path, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', path]);
  mounts.push(path);
  return path;
}

/** Fill a filesystem to the last block, as a runaway log would. */
function fillUp(path: string): void {
  spawnSync('dd', ['if=/dev/zero', `of=${join(path, 'filler')}`, 'bs=4k'], { stdio: 'ignore' });
}

/** A short runbook on the lab's workers: no reboot, so a run takes seconds per node. */
function workerRunbook(name: string, stages: string): string {
  return `version: 1
name: ${name}
targets: { roles: [worker] }
${labConnection()}
checks:
  between: [node-ready]
  afterNode: [node-ready]
stages:
${stages}`;
}

describe('journals the CLI cannot trust (no cluster needed: refused before connecting)', () => {
  // Nothing answers here: a command that got as far as connecting would fail differently.
  const unreachable = ['--manager', '10.255.255.1', '--insecure-ignore-host-keys'];

  function journalDirWith(name: string, lines: string[]): string {
    const journals = join(dir, name);
    mkdirSync(journals, { recursive: true });
    const header = {
      seq: 0,
      type: 'journal-header',
      formatVersion: 1,
      runId: 'r1',
      runbookFile: join(REPO, 'runbooks/rolling-patch.yaml'),
      runbookHash: 'x',
      startedAt: '2026-11-28T22:00:00.000Z',
      connection: {},
      user: 'ops',
      host: 'laptop',
    };
    writeFileSync(join(journals, 'r1.jsonl'), `${[JSON.stringify(header), ...lines].join('\n')}\n`);
    return journals;
  }

  it.each([
    ['a line that is JSON but not a record', ['null'], /line 2: not a journal record/],
    ['a halt without its report', ['{"seq":1,"type":"halt","at":"x"}'], /`halt` record whose `report`/],
    ['an unknown format version', [], /format version 2 is not one this drydock reads/],
  ])('resume refuses %s: exit 2, one clear line, no stack trace', async (_what, lines, message) => {
    const journals = journalDirWith(`bad-${lines.length}-${lines[0]?.length ?? 0}`, lines);
    if (lines.length === 0) {
      const path = join(journals, 'r1.jsonl');
      writeFileSync(path, execFileSync('sed', ['s/"formatVersion":1/"formatVersion":2/', path]));
    }
    const result = await runDrydock(['resume', 'r1', '--journal-dir', journals, ...unreachable]);
    expect(result.exitCode, result.stderr).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/internal error|at .*\.js:\d+/);
    const runs = await runDrydock(['runs', '--journal-dir', journals]);
    expect(runs.exitCode).toBe(0);
    expect(runs.stdout).toMatch(/r1 {2}unreadable: journal .* line/);
  });

  it('lists a journal far larger than the heap it may use: read as a stream', async () => {
    const journals = journalDirWith('huge', []);
    const out = createWriteStream(join(journals, 'r1.jsonl'), { flags: 'a' });
    const line = `${JSON.stringify({ seq: 1, type: 'output', node: 'n', stage: 's', stream: 'stdout', line: 'x'.repeat(1000), at: 'x' })}\n`;
    const block = line.repeat(1000); // ~1 MB
    for (let i = 0; i < 160; i++) {
      if (!out.write(block)) await new Promise<void>((r) => out.once('drain', () => r()));
    }
    await new Promise<void>((r) => out.end(() => r()));
    // 160 MB of journal, 48 MB of heap: reading it whole cannot fit.
    const result = await runDrydock(['runs', '--journal-dir', journals, '--json'], {
      env: { NODE_OPTIONS: '--max-old-space-size=48' },
    });
    expect(result.exitCode, result.stderr.slice(0, 2000)).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject([{ runId: 'r1', outcome: 'unknown' }]);
  });

  it('checks every flag and the journal directory before connecting', async () => {
    const runbook = join(REPO, 'runbooks/rolling-patch.yaml');
    const journals = join(dir, 'never-created');
    for (const ttl of ['1e308', '0s', '2s', '999h', 'soon']) {
      const result = await runDrydock([
        'run',
        runbook,
        '--yes',
        '--lock-ttl',
        ttl,
        '--journal-dir',
        journals,
        ...unreachable,
      ]);
      expect(result.exitCode, `${ttl}: ${result.stderr}`).toBe(2);
      expect(result.stderr).toMatch(/--lock-ttl: /);
    }
    expect(existsSync(journals)).toBe(false);

    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    const notDir = await runDrydock(['run', runbook, '--yes', '--journal-dir', file, ...unreachable]);
    expect(notDir.exitCode, notDir.stderr).toBe(2);
    expect(notDir.stderr).toMatch(/the journal directory .*a-file is not a directory/);

    const readOnly = mountTmpfs(join(dir, 'ro'), 'size=64k,ro');
    const ro = await runDrydock(['run', runbook, '--yes', '--journal-dir', readOnly, ...unreachable]);
    expect(ro.exitCode, ro.stderr).toBe(2);
    expect(ro.stderr).toMatch(/the journal directory .*ro is not writable \(EROFS\)/);

    const full = mountTmpfs(join(dir, 'full'), 'size=64k');
    fillUp(full);
    const noSpace = await runDrydock(['run', runbook, '--yes', '--journal-dir', full, ...unreachable]);
    expect(noSpace.exitCode, noSpace.stderr).toBe(2);
    expect(noSpace.stderr).toMatch(/the journal directory .*full is on a full disk \(ENOSPC\)/);
    expect(`${notDir.stderr}${ro.stderr}${noSpace.stderr}`).not.toMatch(
      /internal error|cannot reach|connect/i,
    );
  });
});

describe('on the lab (1 manager + 2 workers)', () => {
  beforeAll(async () => {
    // Its own shape: the suite's files share one lab, and an earlier file may have grown it.
    await labUp({ nodes: 3, managers: 1 });
    await resetLab();
  });
  beforeEach(async () => {
    await resetLab();
  });

  it('halts cleanly when the journal disk fills mid-run; after freeing space, runs reads it and resume (from elsewhere) finishes', async () => {
    const journals = mountTmpfs(join(dir, 'small'), 'size=1m,mode=0700');
    const workdir = join(dir, 'workdir');
    mkdirSync(workdir, { recursive: true });
    writeRunbook(
      workdir,
      'disk.yaml',
      workerRunbook(
        'disk-full',
        `  - { kind: drain, name: drain, timeout: 90s }
  - { kind: run, name: patch, commands: ["echo patched; seq 1 50"] }
  - { kind: activate, name: rejoin, timeout: 90s }
`,
      ),
    );
    let filled = false;
    // Started from its own directory with a relative runbook path.
    const first = await runDrydock(['run', 'disk.yaml', '--json', '--journal-dir', journals], {
      cwd: workdir,
      onEvent: (event) => {
        if (!filled && event.type === 'stage-start' && event.node === 'node2' && event.stage === 'patch') {
          filled = true;
          fillUp(journals);
        }
      },
    });
    expect(filled).toBe(true);
    expect(first.exitCode, explain(first)).toBe(1);
    expect(first.stderr).not.toMatch(/internal error|ENOSPC.*\n\s+at /);
    const halt = eventsOf(first.events, 'halt')[0]!.report;
    expect(halt.reason).toMatch(/the journal cannot be written \(ENOSPC/);
    expect(halt.resumeCommand).toMatch(/drydock resume \S+ --journal-dir /);
    expect(first.stderr).toMatch(/the journal .* is missing its last \d+ record\(s\)/);
    // As any halt: the node it stopped on stays drained, the lock stays.
    expect((await nodeAvailability())[halt.node]).toBe('Drain');
    expect(eventsOf(first.events, 'lock').at(-1)?.action).toBe('kept');
    const runId = eventsOf(first.events, 'run-end')[0]!.runId;

    // Every line on disk is whole, even with the disk still full.
    const stillFull = await runDrydock(['runs', '--journal-dir', journals, '--json']);
    expect(JSON.parse(stillFull.stdout)[0]).toMatchObject({ runId, outcome: 'killed (resumable)' });

    rmSync(join(journals, 'filler'));
    const resumed = await runDrydock(['resume', runId, '--json', '--journal-dir', journals], { cwd: REPO });
    expect(resumed.exitCode, explain(resumed)).toBe(0);
    const runs = await runDrydock(['runs', '--journal-dir', journals, '--json']);
    expect(runs.exitCode).toBe(0);
    expect(JSON.parse(runs.stdout)[0]).toMatchObject({ runId, outcome: 'succeeded', nodesDone: 2 });
    expect(await nodeAvailability()).toMatchObject({ node2: 'Active', node3: 'Active' });
  });

  it('keeps the lock fresh past its ttl while the run lives; a forced unlock stops the run at the next step', async () => {
    const runbook = writeRunbook(
      dir,
      'lock.yaml',
      workerRunbook(
        'lock-heartbeat',
        `  - { kind: drain, name: drain, timeout: 90s }
  - { kind: pause, name: hold, duration: 90s }
  - { kind: activate, name: rejoin, timeout: 90s }
`,
      ),
    );
    const journals = join(dir, 'lock-runs');
    let whileHeld: Awaited<ReturnType<typeof runDrydock>> | undefined;
    let forced: Awaited<ReturnType<typeof runDrydock>> | undefined;
    let lockLabels = '';
    const unlockedAfterMs = 0;
    const result = await runDrydock(
      ['run', runbook, '--json', '--journal-dir', journals, '--lock-ttl', '10s'],
      {
        onEvent: async (event) => {
          if (event.type !== 'stage-start' || event.stage !== 'hold' || event.node !== 'node2') return;
          // Past the 10s ttl, well inside the 40s pause.
          await new Promise((r) => setTimeout(r, 16_000));
          lockLabels = (
            await labDocker('node1')('config', 'inspect', 'drydock-lock', '--format', '{{json .Spec.Labels}}')
          ).stdout;
          whileHeld = await runDrydock(['unlock', '--runbook', runbook]);
          forced = await runDrydock(['unlock', '--runbook', runbook, '--yes']);
        },
      },
    );
    expect(whileHeld, explain(result)).toBeDefined();
    // Held, not stale: the heartbeat moved the expiry past now.
    expect(whileHeld!.stdout).toMatch(/locked by .*run \S+, since .* expires /);
    expect(whileHeld!.stdout).not.toMatch(/STALE/);
    const labels = JSON.parse(lockLabels) as Record<string, string>;
    expect(Date.parse(labels['drydock.expires-at']!)).toBeGreaterThan(
      Date.parse(labels['drydock.acquired-at']!) + 10_000,
    );
    expect(forced!.exitCode, forced!.stderr).toBe(0);

    expect(result.exitCode, explain(result)).toBe(1);
    const halt = eventsOf(result.events, 'halt')[0]!.report;
    expect(halt.reason).toMatch(/the cluster lock of this run was removed while it ran/);
    expect(halt, `forced unlock ${unlockedAfterMs}ms into the 90s hold`).toMatchObject({
      node: 'node2',
      stage: 'rejoin',
    });
    // It stopped where it was: node3 never started, node2 stays drained as in any halt.
    expect(eventsOf(result.events, 'node-start').map((e) => e.node)).toEqual(['node2']);
    expect((await nodeAvailability()).node2).toBe('Drain');
  });
});
