import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { healFault, injectFault, labDocker, labExec, labUp, readLab } from '../lab/lab.js';
import {
  eventsOf,
  explain,
  readJournalLines,
  runDrydock,
  tempDir,
  writeRunbook,
} from '../support/drydock-cli.js';
import { resetLab } from '../support/lab-reset.js';
import { labConnection, nodeAvailability } from '../support/lab-runbook.js';

/**
 * Recovering from every stop without hand edits, as an operator meets it on the lab: a run
 * forced past a failing pre-flight and halted, then the plan, unlock and resume that follow
 * it; and a run that meets the end of its maintenance window, resumed in the next one.
 */
let dir: string;
const GO = '/var/lib/drydock-lab/recov-go';

beforeAll(async () => {
  dir = tempDir('drydock-recovery-');
  await labUp({ nodes: 3, managers: 1 });
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  await resetLab();
});

/** Where a slow test is, in the log (the lab is shared by a loaded machine). */
function step(name: string): void {
  process.stderr.write(`recovery: ${new Date().toISOString()} ${name}\n`);
}

function workerRunbook(name: string, extra: string, stages: string): string {
  return `version: 1
name: ${name}
targets: { roles: [worker] }
${extra}${labConnection()}
checks:
  between: [node-ready]
  afterNode: [node-ready]
stages:
${stages}`;
}

