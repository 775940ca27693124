// Resume against the cluster as it really is, routes into the swarm's address space, and a
// secret grepped for in every artefact of a lab run: the real CLI as a process on the lab.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type LabInfo, labDocker, labExec, labUp } from '../lab/lab.js';
import { eventsOf, explain, runDrydock, tempDir, writeRunbook } from '../support/drydock-cli.js';
import { resetLab } from '../support/lab-reset.js';
import { labConnection, nodeAvailability } from '../support/lab-runbook.js';

let lab: LabInfo;
const SECRET = 'S3cr3t-pa55-q7';
const MARKER = '/var/lib/drydock-lab/state-ok';

beforeAll(async () => {
  lab = await labUp({ nodes: 3, managers: 1 });
  await resetLab();
}, 180_000);

afterEach(async () => {
  await labExec('node2', `rm -f ${MARKER}; ip route del 192.0.2.0/24 2>/dev/null; true`);
  await resetLab();
});

const manager = () => lab.nodes.find((n) => n.role === 'manager')!;

/**
 * node2 only: drain, then a stage that prints the secret and fails until MARKER exists (the
 * operator's fix), then rejoin. Short timeouts: the lab answers in seconds.
 */
function resumeRunbook(): string {
  return `version: 1
name: state-resume
targets: { roles: [worker], exclude: [node3] }
variables:
  token: { env: DRYDOCK_STATE_TOKEN, secret: true }
${labConnection()}
checks:
  between: [node-ready, ip-route]
  afterNode: [node-ready]
stages:
  - { kind: drain, name: drain, timeout: 60s }
  - kind: run
    name: patch
    timeout: 20s
    commands:
      - "echo token=\${token}"
      - "test -e ${MARKER}"
  - { kind: activate, name: rejoin, timeout: 60s }
`;
}

describe('resume re-checks the drained node (lab)', () => {
  it('refuses a node set active by hand, naming it; --redrain drains it again and continues; no artefact holds the secret', async () => {
    const dir = tempDir('drydock-state-');
    const journals = join(dir, 'journals');
    const runbook = writeRunbook(dir, 'resume.yaml', resumeRunbook());
    const env = { DRYDOCK_STATE_TOKEN: SECRET };
    const first = await runDrydock(['run', runbook, '--json', '--journal-dir', journals], { env });
    expect(first.exitCode, explain(first)).toBe(1);
    const runId = eventsOf(first.events, 'run-start')[0]!.runId;
    expect(eventsOf(first.events, 'halt')[0]!.report).toMatchObject({ node: 'node2', stage: 'patch' });
    // The halt keeps the lock: read it now, it is one of the artefacts.
    const lock = await labDocker(manager().name, lab)('config', 'inspect', 'drydock-lock');
    expect(lock.exitCode, lock.stderr).toBe(0);
    expect(lock.stdout).toContain(runId);

    // By hand, while the run is halted: the node is active again.
    const docker = labDocker(manager().name, lab);
    await docker('node', 'update', '--availability', 'active', 'node2');
    await labExec('node2', `touch ${MARKER}`);
    const refused = await runDrydock(['resume', runId, '--yes', '--journal-dir', journals], { env });
    expect(refused.exitCode, explain(refused)).toBe(3);
    expect(refused.stdout).toContain('node2 is no longer drained: its availability is active (node ID');
    expect(refused.stdout).toContain(`drydock resume ${runId} --journal-dir ${journals} --redrain`);
    expect((await nodeAvailability()).node2).toBe('Active');

    const resumed = await runDrydock(['resume', runId, '--yes', '--redrain', '--journal-dir', journals], {
      env,
    });
    expect(resumed.exitCode, explain(resumed)).toBe(0);
    expect(resumed.stdout).toMatch(/node2 .*draining it again before patch/);
    expect(resumed.stdout).toMatch(/node2 \[1\/1\] drained: /);
    expect(resumed.stdout).toContain('summary: nodes 1 done, 0 halted, 0 unfinished, 0 not started of 1');
    expect((await nodeAvailability()).node2).toBe('Active');

    // Every artefact: the --json stream, the terminal output, the journal, the reports, the lock.
    const files = readdirSync(journals).map((f) => join(journals, f));
    expect(files.some((f) => f.endsWith('.html'))).toBe(true);
    expect(files.some((f) => f.endsWith('.md'))).toBe(true);
    const artefacts: Record<string, string> = {
      'json stream': first.stdout + first.stderr,
      'terminal (refused)': refused.stdout + refused.stderr,
      'terminal (resumed)': resumed.stdout + resumed.stderr,
      lock: lock.stdout,
      ...Object.fromEntries(files.map((f) => [f, readFileSync(f, 'utf8')])),
    };
    // The secret did reach the command (masked), so its absence means something.
    expect(first.stdout).toContain('token=*****');
    for (const [name, text] of Object.entries(artefacts)) {
      expect(text.includes(SECRET), `${name} holds the secret`).toBe(false);
    }
  }, 240_000);
});

describe('ip-route against the swarm address space (lab)', () => {
  it('drydock check fails a route into the address pool, naming the route and the pool', async () => {
    const info = await labDocker(manager().name, lab)(
      'info',
      '--format',
      '{{range .Swarm.Cluster.DefaultAddrPool}}{{.}} {{end}}',
    );
    const pool = info.stdout.trim().split(' ')[0]!;
    const [a, b] = pool.split('.');
    const route = `${a}.${b}.200.0/24`;
    await labExec('node2', `ip route add ${route} via ${lab.hostIp}`);
    try {
      const dir = tempDir('drydock-state-');
      const runbook = writeRunbook(
        dir,
        'check.yaml',
        `version: 1\nname: state-check\n${labConnection()}\nchecks:\n  afterNode: [ip-route]\nstages:\n  - { kind: drain }\n`,
      );
      const r = await runDrydock(['check', '--runbook', runbook]);
      expect(r.exitCode, explain(r)).toBe(1);
      expect(r.stdout).toContain(
        `route ${route} via ${lab.hostIp} dev eth0 overlaps the swarm address pool ${pool}`,
      );
    } finally {
      await labExec('node2', `ip route del ${route}`);
    }
  }, 120_000);

  it('with onDiff: warn, a benign extra route is printed as the line itself', async () => {
    const dir = tempDir('drydock-state-');
    const runbook = writeRunbook(
      dir,
      'warn.yaml',
      `version: 1
name: state-route-warn
targets: { roles: [worker], exclude: [node3] }
${labConnection()}
checks:
  between: [ip-route]
  afterNode: []
  options: { ip-route: { onDiff: warn } }
stages:
  - kind: run
    name: add-route
    timeout: 20s
    commands: ["ip route add 192.0.2.0/24 via ${lab.hostIp}"]
`,
    );
    const r = await runDrydock(['run', runbook, '--yes', '--journal-dir', join(dir, 'journals')]);
    expect(r.exitCode, explain(r)).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(
        `check WARN ip-route .*\\+ 192\\.0\\.2\\.0/24 via ${lab.hostIp.replaceAll('.', '\\.')} dev eth0`,
      ),
    );
  }, 120_000);
});
