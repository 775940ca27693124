import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defaultCheckOptions } from '../../../src/checks/catalogue.js';
import {
  createRoundCache,
  describeWaiting,
  diagnoseNodes,
  runChecks,
  summarizeChecks,
  takeBaseline,
} from '../../../src/checks/run-checks.js';
import type { NodeCause } from '../../../src/checks/types.js';
import { FakeShell, fakeClock } from '../../support/fake-cluster.js';
import { FakeSwarm, info, manager, node } from '../../support/fake-swarm.js';

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

describe('a node that does not answer is one cause, not a failure per check', () => {
  const dead = new Error('could not forward /var/run/docker.sock on node2: (SSH) Channel open failure');

  /** node1 healthy; node2's engine refuses (its SSH works); answers `date` and the facts script. */
  function cluster() {
    const swarm = new FakeSwarm();
    swarm.nodes = [manager('node1', true), node('node2')];
    const deadEngine = new FakeSwarm();
    deadEngine.fail = dead;
    const clock = fakeClock();
    const shells = new Map<string, FakeShell>();
    const shellOf = async (n: string) => {
      const shell =
        shells.get(n) ??
        new FakeShell(n, (c) =>
          c === 'systemctl is-active docker'
            ? { exitCode: 3, stdout: 'inactive\n' }
            : { stdout: c === 'date +%s%N' ? `${clock.now()}000000` : captured },
        );
      shells.set(n, shell);
      return shell;
    };
    const ctx = {
      scope: ['node1', 'node2'],
      swarm,
      engineOf: async (n: string) => (n === 'node2' ? deadEngine : swarm),
      shellOf,
      expectedAvailability: {},
      rebootedFrom: {},
      stageStartedAt: new Date(),
      options: {
        ...defaultCheckOptions(30_000),
        'ip-route': { onDiff: 'warn' as const, requireDefaultRoute: false },
      },
      now: clock.now,
      sleep: clock.sleep,
    };
    return { swarm, ctx, clock, shells };
  }

  it('diagnoses a dead engine with its error and what the init system says', async () => {
    const { ctx } = cluster();
    const causes = await diagnoseNodes(ctx, ['node1', 'node2'], ['swarm-state', 'ip-route']);
    expect(causes).toEqual([
      {
        node: 'node2',
        part: 'engine',
        message: `engine on node2 not answering (${dead.message}; systemctl is-active docker: inactive)`,
        evidence: { error: dead.message, systemctlIsActive: 'inactive' },
      },
    ]);
  });

  it('diagnoses a dead SSH, and asks nothing when no check needs a node', async () => {
    const { ctx } = cluster();
    const noSsh = {
      ...ctx,
      shellOf: async (n: string) => {
        if (n === 'node2') throw new Error('connect ECONNREFUSED 10.0.0.12:22');
        return ctx.shellOf(n);
      },
    };
    expect(await diagnoseNodes(noSsh, ['node1', 'node2'], ['ip-route'])).toEqual([
      {
        node: 'node2',
        part: 'ssh',
        message: 'SSH on node2 not answering (connect ECONNREFUSED 10.0.0.12:22)',
        evidence: { error: 'connect ECONNREFUSED 10.0.0.12:22' },
      },
    ]);
    const asked: string[] = [];
    const counting = {
      ...noSsh,
      shellOf: async (n: string) => {
        asked.push(n);
        return noSsh.shellOf(n);
      },
    };
    expect(await diagnoseNodes(counting, ['node1', 'node2'], ['manager-quorum'])).toEqual([]);
    expect(asked).toEqual([]);
  });

  it('states the cause once, skips what needs the engine, still runs what needs only SSH', async () => {
    const { ctx } = cluster();
    const causes = await diagnoseNodes(ctx, ['node1', 'node2'], ['swarm-state']);
    const results = await runChecks(['swarm-state', 'node-ready', 'ingress-peers', 'ip-route'], {
      ...ctx,
      causes,
    });
    const node2 = results.filter((r) => r.node === 'node2');
    expect(
      node2.map((r) => [r.check, r.status === 'skipped' ? 'skipped' : r.cause ? 'cause' : 'ran']),
    ).toEqual([
      ['swarm-state', 'cause'],
      ['node-ready', 'skipped'],
      ['ingress-peers', 'skipped'],
      ['ip-route', 'ran'],
    ]);
    expect(node2[0]).toMatchObject({ message: causes[0]!.message, cause: causes[0] });
    expect(node2[1]).toMatchObject({ message: 'skipped: engine on node2 not answering', cause: causes[0] });
    // ingress-peers asks every ready node, whatever the scope: node2 is still reported once.
    expect(results.filter((r) => r.check === 'ingress-peers' && r.node === 'node2')).toHaveLength(1);
  });

  it("marks another node's failure that names the dead node as probably following from it", async () => {
    const { ctx, swarm } = cluster();
    swarm.networks.ingress = {
      id: 'ingress',
      name: 'ingress',
      driver: 'overlay',
      scope: 'swarm',
      ingress: true,
      peers: [{ name: 'node1', ip: '10.0.0.11' }],
      containers: {},
    } as never;
    const causes: NodeCause[] = [
      { node: 'node2', part: 'engine', message: 'engine on node2 not answering (x)', evidence: {} },
    ];
    const results = await runChecks(['ingress-peers'], { ...ctx, causes });
    const node1 = results.find((r) => r.node === 'node1');
    expect(node1?.status).toBe('fail');
    expect(node1?.message).toMatch(/node2.*\(probably because engine on node2 not answering\)$/);
    expect(node1?.cause).toBe(causes[0]);
  });
});

describe('progress while checks wait', () => {
  it('writes a line per interval naming the waiting check, node and what is missing; none after', async () => {
    const swarm = new FakeSwarm();
    swarm.nodes = [manager('node1', true), node('node2', { state: 'down' })];
    swarm.engineInfo = info();
    const clock = fakeClock();
    const lines: string[] = [];
    const results = await runChecks(['node-ready'], {
      scope: ['node1', 'node2'],
      swarm,
      engineOf: async () => swarm,
      shellOf: async (n) => new FakeShell(n, () => ({})),
      expectedAvailability: {},
      rebootedFrom: {},
      stageStartedAt: new Date(),
      options: defaultCheckOptions(30_000),
      now: clock.now,
      sleep: clock.sleep,
      heartbeat: { everyMs: 10_000, write: (line) => lines.push(line) },
    });
    expect(results.find((r) => r.node === 'node2')?.status).toBe('fail');
    expect(lines.length).toBeGreaterThan(0);
    expect(lines[0]).toMatch(
      /^still checking after \d+s: node-ready \(up to 30s\) waiting for node2: state down$/,
    );
    const written = lines.length;
    await clock.sleep(60_000);
    expect(lines).toHaveLength(written);
  });

  it('describes every running check, in name order, with each node that said what it misses', () => {
    const waiting = new Map([
      [
        'swarm-state' as const,
        new Map([
          ['node10', 'engine unreachable: refused'],
          ['node4', 'swarm pending'],
        ]),
      ],
      ['clock-skew' as const, new Map<string, string>()],
    ]);
    expect(describeWaiting(waiting, 20_400, defaultCheckOptions(120_000))).toBe(
      'still checking after 20s: clock-skew; swarm-state (up to 2m) waiting for node4: swarm pending, node10: engine unreachable: refused',
    );
  });
});
