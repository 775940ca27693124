import { describe, expect, it } from 'vitest';
import { type ExecutorOptions, executePlan } from '../../../src/executor/execute-plan.js';
import { acquireLock, readLock } from '../../../src/executor/lock.js';
import { LockHeartbeat } from '../../../src/executor/lock-heartbeat.js';
import { readClusterFacts } from '../../../src/executor/read-cluster-facts.js';
import { planRollout } from '../../../src/plan/plan-rollout.js';
import {
  EventLog,
  FakeChecks,
  FakeCluster,
  fakeClock,
  fakeExecutorOptions,
} from '../../support/fake-cluster.js';
import { FakeSwarm, manager, node } from '../../support/fake-swarm.js';
import { FIVE_STAGES, runbookFrom } from '../../support/runbook-factory.js';

async function setup() {
  const swarm = new FakeSwarm([manager('node1', true), node('node2'), node('node3')]);
  swarm.addService('web', ['node2', 'node3']);
  const runbook = runbookFrom(FIVE_STAGES);
  const cluster = new FakeCluster(swarm);
  const log = new EventLog();
  const plan = planRollout(runbook, await readClusterFacts(swarm));
  const options = (overrides: Partial<ExecutorOptions> = {}): ExecutorOptions =>
    fakeExecutorOptions({
      plan,
      runbook,
      cluster,
      checks: new FakeChecks(),
      reporter: log,
      clock: fakeClock(),
      ...overrides,
    });
  return { swarm, cluster, log, options };
}

describe('safe points', () => {
  it('halts cleanly before the next stage when the journal can no longer be written', async () => {
    const { swarm, cluster, log, options } = await setup();
    let fault: Error | undefined;
    cluster.respond = (command, node) => {
      if (node === 'node2' && command.includes('apt-get')) {
        fault = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      }
      return undefined;
    };
    expect(await executePlan(options({ journalFault: () => fault }))).toBe('halted');
    const halt = log.ofType('halt')[0]!.report;
    expect(halt).toMatchObject({ node: 'node2', stage: 'reboot' });
    expect(halt.reason).toMatch(/the journal cannot be written \(ENOSPC: no space left on device/);
    expect(halt.resumeCommand).toBe('drydock resume run-1');
    // As any halt: the node stays drained, no later node is touched, the lock is kept.
    expect(swarm.node('node2').availability).toBe('drain');
    expect(swarm.calls).not.toContain('drain node3');
    expect(log.ofType('lock').at(-1)?.action).toBe('kept');
    expect(log.ofType('run-end')[0]?.outcome).toBe('halted');
  });

  it('halts before the next node when the lock was taken away (forced unlock) mid-run', async () => {
    const { swarm, cluster, log, options } = await setup();
    cluster.respond = (command, node) => {
      // Someone runs `drydock unlock --yes` while node2 is patched.
      if (node === 'node2' && command.includes('apt-get')) swarm.configs = [];
      return undefined;
    };
    expect(await executePlan(options())).toBe('halted');
    const halt = log.ofType('halt')[0]!.report;
    expect(halt).toMatchObject({ node: 'node3', stage: 'drain' });
    expect(halt.reason).toMatch(/the cluster lock of this run was removed while it ran/);
    expect(swarm.calls).not.toContain('drain node3');
    // Not this run's lock any more: neither kept nor released.
    expect(log.ofType('lock').map((e) => e.action)).toEqual(['acquired']);
  });

  it('halts before the next node when another run holds the lock now', async () => {
    const { swarm, cluster, log, options } = await setup();
    cluster.respond = (command, node) => {
      if (node === 'node2' && command.includes('apt-get')) {
        swarm.configs = [];
        void swarm.createConfig('drydock-lock', { 'drydock.owner': 'bob@desk', 'drydock.run-id': 'r9' });
      }
      return undefined;
    };
    expect(await executePlan(options())).toBe('halted');
    expect(log.ofType('halt')[0]!.report.reason).toMatch(/taken by bob@desk \(run r9\)/);
    expect(swarm.configs[0]?.labels['drydock.owner']).toBe('bob@desk');
  });
});

describe('the lock heartbeat', () => {
  it('moves the expiry forward while the run holds the lock, and notices when it is gone', async () => {
    const swarm = new FakeSwarm([manager('node1', true)]);
    const clock = fakeClock();
    await acquireLock(swarm, { owner: 'me', runId: 'r1', ttlMs: 60_000, now: clock.now() });
    const first = (await readLock(swarm))!.expiresAt;
    const heartbeat = new LockHeartbeat({ swarm: async () => swarm, runId: 'r1', ttlMs: 60_000, clock });
    await clock.sleep(50_000);
    await heartbeat.beat();
    const renewed = (await readLock(swarm))!;
    expect(Date.parse(renewed.expiresAt) - Date.parse(first)).toBe(50_000);
    expect(renewed).toMatchObject({ owner: 'me', runId: 'r1' });
    expect(heartbeat.lost()).toBeUndefined();
    swarm.configs = [];
    await heartbeat.beat();
    expect(heartbeat.lost()).toMatch(/removed while it ran/);
  });
});
