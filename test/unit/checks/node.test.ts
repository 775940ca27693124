import { describe, expect, it } from 'vitest';
import {
  engineVersionCheck,
  nodeReadyCheck,
  rebootObservedCheck,
  swarmStateCheck,
} from '../../../src/checks/node.js';
import { evaluateQuorum, managerQuorumCheck } from '../../../src/checks/quorum.js';
import { facts, makeCtx } from '../../support/check-context.js';
import { FakeSwarm, info, manager, node } from '../../support/fake-swarm.js';

describe('node-ready', () => {
  it('passes a ready, active node', async () => {
    const swarm = new FakeSwarm();
    swarm.nodes = [node('node1')];
    const [r] = await nodeReadyCheck.run(makeCtx({ swarm }), { timeoutMs: 5000 });
    expect(r).toMatchObject({ status: 'pass', node: 'node1' });
  });

  it('waits for a node to come back, on the injected clock', async () => {
    const swarm = new FakeSwarm();
    swarm.nodes = [node('node1', { state: 'down' })];
    let calls = 0;
    const ctx = makeCtx({ swarm });
    const inspect = swarm.inspectNode.bind(swarm);
    swarm.inspectNode = async (id) => {
      if (++calls === 3) swarm.nodes[0]!.state = 'ready';
      return inspect(id);
    };
    const [r] = await nodeReadyCheck.run(ctx, { timeoutMs: 60_000 });
    expect(r).toMatchObject({ status: 'pass', evidence: { waitedMs: 2000 } });
  });

  it('fails a drained node that should be active, with evidence', async () => {
    const swarm = new FakeSwarm();
    swarm.nodes = [node('node1', { availability: 'drain' })];
    const [r] = await nodeReadyCheck.run(makeCtx({ swarm }), { timeoutMs: 3000 });
    expect(r).toMatchObject({
      status: 'fail',
      message: 'availability drain, expected active',
      evidence: { availability: 'drain', expected: 'active', waitedMs: 3000 },
    });
  });

  it('accepts drain when the run expects it, and flags a changed address', async () => {
    const swarm = new FakeSwarm();
    swarm.nodes = [node('node1', { availability: 'drain', address: '10.9.9.9' })];
    const ctx = makeCtx({
      swarm,
      expectedAvailability: { node1: 'drain' },
      baseline: { takenAt: '', nodes: { node1: { facts: facts('node1'), swarm: node('node1') } } },
    });
    const [r] = await nodeReadyCheck.run(ctx, { timeoutMs: 0 });
    expect(r).toMatchObject({ status: 'fail', message: 'address 10.9.9.9, was 10.0.0.11' });
  });
});

describe('swarm-state', () => {
  it('passes an active engine and fails one with a swarm error', async () => {
    const swarm = new FakeSwarm();
    swarm.nodes = [node('node1')];
    expect((await swarmStateCheck.run(makeCtx({ swarm }), { timeoutMs: 0 }))[0]?.status).toBe('pass');
    swarm.engineInfo = info({ localNodeState: 'error', error: 'certificate expired' });
    const [r] = await swarmStateCheck.run(makeCtx({ swarm }), { timeoutMs: 0 });
    expect(r).toMatchObject({ status: 'fail', message: 'swarm error: certificate expired' });
  });

  it('fails with the error when the engine is unreachable', async () => {
    const swarm = new FakeSwarm();
    swarm.nodes = [node('node1')];
    swarm.fail = new Error('connect ENOENT /var/run/docker.sock');
    const [r] = await swarmStateCheck.run(makeCtx({ swarm }), { timeoutMs: 2000 });
    expect(r).toMatchObject({ status: 'fail', evidence: { error: 'connect ENOENT /var/run/docker.sock' } });
  });
});

