import { describe, expect, it } from 'vitest';
import { listTrafficWarningEvents } from '../../../src/cli/commands/run-session.js';
import type { RunEvent } from '../../../src/executor/events.js';
import type { JournalLine } from '../../../src/executor/journal.js';
import { readClusterFacts } from '../../../src/executor/read-cluster-facts.js';
import { planRollout } from '../../../src/plan/plan-rollout.js';
import type { Plan } from '../../../src/plan/types.js';
import { buildRunModel } from '../../../src/report/run-report/model.js';
import { createSimpleReporter } from '../../../src/report/run-simple.js';
import { TEST_JOURNAL_HEADER } from '../../support/fake-cluster.js';
import { FakeSwarm, manager, node, service, task } from '../../support/fake-swarm.js';
import { FIVE_STAGES, runbookFrom } from '../../support/runbook-factory.js';
import { createSink } from '../report/run-events.fixture.js';

async function planWithSingleReplica(): Promise<Plan> {
  const swarm = new FakeSwarm([manager('node1', true), node('node2'), node('node3')]);
  const svc = service('web-single', {
    healthcheck: 'not-in-spec',
    ports: [{ published: 8081, target: 80, protocol: 'tcp', mode: 'ingress' }],
  });
  swarm.services.push(svc);
  swarm.tasks.push(task(svc, swarm.node('node2')));
  return planRollout(runbookFrom(FIVE_STAGES), await readClusterFacts(swarm));
}

const start = (plan: Plan, resumed = false): RunEvent => ({
  type: 'run-start',
  runId: 'r-1',
  plan,
  resumed,
  mode: 'unattended',
  at: '2026-12-02T04:00:00.000Z',
});

describe('run: the plan traffic warnings, once before the first node', () => {
  it('turns each traffic warning into a warning event after a new run starts', async () => {
    const plan = await planWithSingleReplica();
    expect(listTrafficWarningEvents(start(plan))).toEqual([
      {
        type: 'warning',
        source: 'traffic',
        message:
          'web-single has 1 replica (on node2): drydock starts a second task on another node before draining node2 and waits for it (moveFirst)',
        at: '2026-12-02T04:00:00.000Z',
      },
      expect.objectContaining({
        source: 'traffic',
        message:
          'web-single has no HEALTHCHECK in the service spec: drydock can only wait for its replacement to be running, not ready to serve',
      }),
      expect.objectContaining({
        source: 'traffic',
        message: expect.stringMatching(/^the swarm has one manager \(node1\): /),
      }),
    ]);
  });

  it('says nothing again on a resume, nor for other events or a plan without traffic', async () => {
    const plan = await planWithSingleReplica();
    expect(listTrafficWarningEvents(start(plan, true))).toEqual([]);
    expect(listTrafficWarningEvents({ type: 'activated', node: 'node2', at: 'x' })).toEqual([]);
    const { traffic: _, ...inventoryPlan } = plan;
    expect(listTrafficWarningEvents(start(inventoryPlan))).toEqual([]);
  });

  it('is printed by the plain reporter and kept in the run report', async () => {
    const plan = await planWithSingleReplica();
    const events = [start(plan), ...listTrafficWarningEvents(start(plan))];
    const sink = createSink();
    const reporter = createSimpleReporter({ stdout: sink, color: false });
    for (const event of events) reporter.onEvent(event);
    expect(sink.text()).toMatch(/WARNING traffic: web-single has 1 replica \(on node2\): drydock starts/);
    const journal: JournalLine[] = [
      { ...TEST_JOURNAL_HEADER, seq: 0 },
      ...events.map((e, i) => ({ ...e, seq: i + 1 })),
    ];
    const model = buildRunModel(journal);
    expect(model.warnings).toContain(
      'traffic: web-single has no HEALTHCHECK in the service spec: drydock can only wait for its replacement to be running, not ready to serve',
    );
  });
});
