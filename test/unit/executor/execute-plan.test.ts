import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../../../src/executor/events.js';
import { type ExecutorOptions, executePlan } from '../../../src/executor/execute-plan.js';
import type { JournalLine } from '../../../src/executor/journal.js';
import { readClusterFacts } from '../../../src/executor/read-cluster-facts.js';
import { replayJournal } from '../../../src/executor/run-progress.js';
import { planRollout } from '../../../src/plan/plan-rollout.js';
import type { Runbook } from '../../../src/runbook/types.js';
import {
  EventLog,
  FakeChecks,
  FakeCluster,
  fakeClock,
  fakeExecutorOptions,
  TEST_JOURNAL_HEADER,
} from '../../support/fake-cluster.js';
import { FakeSwarm, manager, node } from '../../support/fake-swarm.js';
import { FIVE_STAGES, runbookFrom } from '../../support/runbook-factory.js';

const header = TEST_JOURNAL_HEADER;

async function setup(runbook: Runbook = runbookFrom(FIVE_STAGES), swarm = standardSwarm()) {
  const cluster = new FakeCluster(swarm);
  const checks = new FakeChecks();
  const log = new EventLog();
  const plan = planRollout(runbook, await readClusterFacts(swarm));
  const options = (overrides: Partial<ExecutorOptions> = {}): ExecutorOptions =>
    fakeExecutorOptions({
      plan,
      runbook,
      cluster,
      checks,
      reporter: log,
      clock: fakeClock(),
      ...overrides,
    });
  return { swarm, cluster, checks, log, plan, options };
}

function standardSwarm(): FakeSwarm {
  const swarm = new FakeSwarm([manager('node1', true), node('node2'), node('node3')]);
  swarm.addService('web', ['node2', 'node3']);
  return swarm;
}

/** Journal lines as resume would read them back. */
function asJournal(events: RunEvent[]): JournalLine[] {
  return [{ ...header, seq: 0 }, ...events.map((e, i) => ({ ...e, seq: i + 1 }))];
}

