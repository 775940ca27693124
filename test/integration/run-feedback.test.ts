import { rmSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { labDocker, labSsh, labUp, readLab } from '../lab/lab.js';
import { eventsOf, explain, runDrydock, tempDir, writeRunbook } from '../support/drydock-cli.js';
import { resetLab, waitConverged } from '../support/lab-reset.js';
import { labConnection } from '../support/lab-runbook.js';

/**
 * Feedback during waits (issue 10), as an operator meets it on the lab (1 manager + 2 workers):
 * heartbeats while a wait goes on, Swarm's own reason on a drain timeout, an engine that does not
 * come back after a reboot (with its log), and plain mode streaming command output, masked.
 * Heartbeats come every 2s here (`--heartbeat 2s`); tests assert that they appear and what they
 * name, never when.
 */
let dir: string;
let journals: string;

beforeAll(async () => {
  await labUp({ nodes: 3, managers: 1 });
  dir = tempDir('drydock-feedback-');
  journals = `${dir}/runs`;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(async () => {
  await resetLab();
});

function runbook(name: string, target: string, stages: string, variables = ''): string {
  return writeRunbook(
    dir,
    `${name}.yaml`,
    `version: 1
name: ${name}
targets: { roles: [worker], exclude: [${['node2', 'node3'].filter((n) => n !== target).join(', ')}] }
${variables}${labConnection()}
checks:
  between: []
  afterNode: []
stages:
${stages}`,
  );
}

describe('feedback during waits (lab, 1 manager + 2 workers)', () => {
  it('beats while a drain cannot converge, and the halt quotes the scheduler', async () => {
    const docker = labDocker('node1');
    // As many replicas as nodes, at most one per node: draining any node leaves one unplaceable.
    const created = await docker(
      ...['service', 'create', '--detach', '--name', 'feedpin', '--replicas', '3'],
      ...['--replicas-max-per-node', '1', '--no-resolve-image', '--init', '--stop-grace-period', '1s'],
      ...['local/busybox:1', 'sleep', '1000000'],
    );
    expect(created.exitCode, created.stderr).toBe(0);
    try {
      await waitConverged(docker);
      const file = runbook('feed-drain', 'node2', '  - { kind: drain, name: drain, timeout: 30s }\n');
      const result = await runDrydock([
        'run',
        file,
        '--json',
        '--heartbeat',
        '2s',
        '--journal-dir',
        journals,
      ]);
      expect(result.exitCode, explain(result)).toBe(1);
      // Beats while replacements start first (moveFirst) come before; these are the drain's own.
      const beats = eventsOf(result.events, 'waiting').filter(
        (b) => !b.missing.startsWith('starting replacements'),
      );
      expect(beats.length, explain(result)).toBeGreaterThan(0);
      expect(beats[0]).toMatchObject({ node: 'node2', stage: 'drain', wait: 'drain' });
      expect(beats[0]!.missing).toMatch(/^waiting for drain of node2: /);
      expect(beats.map((b) => b.missing)).toContainEqual(
        expect.stringMatching(/below count: .*feedpin 2\/3/),
      );
      const halt = eventsOf(result.events, 'halt')[0]!;
      expect(result.events.indexOf(beats[0]!)).toBeLessThan(result.events.indexOf(halt));
      expect(halt.report.reason).toMatch(
        /drain did not converge within 30s: .*feedpin 2\/3 \(swarm: pending: /,
      );
      expect(halt.report.reason).toContain('max replicas per node limit exceed');
    } finally {
      await docker('service', 'rm', 'feedpin');
    }
  });

  it('says the node is back but its engine is not, while waiting and in the halt, with the engine log', async () => {
    const lab = readLab();
    // A broken daemon.json stops nothing now; dockerd refuses it at its next start: after the reboot.
    const file = runbook(
      'feed-engine',
      'node3',
      `  - { kind: drain, name: drain, timeout: 60s }
  - kind: run
    name: break-engine-config
    commands: ["echo '{not json' > /etc/docker/daemon.json"]
  - kind: reboot
    name: reboot
    when: always
    returnTimeout: 45s
    engineLog: tail -n 20 ${lab.labDir}/nodes/\${node.name}/dockerd.log
`,
    );
    try {
      const result = await runDrydock([
        'run',
        file,
        '--json',
        '--heartbeat',
        '2s',
        '--journal-dir',
        journals,
      ]);
      expect(result.exitCode, explain(result)).toBe(1);
      expect(eventsOf(result.events, 'rebooted')).toHaveLength(1);
      const beats = eventsOf(result.events, 'waiting').filter((e) => e.wait === 'engine-return');
      expect(beats.length, explain(result)).toBeGreaterThan(0);
      expect(beats[0]!.missing).toMatch(/^node3 back \(boot id changed\), engine not answering for \d/);
      const { report } = eventsOf(result.events, 'halt')[0]!;
      expect(report).toMatchObject({ node: 'node3', stage: 'reboot' });
      expect(report.reason).toMatch(/^reboot: node3 back \(boot id changed\), engine not answering for \d/);
      expect(report.lastOutput.join('\n')).toContain('daemon.json');
    } finally {
      await labSsh('node3', 'rm -f /etc/docker/daemon.json && systemctl start docker');
    }
  });

  it('streams command output in plain mode with --stream-output: by node and stage, masked, escaped', async () => {
    const file = runbook(
      'feed-stream',
      'node2',
      `  - kind: run
    name: say
    commands: ["echo token=\${tok}; echo plain-line; printf 'ctl\\\\033[31mred\\\\n'"]
`,
      'variables:\n  tok: { env: FEED_TOKEN, secret: true }\n',
    );
    const env = { FEED_TOKEN: 'feed-s3cret-value' };
    const result = await runDrydock(['run', file, '--yes', '--stream-output', '--journal-dir', journals], {
      env,
    });
    expect(result.exitCode, explain(result)).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines).toContainEqual(expect.stringMatching(/ node2 \[1\/1\] say \| plain-line$/));
    expect(lines).toContainEqual(expect.stringMatching(/ node2 \[1\/1\] say \| token=\*\*\*\*\*$/));
    expect(lines).toContainEqual(expect.stringMatching(/ node2 \[1\/1\] say \| ctl\\x1b\[31mred$/));
    expect(result.stdout).not.toContain('feed-s3cret-value');
    expect(result.stdout).not.toContain('\u001b');
    // Without the flag, plain mode keeps to results.
    const quiet = await runDrydock(['run', file, '--yes', '--journal-dir', journals], { env });
    expect(quiet.exitCode, explain(quiet)).toBe(0);
    expect(quiet.stdout).not.toMatch(/ say \| plain-line$/m);
  });
});
