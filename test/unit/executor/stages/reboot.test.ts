import { describe, expect, it } from 'vitest';
import { executePlan } from '../../../../src/executor/execute-plan.js';
import { readClusterFacts } from '../../../../src/executor/read-cluster-facts.js';
import { planRollout } from '../../../../src/plan/plan-rollout.js';
import { EventLog, FakeChecks, FakeCluster, fakeExecutorOptions } from '../../../support/fake-cluster.js';
import { FakeSwarm, manager, node } from '../../../support/fake-swarm.js';
import { FIVE_STAGES, runbookFrom } from '../../../support/runbook-factory.js';

describe('reboot stage', () => {
  it('says where a node came back when the swarm lists it Ready at another address', async () => {
    const swarm = new FakeSwarm([manager('node1', true), node('node2')]);
    const cluster = new FakeCluster(swarm);
    const runbook = runbookFrom(FIVE_STAGES);
    const plan = planRollout(runbook, await readClusterFacts(swarm));
    // node2 reboots onto another address: its old one never answers again, the swarm sees it Ready.
    cluster.noReturn.add('node2');
    cluster.respond = (command, n) => {
      if (n === 'node2' && command === 'reboot') swarm.node('node2').address = '10.0.0.99';
      return undefined;
    };
    const log = new EventLog();
    const options = fakeExecutorOptions({ plan, runbook, cluster, checks: new FakeChecks(), reporter: log });
    expect(await executePlan(options)).toBe('halted');
    const halt = log.ofType('halt')[0]!.report;
    expect(halt).toMatchObject({ node: 'node2', stage: 'reboot' });
    expect(halt.reason).toContain(
      'node2 is Ready in the swarm at 10.0.0.99, not at its inventory address 10.0.0.12: update the inventory/ssh address',
    );
  });

  it('keeps the plain message when the swarm has the node at the same address', async () => {
    const swarm = new FakeSwarm([manager('node1', true), node('node2')]);
    const cluster = new FakeCluster(swarm);
    const runbook = runbookFrom(FIVE_STAGES);
    const plan = planRollout(runbook, await readClusterFacts(swarm));
    cluster.noReturn.add('node2');
    const log = new EventLog();
    const options = fakeExecutorOptions({ plan, runbook, cluster, checks: new FakeChecks(), reporter: log });
    expect(await executePlan(options)).toBe('halted');
    expect(log.ofType('halt')[0]!.report.reason).toMatch(/^reboot: the node did not come back within 60s/);
  });
});
