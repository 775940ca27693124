import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labExec, labUp } from '../lab/lab.js';
import { REPO, runDrydock, tempDir, writeRunbook } from '../support/drydock-cli.js';
import { resetLab } from '../support/lab-reset.js';
import { labRunbook, nodeAvailability } from '../support/lab-runbook.js';
import { startTty } from '../support/tty.js';

/**
 * Interactive mode as a person uses it: the real CLI in a real pseudo-terminal (tmux) against
 * the lab, answering inquirer prompts under the live listr2 tree: continue, retry after a
 * failure, then abort. The node must be left drained, and `resume` must finish the job.
 */
let dir: string;
beforeAll(async () => {
  await labUp({ nodes: 3, managers: 1 });
  await resetLab();
  dir = tempDir('drydock-tty-run-');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('drydock run, interactive, on a real terminal', () => {
  it('asks before each stage, retries a failed stage, aborts on request, and resume finishes', async () => {
    await labExec('node2', 'touch /run/drydock-fail-once');
    const runbook = writeRunbook(
      dir,
      'interactive.yaml',
      labRunbook({
        targets: '{ names: [node2] }',
        patch: [
          'if [ -e /run/drydock-fail-once ]; then rm -f /run/drydock-fail-once; echo "first attempt fails" >&2; exit 4; fi',
          'apt-get -y upgrade',
        ],
      }),
    );
    const journals = `${dir}/runs`;
    const tty = await startTty(`node bin/drydock.js run ${runbook} --journal-dir ${journals}`, {
      cwd: REPO,
      cols: 140,
      rows: 45,
    });
    try {
      await tty.waitFor('node2 › drain:', 180_000);
      await tty.send('Enter');
      await tty.waitFor('node2 › patch:', 120_000);
      await tty.send('Enter');
      await tty.waitFor('node2 › patch failed:', 60_000);
      await tty.send('Up', 'Up', 'Up');
      await tty.waitFor('❯ Retry the stage');
      await tty.send('Enter');
      await tty.waitFor('node2 › upgrade:', 120_000);
      await tty.send('Down', 'Down', 'Down', 'Down', 'Down');
      await tty.waitFor('❯ Abort the run (resumable)');
      await tty.send('Enter');
      const code = await tty.exitCode(60_000);
      const screen = await tty.screen();
      expect(code, screen).toBe(1);
      expect(screen).toMatch(/drydock resume \S+/);
    } finally {
      await tty.kill();
    }
    expect((await nodeAvailability()).node2).toBe('Drain');
    const runs = await runDrydock(['runs', '--json', '--journal-dir', journals]);
    const [run] = JSON.parse(runs.stdout) as { runId: string; outcome: string; stoppedAt: string }[];
    expect(run).toMatchObject({ outcome: 'halted', stoppedAt: 'node2/upgrade' });
    const resumed = await runDrydock(['resume', run!.runId, '--yes', '--journal-dir', journals]);
    expect(resumed.exitCode, `${resumed.stdout}\n${resumed.stderr}`).toBe(0);
    expect((await nodeAvailability()).node2).toBe('Active');
  }, 600_000);

  it('keeps the tree in view at a prompt, stops asking on request, and acknowledges Ctrl-C at once', async () => {
    await resetLab();
    const runbook = writeRunbook(
      dir,
      'ctrl-c.yaml',
      labRunbook({
        targets: '{ names: [node2] }',
        patch: ['echo patch-started', 'sleep 120', 'echo patch-finished'],
      }),
    );
    const journals = `${dir}/runs-ctrl-c`;
    const tty = await startTty(`node bin/drydock.js run ${runbook} --journal-dir ${journals}`, {
      cwd: REPO,
      cols: 160,
      rows: 50,
    });
    try {
      // The live tree (pre-flight included) stays above the prompt.
      const atPrompt = await tty.waitFor(/Pre-flight checks[\s\S]*node2 › drain:/, 180_000);
      expect(atPrompt).toMatch(/node2 \[1\/1\]/);
      await tty.send('Down', 'Down');
      await tty.waitFor("❯ Continue, and don't ask again in this run");
      await tty.send('Enter');
      // No prompt before patch: it starts by itself.
      await tty.waitFor('patch-started', 120_000);
      expect(await tty.transcript()).not.toMatch(/node2 › patch: \d+ commands/);
      await tty.send('C-c');
      // Acknowledged while the 120 s sleep still runs, not when the stage ends.
      const acked = await tty.waitFor('received: stopping at the next safe point', 60_000);
      expect(acked).not.toContain('patch-finished');
      // Again: the running command is cancelled, so the 120 s sleep never finishes.
      await tty.send('C-c');
      const code = await tty.exitCode(60_000);
      const screen = await tty.screen();
      expect(code, screen).not.toBe(0);
      expect(screen).not.toContain('patch-finished');
      expect(screen).toMatch(/drydock resume \S+/);
    } finally {
      await tty.kill();
    }
    // Stopped mid-node: the node stays drained for the resume.
    expect((await nodeAvailability()).node2).toBe('Drain');
    await resetLab();
  }, 600_000);
});
