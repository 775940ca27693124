import { describe, expect, it } from 'vitest';
import {
  clockSkewCheck,
  diffRoutes,
  evaluateRoutes,
  ipRouteCheck,
  isSkewBeyond,
} from '../../../src/checks/routes.js';
import { facts, makeCtx } from '../../support/check-context.js';
import { FakeShell, fakeClock } from '../../support/fake-cluster.js';
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

  /** Shells whose `date` prints the fake clock plus a per-node skew. */
  const clockShells = (clock: { now(): number }, skews: Record<string, number>) => async (n: string) =>
    new FakeShell(n, () => ({ stdout: `${clock.now() + (skews[n] ?? 0)}000000\n` }));

  it('clock-skew fails a node beyond max, with its skew and uncertainty', async () => {
    const swarm = new FakeSwarm();
    swarm.nodes = [node('node1'), node('node2')];
    const clock = fakeClock();
    const ctx = makeCtx({ swarm, now: clock.now, shellOf: clockShells(clock, { node2: 5000 }) });
    const results = await clockSkewCheck.run(ctx, { maxMs: 2000 });
    expect(results.find((r) => r.node === 'node1')?.status).toBe('pass');
    expect(results.find((r) => r.node === 'node2')).toMatchObject({
      status: 'fail',
      message: 'clock +5000ms ±0ms vs drydock host (max 2000ms)',
      evidence: { skewMs: 5000, uncertaintyMs: 0, maxMs: 2000 },
    });
    expect(results.find((r) => r.node === undefined)).toMatchObject({
      status: 'fail',
      evidence: { spreadMs: 5000, uncertaintyMs: 0 },
    });
  });

  it("uses the facts exec's reading when it settles the verdict, else reads the clock in tiny execs", async () => {
    const swarm = new FakeSwarm();
    swarm.nodes = [node('node1'), node('node2')];
    const clock = fakeClock();
    const shells = new Map<string, FakeShell>();
    const shellOf = async (n: string) => {
      const shell = shells.get(n) ?? new FakeShell(n, () => ({ stdout: `${clock.now() + 2500}000000\n` }));
      shells.set(n, shell);
      return shell;
    };
    // node1: +100 ms ± 300 ms can only pass; node2: +2500 ms ± 1 s might be either.
    const factsOf = async (n: string) =>
      facts(n, {
        clockMs: 1_000_000 + (n === 'node1' ? 100 : 2500),
        sampledAtMs: 1_000_000,
        clockUncertaintyMs: n === 'node1' ? 300 : 1000,
      });
    const results = await clockSkewCheck.run(makeCtx({ swarm, now: clock.now, shellOf, factsOf }), {
      maxMs: 2000,
    });
    expect(shells.get('node1')).toBeUndefined();
    expect(shells.get('node2')?.commands).toEqual(['date +%s%N']);
    expect(results.find((r) => r.node === 'node1')).toMatchObject({
      status: 'pass',
      evidence: { skewMs: 100, uncertaintyMs: 300 },
    });
    expect(results.find((r) => r.node === 'node2')).toMatchObject({
      status: 'fail',
      evidence: { skewMs: 2500, uncertaintyMs: 0 },
    });
  });

  it('fails only when the skew exceeds max by more than the uncertainty', () => {
    expect(isSkewBeyond(2500, 600, 2000)).toBe(false);
    expect(isSkewBeyond(-2500, 600, 2000)).toBe(false);
    expect(isSkewBeyond(2700, 600, 2000)).toBe(true);
    expect(isSkewBeyond(-2700, 600, 2000)).toBe(true);
    expect(isSkewBeyond(2000, 0, 2000)).toBe(false);
  });

  it('a shared clock behind slow round trips passes, with the uncertainty in the message', async () => {
    const swarm = new FakeSwarm();
    swarm.nodes = [node('node1'), node('node2')];
    const clock = fakeClock();
    // Each exec takes 6 s and `date` runs at its end: the old midpoint-free reading said +6 s.
    const shellOf = async (n: string) =>
      new FakeShell(n, () => {
        clock.advance(6000);
        return { stdout: `${clock.now()}000000\n` };
      });
    const results = await clockSkewCheck.run(makeCtx({ swarm, now: clock.now, shellOf }), { maxMs: 2000 });
    expect(results.map((r) => r.status)).toEqual(['pass', 'pass', 'pass']);
    expect(results.find((r) => r.node === 'node2')?.message).toBe(
      'clock +3000ms ±3000ms vs drydock host (max 2000ms)',
    );
  });
});

