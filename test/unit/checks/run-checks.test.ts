import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defaultCheckOptions } from '../../../src/checks/catalogue.js';
import {
  createRoundCache,
  runChecks,
  summarizeChecks,
  takeBaseline,
} from '../../../src/checks/run-checks.js';
import { renderCheckJson, renderCheckTable } from '../../../src/report/check-table.js';
import { FakeShell, FakeSwarm, fakeClock, manager, node } from './fakes.js';

const captured = readFileSync(new URL('./fixtures/facts-namespace-lab.txt', import.meta.url), 'utf8');

describe('runChecks', () => {
  it('gathers facts once per node per round, never throws for an unreachable node, times every result', async () => {
    const swarm = new FakeSwarm();
    swarm.nodes = [manager('node1', true), node('node2')];
    const shells = new Map<string, FakeShell>();
    const clock = fakeClock();
    const results = await runChecks(['ip-route', 'clock-skew', 'manager-quorum', 'ingress-mesh'], {
      scope: ['node1', 'node2'],
      swarm,
      engineOf: async () => swarm,
      shellOf: async (n) => {
        if (n === 'node2') throw new Error('ssh: connect ETIMEDOUT');
        const shell =
          shells.get(n) ??
          new FakeShell(n, (c) => ({ stdout: c === 'date +%s%N' ? `${clock.now()}000000` : captured }));
        shells.set(n, shell);
        return shell;
      },
      expectedAvailability: {},
      rebootedFrom: {},
      stageStartedAt: new Date(),
      options: { ...defaultCheckOptions(1000), 'ip-route': { onDiff: 'warn', requireDefaultRoute: false } },
      now: clock.now,
      sleep: clock.sleep,
    });
    // One facts exec for every check; clock-skew reads the clock in its own tiny exec.
    expect(shells.get('node1')?.commands.filter((c) => c !== 'date +%s%N')).toHaveLength(1);
    const node2 = results.filter((r) => r.node === 'node2');
    expect(node2.map((r) => [r.check, r.status])).toEqual([
      ['ip-route', 'fail'],
      ['clock-skew', 'fail'],
    ]);
    expect(node2[0]?.evidence).toEqual({ error: 'ssh: connect ETIMEDOUT' });
    expect(results.find((r) => r.check === 'ingress-mesh')?.status).toBe('not-applicable');
    expect(results.every((r) => typeof r.durationMs === 'number')).toBe(true);
    expect(summarizeChecks(results).healthy).toBe(false);
  });

  it('turns a throwing check into a failed result', async () => {
    const swarm = new FakeSwarm();
    swarm.nodes = [node('node1')];
    swarm.listServices = async () => {
      throw new Error('503 no leader');
    };
    const clock = fakeClock();
    const [r] = await runChecks(['published-ports'], {
      scope: ['node1'],
      swarm,
      engineOf: async () => swarm,
      shellOf: async (n) => new FakeShell(n, () => ({})),
      expectedAvailability: {},
      rebootedFrom: {},
      stageStartedAt: new Date(),
      options: defaultCheckOptions(0),
      now: clock.now,
      sleep: clock.sleep,
    });
    expect(r).toMatchObject({
      check: 'published-ports',
      status: 'fail',
      evidence: { error: '503 no leader' },
    });
  });
});

describe('takeBaseline', () => {
  it('records facts and the swarm view of every node, and refuses when a node does not answer', async () => {
    const swarm = new FakeSwarm();
    swarm.nodes = [node('node1')];
    const baseline = await takeBaseline({
      swarm,
      shellOf: async (n) => new FakeShell(n, () => ({ stdout: captured })),
    });
    expect(baseline.nodes.node1?.facts.bootId).toBe('7bb963b5-363d-4bd8-a911-35849fa74d2f');
    expect(baseline.nodes.node1?.swarm.address).toBe('10.0.0.11');
    await expect(
      takeBaseline({
        swarm,
        shellOf: async () => {
          throw new Error('refused');
        },
      }),
    ).rejects.toMatchObject({ code: 'DRYDOCK_CONNECTION' });
  });
});