describe('on the lab (1 manager + 2 workers)', () => {
  it('a run forced past a failing pre-flight halts; plan names that run, unlock needs no runbook, resume needs the override again', async () => {
    const journals = join(dir, 'forced');
    // clock-skew fails on node3 for the whole test: only --force-preflight gets past it.
    await injectFault('clock-skew', 'node3', '600');
    try {
      await labExec('node2', `touch ${GO}`);
      await labExec('node3', `rm -f ${GO}`);
      const runbook = writeRunbook(
        dir,
        'forced.yaml',
        workerRunbook(
          'forced',
          '',
          `  - { kind: drain, name: drain, timeout: 90s }
  - { kind: run, name: gate, commands: ["test -e ${GO}"] }
  - { kind: activate, name: rejoin, timeout: 90s }
`,
        ).replace('  between: [node-ready]', '  preflight: [clock-skew]\n  between: [node-ready]'),
      );
      step('forced run');
      const first = await runDrydock([
        'run',
        runbook,
        '--json',
        '--journal-dir',
        journals,
        '--force-preflight',
        'node3 clock is known off',
      ]);
      expect(first.exitCode, explain(first)).toBe(1);
      expect(eventsOf(first.events, 'preflight')[0]!.forced).toBe('node3 clock is known off');
      const halt = eventsOf(first.events, 'halt')[0]!.report;
      expect(halt).toMatchObject({ node: 'node3', stage: 'gate' });
      const runId = halt.runId;
      expect((await nodeAvailability()).node3).toBe('Drain');

      // A fresh plan names the run that drained node3, and who holds the lock.
      step('plan');
      const plan = await runDrydock(['plan', runbook, '--journal-dir', journals]);
      expect(plan.exitCode, explain(plan)).toBe(0);
      expect(plan.stdout).toMatch(
        new RegExp(`node3[\\s\\S]*drained by run ${runId} \\(started \\S+ by \\S+, halted at node3/gate\\)`),
      );
      expect(plan.stdout).toMatch(
        new RegExp(`warning: the cluster is locked by \\S+ \\(run ${runId}, since `),
      );

      // `runs` says which manager the run used; `unlock` finds it without --runbook or --manager.
      const manager = readLab().nodes.find((n) => n.role === 'manager')!.ip;
      step('runs');
      const runs = await runDrydock(['runs', '--journal-dir', journals]);
      expect(runs.stdout).toContain(`via manager ${manager} (ssh root@, port 22)`);
      step('unlock');
      const unlock = await runDrydock(['unlock', '--yes', '--journal-dir', journals]);
      expect(unlock.exitCode, explain(unlock)).toBe(0);
      expect(unlock.stderr).toContain(`reaching the cluster as run ${runId} did: manager ${manager}`);
      expect(unlock.stdout).toContain(`released the lock of run ${runId}`);

      // Resumed without the override: refused (exit 3), naming the flag; node3 stays drained.
      step('resume refused');
      const refused = await runDrydock(['resume', runId, '--json', '--journal-dir', journals]);
      expect(refused.exitCode, explain(refused)).toBe(3);
      expect(eventsOf(refused.events, 'halt')[0]!.report.reason).toMatch(
        /this run was started with --force-preflight "node3 clock is known off": resume it with --force-preflight REASON/,
      );
      expect((await nodeAvailability()).node3).toBe('Drain');

      // With it (and the cause of the halt fixed): finishes, node3 active again.
      await labExec('node3', `touch ${GO}`);
      step('resume forced');
      const resumed = await runDrydock([
        'resume',
        runId,
        '--json',
        '--journal-dir',
        journals,
        '--force-preflight',
        'still known off',
      ]);
      expect(resumed.exitCode, explain(resumed)).toBe(0);
      expect(eventsOf(resumed.events, 'preflight')[0]!.forced).toBe('still known off');
      expect(await nodeAvailability()).toMatchObject({ node2: 'Active', node3: 'Active' });
    } finally {
      await healFault('clock-skew', 'node3', '600');
      await labExec('node2', `rm -f ${GO}`);
      await labExec('node3', `rm -f ${GO}`);
    }
  }, 600_000);

  it('the window ends mid-run: a planned stop (exit 75, journaled as window-end, lock noted); resume continues once the window is moved', async () => {
    const journals = join(dir, 'window');
    const start = new Date(Date.now() - 10 * 60_000).toISOString();
    // The end is near; node2's stage waits until it has passed, so the stop comes after node2
    // whatever the machine's speed (the run only has to start within the margin: a loaded
    // machine took over 20 s to start it).
    const endMs = Date.now() + 60_000;
    const end = new Date(endMs).toISOString();
    const stages = `  - { kind: drain, name: drain, timeout: 90s }
  - { kind: run, name: hold, timeout: 90s, commands: ["while [ $(date +%s) -le ${Math.ceil(endMs / 1000)} ]; do sleep 0.5; done"] }
  - { kind: activate, name: rejoin, timeout: 90s }
`;
    const windowYaml = (s: string, e: string) => `rollout: { window: { start: "${s}", end: "${e}" } }\n`;
    const runbook = writeRunbook(dir, 'window.yaml', workerRunbook('window', windowYaml(start, end), stages));

    const first = await runDrydock(['run', runbook, '--yes', '--journal-dir', journals]);
    expect(first.exitCode, `${first.stdout}\n${first.stderr}`).toBe(75);
    expect(first.stdout).toMatch(
      new RegExp(
        `WINDOW END window ended at ${end.replace(/[.]/g, '\\.')}: stopped after finishing node2 as planned`,
      ),
    );
    const runId = /drydock: run (\S+)/.exec(first.stderr)![1]!;
    const stop = readJournalLines(journals, runId).find((l) => l.type === 'interrupted');
    expect(stop).toMatchObject({ reason: 'window-end' });
    expect(await nodeAvailability()).toMatchObject({ node2: 'Active', node3: 'Active' });
    const labels = (
      await labDocker('node1')('config', 'inspect', 'drydock-lock', '--format', '{{json .Spec.Labels}}')
    ).stdout;
    expect(JSON.parse(labels)).toMatchObject({
      'drydock.run-id': runId,
      'drydock.note': expect.stringMatching(/paused at the window's end .* until the next window/),
    });

    // The same window: refused before connecting, saying how to go on.
    const closed = await runDrydock(['resume', runId, '--yes', '--journal-dir', journals]);
    expect(closed.exitCode, closed.stderr).toBe(3);
    expect(closed.stderr).toMatch(/window closed at .*--window START\/END/);
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const early = await runDrydock([
      'resume',
      runId,
      '--yes',
      '--journal-dir',
      journals,
      '--window',
      `${later}/`,
    ]);
    expect(early.exitCode, early.stderr).toBe(3);
    expect(early.stderr).toContain(`window opens at ${later}`);

    // The runbook's window moved to "tonight": no --accept-runbook-change needed; node3 is done.
    writeFileSync(runbook, workerRunbook('window', windowYaml(start, later), stages));
    const resumed = await runDrydock(['resume', runId, '--json', '--journal-dir', journals]);
    expect(resumed.exitCode, explain(resumed)).toBe(0);
    expect(eventsOf(resumed.events, 'node-start').map((e) => e.node)).toEqual(['node3']);
    expect((await labDocker('node1')('config', 'inspect', 'drydock-lock')).exitCode).not.toBe(0);
  }, 600_000);
});