describe('executePlan', () => {
  it('runs every stage node by node, workers first and the leader last', async () => {
    const { swarm, cluster, log, options } = await setup();
    expect(await executePlan(options())).toBe('succeeded');
    expect(log.ofType('node-start').map((e) => e.node)).toEqual(['node2', 'node3', 'node1']);
    // Each node: paused, its service scaled up (a replacement starts elsewhere first), drained,
    // the count set back once the node is empty, then re-activated.
    expect(swarm.calls).toEqual(
      ['node2', 'node3', 'node1'].flatMap((n) => [
        `pause ${n}`,
        'scale web 2→3',
        `drain ${n}`,
        'scale web 3→2',
        `active ${n}`,
      ]),
    );
    expect(log.ofType('replicas').map((e) => [e.node, e.action])).toEqual(
      ['node2', 'node3', 'node1'].flatMap((n) => [
        [n, 'scaled-up'],
        [n, 'restored'],
      ]),
    );
    expect(swarm.services[0]?.replicas).toBe(2);
    expect(log.ofType('rebooted').map((e) => [e.node, e.bootIdBefore, e.bootIdAfter])).toEqual([
      ['node2', 'boot-node2-1', 'boot-node2-2'],
      ['node3', 'boot-node3-1', 'boot-node3-2'],
      ['node1', 'boot-node1-1', 'boot-node1-2'],
    ]);
    expect(cluster.commands.filter((c) => c.command.includes('apt-get')).map((c) => c.node)).toEqual([
      'node2',
      'node3',
      'node1',
    ]);
    expect(swarm.configs).toEqual([]); // lock released
    expect(log.ofType('run-end')[0]?.outcome).toBe('succeeded');
    expect(replayJournal(asJournal(log.events)).outcome).toBe('succeeded');
  });

  it('halts on a failing command, leaves that node drained, and touches no later node', async () => {
    const { swarm, cluster, log, options } = await setup();
    cluster.respond = (command, node) =>
      node === 'node3' && command.includes('apt-get')
        ? { exitCode: 100, stderr: 'E: dpkg was interrupted' }
        : undefined;
    expect(await executePlan(options())).toBe('halted');
    expect(swarm.node('node3').availability).toBe('drain');
    expect(swarm.node('node1').availability).toBe('active');
    expect(swarm.calls).not.toContain('drain node1');
    const halt = log.ofType('halt')[0]!.report;
    expect(halt.node).toBe('node3');
    expect(halt.stage).toBe('patch');
    expect(halt.reason).toMatch(/exited 100/);
    expect(halt.lastOutput).toContain('E: dpkg was interrupted');
    expect(halt.resumeCommand).toBe('drydock resume run-1');
    expect(halt.nodes.find((n) => n.name === 'node3')).toMatchObject({ availability: 'drain' });
    // The lock stays: a half-maintained cluster must not be picked up by another run.
    expect(swarm.configs).toHaveLength(1);
  });

  it('resumes from the failed stage, skipping finished nodes, and re-activates the node it drained', async () => {
    const { swarm, cluster, log, options } = await setup();
    cluster.respond = (command, node) =>
      node === 'node3' && command.includes('apt-get') ? { exitCode: 100 } : undefined;
    expect(await executePlan(options())).toBe('halted');
    cluster.respond = () => undefined; // the operator fixed dpkg
    cluster.commands = [];
    swarm.calls = [];
    const progress = replayJournal(asJournal(log.events));
    const second = new EventLog();
    expect(await executePlan(options({ progress, reporter: second }))).toBe('succeeded');
    // node2 was done: untouched. node3 restarts at patch (drain already done), then node1.
    expect(second.ofType('node-start').map((e) => e.node)).toEqual(['node3', 'node1']);
    expect(
      second
        .ofType('stage-start')
        .filter((e) => e.node === 'node3')
        .map((e) => e.stage),
    ).toEqual(['patch', 'reboot', 'rejoin', 'verify']);
    expect(swarm.calls).toEqual([
      'active node3',
      'pause node1',
      'scale web 2→3',
      'drain node1',
      'scale web 3→2',
      'active node1',
    ]);
    expect(swarm.node('node3').availability).toBe('active');
  });

  it('never re-activates a node it did not drain (paused before the run)', async () => {
    const swarm = new FakeSwarm([manager('node1', true), node('node2', { availability: 'pause' })]);
    const { log, options } = await setup(runbookFrom(FIVE_STAGES), swarm);
    expect(await executePlan(options())).toBe('succeeded');
    expect(swarm.node('node2').availability).toBe('pause');
    const ends = log.ofType('stage-end').filter((e) => e.node === 'node2');
    expect(ends.find((e) => e.stage === 'drain')?.outcome).toBe('skipped');
    expect(ends.find((e) => e.stage === 'rejoin')).toMatchObject({ outcome: 'skipped' });
    expect(ends.find((e) => e.stage === 'rejoin')?.message).toMatch(
      /only re-activates nodes it drained|not drained by this run/,
    );
  });

  it('halts when a between-stage check fails, with the evidence', async () => {
    const { swarm, checks, log, options } = await setup();
    checks.failWhen = (names, scope) =>
      names.includes('node-ready') &&
      scope.length === 1 &&
      scope[0] === 'node2' &&
      swarm.node('node2').availability === 'drain'
        ? [
            {
              check: 'node-ready',
              node: 'node2',
              status: 'fail',
              message: 'default route gone',
              evidence: { route: 'default via 10.0.0.1' },
              durationMs: 1,
            },
          ]
        : undefined;
    expect(await executePlan(options())).toBe('halted');
    const halt = log.ofType('halt')[0]!.report;
    expect(halt).toMatchObject({ node: 'node2', stage: 'drain' });
    expect(halt.failedChecks[0]).toMatchObject({
      check: 'node-ready',
      evidence: { route: 'default via 10.0.0.1' },
    });
    expect(swarm.node('node2').availability).toBe('drain');
  });

  it('halts when a drain does not converge, saying what is still on the node', async () => {
    const { swarm, log, options } = await setup();
    swarm.stuckDrain = true;
    expect(await executePlan(options())).toBe('halted');
    expect(log.ofType('halt')[0]!.report.reason).toMatch(
      /drain did not converge within 60s: 1 task still on the node: web/,
    );
    expect(swarm.node('node2').availability).toBe('drain');
  });

  it('beats while a drain waits, naming what is missing, and quotes Swarm on the timeout', async () => {
    const { swarm, log, options } = await setup();
    swarm.stuckDrain = true;
    // The replacement the scheduler cannot place: Swarm's own reason sits on the pending task.
    const web = swarm.services[0]!;
    web.replicas = 3;
    swarm.tasks.push({
      ...swarm.tasks[0]!,
      id: 'web-pending',
      nodeId: undefined,
      slot: 3,
      state: 'pending',
      error: 'no suitable node (max replicas per node limit exceed)',
      serviceId: web.id,
    });
    expect(await executePlan(options({ heartbeatMs: 10_000 }))).toBe('halted');
    const beats = log.ofType('waiting');
    expect(beats.length).toBeGreaterThan(0);
    expect(beats[0]).toMatchObject({ node: 'node2', stage: 'drain', wait: 'drain', timeoutMs: 60_000 });
    expect(beats[0]!.missing).toMatch(/^waiting for drain of node2: 1 task still on the node: web/);
    expect(log.ofType('halt')[0]!.report.reason).toContain(
      'swarm: pending: no suitable node (max replicas per node limit exceed)',
    );
  });

  it('after a reboot whose engine does not answer: says so while waiting and quotes its log in the halt', async () => {
    const { cluster, log, options } = await setup();
    const engineOf = cluster.engineOf.bind(cluster);
    cluster.engineOf = async () => {
      if (log.ofType('rebooted').length > 0) throw new Error('connect ENOENT /var/run/docker.sock');
      return engineOf();
    };
    cluster.respond = (command) =>
      command.startsWith('journalctl -u docker')
        ? { stdout: 'level=error msg="timeout waiting for containerd"\n' }
        : undefined;
    expect(await executePlan(options({ heartbeatMs: 10_000 }))).toBe('halted');
    const beats = log.ofType('waiting').filter((e) => e.wait === 'engine-return');
    expect(beats.length).toBeGreaterThan(0);
    expect(beats[0]!.missing).toMatch(/^node2 back \(boot id changed\), engine not answering for \d+s/);
    const halt = log.ofType('halt')[0]!.report;
    expect(halt).toMatchObject({ node: 'node2', stage: 'reboot' });
    expect(halt.reason).toMatch(/node2 back \(boot id changed\), engine not answering for/);
    expect(halt.command?.command).toBe('journalctl -u docker -n 20 --no-pager');
    expect(halt.lastOutput).toContain('level=error msg="timeout waiting for containerd"');
  });

  it('says nothing between beats when waits end before the heartbeat interval', async () => {
    const { log, options } = await setup();
    expect(await executePlan(options({ heartbeatMs: 10_000 }))).toBe('succeeded');
    expect(log.ofType('waiting')).toEqual([]);
  });

  it('halts when a node does not come back from reboot within the timeout', async () => {
    const { cluster, log, options } = await setup();
    cluster.noReturn.add('node2');
    expect(await executePlan(options())).toBe('halted');
    expect(log.ofType('halt')[0]!.report).toMatchObject({ node: 'node2', stage: 'reboot' });
    expect(log.ofType('halt')[0]!.report.reason).toMatch(/did not come back within 60s/);
  });

  it('refuses to start when another run holds the lock', async () => {
    const { swarm, options } = await setup();
    await swarm.createConfig(
      'drydock-lock',
      { 'drydock.owner': 'alice@desk', 'drydock.run-id': 'other' },
      '',
    );
    await expect(executePlan(options())).rejects.toThrow(/locked by alice@desk \(run other/);
    expect(swarm.calls).toEqual([]);
  });

  it('refuses an unhealthy cluster at pre-flight, unless forced with a reason', async () => {
    const { swarm, checks, log, options } = await setup();
    checks.failWhen = (names, scope) =>
      scope.length === 3 && names.includes('services-converged')
        ? [{ check: 'services-converged', status: 'fail', message: 'web 1/2', durationMs: 1 }]
        : undefined;
    expect(await executePlan(options())).toBe('refused');
    expect(swarm.calls).toEqual([]);
    expect(swarm.configs).toEqual([]); // nothing changed, so the lock is released
    checks.failWhen = (names, scope) =>
      scope.length === 3 && names.includes('manager-quorum') && !names.includes('ip-route')
        ? [{ check: 'services-converged', status: 'fail', message: 'web 1/2', durationMs: 1 }]
        : undefined;
    const forced = new EventLog();
    // afterNode also spans all nodes: only pre-flight lists manager-quorum without ip-route here.
    expect(await executePlan(options({ force: 'web is known-degraded', reporter: forced }))).toBe(
      'succeeded',
    );
    expect(forced.ofType('preflight')[0]?.forced).toBe('web is known-degraded');
    expect(log.ofType('halt')[0]?.report.stage).toBe('pre-flight');
  });

  it('does the current leader last even when leadership moved during the run', async () => {
    const swarm = new FakeSwarm([manager('m1', true), manager('m2'), manager('m3')]);
    const { log, options, cluster } = await setup(runbookFrom(FIVE_STAGES), swarm);
    // Leadership moves to m3 when m2 reboots.
    const respond = cluster.respond;
    cluster.respond = (command, node) => {
      if (command === 'reboot' && node === 'm2') {
        swarm.node('m1').manager!.leader = false;
        swarm.node('m3').manager!.leader = true;
      }
      return respond(command, node);
    };
    expect(await executePlan(options())).toBe('succeeded');
    expect(log.ofType('node-start').map((e) => e.node)).toEqual(['m2', 'm1', 'm3']);
  });

  it('refuses to take a manager down while another manager is unreachable', async () => {
    const swarm = new FakeSwarm([manager('m1', true), manager('m2'), manager('m3'), node('w1')]);
    const { log, options, cluster } = await setup(runbookFrom(FIVE_STAGES), swarm);
    const respond = cluster.respond;
    cluster.respond = (command, node) => {
      if (command === 'reboot' && node === 'w1') swarm.node('m3').manager!.reachability = 'unreachable';
      return respond(command, node);
    };
    expect(await executePlan(options())).toBe('refused');
    expect(log.ofType('halt')[0]!.report.reason).toMatch(/m3 \(unreachable/);
    expect(swarm.calls).toEqual(['drain w1', 'active w1']);
  });

  it('stops at a safe point on a stop signal and reports how to resume', async () => {
    const stop = new AbortController();
    const { cluster, log, options } = await setup();
    cluster.respond = (command) => {
      if (command.includes('apt-get')) stop.abort('SIGINT');
      return undefined;
    };
    expect(await executePlan(options({ stopSignal: stop.signal }))).toBe('interrupted');
    // Acknowledged at once, in the stage that was running, before that stage ended.
    const ack = log.events.findIndex(
      (e) =>
        e.type === 'progress' &&
        e.node === 'node2' &&
        e.stage === 'patch' &&
        /received: stopping/.test(e.message),
    );
    const patchEnd = log.events.findIndex(
      (e) => e.type === 'stage-end' && e.node === 'node2' && e.stage === 'patch',
    );
    expect(ack).toBeGreaterThan(-1);
    expect(ack).toBeLessThan(patchEnd);
    const interrupted = log.ofType('interrupted')[0]!;
    expect(interrupted).toMatchObject({
      node: 'node2',
      stage: 'reboot',
      resumeCommand: 'drydock resume run-1',
    });
    // The patch stage finished (safe point) and is recorded as done.
    expect(replayJournal(asJournal(log.events)).doneStages.node2?.has('patch')).toBe(true);
  });

  it('asks the operator in interactive mode: skip a stage, retry a failure', async () => {
    const { cluster, log, options } = await setup();
    let failures = 0;
    cluster.respond = (command, node) => {
      if (node === 'node2' && command.includes('apt-get') && failures === 0) {
        failures++;
        return { exitCode: 1 };
      }
      return undefined;
    };
    const asked: string[] = [];
    const gate = {
      beforeStage: async (node: string, stage: string) => {
        asked.push(`${node}/${stage}`);
        return node === 'node3' && stage === 'reboot' ? ('skip' as const) : ('continue' as const);
      },
      onFailure: async () => 'retry' as const,
      confirm: async () => true,
    };
    expect(await executePlan(options({ gate }))).toBe('succeeded');
    expect(asked).toContain('node2/patch');
    const node2Patch = log.ofType('stage-end').filter((e) => e.node === 'node2' && e.stage === 'patch');
    expect(node2Patch.map((e) => e.outcome)).toEqual(['failed', 'succeeded']);
    expect(log.ofType('rebooted').map((e) => e.node)).toEqual(['node2', 'node1']);
  });

  it('stops asking for a node, or for the run, when the operator says so; failures still ask', async () => {
    const { cluster, log, options } = await setup();
    cluster.respond = (command, node) =>
      node === 'node3' &&
      command.includes('apt-get') &&
      log.ofType('stage-end').every((e) => e.outcome !== 'failed')
        ? { exitCode: 1 }
        : undefined;
    const asked: string[] = [];
    const failures: string[] = [];
    const gate = {
      beforeStage: async (node: string, stage: string) => {
        asked.push(`${node}/${stage}`);
        return node === 'node2' ? ('continue-node' as const) : ('continue-run' as const);
      },
      onFailure: async (node: string, stage: string) => {
        failures.push(`${node}/${stage}`);
        return 'retry' as const;
      },
      confirm: async () => true,
    };
    expect(await executePlan(options({ gate }))).toBe('succeeded');
    // node2: asked once, then not for its other stages; node3: asked once, then never again.
    expect(asked).toEqual(['node2/drain', 'node3/drain']);
    expect(failures).toEqual(['node3/patch']);
    expect(log.ofType('progress').map((e) => e.message)).toEqual(
      expect.arrayContaining([
        'no more stage prompts for node2 (failures still ask)',
        'no more stage prompts in this run (failures still ask)',
      ]),
    );
  });

  it('names the stage it really stopped at after a failed stage was retried', async () => {
    const { cluster, log, options } = await setup();
    let patchFailed = false;
    cluster.respond = (command, node) => {
      if (node !== 'node2') return undefined;
      if (command.includes('apt-get') && !patchFailed) {
        patchFailed = true;
        return { exitCode: 1 };
      }
      return undefined;
    };
    // The operator retries the failed patch, then aborts at the prompt before the reboot.
    const gate = {
      beforeStage: async (_node: string, stage: string) =>
        stage === 'reboot' ? ('abort' as const) : ('continue' as const),
      onFailure: async () => 'retry' as const,
      confirm: async () => true,
    };
    expect(await executePlan(options({ gate }))).toBe('halted');
    const report = log.ofType('halt')[0]!.report;
    expect(report.stage).toBe('reboot');
    expect(report.nodes.find((n) => n.name === 'node2')?.progress).toBe('2/5 stages done, stopped at reboot');
  });

  it('offers a force-update when services do not converge (interactive), then checks again', async () => {
    const { swarm, checks, log, options } = await setup();
    checks.failWhen = (names, scope) =>
      names.includes('node-ready') && scope.length === 1 && scope[0] === 'node2' && swarm.forced.length === 0
        ? [
            { check: 'node-ready', node: 'node2', status: 'pass', message: 'ok', durationMs: 1 },
            {
              check: 'services-converged',
              status: 'fail',
              message: 'web 1/2',
              evidence: { service: 'web' },
              durationMs: 1,
            },
          ]
        : undefined;
    const offered: string[][] = [];
    const gate = {
      beforeStage: async () => 'continue' as const,
      onFailure: async () => 'abort' as const,
      confirm: async () => true,
      offerRemediation: async (_node: string, services: string[]) => {
        offered.push(services);
        return true;
      },
    };
    expect(await executePlan(options({ gate }))).toBe('succeeded');
    expect(offered).toEqual([['web']]);
    expect(swarm.forced).toEqual(['svc-web']);
    expect(log.ofType('stage-end').find((e) => e.node === 'node2' && e.stage === 'drain')?.message).toBe(
      'converged after force-update',
    );
  });

  it('refuses to start outside the maintenance window, and starts no new node after it closes', async () => {
    // The fake clock starts at 2026-11-28T22:00:00Z.
    const early = runbookFrom(`${FIVE_STAGES}\nrollout: { window: { start: "2026-11-28T23:00:00Z" } }\n`);
    const a = await setup(early);
    expect(await executePlan(a.options())).toBe('refused');
    expect(a.log.ofType('halt')[0]!.report.reason).toMatch(/window opens at 2026-11-28T23:00:00/);
    expect(a.swarm.calls).toEqual([]);
    // Closes after the first node (the fake clock advances with each wait).
    const closing = runbookFrom(
      `${FIVE_STAGES}\nrollout: { soakBetweenNodes: 30m, window: { end: "2026-11-28T22:10:00Z" } }\n`,
    );
    const b = await setup(closing);
    expect(await executePlan(b.options())).toBe('interrupted');
    expect(b.log.ofType('node-start').map((e) => e.node)).toEqual(['node2']);
    expect(b.swarm.node('node2').availability).toBe('active');
    // A planned stop, journaled with its reason, not a bare interruption.
    expect(b.log.ofType('interrupted')[0]).toMatchObject({
      reason: 'window-end',
      message: 'window ended at 2026-11-28T22:10:00.000Z: stopped after finishing node2 as planned',
    });
    expect(b.log.ofType('lock').at(-1)?.action).toBe('kept');
  });

  it('masks secret values that show up in command output', async () => {
    const rb = runbookFrom(`
version: 1
name: secret
variables:
  token: { value: "s3cr3t-value", secret: true }
checks: { between: [], afterNode: [] }
stages:
  - { kind: run, commands: ["login \${token}"] }
`);
    const { cluster, log, options } = await setup(rb);
    cluster.respond = (command) => ({ stdout: `logged in with ${command.split(' ')[1]}` });
    expect(await executePlan(options())).toBe('succeeded');
    const text = JSON.stringify(log.events);
    expect(text).not.toContain('s3cr3t-value');
    expect(cluster.commands.some((c) => c.command.includes('s3cr3t-value'))).toBe(true);
  });

  it('masks secrets in every event, whatever stage kind produced them (a failing reboot, quoted forms)', async () => {
    const rb = runbookFrom(`
version: 1
name: secret
variables:
  token: { value: "it's-s3cret", secret: true }
checks: { between: [], afterNode: [] }
stages:
  - { kind: reboot, command: "echo \${token}; exit 3" }
`);
    const { cluster, log, options } = await setup(rb);
    // The node echoes the command back as a shell trace would: the secret in its quoted form.
    cluster.respond = (command) => ({ exitCode: 3, stderr: `+ ${command}\nsecret it's-s3cret` });
    expect(await executePlan(options())).toBe('halted');
    const text = JSON.stringify(log.events);
    expect(text).not.toContain("it's-s3cret");
    expect(text).not.toContain("it'\\''s-s3cret");
    expect(log.ofType('halt')[0]!.report.reason).toBeTruthy();
  });
});
