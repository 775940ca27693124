import { rmSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { healFault, injectFault, labDocker, labExec, labNode, labSet, labUp, readLab } from '../lab/lab.js';
import {
  eventsOf,
  explain,
  readJournalLines,
  runDrydock,
  startDrydock,
  tempDir,
  writeRunbook,
} from '../support/drydock-cli.js';
import { resetLab } from '../support/lab-reset.js';
import { labRunbook, nodeAvailability } from '../support/lab-runbook.js';

/**
 * `drydock run` end to end on the namespace lab (1 manager + 2 workers): the real CLI, real
 * sshd and dockerd per node, real reboots (boot id), real faults. Each failure must halt with
 * the failing node left drained and a correct report, and `resume` must finish the run.
 */
let dir: string;
let journals: string;

beforeAll(async () => {
  await labUp({ nodes: 3, managers: 1 });
  dir = tempDir('drydock-run-');
  journals = `${dir}/runs`;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(async () => {
  await resetLab();
});

function runArgs(runbook: string): string[] {
  return ['run', runbook, '--json', '--journal-dir', journals];
}

/** Sample web availability from the host while a run goes on: every sample must find a node serving. */
function watchWebService() {
  const lab = readLab();
  const samples: { at: number; serving: string[] }[] = [];
  let stop = false;
  const loop = (async () => {
    while (!stop) {
      const serving: string[] = [];
      await Promise.all(
        lab.nodes.map(async (n) => {
          try {
            const res = await fetch(`http://${n.ip}:8080/`, { signal: AbortSignal.timeout(1500) });
            if (res.status === 200) serving.push(n.name);
          } catch {
            // not serving from this node right now
          }
        }),
      );
      samples.push({ at: Date.now(), serving });
      await new Promise((r) => setTimeout(r, 300));
    }
  })();
  return {
    samples,
    async stop() {
      stop = true;
      await loop;
    },
  };
}

describe('drydock run on the lab (1 manager + 2 workers)', () => {
  it('rolls through every node: drained while patched, rebooted (boot id changed), re-activated, serving throughout', async () => {
    const lab = readLab();
    const bootBefore = Object.fromEntries(lab.nodes.map((n) => [n.name, n.bootId]));
    const runbook = writeRunbook(dir, 'full.yaml', labRunbook({ reboot: 'always' }));
    const web = watchWebService();
    const result = await runDrydock(runArgs(runbook));
    await web.stop();
    expect(result.exitCode, explain(result)).toBe(0);
    const { events } = result;

    expect(eventsOf(events, 'node-start').map((e) => e.node)).toEqual(['node2', 'node3', 'node1']);
    // The first patch command counts swarm task containers on the node: drained means zero.
    const counts = eventsOf(events, 'command')
      .filter((e) => e.stage === 'patch' && e.result.command.startsWith('echo tasks-on-node'))
      .map((e) => [e.node, e.result.stdout.trim()]);
    expect(counts).toEqual([
      ['node2', 'tasks-on-node=0'],
      ['node3', 'tasks-on-node=0'],
      ['node1', 'tasks-on-node=0'],
    ]);
    // Services were converged before patching began: the drain stage ended succeeded first.
    for (const node of ['node2', 'node3', 'node1']) {
      const drainEnd = events.findIndex(
        (e) => e.type === 'stage-end' && e.node === node && e.stage === 'drain',
      );
      const patchStart = events.findIndex(
        (e) => e.type === 'stage-start' && e.node === node && e.stage === 'patch',
      );
      expect(drainEnd).toBeGreaterThan(-1);
      expect(events[drainEnd]).toMatchObject({ outcome: 'succeeded' });
      expect(drainEnd).toBeLessThan(patchStart);
    }
    const reboots = eventsOf(events, 'rebooted');
    expect(reboots.map((r) => r.node)).toEqual(['node2', 'node3', 'node1']);
    const after = readLab();
    for (const r of reboots) {
      expect(r.bootIdBefore).toBe(bootBefore[r.node]);
      expect(r.bootIdAfter).not.toBe(r.bootIdBefore);
      expect(labNode(r.node, after).bootId).toBe(r.bootIdAfter);
    }
    expect(await nodeAvailability()).toEqual({ node1: 'Active', node2: 'Active', node3: 'Active' });
    // The demo service answered from some node at every moment of the run.
    expect(web.samples.length).toBeGreaterThan(10);
    expect(web.samples.filter((s) => s.serving.length === 0)).toEqual([]);
    const runEnd = eventsOf(events, 'run-end')[0]!;
    expect(runEnd.outcome).toBe('succeeded');
    const journal = readJournalLines(journals, runEnd.runId);
    expect(journal[0]).toMatchObject({ type: 'journal-header', runId: runEnd.runId });
    expect(journal.at(-1)).toMatchObject({ type: 'run-end', outcome: 'succeeded' });
    // The lock is released after success.
    expect((await labDocker('node1')('config', 'ls', '--format', '{{.Name}}')).stdout).not.toContain(
      'drydock-lock',
    );
  });

  it('halts on a command exiting non-zero, leaves that node drained, then resume finishes', async () => {
    await labExec('node3', 'touch /run/drydock-test-fail');
    const runbook = writeRunbook(
      dir,
      'fail-command.yaml',
      labRunbook({
        patch: [
          'test ! -e /run/drydock-test-fail || { echo "patch failed on purpose" >&2; exit 3; }',
          'apt-get -y upgrade',
        ],
      }),
    );
    const first = await runDrydock(runArgs(runbook));
    expect(first.exitCode, explain(first)).toBe(1);
    const halt = eventsOf(first.events, 'halt')[0]!.report;
    expect(halt).toMatchObject({ node: 'node3', stage: 'patch' });
    expect(halt.reason).toMatch(/exited 3/);
    expect(halt.lastOutput.join('\n')).toContain('patch failed on purpose');
    expect(halt.resumeCommand).toMatch(/^drydock resume \S+/);
    expect(halt.nodes.find((n) => n.name === 'node3')).toMatchObject({ availability: 'drain' });
    const availability = await nodeAvailability();
    expect(availability).toEqual({ node1: 'Active', node2: 'Active', node3: 'Drain' });
    // node1 (the leader, last) was never touched.
    expect(eventsOf(first.events, 'node-start').map((e) => e.node)).toEqual(['node2', 'node3']);

    await labExec('node3', 'rm -f /run/drydock-test-fail');
    const runId = halt.runId;
    const resumed = await runDrydock(['resume', runId, '--json', '--journal-dir', journals]);
    expect(resumed.exitCode, explain(resumed)).toBe(0);
    expect(eventsOf(resumed.events, 'node-start').map((e) => e.node)).toEqual(['node3', 'node1']);
    const node3Stages = eventsOf(resumed.events, 'stage-start')
      .filter((e) => e.node === 'node3')
      .map((e) => e.stage);
    expect(node3Stages[0]).toBe('patch');
    expect(await nodeAvailability()).toEqual({ node1: 'Active', node2: 'Active', node3: 'Active' });
  });

  it('halts when the SSH connection drops mid-command, then resumes after sshd is back', async () => {
    const runbook = writeRunbook(
      dir,
      'ssh-drop.yaml',
      // Long enough that the fault (1 s after the stage starts) lands in it even on a loaded machine.
      labRunbook({ targets: '{ roles: [worker] }', patch: ['sleep 20', 'apt-get -y upgrade'] }),
    );
    let injected = false;
    const first = await runDrydock(runArgs(runbook), {
      onEvent: async (event) => {
        if (!injected && event.type === 'stage-start' && event.node === 'node2' && event.stage === 'patch') {
          injected = true;
          await new Promise((r) => setTimeout(r, 1000));
          await injectFault('sshd', 'node2');
        }
      },
    });
    expect(first.exitCode, explain(first)).toBe(1);
    const halt = eventsOf(first.events, 'halt')[0]!.report;
    expect(halt).toMatchObject({ node: 'node2', stage: 'patch' });
    expect(halt.reason).toMatch(/SSH connection dropped/);
    expect((await nodeAvailability()).node2).toBe('Drain');
    await healFault('sshd', 'node2');
    const resumed = await runDrydock(['resume', halt.runId, '--json', '--journal-dir', journals]);
    expect(resumed.exitCode, explain(resumed)).toBe(0);
    expect(await nodeAvailability()).toMatchObject({ node2: 'Active', node3: 'Active' });
  });

  it('halts when the node does not return from reboot in time, then resumes once it is back', async () => {
    await injectFault('no-return', 'node2');
    const runbook = writeRunbook(
      dir,
      'no-return.yaml',
      labRunbook({ targets: '{ names: [node2] }', reboot: 'always', returnTimeout: '15s' }),
    );
    const first = await runDrydock(runArgs(runbook));
    expect(first.exitCode, explain(first)).toBe(1);
    const halt = eventsOf(first.events, 'halt')[0]!.report;
    expect(halt).toMatchObject({ node: 'node2', stage: 'reboot' });
    expect(halt.reason).toMatch(/did not come back within 15s/);
    await healFault('no-return', 'node2');
    expect((await nodeAvailability()).node2).toBe('Drain');
    const resumed = await runDrydock(['resume', halt.runId, '--json', '--journal-dir', journals]);
    expect(resumed.exitCode, explain(resumed)).toBe(0);
    expect(eventsOf(resumed.events, 'rebooted').map((e) => e.node)).toEqual(['node2']);
    expect((await nodeAvailability()).node2).toBe('Active');
  });

  it('halts when dockerd does not come back after the engine upgrade', async () => {
    await labSet('upgrade-result', 'node2', 'fail');
    const runbook = writeRunbook(dir, 'upgrade-fail.yaml', labRunbook({ targets: '{ names: [node2] }' }));
    const first = await runDrydock(runArgs(runbook));
    await labSet('upgrade-result', 'node2', 'ok');
    expect(first.exitCode, explain(first)).toBe(1);
    const halt = eventsOf(first.events, 'halt')[0]!.report;
    expect(halt).toMatchObject({ node: 'node2', stage: 'upgrade' });
    await healFault('dockerd', 'node2');
    const resumed = await runDrydock(['resume', halt.runId, '--json', '--journal-dir', journals]);
    expect(resumed.exitCode, explain(resumed)).toBe(0);
    expect((await nodeAvailability()).node2).toBe('Active');
  });

  it('halts when the default route disappears mid-run (ip-route check), with the route as evidence', async () => {
    const runbook = writeRunbook(
      dir,
      'route.yaml',
      labRunbook({ targets: '{ names: [node2] }', patch: ['sleep 2', 'apt-get -y upgrade'] }),
    );
    let injected = false;
    const first = await runDrydock(runArgs(runbook), {
      onEvent: async (event) => {
        if (!injected && event.type === 'stage-start' && event.node === 'node2' && event.stage === 'patch') {
          injected = true;
          await injectFault('default-route', 'node2');
        }
      },
    });
    await healFault('default-route', 'node2');
    expect(first.exitCode, explain(first)).toBe(1);
    const halt = eventsOf(first.events, 'halt')[0]!.report;
    expect(halt).toMatchObject({ node: 'node2', stage: 'patch' });
    const failed = halt.failedChecks.find((c) => c.check === 'ip-route');
    expect(failed, JSON.stringify(halt.failedChecks)).toBeDefined();
    expect(JSON.stringify(failed?.evidence)).toContain('default');
    expect((await nodeAvailability()).node2).toBe('Drain');
    const resumed = await runDrydock(['resume', halt.runId, '--json', '--journal-dir', journals]);
    expect(resumed.exitCode, explain(resumed)).toBe(0);
  });

  it('refuses a node whose SSH host key changed (exit 3), changing nothing', async () => {
    await injectFault('host-key', 'node2');
    try {
      const runbook = writeRunbook(dir, 'host-key.yaml', labRunbook({ targets: '{ roles: [worker] }' }));
      const result = await runDrydock(runArgs(runbook));
      expect(result.exitCode, explain(result)).toBe(3);
      expect(`${result.stderr}${result.stdout}`).toMatch(/host key/i);
      expect(`${result.stderr}${result.stdout}`).toMatch(/SHA256:/);
      expect(await nodeAvailability()).toEqual({ node1: 'Active', node2: 'Active', node3: 'Active' });
    } finally {
      await healFault('host-key', 'node2');
    }
  });

  it('refuses a second concurrent run (lock), and stops at a safe point on SIGINT; resume finishes', async () => {
    const runbook = writeRunbook(
      dir,
      'lock.yaml',
      labRunbook({ targets: '{ names: [node2] }', patch: ['sleep 3', 'apt-get -y upgrade'] }),
    );
    let second: Awaited<ReturnType<typeof runDrydock>> | undefined;
    let signalled = false;
    const first = startDrydock(runArgs(runbook), {
      onEvent: async (event, proc) => {
        if (event.type === 'stage-start' && event.stage === 'patch' && !signalled) {
          signalled = true;
          second = await runDrydock(runArgs(runbook));
          proc.kill('SIGINT');
        }
      },
    });
    const result = await first.done;
    expect(second?.exitCode, second ? explain(second) : '').toBe(3);
    expect(second?.stderr).toMatch(/locked by .* \(run /);
    expect(result.exitCode, explain(result)).toBe(130);
    const interrupted = eventsOf(result.events, 'interrupted')[0]!;
    // The patch command was allowed to finish (safe point); the run stopped before the next stage.
    expect(interrupted).toMatchObject({ node: 'node2', stage: 'upgrade' });
    expect(eventsOf(result.events, 'stage-end').find((e) => e.stage === 'patch')?.outcome).toBe('succeeded');
    expect((await nodeAvailability()).node2).toBe('Drain');
    const runId = eventsOf(result.events, 'run-end')[0]!.runId;
    const resumed = await runDrydock(['resume', runId, '--json', '--journal-dir', journals]);
    expect(resumed.exitCode, explain(resumed)).toBe(0);
    expect(eventsOf(resumed.events, 'stage-start').map((e) => e.stage)[0]).toBe('upgrade');
  });

  it('survives kill -9 mid-stage: the journal shows where, and resume re-runs that stage', async () => {
    const runbook = writeRunbook(
      dir,
      'kill.yaml',
      labRunbook({ targets: '{ names: [node2] }', patch: ['sleep 3', 'apt-get -y upgrade'] }),
    );
    let runId = '';
    const first = startDrydock(runArgs(runbook), {
      onEvent: (event, proc) => {
        if (event.type === 'run-start') runId = event.runId;
        if (event.type === 'stage-start' && event.stage === 'patch') proc.kill('SIGKILL');
      },
    });
    const killed = await first.done;
    expect(killed.signal).toBe('SIGKILL');
    const runs = await runDrydock(['runs', '--json', '--journal-dir', journals]);
    const row = (JSON.parse(runs.stdout) as { runId: string; outcome: string; stoppedAt: string }[]).find(
      (r) => r.runId === runId,
    );
    expect(row).toMatchObject({ outcome: 'killed (resumable)', stoppedAt: 'node2/patch' });
    expect((await nodeAvailability()).node2).toBe('Drain');
    const resumed = await runDrydock(['resume', runId, '--json', '--journal-dir', journals]);
    expect(resumed.exitCode, explain(resumed)).toBe(0);
    expect(eventsOf(resumed.events, 'stage-start').map((e) => e.stage)[0]).toBe('patch');
    expect((await nodeAvailability()).node2).toBe('Active');
  });

  it('waits at a pause stage, journals it, shows it in the JSON events; SIGINT ends it resumable', async () => {
    // The lab runbook's connection and checks, with only a pause and a no-op command as stages.
    const [preamble] = labRunbook({ targets: '{ names: [node2] }' }).split('stages:\n');
    const runbook = writeRunbook(
      dir,
      'pause.yaml',
      `${preamble}stages:
  - { kind: pause, name: soak, duration: 2s, reason: let the caches settle }
  - { kind: run, name: after, commands: ["true"] }
`,
    );
    const plan = await runDrydock(['plan', runbook]);
    expect(plan.stdout).toContain('pause 2s — let the caches settle');

    const done = await runDrydock(runArgs(runbook));
    expect(done.exitCode, explain(done)).toBe(0);
    const start = eventsOf(done.events, 'stage-start').find((e) => e.stage === 'soak');
    const end = eventsOf(done.events, 'stage-end').find((e) => e.stage === 'soak');
    expect(start).toMatchObject({ node: 'node2', kind: 'pause' });
    expect(end).toMatchObject({ node: 'node2', outcome: 'succeeded' });
    expect(end!.durationMs).toBeGreaterThanOrEqual(2000);
    const note = eventsOf(done.events, 'progress').find((e) => e.stage === 'soak');
    expect(note?.message).toMatch(
      /^pausing 2s — let the caches settle: started \d\d:\d\d:\d\d, continuing at \d\d:\d\d:\d\d$/,
    );
    const runId = eventsOf(done.events, 'run-start')[0]!.runId;
    const journaled = readJournalLines(journals, runId)
      .filter((l) => l.stage === 'soak')
      .map((l) => l.type);
    expect(journaled).toEqual(['stage-start', 'progress', 'checks', 'stage-end']);

    // SIGINT while it waits: the pause ends now, does not count as done, and resume waits again.
    let interruptedId = '';
    const first = startDrydock(runArgs(runbook), {
      onEvent: (event, proc) => {
        if (event.type === 'run-start') interruptedId = event.runId;
        if (event.type === 'progress' && event.stage === 'soak') proc.kill('SIGINT');
      },
    });
    const stopped = await first.done;
    expect(stopped.exitCode, explain(stopped)).toBe(130);
    expect(eventsOf(stopped.events, 'interrupted')[0]).toMatchObject({ node: 'node2', stage: 'soak' });
    expect(eventsOf(stopped.events, 'stage-end').filter((e) => e.stage === 'soak')).toEqual([]);
    const resumed = await runDrydock(['resume', interruptedId, '--json', '--journal-dir', journals]);
    expect(resumed.exitCode, explain(resumed)).toBe(0);
    expect(eventsOf(resumed.events, 'stage-start').map((e) => e.stage)).toEqual(['soak', 'after']);
  });
});
