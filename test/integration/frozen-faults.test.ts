import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { healFault, injectFault, labDocker, labExec, labUp } from '../lab/lab.js';
import { eventsOf, explain, runDrydock, tempDir, writeRunbook } from '../support/drydock-cli.js';
import { resetLab, waitConverged } from '../support/lab-reset.js';
import { labConnection } from '../support/lab-runbook.js';

/**
 * Faults where something stops answering instead of failing: a frozen engine or sshd (SIGSTOP),
 * a link that drops every packet. drydock must end within the relevant timeout plus a stated
 * margin and say which node did not answer and what it waited for. The margin is generous on
 * purpose (a loaded CI machine); without the fix the run never ends at all (the test's own
 * timeout fails it). Behind a frozen sshd, what a timed-out command left running is killed once
 * drydock reaches the node again.
 */

/** Generous allowance for everything around a timeout: halt report, reports, closing, load. */
const MARGIN_MS = 60_000;

let journals: string;
const healers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  await labUp({ nodes: 3, managers: 1 });
  journals = tempDir('drydock-frozen-');
});
afterEach(async () => {
  for (const heal of healers.splice(0).reverse()) await heal().catch(() => undefined);
  await resetLab();
});

async function fault(name: 'freeze-dockerd' | 'freeze-sshd' | 'drop-link', node: string) {
  await injectFault(name, node);
  healers.push(() => healFault(name, node));
}

function runbookFor(name: string, target: string, checks: string, stages: string): string {
  return writeRunbook(
    journals,
    `${name}.yaml`,
    `version: 1
name: ${name}
targets: { names: [${target}] }
${labConnection()}
checks:
  between: [node-ready]
  afterNode: [node-ready]
  options:
${checks}
stages:
${stages}`,
  );
}

describe('a frozen manager engine', () => {
  it("halts when node-ready's timeout passes, naming the manager and what it waited for", async () => {
    const checkTimeoutMs = 15_000;
    const runbook = runbookFor(
      'frozen-engine',
      'node1',
      `    node-ready: { timeout: ${checkTimeoutMs / 1000}s }`,
      // Paused, node-ready polls (it expects active) until its timeout: the engine freezes then.
      `  - kind: run
    name: pause-node
    timeout: 30s
    commands:
      - "docker node update --availability pause node1 >/dev/null && echo paused"
`,
    );
    let frozenAt = 0;
    const result = await runDrydock(['run', runbook, '--json', '--journal-dir', journals], {
      onEvent: async (event) => {
        if (event.type === 'output' && event.line.includes('paused') && frozenAt === 0) {
          frozenAt = -1;
          // The checks start as the command ends; freeze while node-ready polls.
          await new Promise((resolve) => setTimeout(resolve, 2000));
          await fault('freeze-dockerd', 'node1');
          frozenAt = Date.now();
        }
      },
    });
    const endedAfterMs = Date.now() - frozenAt;
    expect(frozenAt, explain(result)).toBeGreaterThan(0);
    expect(result.exitCode, explain(result)).toBe(1);
    const [halt] = eventsOf(result.events, 'halt');
    expect(halt?.report.node, explain(result)).toBe('node1');
    expect(halt?.report.reason).toMatch(
      /manager node1's engine does not answer \(waited \d+s for (inspect|list) node/,
    );
    // The node table names who did not answer too, not an anonymous "API unreachable".
    expect(halt?.report.nodes.map((n) => n.state).join('\n')).not.toMatch(/API unreachable/);
    // Stated bound: the check's timeout plus the margin (without the fix: no end at all).
    expect(endedAfterMs).toBeLessThan(checkTimeoutMs + MARGIN_MS);
  });
});

