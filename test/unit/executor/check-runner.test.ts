import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createCheckRunner, waitForManager } from '../../../src/executor/check-runner.js';
import type { RunCheckState } from '../../../src/executor/ports.js';
import { FakeCluster, fakeClock } from '../../support/fake-cluster.js';
import { FakeSwarm, manager, node } from '../../support/fake-swarm.js';
import { FIVE_STAGES, runbookFrom } from '../../support/runbook-factory.js';

/** After an engine restart on the only manager, checks wait (bounded) for its API to return. */
describe('waitForManager', () => {
  it('retries until a manager answers', async () => {
    const cluster = new FakeCluster(new FakeSwarm([manager('m1', true)]));
    let failures = 2;
    const real = cluster.swarm.bind(cluster);
    cluster.swarm = async () => {
      if (failures-- > 0) throw new Error('socket hang up');
      return real();
    };
    const clock = fakeClock();
    const started = clock.now();
    await expect(waitForManager(cluster, clock, 60_000)).resolves.toBe(cluster.swarmApi);
    expect(clock.now() - started).toBe(2000);
  });

  it('gives up after the timeout with the last error', async () => {
    const cluster = new FakeCluster(new FakeSwarm([manager('m1', true)]));
    cluster.swarm = async () => {
      throw new Error('no reachable manager');
    };
    await expect(waitForManager(cluster, fakeClock(), 5000)).rejects.toThrow('no reachable manager');
  });
});

const captured = readFileSync(new URL('../checks/fixtures/facts-namespace-lab.txt', import.meta.url), 'utf8');

/** Each node pays for a facts read (a dozen processes): the start of a run reads it once. */
describe('the baseline after pre-flight', () => {
  const factsReads = (cluster: FakeCluster) =>
    cluster.commands.filter((c) => c.command.includes('@@DDX')).map((c) => c.node);

  async function preflightThenBaseline(failOn?: string) {
    const cluster = new FakeCluster(new FakeSwarm([manager('node1', true), node('node2'), node('node3')]));
    let failed = false;
    cluster.respond = (command, n) => {
      if (!command.includes('@@DDX')) return undefined;
      if (n === failOn && !failed) {
        failed = true;
        return { exitCode: null, connectionLost: true, stdout: '' };
      }
      return { stdout: captured };
    };
    const clock = fakeClock();
    const runner = createCheckRunner(cluster, runbookFrom(FIVE_STAGES), clock);
    const state: RunCheckState = {
      expectedAvailability: {},
      rebootedFrom: {},
      stageStartedAt: new Date(clock.now()),
    };
    await runner.run(['ip-route'], ['node1', 'node2', 'node3'], state);
    const afterPreflight = factsReads(cluster).length;
    state.baseline = await runner.takeBaseline(['node1', 'node2', 'node3']);
    return { cluster, runner, state, afterPreflight };
  }

  it('reuses the facts pre-flight read on every node instead of reading them again', async () => {
    const { cluster, state, afterPreflight } = await preflightThenBaseline();
    expect(afterPreflight).toBe(3);
    expect(factsReads(cluster).sort()).toEqual(['node1', 'node2', 'node3']);
    expect(Object.keys(state.baseline!.nodes).sort()).toEqual(['node1', 'node2', 'node3']);
    expect(state.baseline!.nodes.node2!.facts.bootId).toBe('7bb963b5-363d-4bd8-a911-35849fa74d2f');
  });

  it('reads again where the pre-flight read failed, and later rounds read afresh', async () => {
    const { cluster, runner, state } = await preflightThenBaseline('node2');
    expect(factsReads(cluster).sort()).toEqual(['node1', 'node2', 'node2', 'node3']);
    expect(state.baseline!.nodes.node2!.facts.bootId).toBe('7bb963b5-363d-4bd8-a911-35849fa74d2f');
    await runner.run(['ip-route'], ['node1'], state);
    expect(factsReads(cluster).filter((n) => n === 'node1')).toHaveLength(2);
  });
});
