// Proves the MESH lab itself (lab/mesh-lab.sh): real VMs with IPVS, so the swarm ingress routing mesh,
// ingress-sbox, DOCKER-INGRESS, IPVS backends, gossip peers and VIP DNS are all real. Every fault must
// be observable and reversible, and a real reboot must change the boot id and rejoin the swarm.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type ExecResult,
  httpStatus,
  type MeshLabInfo,
  type MeshNode,
  meshDocker,
  meshExec,
  meshFault,
  meshHeal,
  meshReboot,
  meshWaitFor,
  readMeshLab,
} from '../lab/mesh.js';

let lab: MeshLabInfo;
let manager: MeshNode;
/** Node the destructive tests use: the last worker (never the only manager). */
let victim: MeshNode;

const ok = (r: ExecResult, what: string): string => {
  if (r.exitCode !== 0) throw new Error(`${what} failed (${r.exitCode}): ${r.stderr}`);
  return r.stdout;
};
const webCode = (n: MeshNode): Promise<number> => httpStatus(n.ip, lab.webPort);
const otherNodes = (n: MeshNode): MeshNode[] => lab.nodes.filter((x) => x.name !== n.name);

/** hostname -> {status, id} from the manager's `docker node ls`. */
async function swarmNodes(): Promise<Map<string, { status: string; id: string }>> {
  const out = ok(
    await meshDocker(manager, 'node', 'ls', '--format', '{{.Hostname}} {{.Status}} {{.ID}}'),
    'node ls',
  );
  const m = new Map<string, { status: string; id: string }>();
  for (const l of out.trim().split('\n')) {
    const [h, status, id] = l.split(' ');
    if (h && status && id) m.set(h, { status, id });
  }
  return m;
}

async function allReady(): Promise<boolean> {
  const m = await swarmNodes();
  return lab.nodes.every((n) => m.get(n.name)?.status === 'Ready');
}

/** Names of the nodes running a `web` task, and those tasks' addresses on the ingress network. */
async function webTasks(): Promise<{ nodes: string[]; ingressIps: string[] }> {
  const ids = ok(
    await meshDocker(manager, 'service', 'ps', 'web', '-q', '--filter', 'desired-state=running'),
    'service ps',
  )
    .trim()
    .split('\n')
    .filter(Boolean);
  if (ids.length === 0) return { nodes: [], ingressIps: [] };
  const out = ok(
    await meshDocker(
      manager,
      'inspect',
      '--format',
      '{{.Status.State}} {{.NodeID}} {{range .NetworksAttachments}}{{if eq .Network.Spec.Name "ingress"}}{{range .Addresses}}{{.}} {{end}}{{end}}{{end}}',
      ...ids,
    ),
    'inspect tasks',
  );
  const byId = new Map([...(await swarmNodes())].map(([h, v]) => [v.id, h]));
  const nodes: string[] = [];
  const ingressIps: string[] = [];
  for (const l of out.trim().split('\n')) {
    const [state, nodeId, ...addrs] = l.trim().split(/\s+/);
    if (state !== 'running' || !nodeId) continue;
    nodes.push(byId.get(nodeId) ?? nodeId);
    ingressIps.push(...addrs.map((a) => a.split('/')[0] ?? a));
  }
  return { nodes, ingressIps };
}

interface IngressFacts {
  sbox: boolean;
  natRule: boolean;
  mark: number;
  backends: string[];
}