describe('engine-version', () => {
  it('accepts a distribution suffix and fails a mismatch', async () => {
    const swarm = new FakeSwarm();
    swarm.nodes = [
      node('node1', { engineVersion: '20.10.24+dfsg1' }),
      node('node2', { engineVersion: '20.10.23' }),
    ];
    const results = await engineVersionCheck.run(makeCtx({ swarm }), {
      expected: '20.10.24',
      managersNotBehindWorkers: false,
    });
    expect(results.map((r) => r.status)).toEqual(['pass', 'fail']);
    expect(results[1]?.evidence).toEqual({ version: '20.10.23', expected: '20.10.24' });
  });

  it('fails when a manager is behind a worker', async () => {
    const swarm = new FakeSwarm();
    swarm.nodes = [
      manager('node1', true, { engineVersion: '23.0.1' }),
      node('node2', { engineVersion: '24.0.7' }),
    ];
    const results = await engineVersionCheck.run(makeCtx({ swarm }), { managersNotBehindWorkers: true });
    expect(results.at(-1)).toMatchObject({
      status: 'fail',
      evidence: { behind: [{ node: 'node1', version: '23.0.1' }], newestWorker: '24.0.7' },
    });
  });
});

describe('reboot-observed', () => {
  it('is not-applicable with no reboot, passes on a new boot id, fails on the same', async () => {
    const swarm = new FakeSwarm();
    swarm.nodes = [node('node1')];
    expect((await rebootObservedCheck.run(makeCtx({ swarm }), {}))[0]?.status).toBe('not-applicable');
    const rebooted = makeCtx({ swarm, rebootedFrom: { node1: 'boot-0' } });
    expect((await rebootObservedCheck.run(rebooted, {}))[0]?.status).toBe('pass');
    const notRebooted = makeCtx({ swarm, rebootedFrom: { node1: 'boot-1' } });
    expect((await rebootObservedCheck.run(notRebooted, {}))[0]).toMatchObject({
      status: 'fail',
      evidence: { bootIdBefore: 'boot-1', bootIdNow: 'boot-1' },
    });
  });
});

describe('manager-quorum', () => {
  const cluster = () => [manager('m1', true), manager('m2'), manager('m3'), node('w1')];

  it('passes with every manager reachable and one leader', async () => {
    const swarm = new FakeSwarm();
    swarm.nodes = cluster();
    const [r] = await managerQuorumCheck.run(makeCtx({ swarm }), { timeoutMs: 0 });
    expect(r).toMatchObject({ status: 'pass', message: '3/3 managers reachable, leader m1' });
  });

  it('fails listing the unreachable manager while quorum holds', async () => {
    const nodes = cluster();
    nodes[2]!.manager!.reachability = 'unreachable';
    const v = evaluateQuorum(nodes);
    expect(v).toMatchObject({ ok: false, evidence: { unreachable: ['m3'], quorum: true, needed: 2 } });
    const swarm = new FakeSwarm();
    swarm.nodes = nodes;
    const [r] = await managerQuorumCheck.run(makeCtx({ swarm }), { timeoutMs: 1000 });
    expect(r).toMatchObject({ status: 'fail', message: 'unreachable managers: m3' });
  });

  it('reports lost quorum and a missing leader', () => {
    const nodes = cluster();
    nodes[0]!.manager = { leader: false, reachability: 'unreachable', addr: '' };
    nodes[1]!.manager!.reachability = 'unreachable';
    expect(evaluateQuorum(nodes).message).toBe(
      'quorum lost: 1/3 reachable, need 2; unreachable managers: m1, m2; 0 leaders',
    );
  });

  it('fails with the API error when the manager answers no leader', async () => {
    const swarm = new FakeSwarm();
    swarm.fail = new Error('The swarm does not have a leader');
    const [r] = await managerQuorumCheck.run(makeCtx({ swarm }), { timeoutMs: 0 });
    expect(r).toMatchObject({ status: 'fail', evidence: { error: 'The swarm does not have a leader' } });
  });
});
