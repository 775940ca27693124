import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../../../src/executor/events.js';
import { executePlan } from '../../../src/executor/execute-plan.js';
import type { JournalLine } from '../../../src/executor/journal.js';
import { readClusterFacts } from '../../../src/executor/read-cluster-facts.js';
import { replayJournal } from '../../../src/executor/run-progress.js';
import { assessReplacements, planReplacements } from '../../../src/executor/stages/move-first.js';
import { planRollout } from '../../../src/plan/plan-rollout.js';
import type { SwarmTask } from '../../../src/transport/types.js';
import {
  EventLog,
  FakeChecks,
  FakeCluster,
  fakeClock,
  fakeExecutorOptions,
  TEST_JOURNAL_HEADER,
} from '../../support/fake-cluster.js';
import { FakeSwarm, manager, node, service, task } from '../../support/fake-swarm.js';
import { runbookFrom } from '../../support/runbook-factory.js';

const DRAIN_ONLY = `
version: 1
name: move-first
stages:
  - { kind: drain, name: drain, timeout: 1m }
  - { kind: activate, name: rejoin }
`;

async function setup(swarm: FakeSwarm, yaml = DRAIN_ONLY) {
  const runbook = runbookFrom(yaml);
  const plan = planRollout(runbook, await readClusterFacts(swarm));
  const log = new EventLog();
  const options = (progress = replayJournal([{ ...TEST_JOURNAL_HEADER, seq: 0 }])) =>
    fakeExecutorOptions({
      plan,
      runbook,
      cluster: new FakeCluster(swarm),
      checks: new FakeChecks(),
      reporter: log,
      clock: fakeClock(),
      progress,
    });
  return { log, options };
}

function threeNodes(): FakeSwarm {
  const swarm = new FakeSwarm([manager('node1', true), node('node2'), node('node3')]);
  const single = swarm.addService('api', ['node2']);
  single.replicas = 1;
  swarm.addService('web', ['node2', 'node3']);
  return swarm;
}

/** A run's journal as a crash would have left it: cut right after node2's scale-up. */
async function journalCutAfterScaleUp() {
  const swarm = threeNodes();
  const first = await setup(swarm);
  expect(await executePlan(first.options())).toBe('succeeded');
  const cut = first.log.events.findIndex((e) => e.type === 'replicas');
  return { swarm, progress: replayJournal(asJournal(first.log.events.slice(0, cut + 1))) };
}

function asJournal(events: RunEvent[]): JournalLine[] {
  return [{ ...TEST_JOURNAL_HEADER, seq: 0 }, ...events.map((e, i) => ({ ...e, seq: i + 1 }))];
}

describe('planReplacements / assessReplacements', () => {
  it('scales each replicated service up by its live tasks on the node; global services stay', () => {
    const n2 = node('node2');
    const web = service('web', { id: 'web', mode: 'replicated', replicas: 3 });
    const agent = service('agent', { id: 'agent', mode: 'global', replicas: undefined });
    const tasks = [
      task(web, n2),
      task(web, n2),
      task(web, n2, { state: 'shutdown', desiredState: 'shutdown' }),
      task(web, node('node3')),
      task(agent, n2),
    ];
    expect(planReplacements([agent, web], tasks, n2.id)).toEqual([
      { id: 'web', name: 'web', from: 3, to: 5 },
    ]);
  });

  it('says when Swarm cannot place the new task, in its own words', () => {
    const web = service('web', { id: 'web', replicas: 2 });
    const old = task(web, node('node2'));
    const pending = task(
      web,
      { id: '' },
      { nodeId: undefined, state: 'pending', error: 'no suitable node (x)' },
    );
    const [state] = assessReplacements(
      [{ id: 'web', name: 'web', from: 2, to: 3 }],
      [old, pending],
      'node2',
      new Set([old.id]),
    );
    expect(state?.running).toBeUndefined();
    expect(state?.unplaceable).toBe('pending: no suitable node (x)');
    expect(state?.starting).toBe(false);
  });

  it('tells replacements on their way (worth more waiting) from running ones and unplaceable ones', () => {
    const web = service('web', { id: 'web', replicas: 2 });
    const old = task(web, node('node2'));
    const scaled = [{ id: 'web', name: 'web', from: 2, to: 3 }];
    const assess = (fresh: Partial<SwarmTask>) =>
      assessReplacements(scaled, [old, task(web, node('node3'), fresh)], 'node2', new Set([old.id]))[0]!;
    expect(assess({ state: 'starting' }).starting).toBe(true);
    expect(assess({ state: 'preparing' }).starting).toBe(true);
    // Running: what is left to wait for is the mesh, which a slow start does not explain.
    expect(assess({ state: 'running' })).toMatchObject({ starting: false, running: [{ state: 'running' }] });
    expect(assess({ state: 'failed', desiredState: 'shutdown' }).starting).toBe(false);
  });
});

