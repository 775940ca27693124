import { describe, expect, it } from 'vitest';
import { evaluateServices, servicesConvergedCheck } from '../../../src/checks/services.js';
import { matchConstraint } from '../../../src/shared/match-constraint.js';
import { makeCtx } from '../../support/check-context.js';
import { FakeSwarm, node, service, task } from '../../support/fake-swarm.js';

const opts = { timeoutMs: 30_000, remediate: false, ignore: [] as string[] };

function cluster() {
  const swarm = new FakeSwarm();
  swarm.nodes = [node('node1'), node('node2'), node('node3', { labels: { tier: 'edge' } })];
  return swarm;
}

describe('evaluateServices', () => {
  it('counts a global service per eligible node, honouring simple constraints and drain', () => {
    const swarm = cluster();
    swarm.nodes[1]!.availability = 'drain';
    const agent = service('agent', { mode: 'global', replicas: undefined });
    const edge = service('edge', { mode: 'global', constraints: ['node.labels.tier==edge'] });
    const tasks = [task(agent, swarm.nodes[0]!), task(edge, swarm.nodes[2]!)];
    const v = evaluateServices({
      services: [agent, edge],
      nodes: swarm.nodes,
      tasks,
      scope: [],
      since: new Date(0),
      ignore: [],
    });
    expect(v.problems).toEqual([
      expect.objectContaining({
        service: 'agent',
        message: 'agent: no running task on node3',
        evidence: expect.objectContaining({ missingOn: ['node3'] }),
      }),
    ]);
  });

  it('parses node.hostname / node.role / node.labels constraints and rejects others', () => {
    const n = node('node3', { labels: { tier: 'edge' } });
    expect(matchConstraint('node.hostname==node3', n)).toBe(true);
    expect(matchConstraint('node.role != manager', n)).toBe(true);
    expect(matchConstraint('node.labels.tier==core', n)).toBe(false);
    expect(matchConstraint('engine.labels.os==linux', n)).toBeUndefined();
  });

  it('flags paused updates as stuck and a task failed on the scoped node since the stage began', () => {
    const swarm = cluster();
    const web = service('web', { updateState: 'paused' });
    const tasks = [
      task(web, swarm.nodes[0]!),
      task(web, swarm.nodes[1]!, {
        state: 'failed',
        desiredState: 'shutdown',
        error: 'task: non-zero exit (1)',
        timestamp: '2030-01-01T00:00:05Z',
      }),
      task(web, swarm.nodes[1]!, {
        state: 'failed',
        desiredState: 'shutdown',
        error: 'old',
        timestamp: '2020-01-01T00:00:00Z',
      }),
    ];
    const v = evaluateServices({
      services: [web],
      nodes: swarm.nodes,
      tasks,
      scope: ['node2'],
      since: new Date('2030-01-01T00:00:00Z'),
      ignore: [],
    });
    expect(v.problems.map((p) => [p.message, p.stuck])).toEqual([
      ['web: update paused', true],
      ['web: task failed on node2: task: non-zero exit (1)', true],
    ]);
  });
});

describe('services-converged', () => {
  it('passes when converged, at once', async () => {
    const swarm = cluster();
    const web = service('web', { replicas: 2, runningTasks: 2, desiredTasks: 2 });
    swarm.services = [web];
    const [r] = await servicesConvergedCheck.run(makeCtx({ swarm }), opts);
    expect(r).toMatchObject({ status: 'pass', message: '1 services converged', evidence: { waitedMs: 0 } });
  });

  it('waits for convergence (woken by events) and reports how long', async () => {
    const swarm = cluster();
    const web = service('web', { replicas: 2 });
    swarm.services = [web];
    swarm.tasks = [task(web, swarm.nodes[0]!), task(web, swarm.nodes[1]!, { state: 'starting' })];
    const ctx = makeCtx({ swarm });
    let polls = 0;
    const list = swarm.listTasks.bind(swarm);
    swarm.listTasks = async (f) => {
      if (++polls === 4) swarm.tasks[1]!.state = 'running';
      return list(f);
    };
    const [r] = await servicesConvergedCheck.run(ctx, opts);
    expect(r).toMatchObject({ status: 'pass', evidence: { waitedMs: 3000 } });
    expect(r?.message).toBe('1 services converged after waiting 3s');
  });

  it('fails after the timeout with the scheduler message as evidence', async () => {
    const swarm = cluster();
    const api = service('api', { replicas: 2, constraints: ['node.labels.nowhere==1'] });
    swarm.services = [api];
    swarm.tasks = [
      task(api, swarm.nodes[0]!, {
        state: 'pending',
        nodeId: undefined,
        error: 'no suitable node (scheduling constraints not satisfied on 3 nodes)',
      }),
    ];
    const [r] = await servicesConvergedCheck.run(makeCtx({ swarm }), { ...opts, timeoutMs: 5000 });
    expect(r).toMatchObject({
      status: 'fail',
      message:
        'api: 0/2 running (swarm: pending: no suitable node (scheduling constraints not satisfied on 3 nodes)) after 5s',
      evidence: { service: 'api', running: 0, desired: 2, waitedMs: 5000 },
    });
    expect(JSON.stringify(r?.evidence)).toContain('no suitable node');
  });

  it('remediates a stuck service with a forced update only when asked', async () => {
    const swarm = cluster();
    const web = service('web', { replicas: 1 });
    swarm.services = [web];
    swarm.forceUpdateService = async (id) => {
      swarm.forced.push(id);
      swarm.tasks = [task(web, swarm.nodes[0]!)];
    };
    const [r] = await servicesConvergedCheck.run(makeCtx({ swarm }), {
      ...opts,
      timeoutMs: 2000,
      remediate: true,
    });
    expect(swarm.forced).toEqual(['svc-web']);
    expect(r).toMatchObject({ status: 'pass', evidence: { remediated: ['svc-web'] } });
  });

  it('ignores listed services', async () => {
    const swarm = cluster();
    swarm.services = [service('broken', { replicas: 3 })];
    const [r] = await servicesConvergedCheck.run(makeCtx({ swarm }), { ...opts, ignore: ['broken'] });
    expect(r).toMatchObject({ status: 'pass', message: '0 services converged' });
  });
});
