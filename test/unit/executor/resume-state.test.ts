import { describe, expect, it } from 'vitest';
import type { OperatorGate, RunEvent } from '../../../src/executor/events.js';
import { type ExecutorOptions, executePlan } from '../../../src/executor/execute-plan.js';
import type { JournalLine } from '../../../src/executor/journal.js';
import { readClusterFacts } from '../../../src/executor/read-cluster-facts.js';
import { replayJournal } from '../../../src/executor/run-progress.js';
import { planRollout } from '../../../src/plan/plan-rollout.js';
import { buildRunModel } from '../../../src/report/run-report/model.js';
import { createSimpleReporter } from '../../../src/report/run-simple.js';
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

/**
 * A resumed run against what the cluster really is now: a node the first session drained may
 * have been set active by hand or re-joined with a new ID; and the summary counts every session.
 */
async function haltedOnNode3() {
  const swarm = new FakeSwarm([manager('node1', true), node('node2'), node('node3')]);
  swarm.addService('web', ['node2', 'node3']);
  const cluster = new FakeCluster(swarm);
  const runbook = runbookFrom(FIVE_STAGES);
  const plan = planRollout(runbook, await readClusterFacts(swarm));
  const options = (overrides: Partial<ExecutorOptions> = {}): ExecutorOptions =>
    fakeExecutorOptions({
      plan,
      runbook,
      cluster,
      checks: new FakeChecks(),
      reporter: new EventLog(),
      clock: fakeClock(),
      ...overrides,
    });
  const first = new EventLog();
  cluster.respond = (command, n) =>
    n === 'node3' && command.includes('apt-get') ? { exitCode: 100 } : undefined;
  expect(await executePlan(options({ reporter: first }))).toBe('halted');
  expect(swarm.node('node3').availability).toBe('drain');
  cluster.respond = () => undefined; // the operator fixed dpkg
  cluster.commands = [];
  swarm.calls = [];
  return { swarm, cluster, options, first };
}

const asJournal = (events: RunEvent[]): JournalLine[] => [
  { ...TEST_JOURNAL_HEADER, seq: 0 },
  ...events.map((e, i) => ({ ...e, seq: i + 1 })),
];

/** The operator, by hand: `docker node update --availability active node3`. */
function activateByHand(swarm: FakeSwarm, name: string): void {
  const n = swarm.node(name);
  n.availability = 'active';
  n.version++;
}

/** The node left the swarm and was joined again: a new ID, active. */
function rejoinWithNewId(swarm: FakeSwarm, name: string): void {
  const n = swarm.node(name);
  n.id = `${n.id}-rejoined`;
  n.availability = 'active';
}

const aptOn = (cluster: FakeCluster, name: string) =>
  cluster.commands.filter((c) => c.node === name && c.command.includes('apt-get'));

describe('resume re-checks a drained node before each stage', () => {
  it('refuses when the node was set active by hand: names it, its availability, and --redrain', async () => {
    const { swarm, cluster, options, first } = await haltedOnNode3();
    activateByHand(swarm, 'node3');
    const second = new EventLog();
    const progress = replayJournal(asJournal(first.events));
    expect(await executePlan(options({ progress, reporter: second }))).toBe('refused');
    const halt = second.ofType('halt')[0]!.report;
    expect(halt).toMatchObject({ node: 'node3', stage: 'patch' });
    expect(halt.reason).toContain('node3 is no longer drained: its availability is active (node ID id-node3');
    expect(halt.reason).toContain('drydock resume run-1 --redrain');
    // Nothing ran on it, nothing was drained or activated, and the lock stays (mid-maintenance).
    expect(aptOn(cluster, 'node3')).toEqual([]);
    expect(swarm.calls).toEqual([]);
    expect(swarm.configs).toHaveLength(1);
  });

  it('refuses when the node re-joined with a new ID: names the journaled and the current ID', async () => {
    const { swarm, cluster, options, first } = await haltedOnNode3();
    rejoinWithNewId(swarm, 'node3');
    const second = new EventLog();
    const progress = replayJournal(asJournal(first.events));
    expect(await executePlan(options({ progress, reporter: second }))).toBe('refused');
    expect(second.ofType('halt')[0]!.report.reason).toContain(
      'node3 is not the node this run drained: the journal has node ID id-node3, the swarm now has id-node3-rejoined (availability active)',
    );
    expect(aptOn(cluster, 'node3')).toEqual([]);
  });

  it('with --redrain drains the node again (the new ID is journaled), then continues', async () => {
    const { swarm, cluster, options, first } = await haltedOnNode3();
    rejoinWithNewId(swarm, 'node3');
    const second = new EventLog();
    const progress = replayJournal(asJournal(first.events));
    expect(await executePlan(options({ progress, reporter: second, redrain: true }))).toBe('succeeded');
    expect(swarm.calls.slice(0, 2)).toEqual(['drain node3', 'active node3']);
    expect(second.ofType('drained')[0]).toMatchObject({ node: 'node3', nodeId: 'id-node3-rejoined' });
    expect(aptOn(cluster, 'node3')).toHaveLength(1);
  });

  it('interactively asks the operator, and drains again only if they agree', async () => {
    const { swarm, options, first } = await haltedOnNode3();
    activateByHand(swarm, 'node3');
    const asked: string[] = [];
    const gate = (answer: boolean): OperatorGate => ({
      beforeStage: async () => 'continue',
      onFailure: async () => 'abort',
      confirm: async (_node, message) => {
        asked.push(message);
        return answer;
      },
    });
    const progress = () => replayJournal(asJournal(first.events));
    expect(await executePlan(options({ progress: progress(), gate: gate(false) }))).toBe('refused');
    expect(asked[0]).toMatch(/node3 is no longer drained.*Drain it again, then continue\?/);
    expect(await executePlan(options({ progress: progress(), gate: gate(true) }))).toBe('succeeded');
    expect(swarm.calls[0]).toBe('drain node3');
  });

  it('goes on without a question when the node is still the drained one', async () => {
    const { swarm, options, first } = await haltedOnNode3();
    const progress = replayJournal(asJournal(first.events));
    expect(await executePlan(options({ progress }))).toBe('succeeded');
    expect(swarm.calls[0]).toBe('active node3');
  });
});

describe('the summary after a resume', () => {
  it('counts the nodes finished before the resume as done (text, --json run-end, report)', async () => {
    const { options, first } = await haltedOnNode3();
    expect(first.ofType('run-end')[0]!.summary).toEqual({
      done: 1,
      halted: 1,
      unfinished: 0,
      notStarted: 1,
      total: 3,
    });
    const second = new EventLog();
    const progress = replayJournal(asJournal(first.events));
    expect(await executePlan(options({ progress, reporter: second }))).toBe('succeeded');
    expect(second.ofType('run-start')[0]!.doneBefore).toEqual(['node2']);
    expect(second.ofType('run-end')[0]!.summary).toEqual({
      done: 3,
      halted: 0,
      unfinished: 0,
      notStarted: 0,
      total: 3,
    });
    const lines: string[] = [];
    const simple = createSimpleReporter({ stdout: { write: (s: string) => lines.push(s) }, color: false });
    const text = () => lines.join('');
    for (const event of second.events) simple.onEvent(event);
    expect(text()).toContain('summary: nodes 3 done, 0 halted, 0 unfinished, 0 not started of 3');
    const model = buildRunModel(asJournal([...first.events, ...second.events]));
    expect(model.nodes.map((n) => [n.name, n.state])).toEqual([
      ['node2', 'done'],
      ['node3', 'done'],
      ['node1', 'done'],
    ]);
  });
});
