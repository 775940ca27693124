import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../../../../src/executor/events.js';
import { type ExecutorOptions, executePlan } from '../../../../src/executor/execute-plan.js';
import type { JournalLine } from '../../../../src/executor/journal.js';
import { readClusterFacts } from '../../../../src/executor/read-cluster-facts.js';
import { isStageDone, replayJournal } from '../../../../src/executor/run-progress.js';
import { planRollout } from '../../../../src/plan/plan-rollout.js';
import { createScriptedGate } from '../../../../src/prompts/operator-gate.js';
import type { Clock } from '../../../../src/shared/clock.js';
import { formatClock } from '../../../../src/shared/format-clock.js';
import {
  EventLog,
  FakeChecks,
  FakeCluster,
  fakeClock,
  fakeExecutorOptions,
  TEST_JOURNAL_HEADER,
} from '../../../support/fake-cluster.js';
import { FakeSwarm, manager, node } from '../../../support/fake-swarm.js';
import { runbookFrom } from '../../../support/runbook-factory.js';

const START = Date.parse('2026-11-28T22:00:00Z');

const header = TEST_JOURNAL_HEADER;

const PAUSE_RUNBOOK = `
version: 1
name: soak
checks: { between: [node-ready], afterNode: [] }
stages:
  - { kind: run, name: patch, commands: ["apt-get -y upgrade"] }
  - { kind: pause, name: soak, duration: 30s, reason: let the caches warm up }
  - { kind: run, name: after, commands: ["true"] }
`;

/** A clock whose sleeps never run out by themselves: only their signal ends them. */
function clockThatWaitsForSignals(): Clock {
  return {
    now: () => START,
    sleep: (_ms, signal) =>
      new Promise<void>((resolve) => {
        if (signal?.aborted) return resolve();
        signal?.addEventListener('abort', () => resolve(), { once: true });
      }),
  };
}

async function setup(overrides: Partial<ExecutorOptions> = {}) {
  const swarm = new FakeSwarm([manager('node1', true), node('node2')]);
  const runbook = runbookFrom(`${PAUSE_RUNBOOK}targets: { names: [node2] }\n`);
  const plan = planRollout(runbook, await readClusterFacts(swarm));
  const log = new EventLog();
  const checks = new FakeChecks();
  const options: ExecutorOptions = fakeExecutorOptions({
    plan,
    runbook,
    cluster: new FakeCluster(swarm),
    checks,
    reporter: log,
    clock: fakeClock(START),
    ...overrides,
  });
  return { log, checks, options };
}

function eventsOf(log: EventLog, stage: string): RunEvent[] {
  return log.events.filter((e) => 'stage' in e && e.stage === stage);
}

describe('pause stage', () => {
  it('waits on the clock unattended, says when it continues, and is journaled like any stage', async () => {
    const { log, options } = await setup();
    expect(await executePlan(options)).toBe('succeeded');
    const soak = eventsOf(log, 'soak');
    expect(soak.map((e) => e.type)).toEqual(['stage-start', 'progress', 'checks', 'stage-end']);
    expect(soak[0]).toMatchObject({ type: 'stage-start', kind: 'pause', node: 'node2' });
    expect(soak[1]).toMatchObject({
      message: `pausing 30s — let the caches warm up: started ${formatClock(START)}, continuing at ${formatClock(START + 30_000)}`,
    });
    expect(soak[3]).toMatchObject({ outcome: 'succeeded', durationMs: 30_000 });
  });

  it('lets the operator skip the rest of the pause in interactive mode', async () => {
    const gate = createScriptedGate({ whilePausing: ['skip'], otherwise: { beforeStage: 'continue' } });
    const { log, checks, options } = await setup({ gate, clock: clockThatWaitsForSignals() });
    expect(await executePlan(options)).toBe('succeeded');
    expect(gate.calls.filter((c) => c.ask === 'whilePausing')).toEqual([
      { ask: 'whilePausing', node: 'node2', stage: 'soak', answer: 'skip' },
    ]);
    const end = log.ofType('stage-end').find((e) => e.stage === 'soak');
    expect(end).toMatchObject({ outcome: 'skipped' });
    expect(end?.message).toMatch(/^the operator skipped the rest of the pause/);
    // Skipped like any skipped stage: no between-stage checks for it; the next stage runs.
    expect(log.ofType('checks').filter((e) => e.stage === 'soak')).toEqual([]);
    expect(checks.rounds.length).toBeGreaterThan(0);
    expect(log.ofType('stage-end').at(-1)).toMatchObject({ stage: 'after', outcome: 'succeeded' });
  });

  it('keeps waiting when the operator lets it run out, and halts when the operator aborts', async () => {
    const waited = createScriptedGate({ whilePausing: ['waited'], otherwise: { beforeStage: 'continue' } });
    const a = await setup({ gate: waited });
    expect(await executePlan(a.options)).toBe('succeeded');
    expect(a.log.ofType('stage-end').find((e) => e.stage === 'soak')).toMatchObject({ outcome: 'succeeded' });

    const aborting = createScriptedGate({ whilePausing: ['abort'], otherwise: { beforeStage: 'continue' } });
    const b = await setup({ gate: aborting, clock: clockThatWaitsForSignals() });
    expect(await executePlan(b.options)).toBe('halted');
    expect(b.log.ofType('halt')[0]!.report).toMatchObject({
      node: 'node2',
      stage: 'soak',
      reason: 'aborted by the operator',
    });
  });

  it('ends early on a stop signal without counting as done, so a resume pauses again', async () => {
    const stop = new AbortController();
    const log = new EventLog();
    // SIGINT while the pause waits: the reporter sees the pause start and "sends" it.
    const reporter = {
      onEvent(event: RunEvent) {
        log.onEvent(event);
        if (event.type === 'progress' && event.message.startsWith('pausing')) stop.abort();
      },
    };
    const first = await setup({ reporter, stopSignal: stop.signal, clock: clockThatWaitsForSignals() });
    expect(await executePlan(first.options)).toBe('interrupted');
    expect(log.ofType('interrupted')[0]).toMatchObject({ node: 'node2', stage: 'soak' });
    expect(log.ofType('stage-end').map((e) => e.stage)).toEqual(['patch']);

    const journal: JournalLine[] = [
      { ...header, seq: 0 },
      ...log.events.map((e, i) => ({ ...e, seq: i + 1 })),
    ];
    const progress = replayJournal(journal);
    expect(isStageDone(progress, 'node2', 'patch')).toBe(true);
    expect(isStageDone(progress, 'node2', 'soak')).toBe(false);

    const resumed = await setup({ progress });
    expect(await executePlan(resumed.options)).toBe('succeeded');
    expect(resumed.log.ofType('stage-start').map((e) => e.stage)).toEqual(['soak', 'after']);
  });
});
