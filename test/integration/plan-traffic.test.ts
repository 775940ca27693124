import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Plan } from '../../src/plan/types.js';
import { labDocker, labUp } from '../lab/lab.js';
import {
  eventsOf,
  explain,
  readJournalLines,
  runDrydock,
  tempDir,
  writeRunbook,
} from '../support/drydock-cli.js';
import { resetLab, waitConverged } from '../support/lab-reset.js';
import { labRunbook } from '../support/lab-runbook.js';

/**
 * Services made to draw each traffic warning, on the workers only (the manager, node1, runs
 * none of them): one replica with a published port; no HEALTHCHECK in the spec; a 1 s stop
 * grace period; as many replicas as workers at most one per node.
 */
const SERVICES: Record<string, string[]> = {
  'tw-single': [
    '--replicas',
    '1',
    '--health-cmd',
    'true',
    '--publish',
    'mode=host,published=18081,target=8081',
  ],
  'tw-nohealth': ['--replicas', '2'],
  'tw-quick': ['--replicas', '2', '--health-cmd', 'true', '--stop-grace-period', '1s'],
  'tw-maxone': ['--replicas', '2', '--health-cmd', 'true', '--replicas-max-per-node', '1'],
};

let dir: string;
const docker = () => labDocker('node1');
/** Service name → the nodes its running tasks are on, read after they converged. */
const placement: Record<string, string[]> = {};

beforeAll(async () => {
  await labUp({ nodes: 3, managers: 1 });
  await resetLab();
  dir = tempDir('drydock-plan-traffic-');
  for (const [name, flags] of Object.entries(SERVICES)) {
    const created = await docker()(
      ...['service', 'create', '--detach', '--name', name, '--constraint', 'node.role==worker'],
      ...['--no-resolve-image', '--init', '--health-interval', '1s', ...flags],
      ...['local/busybox:1', 'httpd', '-f', '-p', '8081', '-h', '/www'],
    );
    expect(created.exitCode, created.stderr).toBe(0);
  }
  await waitConverged(docker());
  for (const name of Object.keys(SERVICES)) {
    const ps = await docker()(
      ...['service', 'ps', name, '--filter', 'desired-state=running', '--format', '{{.Node}}'],
    );
    placement[name] = ps.stdout.trim().split('\n').sort();
  }
});

afterAll(async () => {
  await docker()('service', 'rm', ...Object.keys(SERVICES));
  await waitConverged(docker());
  rmSync(dir, { recursive: true, force: true });
});

/** The lab runbook for the given targets; `plainDrain` turns moveFirst off. */
function runbookFile(name: string, targets: string, plainDrain = false): string {
  const yaml = labRunbook({ name, targets });
  return writeRunbook(
    dir,
    `${name}.yaml`,
    plainDrain
      ? yaml.replace(
          '{ kind: drain, name: drain, timeout: 90s }',
          '{ kind: drain, name: drain, timeout: 90s, moveFirst: false }',
        )
      : yaml,
  );
}