/** One ssh exec per node gathers all ingress facts (exec channels are slow under TCG). */
async function ingressFacts(n: MeshNode): Promise<IngressFacts> {
  const P = lab.webPort;
  const script = [
    'SB=/var/run/docker/netns/ingress_sbox',
    '[ -e $SB ] && echo sbox=yes || echo sbox=no',
    `iptables -t nat -S DOCKER-INGRESS 2>/dev/null | grep -- '--dport ${P} ' | grep -q DNAT && echo nat=yes || echo nat=no`,
    `mark=$(nsenter --net=$SB iptables -t mangle -S PREROUTING 2>/dev/null | sed -n 's/.*--dport ${P} .*--set-xmark \\(0x[0-9a-f]*\\)\\/.*/\\1/p' | head -1)`,
    'mark=$((${mark:-0})); echo mark=$mark',
    `nsenter --net=$SB ipvsadm -Ln 2>/dev/null | awk -v m=$mark '$1 == "FWM" { on = ($2 == m) } on && $1 == "->" && $2 ~ /:/ { print "backend=" $2 }'`,
  ].join('\n');
  const out = ok(await meshExec(n, script), `ingress facts on ${n.name}`);
  const kv = out
    .trim()
    .split('\n')
    .map((l) => l.split('='));
  const get = (k: string): string[] => kv.filter(([a]) => a === k).map(([, b]) => b ?? '');
  return {
    sbox: get('sbox')[0] === 'yes',
    natRule: get('nat')[0] === 'yes',
    mark: Number(get('mark')[0] ?? 0),
    backends: get('backend')
      .map((b) => b.split(':')[0] ?? b)
      .sort(),
  };
}

/** The ingress network's gossip peer IPs as node n sees them. */
async function ingressPeers(n: MeshNode): Promise<string[]> {
  const out = ok(
    await meshDocker(
      n,
      'network',
      'inspect',
      '--verbose',
      'ingress',
      '--format',
      '{{range .Peers}}{{.IP}} {{end}}',
    ),
    `ingress peers on ${n.name}`,
  );
  return out.trim().split(/\s+/).filter(Boolean).sort();
}

const allIps = (): string[] => lab.nodes.map((n) => n.ip).sort();

beforeAll(() => {
  lab = readMeshLab();
  expect(lab.up).toBe(true);
  const m = lab.nodes.find((n) => n.role === 'manager');
  if (!m) throw new Error('mesh lab has no manager');
  manager = m;
  victim = lab.nodes.filter((n) => n.role === 'worker').at(-1) ?? manager;
});

