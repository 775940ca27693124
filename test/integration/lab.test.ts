// Integration tests of the namespace lab itself (lab/lab.sh): real dockerd, sshd, iptables and
// namespaces. They prove the lab behaves like the cluster drydock will be pointed at.
import { existsSync, readFileSync } from 'node:fs';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type ExecResult,
  type FaultName,
  healFault,
  injectFault,
  type LabInfo,
  type LabNode,
  labDocker,
  labExec,
  labNode,
  labReboot,
  labSet,
  labSsh,
  readLab,
  waitFor,
} from '../lab/lab.js';

let lab: LabInfo;
let manager: LabNode;
/** The node the destructive tests use: the last worker (never the only manager). */
let victim: LabNode;

async function managerDocker(...args: string[]): Promise<ExecResult> {
  return labDocker(manager, lab)(...args);
}

async function nodeStatus(name: string): Promise<string> {
  const r = await managerDocker('node', 'ls', '--format', '{{.Hostname}} {{.Status}}');
  return (
    r.stdout
      .split('\n')
      .find((l) => l.startsWith(`${name} `))
      ?.split(' ')[1] ?? 'missing'
  );
}

async function allReady(): Promise<boolean> {
  const r = await managerDocker('node', 'ls', '--format', '{{.Status}}');
  const st = r.stdout.trim().split('\n');
  return r.exitCode === 0 && st.length === lab.nodeCount && st.every((s) => s === 'Ready');
}

/** Every service has running == desired (> 0). */
async function converged(): Promise<boolean> {
  const r = await managerDocker('service', 'ls', '--format', '{{.Name}} {{.Replicas}}');
  if (r.exitCode !== 0 || r.stdout.trim() === '') return false;
  return r.stdout
    .trim()
    .split('\n')
    .every((l) => {
      const [run, want] = (l.split(' ')[1] ?? '').split('/');
      return run !== undefined && run === want && Number(want) > 0;
    });
}

async function waitHealthy(): Promise<void> {
  await waitFor(allReady, 90_000, { what: 'all nodes Ready' });
  await waitFor(converged, 120_000, { what: 'demo stack converged' });
}

/** Nodes currently running a task of the service. */
async function taskNodes(service: string): Promise<string[]> {
  const r = await managerDocker(
    'service',
    'ps',
    service,
    '--filter',
    'desired-state=running',
    '--format',
    '{{.Node}} {{.CurrentState}}',
  );
  return r.stdout
    .trim()
    .split('\n')
    .filter((l) => l.includes(' Running'))
    .map((l) => l.split(' ')[0]!);
}

async function curl(url: string, maxTimeS = 3): Promise<ExecResult> {
  const r = await execa('curl', ['-s', '-m', String(maxTimeS), url], { reject: false });
  return { stdout: String(r.stdout), stderr: String(r.stderr), exitCode: r.exitCode ?? -1 };
}

async function bootId(node: LabNode): Promise<string> {
  const r = await labSsh(node, 'cat /proc/sys/kernel/random/boot_id', 15_000);
  if (r.exitCode !== 0) throw new Error(`ssh ${node.name}: ${r.stderr}`);
  return r.stdout.trim();
}

function faultNames(node: LabNode): string[] {
  return labNode(node.name).faults.map((f) => f.name);
}

/** A long-running ssh session; resolves with its result once it ends. */
/**
 * A long ssh command, returned once it really runs on the node: a fault that lands while the
 * session is still logging in would test the login, not a running command.
 */
async function longSession(node: LabNode): Promise<{ done: Promise<ExecResult> }> {
  const done = labSsh(node, 'sleep 61; echo finished', 90_000);
  await waitFor(
    async () => (await labExec(node, 'pgrep -x sleep -a | grep -q "sleep 61"')).exitCode === 0,
    60_000,
    {
      what: 'the long ssh command to start on the node',
    },
  );
  return { done };
}

beforeAll(async () => {
  lab = readLab();
  expect(lab.up).toBe(true);
  manager = lab.nodes.find((n) => n.role === 'manager')!;
  victim = lab.nodes.filter((n) => n.role === 'worker').at(-1) ?? lab.nodes.at(-1)!;
  await waitHealthy();
});

