import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Plan } from '../../src/plan/types.js';
import { labDocker, labExec, labUp, readLab } from '../lab/lab.js';
import { explain, runDrydock, tempDir, writeRunbook } from '../support/drydock-cli.js';
import { resetLab } from '../support/lab-reset.js';
import { labRunbook } from '../support/lab-runbook.js';

let dir: string;
beforeAll(async () => {
  await labUp({ nodes: 3, managers: 1 });
  await resetLab();
  dir = tempDir('drydock-plan-');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Everything a plan could possibly change: node specs (version index), services, files, boot ids. */
async function snapshotCluster() {
  const lab = readLab();
  const docker = labDocker('node1', lab);
  const nodes = await docker(
    'node',
    'inspect',
    '--format',
    '{{.Description.Hostname}} {{.Version.Index}} {{.Spec.Availability}}',
    ...lab.nodes.map((n) => n.name),
  );
  const services = await docker(
    'service',
    'inspect',
    '--format',
    '{{.Spec.Name}} {{.Version.Index}}',
    'web',
    'api',
    'agent',
  );
  const configs = await docker('config', 'ls', '--format', '{{.Name}}');
  const perNode = await Promise.all(
    lab.nodes.map(async (n) => {
      const files = await labExec(
        n.name,
        'cat /proc/sys/kernel/random/boot_id; ls -la /run /var/lib/drydock-lab 2>/dev/null | md5sum; ip route | md5sum',
      );
      return `${n.name}: ${files.stdout}`;
    }),
  );
  return { nodes: nodes.stdout, services: services.stdout, configs: configs.stdout, perNode };
}

describe('drydock plan against the live lab', () => {
  it('reads the real cluster and changes nothing on any node', async () => {
    const before = await snapshotCluster();
    const runbook = writeRunbook(dir, 'plan.yaml', labRunbook());
    const result = await runDrydock(['plan', runbook, '--format', 'json']);
    expect(result.exitCode, explain(result)).toBe(0);
    const plan = JSON.parse(result.stdout) as Plan;
    expect(plan.cluster).toMatchObject({ source: 'docker', nodes: 3, managers: 1, leader: 'node1' });
    expect(plan.nodes.map((n) => n.name)).toEqual(['node2', 'node3', 'node1']);
    expect(plan.nodes[0]!.stages.map((s) => s.name)).toEqual([
      'drain',
      'patch',
      'upgrade',
      'reboot',
      'rejoin',
      'verify',
    ]);
    const after = await snapshotCluster();
    expect(after).toEqual(before);
  });

  it('reads the cluster through --docker-host (a manager socket), read-only', async () => {
    const lab = readLab();
    const manager = lab.nodes.find((n) => n.role === 'manager')!;
    const result = await runDrydock([
      'plan',
      'runbooks/rolling-patch.yaml',
      '--docker-host',
      `unix://${manager.dockerSocket}`,
      '--format',
      'markdown',
    ]);
    expect(result.exitCode, explain(result)).toBe(0);
    expect(result.stdout).toContain('# Maintenance plan: rolling-patch');
    expect(result.stdout).toMatch(/\| 3 \| `node1` \| manager \(leader\) \|/);
  });

  it('prints the text plan of the bundled lab runbook', async () => {
    const result = await runDrydock(['plan', 'runbooks/lab-rolling-patch.yaml']);
    expect(result.exitCode, explain(result)).toBe(0);
    expect(result.stdout).toMatch(/1\. node2 +worker, batch 1 of 3/);
    expect(result.stdout).toMatch(/3\. node1 +leader, last/);
    expect(result.stdout).toContain('$ apt-get install -y docker.io=20.10.24+dfsg1-1+deb12u1');
  });
});