describe('ip-route: what changed, and routes into the swarm address space', () => {
  const before = facts('node1');
  const space = { pools: ['10.78.0.0/16'], overlays: [{ name: 'web_net', subnet: '10.78.1.0/24' }] };

  it('with onDiff: warn prints the routes added and removed, not only their count', () => {
    const now = {
      ...before,
      routes: [
        ...before.routes.filter((r) => r.dev !== 'docker0'),
        { dst: '192.168.9.0/24', gateway: '10.0.0.1', dev: 'eth0' },
      ],
    };
    const v = evaluateRoutes(now, { ...before, routes: [...before.routes] }, undefined, {
      ...opts,
      requireDefaultRoute: false,
    });
    expect(v.message).toContain('+ 192.168.9.0/24 via 10.0.0.1 dev eth0');
  });

  it('fails a route overlapping the address pool or an overlay subnet whatever onDiff says, naming both', () => {
    const intoPool = { dst: '10.78.200.0/24', gateway: '10.0.0.1', dev: 'eth0' };
    const intoOverlay = { dst: '10.78.1.128/25', dev: 'eth1' };
    const now = { ...before, routes: [...before.routes, intoPool, intoOverlay] };
    const v = evaluateRoutes(now, before, undefined, opts, space);
    expect(v.status).toBe('fail');
    expect(v.message).toContain(
      'route 10.78.200.0/24 via 10.0.0.1 dev eth0 overlaps the swarm address pool 10.78.0.0/16',
    );
    expect(v.message).toContain(
      'route 10.78.1.128/25 dev eth1 overlaps overlay network web_net 10.78.1.0/24',
    );
    // No baseline (`drydock check`): still a failure.
    expect(evaluateRoutes(now, undefined, undefined, opts, space).status).toBe('fail');
    // Default route, docker's own devices and routes elsewhere are not overlaps.
    expect(evaluateRoutes(before, undefined, undefined, opts, space).status).toBe('pass');
  });

  it("does not fail the node's own connected subnet inside the pool, only one an overlay really holds", () => {
    const lan = {
      dst: '10.78.50.0/24',
      dev: 'eth0',
      protocol: 'kernel',
      scope: 'link',
      prefsrc: '10.78.50.7',
    };
    const now = { ...before, routes: [...before.routes, lan] };
    expect(evaluateRoutes(now, undefined, undefined, opts, space).status).toBe('pass');
    const onOverlay = { ...lan, dst: '10.78.1.0/24' };
    const clash = evaluateRoutes(
      { ...before, routes: [...before.routes, onOverlay] },
      undefined,
      undefined,
      opts,
      space,
    );
    expect(clash.status).toBe('fail');
    expect(clash.message).toContain('overlaps overlay network web_net 10.78.1.0/24');
  });

  it('reads the pool and the overlay subnets from the swarm (no baseline)', async () => {
    const swarm = new FakeSwarm([node('node1')]);
    swarm.engineInfo = { ...swarm.engineInfo, defaultAddrPool: ['10.78.0.0/16'] };
    const route = { dst: '10.78.0.0/24', dev: 'eth0' };
    const ctx = makeCtx({ swarm, factsOf: async (n) => facts(n, { routes: [...before.routes, route] }) });
    const [result] = await ipRouteCheck.run(ctx, opts);
    expect(result).toMatchObject({ status: 'fail', node: 'node1' });
    expect(result!.message).toContain(
      'route 10.78.0.0/24 dev eth0 overlaps the swarm address pool 10.78.0.0/16',
    );
  });
});