describe('the round cache', () => {
  it('asks the manager once per round for the lists every check reads', async () => {
    const swarm = new FakeSwarm();
    swarm.nodes = [manager('node1', true), node('node2'), node('node3')];
    const calls: string[] = [];
    const listNodes = swarm.listNodes.bind(swarm);
    const listServices = swarm.listServices.bind(swarm);
    const listTasks = swarm.listTasks.bind(swarm);
    swarm.listNodes = async () => {
      calls.push('nodes');
      return listNodes();
    };
    swarm.listServices = async () => {
      calls.push('services');
      return listServices();
    };
    swarm.listTasks = async (f) => {
      calls.push(`tasks ${JSON.stringify(f ?? {})}`);
      return listTasks(f);
    };
    const clock = fakeClock();
    const results = await runChecks(
      [
        'node-ready',
        'manager-quorum',
        'services-converged',
        'published-ports',
        'ingress-mesh',
        'engine-version',
      ],
      {
        scope: ['node1', 'node2', 'node3'],
        swarm,
        engineOf: async () => swarm,
        shellOf: async (n) => new FakeShell(n, () => ({ stdout: captured })),
        expectedAvailability: {},
        rebootedFrom: {},
        stageStartedAt: new Date(clock.now()),
        options: defaultCheckOptions(0),
        now: clock.now,
        sleep: clock.sleep,
      },
    );
    expect(results.filter((r) => r.status === 'fail')).toEqual([]);
    expect(calls.filter((c) => c === 'nodes')).toHaveLength(1);
    expect(calls.filter((c) => c === 'services')).toHaveLength(1);
    expect(new Set(calls).size).toBe(calls.length);
  });

  it('reads fresh after a sleep or a write, and never keeps a failure', async () => {
    const swarm = new FakeSwarm();
    swarm.nodes = [manager('node1', true)];
    const { swarm: cached, expire } = createRoundCache(swarm);
    expect((await cached.listNodes())[0]?.availability).toBe('active');
    swarm.nodes[0]!.availability = 'drain';
    expect((await cached.listNodes())[0]?.availability).toBe('active');
    expire();
    expect((await cached.listNodes())[0]?.availability).toBe('drain');
    swarm.fail = new Error('manager gone');
    expire();
    await expect(cached.listServices()).rejects.toThrow('manager gone');
    swarm.fail = undefined;
    await expect(cached.listServices()).resolves.toEqual([]);
    swarm.nodes[0]!.availability = 'active';
    await cached.forceUpdateService('svc');
    expect((await cached.listNodes())[0]?.availability).toBe('active');
  });
});

describe('check table', () => {
  const results = [
    {
      check: 'node-ready' as const,
      node: 'node1',
      status: 'pass' as const,
      message: 'ready, active',
      durationMs: 3,
    },
    {
      check: 'ip-route' as const,
      node: 'node2',
      status: 'fail' as const,
      message: 'default route is gone',
      evidence: { removed: ['default via 10.0.0.1 dev eth0'] },
      durationMs: 4,
    },
    {
      check: 'manager-quorum' as const,
      status: 'pass' as const,
      message: '1/1 managers reachable',
      durationMs: 1,
    },
  ];
  it('aligns columns, lists failures first, summarizes', () => {
    expect(renderCheckTable(results, { durationMs: 1234 })).toBe(
      [
        'STATUS  CHECK           NODE       MESSAGE',
        'FAIL    ip-route        node2      default route is gone',
        '                                   evidence: {"removed":["default via 10.0.0.1 dev eth0"]}',
        'PASS    manager-quorum  (cluster)  1/1 managers reachable',
        'PASS    node-ready      node1      ready, active',
        '',
        'UNHEALTHY: 2 passed, 0 warnings, 1 failed, 0 not applicable in 1.2s',
        '',
      ].join('\n'),
    );
  });
  it('renders JSON with the verdict', () => {
    expect(JSON.parse(renderCheckJson(results))).toMatchObject({
      healthy: false,
      counts: { pass: 2, fail: 1 },
    });
  });
});