describe('lab shape', () => {
  it('has every node Ready in docker node ls, with the requested managers', async () => {
    const r = await managerDocker('node', 'ls', '--format', '{{.Hostname}} {{.Status}} {{.ManagerStatus}}');
    expect(r.exitCode).toBe(0);
    const rows = r.stdout.trim().split('\n');
    expect(rows.map((l) => l.split(' ')[0]).sort()).toEqual(lab.nodes.map((n) => n.name).sort());
    expect(rows.every((l) => l.split(' ')[1] === 'Ready')).toBe(true);
    expect(rows.filter((l) => (l.split(' ')[2] ?? '') !== '').length).toBe(lab.managers);
    expect(lab.nodes.filter((n) => n.role === 'manager').length).toBe(lab.managers);
  });

  it('answers on every per-node docker socket with that node’s own engine', async () => {
    for (const n of lab.nodes) {
      const r = await labDocker(n, lab)('info', '--format', '{{.Name}} {{.Swarm.LocalNodeState}}');
      expect(r.stdout.trim()).toBe(`${n.name} active`);
    }
  });

  it('known_hosts holds one distinct real host key per node, by IP and by name', () => {
    const lines = readFileSync(lab.knownHosts, 'utf8').trim().split('\n');
    expect(lines.length).toBe(lab.nodeCount);
    for (const n of lab.nodes) {
      expect(lines.some((l) => l.startsWith(`${n.ip},${n.name} ssh-ed25519 `))).toBe(true);
    }
    expect(new Set(lines.map((l) => l.split(' ')[2])).size).toBe(lab.nodeCount);
  });

  it('strict ssh reaches each node and returns that node’s own routing table and shims', async () => {
    for (const n of lab.nodes) {
      const r = await labSsh(n, 'hostname; ip route; command -v reboot apt-get systemctl');
      expect(r.exitCode, r.stderr).toBe(0);
      const out = r.stdout;
      expect(out.split('\n')[0]).toBe(n.name);
      expect(out).toContain(`src ${n.ip}`);
      expect(out).toContain(`default via ${lab.hostIp} dev eth0`);
      for (const other of lab.nodes.filter((o) => o.name !== n.name)) {
        expect(out).not.toContain(`src ${other.ip}`);
      }
      expect(out).toContain('/usr/local/sbin/reboot');
      expect(out).toContain('/usr/local/sbin/apt-get');
    }
  });

  it('gives every node its own boot id, matching status --json', async () => {
    const ids: string[] = [];
    for (const n of lab.nodes) {
      const id = await bootId(n);
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      expect(id).toBe(labNode(n.name).bootId);
      ids.push(id);
    }
    expect(new Set(ids).size).toBe(lab.nodeCount);
  });

  it("gives root its own home on every node: ssh sessions run none of the host's dotfiles", async () => {
    // A host dotfile an ssh session on a node would read, were /root the host's.
    const probe = '.ddlab-host-home-probe';
    const hostFile = `/root/${probe}`;
    await execa('touch', [hostFile]);
    try {
      for (const n of lab.nodes) {
        // bash -l: a login shell reads ~/.profile and, through it, ~/.bashrc.
        const r = await labSsh(n, `bash -lc 'echo "$HOME"; ls -A ~; echo "pyenv=\${PYENV_ROOT:-none}"'`);
        expect(r.exitCode, r.stderr).toBe(0);
        const lines = r.stdout.split('\n');
        expect(lines[0]).toBe('/root');
        expect(lines).toEqual(expect.arrayContaining(['.bashrc', '.profile', '.ssh']));
        expect(lines).not.toContain(probe);
        expect(lines.at(-1)).toBe('pyenv=none');
        // The same home through lab.sh exec (same mount namespace) ...
        const viaExec = await labExec(n, ['ls', '-A', '/root']);
        expect(viaExec.stdout).not.toContain(probe);
      }
      // ... while the host keeps its own /root.
      expect(existsSync(hostFile)).toBe(true);
    } finally {
      await execa('rm', ['-f', hostFile]);
    }
  });

  it('lets nothing leave the lab: off-subnet destinations fail at once', async () => {
    const r = await labExec(victim, ['curl', '-s', '-m', '5', 'http://203.0.113.1/']);
    expect(r.exitCode).not.toBe(0);
    const route = await labExec(victim, ['ip', 'route', 'get', '203.0.113.1']);
    expect(route.stdout).toContain(`via ${lab.hostIp}`);
  });
});

