import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDocker, labUp, readLab, waitFor } from '../lab/lab.js';
import { eventsOf, explain, runDrydock, tempDir, writeRunbook } from '../support/drydock-cli.js';
import { resetLab } from '../support/lab-reset.js';
import { labConnection, nodeAvailability } from '../support/lab-runbook.js';

/**
 * Moving tasks before the drain, on the lab's real swarm: a single-replica service keeps a
 * running task through the whole drain of its node (a plain drain stops it first), the journal
 * says what was scaled and set back, and the counts end as the operator left them.
 */
let dir: string;
let docker: ReturnType<typeof labDocker>;
const SOLO = 'ddx-solo';

beforeAll(async () => {
  await labUp({ nodes: 3, managers: 1 });
  await resetLab();
  const lab = readLab();
  docker = labDocker(lab.nodes.find((n) => n.role === 'manager')!.name, lab);
  dir = tempDir('drydock-move-first-');
  const created = await docker(
    'service',
    'create',
    '--detach',
    '--init',
    '--no-resolve-image',
    '--stop-grace-period',
    '1s',
    '--name',
    SOLO,
    '--replicas',
    '1',
    '--constraint',
    'node.role==worker',
    lab.image,
    'sleep',
    '2147483647',
  );
  expect(created.exitCode, created.stderr).toBe(0);
}, 600_000);

afterAll(async () => {
  await docker('service', 'rm', SOLO);
  rmSync(dir, { recursive: true, force: true });
  await resetLab();
});

/** `docker service ps` of the service's tasks meant to run, one `NODE STATE` line each; null when the CLI failed. */
async function soloTasks(): Promise<string[] | null> {
  const ps = await docker(
    'service',
    'ps',
    SOLO,
    '--filter',
    'desired-state=running',
    '--format',
    '{{.Node}} {{.CurrentState}}',
  );
  return ps.exitCode === 0 ? ps.stdout.split('\n').filter(Boolean) : null;
}

/** Where the service's one running task is, once it runs. */
async function soloNode(): Promise<string> {
  return waitFor(
    async () => {
      const running = ((await soloTasks()) ?? []).filter((l) => / Running /.test(l));
      return running.length === 1 ? running[0]!.split(' ')[0] : undefined;
    },
    120_000,
    { what: `${SOLO} running` },
  );
}

function runbookFor(node: string, moveFirst: boolean): string {
  return writeRunbook(
    dir,
    `move-first-${moveFirst}.yaml`,
    `version: 1
name: move-first
targets: { names: [${node}] }
${labConnection()}
checks:
  between: [node-ready]
  afterNode: [node-ready, services-converged]
  options:
    services-converged: { timeout: 90s }
stages:
  - { kind: drain, name: drain, timeout: 90s, moveFirst: ${moveFirst}, moveTimeout: 90s }
  - { kind: activate, name: rejoin, timeout: 90s }
`,
  );
}

/** Runs drydock while sampling how many tasks of the service run; returns the run and the fewest seen. */
async function runSampling(runbook: string, journals: string) {
  const run = runDrydock(['run', runbook, '--yes', '--json', '--journal-dir', journals]);
  let finished = false;
  void run.finally(() => {
    finished = true;
  });
  let fewest = Number.POSITIVE_INFINITY;
  let samples = 0;
  while (!finished) {
    const tasks = await soloTasks();
    if (tasks) {
      samples++;
      fewest = Math.min(fewest, tasks.filter((l) => / Running /.test(l)).length);
    }
  }
  return { result: await run, fewest, samples };
}

describe('moving tasks before the drain (lab)', () => {
  it('keeps a single-replica service running through the drain of its node, and sets its count back', async () => {
    const node = await soloNode();
    const { result, fewest, samples } = await runSampling(runbookFor(node, true), `${dir}/runs-move`);
    expect(result.exitCode, explain(result)).toBe(0);
    expect(samples).toBeGreaterThan(0);
    expect(fewest, 'a moment with no running task of the single-replica service').toBeGreaterThanOrEqual(1);

    const replicas = eventsOf(result.events, 'replicas');
    const up = replicas.find((e) => e.action === 'scaled-up');
    expect(up?.services).toContainEqual(expect.objectContaining({ name: SOLO, from: 1, to: 2 }));
    expect(replicas.find((e) => e.action === 'restored')?.services.map((s) => s.name)).toContain(SOLO);
    // Paused first (no new task lands on it), then drained, then back to active.
    const order = result.events
      .map((e) => e.type)
      .filter((t) => ['paused', 'replicas', 'drained', 'activated'].includes(t));
    expect(order).toEqual(['paused', 'replicas', 'drained', 'replicas', 'activated']);

    const inspect = await docker(
      'service',
      'inspect',
      SOLO,
      '--format',
      '{{.Spec.Mode.Replicated.Replicas}}',
    );
    expect(inspect.stdout.trim()).toBe('1');
    expect(await soloNode()).not.toBe(node);
    expect((await nodeAvailability())[node]).toBe('Active');
  }, 600_000);

  it('with moveFirst off, drains the plain way: nothing scaled', async () => {
    const node = await soloNode();
    const result = await runDrydock([
      'run',
      runbookFor(node, false),
      '--yes',
      '--json',
      '--journal-dir',
      `${dir}/runs-plain`,
    ]);
    expect(result.exitCode, explain(result)).toBe(0);
    expect(eventsOf(result.events, 'replicas')).toEqual([]);
    expect(eventsOf(result.events, 'drained')).toHaveLength(1);
    expect(await soloNode()).not.toBe(node);
  }, 600_000);
});