describe('mesh lab: cluster', () => {
  it('runs every VM and every VM is Ready in the swarm', async () => {
    expect(lab.nodes).toHaveLength(lab.nodeCount);
    for (const n of lab.nodes) {
      expect(n.running, `${n.name} qemu running`).toBe(true);
      expect(n.dockerHost).toBe(`tcp://${n.ip}:2375`);
    }
    const m = await swarmNodes();
    expect([...m.keys()].sort()).toEqual(lab.nodes.map((n) => n.name).sort());
    for (const n of lab.nodes) expect(m.get(n.name)?.status, n.name).toBe('Ready');
  });

  it('ssh works with strict host-key checking, and each VM has its own host key', async () => {
    const known = readFileSync(lab.knownHosts, 'utf8').trim().split('\n');
    expect(known.map((l) => l.split(' ')[0]).sort()).toEqual(allIps());
    expect(new Set(known.map((l) => l.split(' ')[2])).size).toBe(lab.nodeCount);
    const ssh = (n: MeshNode, knownHosts: string) =>
      execa(
        'ssh',
        [
          '-i',
          lab.sshKey,
          '-o',
          `UserKnownHostsFile=${knownHosts}`,
          '-o',
          'StrictHostKeyChecking=yes',
          '-o',
          'BatchMode=yes',
          '-o',
          'ConnectTimeout=10',
          `${lab.user}@${n.ip}`,
          'hostname',
        ],
        { reject: false, timeout: 60_000 },
      );
    const results = await Promise.all(lab.nodes.map((n) => ssh(n, lab.knownHosts)));
    results.forEach((r, i) => {
      expect(r.exitCode, String(r.stderr)).toBe(0);
      expect(String(r.stdout).trim()).toBe(lab.nodes[i]?.name);
    });
    // strictness is real: another VM's key listed for this IP must be refused
    const first = lab.nodes[0];
    if (!first || lab.nodeCount < 2) return;
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'mesh-kh-'));
    const wrong = path.join(tmp, 'known_hosts');
    const otherKey = known
      .find((l) => !l.startsWith(`${first.ip} `))
      ?.split(' ')
      .slice(1)
      .join(' ');
    writeFileSync(wrong, `${first.ip} ${otherKey}\n`);
    const bad = await ssh(first, wrong);
    expect(bad.exitCode).not.toBe(0);
    expect(String(bad.stderr)).toMatch(/host key|HOST IDENTIFICATION/i);
  });

  it('the published port answers HTTP 200 on every VM through the mesh, including VMs without a web task', async () => {
    const { nodes: withTask } = await webTasks();
    expect(withTask.length).toBeGreaterThan(0);
    const without = lab.nodes.filter((n) => !withTask.includes(n.name));
    if (lab.nodeCount > 1) expect(without.length).toBeGreaterThan(0);
    const codes = await Promise.all(lab.nodes.map(webCode));
    expect(Object.fromEntries(lab.nodes.map((n, i) => [n.name, codes[i]]))).toEqual(
      Object.fromEntries(lab.nodes.map((n) => [n.name, 200])),
    );
  });

  it('every VM has ingress_sbox, a DOCKER-INGRESS DNAT rule for the port, and IPVS backends = the web tasks', async () => {
    const { ingressIps } = await webTasks();
    expect(ingressIps.length).toBeGreaterThan(0);
    const facts = await Promise.all(lab.nodes.map(ingressFacts));
    facts.forEach((f, i) => {
      const name = lab.nodes[i]?.name;
      expect(f.sbox, `${name} ingress_sbox`).toBe(true);
      expect(f.natRule, `${name} DOCKER-INGRESS`).toBe(true);
      expect(f.mark, `${name} fwmark`).toBeGreaterThan(0);
      expect(f.backends, `${name} IPVS backends`).toEqual([...ingressIps].sort());
    });
  });

  it('the ingress network peer list is identical on every VM and lists every VM', async () => {
    const views = await Promise.all(lab.nodes.map(ingressPeers));
    for (const v of views) expect(v).toEqual(allIps());
  });

  it('the service name resolves to its VIP inside the mesh overlay', async () => {
    const vips = ok(
      await meshDocker(
        manager,
        'service',
        'inspect',
        'web',
        '--format',
        '{{range .Endpoint.VirtualIPs}}{{.NetworkID}}={{.Addr}} {{end}}',
      ),
      'service inspect',
    );
    const meshId = ok(
      await meshDocker(manager, 'network', 'inspect', 'mesh', '--format', '{{.ID}}'),
      'net inspect',
    ).trim();
    const vip = vips
      .trim()
      .split(' ')
      .find((e) => e.startsWith(`${meshId}=`))
      ?.split('=')[1]
      ?.split('/')[0];
    expect(vip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const { nodes } = await webTasks();
    const host = lab.nodes.find((n) => n.name === nodes[0]);
    if (!host) throw new Error('no node runs web');
    const cid = ok(
      await meshDocker(host, 'ps', '-q', '--filter', 'label=com.docker.swarm.service.name=web'),
      'ps',
    )
      .trim()
      .split('\n')[0];
    const r = await meshDocker(host, 'exec', cid ?? '', 'nslookup', 'web');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Address: ${vip}`);
  });
});

describe('mesh lab: faults are observable and reversible', () => {
  it('ingress-rule: the DNAT rule and the port vanish on that VM only; heal restores both', async () => {
    await meshFault('ingress-rule', victim);
    try {
      expect((await ingressFacts(victim)).natRule).toBe(false);
      expect(await webCode(victim)).not.toBe(200);
      expect(await webCode(manager)).toBe(200);
    } finally {
      await meshHeal('ingress-rule', victim);
    }
    expect((await ingressFacts(victim)).natRule).toBe(true);
    await meshWaitFor('port back on victim', async () => (await webCode(victim)) === 200, 30_000);
  });

  it('ipvs-backend: a real server disappears from ingress_sbox; heal puts it back', async () => {
    const before = await ingressFacts(victim);
    expect(before.backends.length).toBeGreaterThan(0);
    await meshFault('ipvs-backend', victim);
    try {
      const during = await ingressFacts(victim);
      expect(during.backends).toHaveLength(before.backends.length - 1);
      // with the only backend gone the mesh on this VM has nowhere to send the connection
      if (before.backends.length === 1) expect(await webCode(victim)).not.toBe(200);
      expect(await webCode(manager)).toBe(200);
    } finally {
      await meshHeal('ipvs-backend', victim);
    }
    expect((await ingressFacts(victim)).backends).toEqual(before.backends);
    await meshWaitFor('port back on victim', async () => (await webCode(victim)) === 200, 30_000);
  });

  it('mesh-port: the published port stops answering on that VM only; heal restores', async () => {
    await meshFault('mesh-port', victim, String(lab.webPort));
    try {
      expect(await webCode(victim)).not.toBe(200);
      for (const n of otherNodes(victim)) expect(await webCode(n), n.name).toBe(200);
      // the ingress plumbing itself is untouched: only the port is blocked
      expect((await ingressFacts(victim)).natRule).toBe(true);
    } finally {
      await meshHeal('mesh-port', victim, String(lab.webPort));
    }
    expect(await webCode(victim)).toBe(200);
  });

  it('peer: the VM drops out of the others’ ingress peer list while still Ready; heal rejoins', async () => {
    await meshFault('peer', victim);
    try {
      await meshWaitFor(
        `${victim.ip} gone from ${manager.name}'s ingress peers`,
        async () => !(await ingressPeers(manager)).includes(victim.ip),
        120_000,
      );
      expect((await swarmNodes()).get(victim.name)?.status).toBe('Ready');
    } finally {
      await meshHeal('peer', victim);
    }
    await meshWaitFor(
      'identical full peer lists again',
      async () => (await Promise.all(lab.nodes.map(ingressPeers))).every((v) => v.join() === allIps().join()),
      180_000,
      3_000,
    );
  });

  it('default-route: the default route goes; heal restores it (still inside the lab)', async () => {
    const route = async () => ok(await meshExec(victim, 'ip route show default'), 'ip route').trim();
    expect(await route()).toMatch(/^default via 10\.77\.1\.\d+ dev eth0/);
    await meshFault('default-route', victim);
    try {
      expect(await route()).toBe('');
    } finally {
      await meshHeal('default-route', victim);
    }
    expect(await route()).toMatch(/^default via 10\.77\.1\.\d+ dev eth0/);
  });

  it('cut-link: the VM is unreachable from the host and the others; heal reconnects', async () => {
    await meshFault('cut-link', victim);
    try {
      expect(await httpStatus(victim.ip, 2375, '/_ping', 3_000)).toBe(0);
      expect((await meshExec(victim, 'true', 20_000)).exitCode).not.toBe(0);
      expect(await httpStatus(manager.ip, 2375, '/_ping')).toBe(200);
    } finally {
      await meshHeal('cut-link', victim);
    }
    await meshWaitFor(
      'victim reachable again',
      async () => (await httpStatus(victim.ip, 2375, '/_ping')) === 200,
      60_000,
    );
    await meshWaitFor('all nodes Ready', allReady, 120_000);
  });

  it('dockerd: the engine stops (ssh still works) and the swarm sees the node Down; heal restarts it', async () => {
    await meshFault('dockerd', victim);
    try {
      expect(await httpStatus(victim.ip, 2375, '/_ping', 3_000)).toBe(0);
      expect(ok(await meshExec(victim, 'mesh-engine status || true'), 'engine status').trim()).toBe(
        'stopped',
      );
      await meshWaitFor(
        `${victim.name} Down`,
        async () => (await swarmNodes()).get(victim.name)?.status === 'Down',
        120_000,
      );
    } finally {
      await meshHeal('dockerd', victim);
    }
    expect(await httpStatus(victim.ip, 2375, '/_ping')).toBe(200);
    await meshWaitFor('all nodes Ready', allReady, 180_000);
  });
});

