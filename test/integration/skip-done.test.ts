import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labExec, labUp } from '../lab/lab.js';
import { explain, readJournalLines, runDrydock, tempDir, writeRunbook } from '../support/drydock-cli.js';
import { resetLab } from '../support/lab-reset.js';
import { labConnection, nodeAvailability } from '../support/lab-runbook.js';

/**
 * Re-running only what is needed, as an operator meets it on the lab: `plan --evaluate-skips`
 * says what would be skipped; a second run skips the node it already patched whole (no drain);
 * `run --continue-from` skips the nodes an earlier run finished; `runs RUN_ID` tells one run.
 */
let dir: string;
let runbook: string;
beforeAll(async () => {
  await labUp({ nodes: 3, managers: 1 });
  await resetLab();
  dir = tempDir('drydock-skip-');
  runbook = writeRunbook(
    dir,
    'skip-done.yaml',
    `version: 1
name: skip-done
targets: { names: [node2] }
${labConnection()}
checks:
  preflight: [node-ready]
  between: [node-ready]
  afterNode: [node-ready]
stages:
  - { kind: drain, name: drain, timeout: 90s }
  - kind: run
    name: patch
    timeout: 60s
    skipIf: { noUpgradablePackages: true }
    commands: ["DEBIAN_FRONTEND=noninteractive apt-get -y upgrade"]
  - { kind: activate, name: rejoin, timeout: 90s }
`,
  );
  // node2 starts with updates pending (the lab's apt shim: none once lab-patchlevel is recorded).
  await labExec('node2', "sed -i '/^lab-patchlevel /d' /var/lib/drydock-lab/packages 2>/dev/null; true");
}, 600_000);
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await resetLab();
});

describe('re-running only what is needed', () => {
  it('patches a node once, then skips it whole without draining it; continue-from and runs RUN_ID agree', async () => {
    const journals = `${dir}/runs`;
    const before = await runDrydock(['plan', runbook, '--evaluate-skips']);
    expect(before.exitCode, explain(before)).toBe(0);
    expect(before.stdout).toMatch(/patch would run/);

    const first = await runDrydock(['run', runbook, '--yes', '--json', '--journal-dir', journals]);
    expect(first.exitCode, explain(first)).toBe(0);
    const firstId = String(first.events.find((e) => e.type === 'run-start')?.runId);
    expect(first.events.some((e) => e.type === 'drained' && e.node === 'node2')).toBe(true);

    const after = await runDrydock(['plan', runbook, '--evaluate-skips']);
    expect(after.exitCode, explain(after)).toBe(0);
    expect(after.stdout).toMatch(/patch would be skipped/);
    expect(after.stdout).toMatch(/skipped whole, not drained/);

    // Already patched: the node is skipped whole, never drained, and the journal says why.
    const second = await runDrydock(['run', runbook, '--yes', '--json', '--journal-dir', journals]);
    expect(second.exitCode, explain(second)).toBe(0);
    const secondId = String(second.events.find((e) => e.type === 'run-start')?.runId);
    const lines = readJournalLines(journals, secondId);
    expect(lines.some((l) => l.type === 'drained')).toBe(false);
    const nodeEnd = lines.find((l) => l.type === 'node-end' && l.node === 'node2');
    expect(String(nodeEnd?.skipped)).toMatch(/already done/);
    expect((await nodeAvailability()).node2).toBe('Active');

    // Continue from the first run: node2 is finished there, so nothing is drained either.
    const third = await runDrydock([
      'run',
      runbook,
      '--yes',
      '--json',
      '--journal-dir',
      journals,
      '--continue-from',
      firstId,
    ]);
    expect(third.exitCode, explain(third)).toBe(0);
    expect(third.events.some((e) => e.type === 'drained')).toBe(false);
    expect(JSON.stringify(third.events)).toContain(firstId);

    const detail = await runDrydock(['runs', firstId, '--journal-dir', journals]);
    expect(detail.exitCode, explain(detail)).toBe(0);
    expect(detail.stdout).toMatch(/node2/);
    expect(detail.stdout).toMatch(/succeeded|done/);
  }, 900_000);
});