describe('demo stack', () => {
  it.each([
    ['web', 8080],
    ['api', 8081],
  ])('%s answers HTTP on :%i exactly on the nodes running its tasks', async (service, port) => {
    await waitFor(converged, 60_000, { what: 'converged' });
    const running = await taskNodes(service);
    expect(running.length).toBeGreaterThan(0);
    for (const n of lab.nodes) {
      const r = await curl(`http://${n.ip}:${port}/cgi-bin/host`);
      if (running.includes(n.name)) {
        expect(r.exitCode, `${service} on ${n.name}`).toBe(0);
        expect(r.stdout.trim()).toBe(n.name);
      } else {
        expect(r.exitCode, `${service} must not answer on ${n.name}`).not.toBe(0);
      }
    }
  });

  it('runs the global agent on every node', async () => {
    // An earlier file may have drained and re-activated a node just before: its global task
    // comes back a moment after the node does.
    const all = lab.nodes.map((n) => n.name).sort();
    const onNodes = async () => {
      const nodes = (await taskNodes('agent')).sort();
      return JSON.stringify(nodes) === JSON.stringify(all) ? nodes : undefined;
    };
    expect(await waitFor(onNodes, 60_000, { what: 'agent running on every node' })).toEqual(all);
  });
});

describe('apt-get shim', () => {
  it('upgrade records packages and leaves /var/run/reboot-required unless told not to', async () => {
    await labSet('patch-reboot', victim, 'no');
    let r = await labSsh(victim, 'rm -f /var/run/reboot-required; apt-get update && apt-get -y dist-upgrade');
    expect(r.exitCode, r.stderr).toBe(0);
    r = await labSsh(victim, 'test -e /var/run/reboot-required; echo $?; cat /var/lib/drydock-lab/packages');
    expect(r.stdout.split('\n')[0]).toBe('1');
    expect(r.stdout).toMatch(/lab-patchlevel \d+/);
    await labSet('patch-reboot', victim, 'yes');
    r = await labSsh(victim, 'apt-get -y upgrade >/dev/null && test -e /var/run/reboot-required && echo yes');
    expect(r.stdout.trim()).toBe('yes');
  });

  it('engine upgrade restarts dockerd and records the installed version', async () => {
    const before = labNode(victim.name).dockerdPid;
    const r = await labSsh(victim, `apt-get install -y docker.io=${lab.engineVersion}`);
    expect(r.exitCode, r.stderr).toBe(0);
    const after = labNode(victim.name);
    expect(after.dockerdPid).not.toBeNull();
    expect(after.dockerdPid).not.toBe(before);
    const v = await labSsh(victim, 'cat /var/lib/drydock-lab/engine-version');
    expect(v.stdout.trim()).toBe(lab.engineVersion);
    const sv = await labDocker(victim, lab)('version', '--format', '{{.Server.Version}}');
    expect(sv.stdout.trim()).toBe(lab.engineVersion);
    await waitHealthy();
  });

  it('engine-upgrade-fail leaves dockerd stopped after the upgrade; heal + start brings it back', async () => {
    await injectFault('engine-upgrade-fail', victim);
    try {
      expect(labNode(victim.name).upgradeResult).toBe('fail');
      const r = await labSsh(victim, 'apt-get install -y docker.io=99.0.0');
      expect(r.exitCode).toBe(100);
      expect((await labDocker(victim, lab)('info')).exitCode).not.toBe(0);
      const st = await labSsh(victim, 'systemctl is-active docker');
      expect(st.stdout.trim()).toBe('inactive');
    } finally {
      await healFault('engine-upgrade-fail', victim);
    }
    expect(labNode(victim.name).upgradeResult).toBe('ok');
    const st = await labSsh(victim, 'systemctl start docker && systemctl is-active docker');
    expect(st.stdout.trim()).toBe('active');
    await waitHealthy();
  });
});

