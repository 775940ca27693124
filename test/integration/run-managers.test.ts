import { rmSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { healFault, injectFault, labDocker, labUp, readLab } from '../lab/lab.js';
import { eventsOf, explain, runDrydock, tempDir, writeRunbook } from '../support/drydock-cli.js';
import { resetLab } from '../support/lab-reset.js';
import { labRunbook, nodeAvailability } from '../support/lab-runbook.js';

/**
 * Three managers and two workers: workers first, managers strictly one at a time, the leader
 * last, and no manager taken down while another manager is unreachable.
 */
let dir: string;
beforeAll(async () => {
  await labUp({ nodes: 5, managers: 3 });
  dir = tempDir('drydock-managers-');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(async () => {
  await resetLab();
});

async function currentLeader(): Promise<string> {
  const lab = readLab();
  for (const m of lab.nodes.filter((n) => n.role === 'manager')) {
    const r = await labDocker(m.name, lab)('node', 'ls', '--format', '{{.Hostname}} {{.ManagerStatus}}');
    const leader = r.stdout.split('\n').find((l) => l.endsWith(' Leader'));
    if (r.exitCode === 0 && leader) return leader.split(' ')[0]!;
  }
  throw new Error('no leader found');
}

describe('drydock run on 3 managers + 2 workers', () => {
  it('does workers first, managers one at a time, and the leader last', async () => {
    const leader = await currentLeader();
    const runbook = writeRunbook(dir, 'managers.yaml', labRunbook({ reboot: 'always' }));
    const result = await runDrydock(['run', runbook, '--json', '--journal-dir', `${dir}/runs`]);
    expect(result.exitCode, explain(result)).toBe(0);
    const order = eventsOf(result.events, 'node-start').map((e) => e.node);
    const lab = readLab();
    const roleOf = (name: string) => lab.nodes.find((n) => n.name === name)!.role;
    expect(order.slice(0, 2).map(roleOf)).toEqual(['worker', 'worker']);
    expect(order.slice(2).map(roleOf)).toEqual(['manager', 'manager', 'manager']);
    // The leader goes last, unless leadership moved mid-run and drydock said so.
    const moved = eventsOf(result.events, 'progress').some((e) => /leader is now/.test(e.message));
    if (!moved) expect(order.at(-1)).toBe(leader);
    // Strictly one manager in maintenance at a time: node-start/node-end never overlap.
    let open: string | undefined;
    for (const e of result.events) {
      if (e.type === 'node-start' && roleOf(e.node) === 'manager') {
        expect(open, `${e.node} started while ${open} was in maintenance`).toBeUndefined();
        open = e.node;
      }
      if (e.type === 'node-end' && e.node === open) open = undefined;
    }
    expect(eventsOf(result.events, 'rebooted')).toHaveLength(5);
    expect(Object.values(await nodeAvailability())).toEqual([
      'Active',
      'Active',
      'Active',
      'Active',
      'Active',
    ]);
  });

  it('refuses to start while a manager is unreachable (exit 3) and changes nothing', async () => {
    const leader = await currentLeader();
    const victim = readLab().nodes.find((n) => n.role === 'manager' && n.name !== leader)!.name;
    await injectFault('cut-link', victim);
    try {
      // Wait until the swarm itself sees the manager as unreachable.
      const deadline = Date.now() + 60_000;
      for (;;) {
        const r = await labDocker(leader)('node', 'ls', '--format', '{{.Hostname}} {{.ManagerStatus}}');
        if (r.stdout.includes(`${victim} Unreachable`)) break;
        if (Date.now() > deadline) throw new Error(`swarm never saw ${victim} unreachable: ${r.stdout}`);
        await new Promise((res) => setTimeout(res, 1000));
      }
      const runbook = writeRunbook(dir, 'refused.yaml', labRunbook());
      const result = await runDrydock(['run', runbook, '--json', '--journal-dir', `${dir}/runs`]);
      expect(result.exitCode, explain(result)).toBe(3);
      expect(`${result.stderr}\n${result.stdout}`).toMatch(new RegExp(`${victim}.*unreachable`, 'i'));
      const availability = await nodeAvailability();
      expect(Object.values(availability).every((a) => a === 'Active')).toBe(true);
    } finally {
      await healFault('cut-link', victim);
    }
  });
});