describe('a link that drops every packet', () => {
  it('journals the drain at once, and SIGTERM ends the run within its grace while calls hang', async () => {
    const docker = labDocker('node1');
    // As many replicas as nodes, at most one per node: node2's drain waits and never converges.
    const created = await docker(
      ...['service', 'create', '--detach', '--name', 'droppin', '--replicas', '3'],
      ...['--replicas-max-per-node', '1', '--no-resolve-image', '--init', '--stop-grace-period', '1s'],
      ...['local/busybox:1', 'sleep', '1000000'],
    );
    expect(created.exitCode, created.stderr).toBe(0);
    // Healers run last-in first-out: the service goes after the link is back.
    healers.push(async () => {
      await docker('service', 'rm', 'droppin');
    });
    await waitConverged(docker);
    const runbook = runbookFor(
      'drop-link',
      'node2',
      '    node-ready: { timeout: 30s }',
      '  - { kind: drain, name: drain, timeout: 10m }\n  - { kind: activate, name: rejoin }\n',
    );
    let signalledAt = 0;
    const result = await runDrydock(['run', runbook, '--json', '--journal-dir', journals], {
      onEvent: async (event, proc) => {
        if (event.type === 'drained' && signalledAt === 0) {
          signalledAt = -1;
          // The manager's link drops everything: every Docker call of the drain's wait hangs.
          await fault('drop-link', 'node1');
          await new Promise((resolve) => setTimeout(resolve, 5000));
          signalledAt = Date.now();
          proc.kill('SIGTERM');
        }
      },
    });
    const endedAfterMs = Date.now() - signalledAt;
    expect(signalledAt, explain(result)).toBeGreaterThan(0);
    expect(result.exitCode, explain(result)).toBe(130);
    expect(eventsOf(result.events, 'drained')[0]?.node).toBe('node2');
    const interrupted = eventsOf(result.events, 'interrupted')[0];
    expect(interrupted, explain(result)).toMatchObject({ node: 'node2', stage: 'drain' });
    // Stated bound: the 15 s cancel grace plus the margin (without the fix: no end at all).
    expect(endedAfterMs).toBeLessThan(15_000 + MARGIN_MS);
  });
});

/**
 * PIDs of the node's processes whose whole command line is `cmdline`. labExec runs in the node's
 * mount namespace but the host's PID namespace: only processes of the node's mount namespace
 * count (another lab may run the same command).
 */
async function nodeProcesses(node: string, cmdline: string): Promise<number[]> {
  const r = await labExec(
    node,
    `self=$(readlink /proc/self/ns/mnt); for p in $(pgrep -f '^${cmdline}$'); do ` +
      `[ "$(readlink /proc/$p/ns/mnt 2>/dev/null)" = "$self" ] && echo "$p"; done; true`,
  );
  if (r.exitCode !== 0) throw new Error(`listing processes on ${node}: ${r.stderr}`);
  return r.stdout.split('\n').filter(Boolean).map(Number);
}

describe('a frozen sshd', () => {
  it('kills what a timed-out command left behind once it reaches the node again', async () => {
    const node = 'node2';
    const leftover = 'sleep 3001';
    // The first attempt hangs; the retry finds this directory and ends at once.
    const once = '/run/drydock-hang-once';
    healers.push(async () => {
      const pids = await nodeProcesses(node, leftover);
      await labExec(node, `rmdir ${once} 2>/dev/null; kill -KILL ${pids.join(' ')} 2>/dev/null; true`);
    });
    const runbook = runbookFor(
      'frozen-sshd',
      node,
      '    node-ready: { timeout: 30s }',
      // The stderr line comes after the PID report on the same stream: once the test sees it,
      // drydock knows the process group to kill.
      `  - kind: run
    name: hang
    timeout: 8s
    retries: 1
    retryDelay: 5s
    commands:
      - "if mkdir ${once} 2>/dev/null; then echo hanging >&2; ${leftover}; fi; echo second"
`,
    );
    let frozen = false;
    let leftBehind: number[] = [];
    const result = await runDrydock(['run', runbook, '--json', '--journal-dir', journals], {
      onEvent: async (event) => {
        if (event.type === 'output' && event.line === 'hanging' && !frozen) {
          frozen = true;
          await fault('freeze-sshd', node);
        }
        if (event.type === 'command' && event.stage === 'hang' && event.attempt === 1) {
          // drydock gave up on the command; its kill could not get through the frozen sshd.
          leftBehind = await nodeProcesses(node, leftover);
          // Let the node answer again before the retry reconnects.
          await healFault('freeze-sshd', node);
        }
      },
    });
    expect(frozen, explain(result)).toBe(true);
    expect(result.exitCode, explain(result)).toBe(0);
    const [first, second] = eventsOf(result.events, 'command').filter((e) => e.stage === 'hang');
    expect(first?.result.timedOut, explain(result)).toBe(true);
    expect(second?.result).toMatchObject({ exitCode: 0, stdout: 'second\n' });
    // The command was still running on the node when drydock gave up on it ...
    expect(leftBehind.length, explain(result)).toBe(1);
    // ... and the reconnect for the retry killed it.
    expect(await nodeProcesses(node, leftover)).toEqual([]);
  });
});