describe('plan and run: traffic warnings on the live lab', () => {
  it('warns about each service on a drained worker, with what drydock does, in text and JSON', async () => {
    const single = placement['tw-single']![0]!;
    expect(placement['tw-maxone']).toEqual(['node2', 'node3']);
    const file = runbookFile('traffic-workers', '{ roles: [worker] }');
    const expected = [
      `tw-single has 1 replica (on ${single}): drydock starts a second task on another node before draining ${single} and waits for it (moveFirst)`,
      'tw-nohealth has no HEALTHCHECK in the service spec: drydock can only wait for its replacements to be running, not ready to serve',
      'tw-quick stop-grace-period is 1s: in-flight requests are cut when its tasks stop; drydock cannot lengthen it (docker service update --stop-grace-period 10s tw-quick)',
      'tw-maxone: 2 replicas, at most 1 per node, 2 eligible nodes: while node2 is drained only 1 can take it (needs 2): moveFirst cannot place an extra task either; the service runs 1 task short while node2 is drained, and the drain stage, which waits for every service at full count, halts after 1m30s: lower its replicas or raise its replicas-max-per-node, or add a node it may run on',
    ];

    const text = await runDrydock(['plan', file]);
    expect(text.exitCode, explain(text)).toBe(0);
    expect(text.stdout).toContain('traffic (services on drained nodes):');
    for (const line of expected) expect(text.stdout, text.stdout).toContain(`  warning: ${line}`);

    const json = await runDrydock(['plan', file, '--format', 'json']);
    expect(json.exitCode, explain(json)).toBe(0);
    const plan = JSON.parse(json.stdout) as Plan;
    const ours = (plan.traffic ?? []).filter((w) => w.service.startsWith('tw-'));
    expect(ours.map((w) => `${w.problem}: ${w.action}`)).toEqual(expect.arrayContaining(expected));
    expect(ours).toContainEqual({
      kind: 'single-replica',
      service: 'tw-single',
      nodes: [single],
      problem: `tw-single has 1 replica (on ${single})`,
      action: `drydock starts a second task on another node before draining ${single} and waits for it (moveFirst)`,
    });
    expect(ours.find((w) => w.kind === 'no-healthcheck')?.nodes).toEqual(['node2', 'node3']);
    expect(ours.filter((w) => w.kind === 'no-room').map((w) => w.nodes)).toEqual([['node2'], ['node3']]);
    // Services with a HEALTHCHECK and the default grace period draw no such warning.
    expect(ours.filter((w) => w.kind === 'no-healthcheck').map((w) => w.service)).toEqual(['tw-nohealth']);
    expect(ours.filter((w) => w.kind === 'short-stop-grace').map((w) => w.service)).toEqual(['tw-quick']);
  });

  it('says a single replica is down during a plain drain (moveFirst: false), naming its port', async () => {
    const single = placement['tw-single']![0]!;
    const file = runbookFile('traffic-plain', `{ names: [${single}] }`, true);
    const result = await runDrydock(['plan', file]);
    expect(result.exitCode, explain(result)).toBe(0);
    expect(result.stdout).toContain(
      `  warning: tw-single has 1 replica (on ${single}): drydock drains the plain way: its published port 18081 is down while ${single} drains: set moveFirst: true on the drain stage, or scale it to 2`,
    );
  });

  it('run says them once, right after it starts, in its output and journal', async () => {
    const single = placement['tw-single']![0]!;
    // A window that has ended: the run starts, says its warnings, and is refused before any node.
    const ended = `rollout: { window: { start: "${new Date(Date.now() - 7_200_000).toISOString()}", end: "${new Date(Date.now() - 3_600_000).toISOString()}" } }\n`;
    const file = writeRunbook(
      dir,
      'traffic-run.yaml',
      labRunbook({ name: 'traffic-run', targets: `{ names: [${single}] }` }) + ended,
    );
    const journals = join(dir, 'journals');
    const result = await runDrydock(['run', file, '--json', '--journal-dir', journals]);
    expect(eventsOf(result.events, 'run-end')[0]?.outcome, explain(result)).toBe('refused');
    const types = result.events.map((e) => e.type);
    const traffic = eventsOf(result.events, 'warning').filter((e) => e.source === 'traffic');
    expect(traffic.map((e) => e.message)).toContain(
      `tw-single has 1 replica (on ${single}): drydock starts a second task on another node before draining ${single} and waits for it (moveFirst)`,
    );
    // Right after run-start, before anything else happens.
    expect(types.slice(0, 1 + traffic.length)).toEqual(['run-start', ...traffic.map(() => 'warning')]);
    const runId = /drydock: run (\S+)/.exec(result.stderr)![1]!;
    const journaled = readJournalLines(journals, runId).filter((l) => l.type === 'warning');
    expect(journaled.map((l) => l.message)).toEqual(traffic.map((e) => e.message));
  });

  it('says nothing about them when the plan drains no node they run on', async () => {
    const file = runbookFile('traffic-manager', '{ names: [node1] }');
    const json = await runDrydock(['plan', file, '--format', 'json']);
    expect(json.exitCode, explain(json)).toBe(0);
    const plan = JSON.parse(json.stdout) as Plan;
    expect(plan.traffic).toBeDefined();
    expect((plan.traffic ?? []).filter((w) => w.service.startsWith('tw-'))).toEqual([]);
    const text = await runDrydock(['plan', file]);
    expect(text.exitCode, explain(text)).toBe(0);
    expect(text.stdout).not.toContain('tw-');
  });
});
