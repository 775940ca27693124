import { describe, expect, it } from 'vitest';
import { waitForManager } from '../../../src/executor/check-runner.js';
import { FakeCluster, fakeClock } from '../../support/fake-cluster.js';
import { FakeSwarm, manager } from '../../support/fake-swarm.js';

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