describe('moving tasks before the drain', () => {
  it('starts a single-replica service elsewhere before draining its node, then sets the count back', async () => {
    const swarm = threeNodes();
    const { log, options } = await setup(swarm);
    expect(await executePlan(options())).toBe('succeeded');
    const node2 = swarm.calls.slice(0, swarm.calls.indexOf('active node2') + 1);
    expect(node2).toEqual([
      'pause node2',
      'scale api 1→2',
      'scale web 2→3',
      'drain node2',
      'scale api 2→1',
      'scale web 3→2',
      'active node2',
    ]);
    expect(swarm.services.map((s) => [s.name, s.replicas])).toEqual([
      ['api', 1],
      ['web', 2],
    ]);
    // The replacement was running before the node was drained: api never had zero tasks.
    const scaled = log.ofType('replicas')[0]!;
    expect(scaled).toMatchObject({ node: 'node2', action: 'scaled-up' });
    expect(log.events.indexOf(scaled)).toBeLessThan(log.events.findIndex((e) => e.type === 'drained'));
  });

  it('falls back to a plain drain, with Swarm’s reason, when the replacement cannot be placed', async () => {
    const swarm = threeNodes();
    swarm.unplaceable = true;
    const { log, options } = await setup(swarm);
    expect(await executePlan(options()), JSON.stringify(log.ofType('halt')[0]?.report.reason)).toBe(
      'succeeded',
    );
    expect(swarm.services.map((s) => s.replicas)).toEqual([1, 2]);
    const notes = log.ofType('progress').map((e) => e.message);
    expect(notes.some((m) => /api, web|api.*not moved first|web.*not moved first/.test(m))).toBe(true);
    expect(notes.find((m) => m.includes('not moved first'))).toMatch(
      /no suitable node \(max replicas per node limit exceed\).*drained the plain way/,
    );
  });

  it('keeps waiting, within the drain timeout, for replacements still starting when moveTimeout passes', async () => {
    const swarm = threeNodes();
    swarm.startingForReads = 20; // 20 task listings: past the 10 s moveTimeout, within the 1m drain timeout
    const { log, options } = await setup(
      swarm,
      DRAIN_ONLY.replace('timeout: 1m }', 'timeout: 1m, moveTimeout: 10s }'),
    );
    expect(await executePlan(options())).toBe('succeeded');
    const notes = log.ofType('progress').map((e) => e.message);
    expect(notes.find((m) => m.includes('still starting'))).toMatch(
      /replacements still starting after 10s \(api 0\/1 new task\(s\) running.*\): waiting up to 50s more/,
    );
    expect(notes.filter((m) => m.includes('not moved first'))).toEqual([]);
    // Moved first: both replacements ran before node2 was drained.
    expect(swarm.calls.slice(0, 4)).toEqual(['pause node2', 'scale api 1→2', 'scale web 2→3', 'drain node2']);
  });

  it('falls back to a plain drain once the drain timeout passes with replacements still starting', async () => {
    const swarm = threeNodes();
    swarm.startingForReads = 1000;
    const { log, options } = await setup(
      swarm,
      DRAIN_ONLY.replace('timeout: 1m }', 'timeout: 1m, moveTimeout: 10s }'),
    );
    await executePlan(options());
    const notes = log.ofType('progress').map((e) => e.message);
    expect(notes.find((m) => m.includes('not moved first'))).toMatch(
      /^api, web not moved first \(not ready within 1m: api 0\/1 new task\(s\) running.*\): drained the plain way$/,
    );
    expect(swarm.services.map((s) => s.replicas)).toEqual([1, 2]);
  });

  it('sets the counts back when the drain fails, and leaves the node drained', async () => {
    const swarm = threeNodes();
    swarm.stuckDrain = true;
    const { options } = await setup(swarm);
    expect(await executePlan(options())).toBe('halted');
    expect(swarm.node('node2').availability).toBe('drain');
    expect(swarm.services.map((s) => s.replicas)).toEqual([1, 2]);
  });

  it('a resume after a crash mid-move sets the journaled counts back before moving again', async () => {
    const { swarm, progress } = await journalCutAfterScaleUp();
    expect(progress.scaledByRun.node2?.map((s) => s.name)).toEqual(['api', 'web']);
    // …and the cluster as the crash left it: node2 paused, both services one up.
    swarm.node('node2').availability = 'pause';
    for (const s of swarm.services) s.replicas = (s.replicas ?? 0) + 1;
    swarm.calls = [];
    const second = await setup(swarm);
    expect(await executePlan(second.options(progress))).toBe('succeeded');
    expect(swarm.calls.slice(0, 2)).toEqual(['scale api 2→1', 'scale web 3→2']);
    expect(swarm.services.map((s) => s.replicas)).toEqual([1, 2]);
  });

  it('leaves a count someone else changed meanwhile as they set it', async () => {
    const { swarm, progress } = await journalCutAfterScaleUp();
    swarm.services.find((s) => s.name === 'web')!.replicas = 5; // the operator scaled it meanwhile
    const second = await setup(swarm);
    expect(await executePlan(second.options(progress))).toBe('succeeded');
    expect(swarm.services.find((s) => s.name === 'web')?.replicas).toBe(5);
    expect(second.log.ofType('progress').map((e) => e.message)).toContain(
      'web is no longer at 3 replicas: left as someone set it',
    );
  });
});