describe('reboot', () => {
  it('changes the boot id, drops connections, clears reboot-required, and the node returns', async () => {
    const before = labNode(victim.name);
    const oldBoot = await bootId(victim);
    await labSsh(victim, 'apt-get -y upgrade >/dev/null');
    const session = (await longSession(victim)).done;
    const rb = await labSsh(victim, 'reboot', 30_000);
    expect(rb.exitCode).toBe(255); // connection dropped by the node going down
    const s = await session;
    expect(s.exitCode).toBe(255);
    expect(s.stdout).not.toContain('finished');
    // Between going down and coming back, the node refuses SSH (it stays down for its delay).
    let refused = 0;
    const newBoot = await waitFor(
      async () => {
        const id = await bootId(victim).catch((e: unknown) => {
          refused++;
          throw e;
        });
        return id !== oldBoot ? id : undefined;
      },
      60_000,
      { what: 'new boot id' },
    );
    expect(refused).toBeGreaterThan(0);
    expect(newBoot).toBe(labNode(victim.name).bootId);
    const rr = await labSsh(victim, 'test -e /var/run/reboot-required && echo present || echo gone');
    expect(rr.stdout.trim()).toBe('gone');
    await waitFor(async () => (await nodeStatus(victim.name)) === 'Ready', 60_000, { what: 'Ready' });
    const after = labNode(victim.name);
    expect(after.power).toBe('up');
    expect(after.rebootPid).toBeNull();
    expect(after.sshdPid).not.toBe(before.sshdPid);
    expect(after.dockerdPid).not.toBe(before.dockerdPid);
    await waitHealthy();
  });

  it('no-return: the node stays down after its next reboot until healed', async () => {
    await injectFault('no-return', victim);
    try {
      const oldBoot = await bootId(victim);
      await labReboot(victim);
      await waitFor(() => labNode(victim.name).power === 'down', 30_000, { what: 'power down' });
      await new Promise((r) => setTimeout(r, (labNode(victim.name).rebootDelay + 2) * 1000));
      expect(labNode(victim.name).power).toBe('down');
      expect((await labSsh(victim, 'true', 10_000)).exitCode).toBe(255);
      expect((await labDocker(victim, lab)('info')).exitCode).not.toBe(0);
      expect(faultNames(victim)).toContain('no-return');
      await healFault('no-return', victim);
      expect(await bootId(victim)).not.toBe(oldBoot);
    } finally {
      await healFault('no-return', victim);
    }
    expect(faultNames(victim)).not.toContain('no-return');
    await waitHealthy();
  });
});

/** Inject a fault, check it is observable (and listed in status), heal, check it is gone. */
async function faultCycle(
  name: FaultName,
  node: LabNode,
  args: string[],
  observe: () => Promise<void>,
  restored: () => Promise<void>,
): Promise<void> {
  await injectFault(name, node, ...args);
  try {
    expect(labNode(node.name).faults.length).toBeGreaterThan(0);
    await observe();
  } finally {
    await healFault(name, node, ...args);
  }
  expect(labNode(node.name).faults).toEqual([]);
  await restored();
}

