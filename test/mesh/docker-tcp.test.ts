// connection.docker via: tcp from the runbook alone, on the mesh lab, whose engines listen on
// tcp://IP:2375: plan and check reach the swarm through a per-manager endpoint template, with no
// --docker-host, and see every VM. (TLS is proven on a real dockerd --tlsverify in
// test/integration/docker-tcp-tls.test.ts: a TLS listener here would also turn TLS on for the
// plain 2375 listener the lab itself uses.)
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { readMeshLab } from '../lab/mesh.js';
import { explain, runDrydock, tempDir, writeRunbook } from '../support/drydock-cli.js';

const dir = tempDir('drydock-mesh-tcp-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('docker via tcp from the runbook, on the mesh lab', () => {
  it('plans and checks through tcp://${node.addr}:2375, seeing every VM', async () => {
    const lab = readMeshLab();
    const manager = lab.nodes.find((n) => n.role === 'manager')!;
    const runbook = writeRunbook(
      dir,
      'tcp.yaml',
      `version: 1
name: mesh-tcp
connection:
  ssh:
    user: ${lab.user}
    identityFile: ${lab.sshKey}
    knownHosts: ${lab.knownHosts}
    sshConfig: false
  docker:
    via: tcp
    host: "tcp://\${node.addr}:2375"
    managers: [${manager.ip}]
checks:
  preflight: [node-ready, manager-quorum]
stages:
  - { kind: drain, name: drain, timeout: 2m }
  - { kind: activate, name: rejoin }
`,
    );
    const plan = await runDrydock(['plan', runbook, '--format', 'json']);
    expect(plan.exitCode, explain(plan)).toBe(0);
    expect(plan.stderr).toContain(`Docker API: tcp://\${node.addr}:2375 on managers ${manager.ip}`);
    const names = (JSON.parse(plan.stdout).nodes as { name: string }[]).map((n) => n.name).sort();
    expect(names).toEqual(lab.nodes.map((n) => n.name).sort());

    const check = await runDrydock(['check', '--runbook', runbook, '--json']);
    expect(check.exitCode, explain(check)).toBe(0);
  }, 300_000);
});
