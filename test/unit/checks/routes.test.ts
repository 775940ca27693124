import { describe, expect, it } from 'vitest';
import { clockSkewCheck, diffRoutes, evaluateRoutes, ipRouteCheck } from '../../../src/checks/routes.js';
import { facts, makeCtx } from '../../support/check-context.js';
import { FakeSwarm, node } from '../../support/fake-swarm.js';

const opts = { onDiff: 'warn' as const, requireDefaultRoute: true };

describe('evaluateRoutes', () => {
  const before = facts('node1', { routeGetSource: { '10.0.0.12': '10.0.0.11' } });

  it('passes when nothing changed', () => {
    expect(evaluateRoutes(before, before, '10.0.0.11', opts)).toMatchObject({ status: 'pass' });
  });

  it('fails when the default route is gone, with before/now evidence', () => {
    const now = { ...before, routes: before.routes.filter((r) => r.dst !== 'default') };
    const v = evaluateRoutes(now, before, '10.0.0.11', opts);
    expect(v.status).toBe('fail');
    expect(v.message).toMatch(/default route is gone/);
    expect(v.evidence.defaultRoute).toEqual({ before: 'default via 10.0.0.1 dev eth0', now: null });
    expect(v.evidence.removed).toEqual(['default via 10.0.0.1 dev eth0']);
  });

  it('only diffs a changed default route when requireDefaultRoute is off', () => {
    const now = { ...before, routes: before.routes.filter((r) => r.dst !== 'default') };
    expect(evaluateRoutes(now, before, '10.0.0.11', { ...opts, requireDefaultRoute: false }).status).toBe(
      'warn',
    );
  });

  it('fails when a docker route disappears', () => {
    const now = { ...before, routes: before.routes.filter((r) => r.dev !== 'docker_gwbridge') };
    const v = evaluateRoutes(now, before, '10.0.0.11', opts);
    expect(v.status).toBe('fail');
    expect(v.evidence.missingDockerRoutes).toEqual(['docker_gwbridge']);
  });

  it('warns on any other difference, or fails with onDiff: fail', () => {
    const now = { ...before, routes: [...before.routes, { dst: '192.168.9.0/24', dev: 'eth0' }] };
    const v = evaluateRoutes(now, before, '10.0.0.11', opts);
    expect(v.status).toBe('warn');
    expect(v.evidence).toMatchObject({ added: ['192.168.9.0/24 dev eth0'], removed: [] });
    expect(evaluateRoutes(now, before, '10.0.0.11', { ...opts, onDiff: 'fail' }).status).toBe('fail');
  });

  it('fails on ip_forward 0 and on a peer reached from the wrong source', () => {
    const now = { ...before, ipForward: '0', routeGetSource: { '10.0.0.12': '172.18.0.1' } };
    const v = evaluateRoutes(now, before, '10.0.0.11', opts);
    expect(v.status).toBe('fail');
    expect(v.evidence).toMatchObject({ ipForward: '0', routeGetSource: { '10.0.0.12': '172.18.0.1' } });
  });

  it('without a baseline checks absolute facts only: a default route must exist', () => {
    const now = { ...before, routes: before.routes.filter((r) => r.dst !== 'default') };
    expect(evaluateRoutes(before, undefined, '10.0.0.11', opts).status).toBe('pass');
    expect(evaluateRoutes(now, undefined, '10.0.0.11', opts)).toMatchObject({
      status: 'fail',
      message: 'no default route',
    });
  });

  it('ignores flags such as linkdown in diffs', () => {
    expect(diffRoutes([{ dst: 'a', dev: 'docker0' }], [{ dst: 'a', dev: 'docker0', prefsrc: 'x' }])).toEqual({
      added: [],
      removed: [],
    });
  });
});

describe('ip-route and clock-skew checks', () => {
  it('reports an unreachable node as a failed result, not a throw', async () => {
    const swarm = new FakeSwarm();
    swarm.nodes = [node('node1'), node('node2')];
    const ctx = makeCtx({
      swarm,
      factsOf: async (n) => {
        if (n === 'node2') throw new Error('connect ECONNREFUSED 10.0.0.12:22');
        return facts(n);
      },
    });
    const results = await ipRouteCheck.run(ctx, opts);
    expect(results.find((r) => r.node === 'node1')?.status).toBe('pass');
    expect(results.find((r) => r.node === 'node2')).toMatchObject({
      status: 'fail',
      evidence: { error: 'connect ECONNREFUSED 10.0.0.12:22' },
    });
  });

  it('clock-skew passes a skew that a slow exec explains, and fails one it cannot', async () => {
    const swarm = new FakeSwarm();
    swarm.nodes = [node('node1'), node('node2'), node('node3')];
    // A 6 s round trip (busy host): the node read its clock within ±3 s of the midpoint.
    const slow = {
      node2: { clockMs: 1_002_500, clockErrorMs: 3000 },
      node3: { clockMs: 1_005_500, clockErrorMs: 3000 },
    };
    const ctx = makeCtx({
      swarm,
      factsOf: async (n) => facts(n, slow[n as keyof typeof slow] ?? {}),
    });
    const results = await clockSkewCheck.run(ctx, { maxMs: 2000 });
    expect(results.find((r) => r.node === 'node2')).toMatchObject({
      status: 'pass',
      message: 'clock +2500ms ±3000ms vs drydock host (max 2000ms)',
      evidence: { skewMs: 2500, errorMs: 3000 },
    });
    expect(results.find((r) => r.node === 'node3')).toMatchObject({
      status: 'fail',
      evidence: { skewMs: 5500 },
    });
    // Spread 5500 ms, but node1 (exact) and node3 (≥ 2500 ms) are only 2500 ms apart for sure.
    expect(results.find((r) => r.node === undefined)).toMatchObject({
      status: 'fail',
      evidence: { spreadMs: 5500 },
    });
  });

  it('clock-skew fails a node beyond max, with its skew', async () => {
    const swarm = new FakeSwarm();
    swarm.nodes = [node('node1'), node('node2')];
    const ctx = makeCtx({
      swarm,
      factsOf: async (n) => facts(n, n === 'node2' ? { clockMs: 1_005_000, sampledAtMs: 1_000_000 } : {}),
    });
    const results = await clockSkewCheck.run(ctx, { maxMs: 2000 });
    expect(results.find((r) => r.node === 'node1')?.status).toBe('pass');
    expect(results.find((r) => r.node === 'node2')).toMatchObject({
      status: 'fail',
      evidence: { skewMs: 5000 },
    });
    expect(results.find((r) => r.node === undefined)).toMatchObject({
      status: 'fail',
      evidence: { spreadMs: 5000 },
    });
  });
});