describe('faults are observable and reversible', () => {
  it('default-route', async () => {
    const routes = async () => (await labSsh(victim, 'ip route')).stdout;
    await faultCycle(
      'default-route',
      victim,
      [],
      async () => expect(await routes()).not.toMatch(/^default /m),
      async () => expect(await routes()).toMatch(new RegExp(`^default via ${lab.hostIp} `, 'm')),
    );
  });

  it('route (docker0 subnet)', async () => {
    const routes = async () => (await labSsh(victim, 'ip route')).stdout;
    const dest = '172.17.0.0/16';
    expect(await routes()).toContain(`${dest} dev docker0`);
    await faultCycle(
      'route',
      victim,
      [dest],
      async () => expect(await routes()).not.toContain(dest),
      async () => expect(await routes()).toContain(`${dest} dev docker0`),
    );
  });

  it('dockerd', async () => {
    const info = () => labDocker(victim, lab)('info', '--format', '{{.Name}}');
    await faultCycle(
      'dockerd',
      victim,
      [],
      async () => {
        expect((await info()).exitCode).not.toBe(0);
        expect(labNode(victim.name).dockerdPid).toBeNull();
      },
      async () => {
        expect((await info()).stdout.trim()).toBe(victim.name);
        await waitHealthy();
      },
    );
  });

  it('sshd (drops an established session mid-command)', async () => {
    const session = (await longSession(victim)).done;
    await faultCycle(
      'sshd',
      victim,
      [],
      async () => {
        const s = await session;
        expect(s.exitCode).toBe(255);
        expect(s.stdout).not.toContain('finished');
        expect((await labSsh(victim, 'true', 10_000)).exitCode).toBe(255);
      },
      async () => expect((await labSsh(victim, 'echo back')).stdout.trim()).toBe('back'),
    );
  });

  it('block-port (published port of a running web task)', async () => {
    const node = labNode((await taskNodes('web'))[0]!);
    const url = `http://${node.ip}:8080/`;
    expect((await curl(url)).stdout.trim()).toBe('ok');
    await faultCycle(
      'block-port',
      node,
      ['8080'],
      async () => expect((await curl(url, 2)).exitCode).not.toBe(0),
      async () => expect((await curl(url)).stdout.trim()).toBe('ok'),
    );
  });

  it('unschedulable (service gets a constraint nobody satisfies)', async () => {
    // The rolling update stops a task and its replacement stays Pending ("no suitable node"):
    // the service can no longer converge.
    const pending = async () => {
      const r = await managerDocker(
        'service',
        'ps',
        'web',
        '--filter',
        'desired-state=running',
        '--format',
        '{{.CurrentState}} {{.Error}}',
      );
      return r.stdout.split('\n').some((l) => l.startsWith('Pending') && l.includes('no suitable node'));
    };
    await faultCycle(
      'unschedulable',
      manager,
      ['web'],
      async () => {
        await waitFor(pending, 60_000, { what: 'a web task pending on "no suitable node"' });
        expect(await converged()).toBe(false);
        const spec = await managerDocker(
          'service',
          'inspect',
          'web',
          '--format',
          '{{.Spec.TaskTemplate.Placement.Constraints}}',
        );
        expect(spec.stdout).toContain('ddlab-unschedulable');
      },
      async () => {
        await waitFor(converged, 90_000, { what: 'web converged again' });
        expect(await pending()).toBe(false);
      },
    );
  });

  it('clock-skew (simulated: only `date` inside the node)', async () => {
    // The node's `date` must read the host's clock plus the offset at some moment of the call.
    const expectNodeClock = async (offsetS: number) => {
      const before = Math.floor(Date.now() / 1000);
      const r = await labSsh(victim, 'date +%s');
      const after = Math.ceil(Date.now() / 1000);
      const shifted = Number(r.stdout.trim()) - offsetS;
      expect(shifted, r.stdout).toBeGreaterThanOrEqual(before);
      expect(shifted, r.stdout).toBeLessThanOrEqual(after);
    };
    await faultCycle(
      'clock-skew',
      victim,
      ['3600'],
      () => expectNodeClock(3600),
      () => expectNodeClock(0),
    );
  });

  it('host-key (strict host-key checking fails until healed)', async () => {
    await faultCycle(
      'host-key',
      victim,
      [],
      async () => {
        const r = await labSsh(victim, 'true');
        expect(r.exitCode).toBe(255);
        expect(r.stderr).toMatch(/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/);
      },
      async () => expect((await labSsh(victim, 'echo ok')).stdout.trim()).toBe('ok'),
    );
  });

  it('cut-link (node unreachable from host and peers)', async () => {
    await faultCycle(
      'cut-link',
      victim,
      [],
      async () => {
        expect((await labSsh(victim, 'true', 15_000)).exitCode).toBe(255);
        const peer = await labExec(manager, ['curl', '-s', '-m', '2', `http://${victim.ip}:1/`]);
        expect([7, 28]).toContain(peer.exitCode); // no answer (timeout / no ARP reply), not a refusal
      },
      async () => {
        await waitFor(async () => (await labSsh(victim, 'echo ok')).stdout.trim() === 'ok', 30_000, {
          what: 'ssh after cut-link heal',
        });
        await waitHealthy();
      },
    );
  });
});