// Both take a VM through a full boot (the slowest thing here), on two different workers at once.
describe.concurrent('mesh lab: power-cycle, patch shim and real reboot', () => {
  it('power: pulling the plug takes the VM Down; heal boots it from its disk and it rejoins as the same node', async ({
    expect,
    skip,
  }) => {
    const target = lab.nodes.find((n) => n.role === 'worker' && n.name !== victim.name);
    if (!target) return skip('needs two workers');
    const bootBefore = ok(await meshExec(target, 'cat /proc/sys/kernel/random/boot_id'), 'boot_id').trim();
    const idBefore = (await swarmNodes()).get(target.name)?.id;
    expect(idBefore).toBeTruthy();
    await meshFault('power', target);
    try {
      expect(readMeshLab().nodes.find((n) => n.name === target.name)?.running).toBe(false);
      expect(await httpStatus(target.ip, 2375, '/_ping', 3_000)).toBe(0);
      await meshWaitFor(
        `${target.name} Down`,
        async () => (await swarmNodes()).get(target.name)?.status === 'Down',
        120_000,
      );
    } finally {
      await meshHeal('power', target);
    }
    // heal returns once the VM is Ready and serving again
    expect(readMeshLab().nodes.find((n) => n.name === target.name)?.running).toBe(true);
    expect(ok(await meshExec(target, 'cat /proc/sys/kernel/random/boot_id'), 'boot_id').trim()).not.toBe(
      bootBefore,
    );
    expect((await swarmNodes()).get(target.name)).toEqual({ status: 'Ready', id: idBefore });
    expect(await webCode(target)).toBe(200);
  });

  it('apt-get upgrade records versions and asks for a reboot; a real reboot changes the boot id, keeps the swarm identity and rejoins', async ({
    expect,
  }) => {
    const bootId = async () =>
      ok(await meshExec(victim, 'cat /proc/sys/kernel/random/boot_id', 20_000), 'boot_id').trim();
    const version = async () =>
      ok(await meshExec(victim, "dpkg-query -W -f '${Version}' openssl"), 'dpkg-query').trim();
    const before = { boot: await bootId(), id: (await swarmNodes()).get(victim.name)?.id, pid: victim.pid };
    const v0 = await version();
    ok(await meshExec(victim, 'apt-get update && apt-get upgrade -y'), 'apt-get upgrade');
    const v1 = await version();
    expect(v1).not.toBe(v0);
    expect((await meshExec(victim, 'test -f /var/run/reboot-required')).exitCode).toBe(0);

    await meshReboot(victim);
    const after = await meshWaitFor(
      'a new boot id',
      async () => {
        const b = await bootId();
        return b !== before.boot ? b : false;
      },
      420_000,
      5_000,
    );
    expect(after).toMatch(/^[0-9a-f-]{36}$/);
    // same qemu process (guest reset, not a new VM)
    expect(readMeshLab().nodes.find((n) => n.name === victim.name)?.pid).toBe(before.pid);
    // /run is fresh, the persistent disk is not
    expect((await meshExec(victim, 'test -f /var/run/reboot-required')).exitCode).not.toBe(0);
    expect(await version()).toBe(v1);
    await meshWaitFor('rebooted VM Ready again', allReady, 300_000, 3_000);
    expect((await swarmNodes()).get(victim.name)?.id).toBe(before.id);
    await meshWaitFor(
      'port answers on the rebooted VM',
      async () => (await webCode(victim)) === 200,
      180_000,
    );
  });
});
