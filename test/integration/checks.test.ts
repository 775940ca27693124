// The check catalogue against the real namespace lab, through the shipped code path: the
// cluster connection (SSH sessions, engine APIs over forwarded channels, manager failover) and
// the executor's check runner. Each check passes on a healthy lab and fails with the right
// evidence under a real fault (route deleted, engine stopped, port blocked, link cut…).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultCheckOptions } from '../../src/checks/catalogue.js';
import type { Baseline, CheckName, CheckResult } from '../../src/checks/types.js';
import { createCheckRunner } from '../../src/executor/check-runner.js';
import type { CheckRunnerPort, ClusterPort } from '../../src/executor/ports.js';
import { parseRunbookText } from '../../src/runbook/parse.js';
import { CHECK_NAMES } from '../../src/runbook/schema.js';
import type { CheckOptions, Runbook } from '../../src/runbook/types.js';
import { systemClock } from '../../src/shared/clock.js';
import { type ClusterConnection, connectCluster } from '../../src/transport/cluster.js';
import { healFault, injectFault, type LabInfo, labDocker, labUp, readLab } from '../lab/lab.js';
import { labRunbook } from '../support/lab-runbook.js';

let lab: LabInfo;
// This file needs three managers (quorum faults) and a fresh swarm (other files reboot nodes):
// set its own shape instead of inheriting whatever the previous file left.
await labUp({ nodes: 4, managers: 3 });
const labManagers = readLab().nodes.filter((n) => n.role === 'manager').length;
let cluster: ClusterConnection;
let runbook: Runbook;

function options(timeoutMs: number): CheckOptions {
  return {
    ...defaultCheckOptions(timeoutMs),
    'ip-route': { onDiff: 'warn', requireDefaultRoute: true },
    'published-ports': { timeoutMs, paths: { '8080': '/' }, fromCluster: true, connectTimeoutMs: 1500 },
  };
}

/** The executor's check runner with these options; `avoid` keeps a faulted manager from being asked. */
function runnerFor(timeoutMs: number, avoid?: string): CheckRunnerPort {
  const port: ClusterPort = avoid
    ? {
        swarm: () => cluster.swarmAvoiding(avoid),
        swarmAvoiding: (n) => cluster.swarmAvoiding(n),
        shellOf: (n) => cluster.shellOf(n),
        reconnect: (n) => cluster.reconnect(n),
        engineOf: (n) => cluster.engineOf(n),
        close: async () => {},
      }
    : cluster;
  return createCheckRunner(
    port,
    { ...runbook, checks: { ...runbook.checks, options: options(timeoutMs) } },
    systemClock,
  );
}

async function check(
  names: CheckName[],
  over: {
    scope?: string[];
    timeoutMs?: number;
    baseline?: Baseline;
    avoid?: string;
    expect?: Record<string, 'active' | 'drain'>;
  } = {},
): Promise<CheckResult[]> {
  return runnerFor(over.timeoutMs ?? 5000, over.avoid).run(
    names,
    over.scope ?? lab.nodes.map((n) => n.name),
    {
      expectedAvailability: over.expect ?? {},
      rebootedFrom: {},
      stageStartedAt: new Date(),
      ...(over.baseline ? { baseline: over.baseline } : {}),
    },
  );
}

const of = (results: CheckResult[], name: CheckName, node?: string) =>
  results.filter((r) => r.check === name && (node === undefined || r.node === node));
const statuses = (results: CheckResult[]) => results.map((r) => `${r.status} ${r.check} ${r.node ?? '-'}`);

let baseline: Baseline;
const dk = () => labDocker(lab.nodes[0]!.name, lab);

beforeAll(async () => {
  lab = readLab();
  runbook = parseRunbookText(labRunbook({ name: 'checks-test' }), 'checks-test.yaml');
  cluster = await connectCluster(runbook.connection);
  // An overlay network and a dnsrr service on it, so overlay-dns has something to resolve.
  await dk()('network', 'create', '-d', 'overlay', 'ddxdns');
  const r = await dk()(
    'service',
    'create',
    '--detach',
    '--init',
    '--no-resolve-image',
    '--stop-grace-period',
    '1s',
    '--name',
    'dnsprobe',
    '--network',
    'ddxdns',
    '--endpoint-mode',
    'dnsrr',
    '--mode',
    'global',
    lab.image,
    'sleep',
    '2147483647',
  );
  expect(r.exitCode, r.stderr).toBe(0);
  const converged = await check(['services-converged'], { timeoutMs: 60_000 });
  expect(statuses(converged), JSON.stringify(converged)).toEqual(['pass services-converged -']);
  baseline = await runnerFor(5000).takeBaseline(lab.nodes.map((n) => n.name));
});

/** Re-runs checks until `done` holds: swarm notices a dead engine or a cut link only after its heartbeat expires. */
async function eventually(
  run: () => Promise<CheckResult[]>,
  done: (results: CheckResult[]) => boolean,
  deadlineMs = 60_000,
): Promise<CheckResult[]> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const results = await run();
    if (done(results) || Date.now() > until) return results;
    await systemClock.sleep(1000);
  }
}

afterAll(async () => {
  await dk()('service', 'rm', 'dnsprobe');
  await dk()('network', 'rm', 'ddxdns').catch(() => {});
  await cluster?.close();
});

describe('the check catalogue on a healthy lab', () => {
  it('passes every check (ingress-mesh not-applicable: no IPVS, host-mode publishing)', async () => {
    const all: CheckName[] = [...CHECK_NAMES];
    // How long the round takes is measured by bench/checks-catalogue.mjs, not here.
    const results = await check(all, { baseline, timeoutMs: 30_000 });
    expect(
      results.filter((r) => r.status === 'fail' || r.status === 'warn'),
      JSON.stringify(results, null, 1),
    ).toEqual([]);
    expect(of(results, 'ingress-mesh')[0]).toMatchObject({
      status: 'not-applicable',
      message: expect.stringContaining('host-mode publishing'),
    });
    expect(of(results, 'reboot-observed')[0]?.status).toBe('not-applicable');
    expect(of(results, 'overlay-dns').every((r) => r.status === 'pass')).toBe(true);
    expect(of(results, 'published-ports').length).toBeGreaterThanOrEqual(4);
    expect(of(results, 'ingress-peers').length).toBe(lab.nodes.length);
  });
});

describe('the checks under real faults', () => {
  const worker = () => lab.nodes.find((n) => n.role === 'worker')?.name ?? lab.nodes.at(-1)!.name;

  it('ip-route fails when the default route is deleted', async () => {
    const node = lab.nodes[1]!.name;
    await injectFault('default-route', node);
    try {
      const [r] = await check(['ip-route'], { scope: [node], baseline });
      expect(r).toMatchObject({
        status: 'fail',
        node,
        message: expect.stringContaining('default route is gone'),
      });
      expect((r!.evidence as { removed: string[] }).removed[0]).toMatch(/^default via /);
    } finally {
      await healFault('default-route', node);
    }
  });

  it('ip-route fails when a docker route is removed', async () => {
    const node = lab.nodes[1]!.name;
    const dst = baseline.nodes[node]!.facts.routes.find((r) => r.dev === 'docker_gwbridge')!.dst;
    await injectFault('route', node, dst);
    try {
      const [r] = await check(['ip-route'], { scope: [node], baseline });
      expect(r).toMatchObject({ status: 'fail', evidence: { missingDockerRoutes: ['docker_gwbridge'] } });
    } finally {
      await healFault('route', node, dst);
    }
  });

  it('published-ports fails on the node whose port is blocked with iptables', async () => {
    const swarm = await cluster.swarm();
    const tasks = await swarm.listTasks({ desiredState: 'running' });
    const web = (await swarm.listServices()).find((s) => s.name === 'web')!;
    const nodes = await swarm.listNodes();
    const webNode = nodes.find((n) =>
      tasks.some((t) => t.serviceId === web.id && t.nodeId === n.id),
    )!.hostname;
    await injectFault('block-port', webNode, '8080');
    try {
      const results = await check(['published-ports'], { timeoutMs: 2000 });
      const failed = results.filter((r) => r.status === 'fail');
      expect(failed.map((r) => [r.node, (r.evidence as { port: number }).port])).toEqual([[webNode, 8080]]);
      expect(failed[0]?.message).toMatch(/web 8080\/tcp \(host\) does not answer/);
    } finally {
      await healFault('block-port', webNode, '8080');
    }
  });

  it('services-converged fails when a service is constrained so it cannot reach its count', async () => {
    const node = lab.nodes[0]!.name;
    await injectFault('unschedulable', node, 'api');
    try {
      const results = await check(['services-converged'], { timeoutMs: 4000 });
      const api = results.find((r) => (r.evidence as { service?: string }).service === 'api');
      expect(api).toMatchObject({ status: 'fail', message: expect.stringMatching(/^api: [01]\/2 running/) });
      expect(JSON.stringify(api?.evidence)).toMatch(/no suitable node|constraint/);
    } finally {
      await healFault('unschedulable', node, 'api');
    }
    const after = await check(['services-converged'], { timeoutMs: 60_000 });
    expect(statuses(after)).toEqual(['pass services-converged -']);
  });

  it('node-ready fails for a node drained and not re-activated', async () => {
    const node = worker();
    await dk()('node', 'update', '--availability', 'drain', node);
    try {
      const [r] = await check(['node-ready'], { scope: [node], timeoutMs: 1000 });
      expect(r).toMatchObject({
        status: 'fail',
        message: 'availability drain, expected active',
        evidence: { availability: 'drain' },
      });
      const [ok] = await check(['node-ready'], { scope: [node], timeoutMs: 0, expect: { [node]: 'drain' } });
      expect(ok?.status).toBe('pass');
    } finally {
      await dk()('node', 'update', '--availability', 'active', node);
    }
  });

  it('ip-route reports the unreachable node when sshd is stopped, without throwing', async () => {
    const node = lab.nodes[2]!.name;
    // The open session would survive sshd stopping; drop it so the check must reconnect.
    await (await cluster.shellOf(node)).close();
    await injectFault('sshd', node);
    try {
      const results = await check(['ip-route', 'clock-skew'], { scope: [node], baseline });
      expect(of(results, 'ip-route', node)[0]).toMatchObject({
        status: 'fail',
        evidence: { error: expect.any(String) },
      });
    } finally {
      await healFault('sshd', node);
      // Re-open the node as the executor does after losing it. shellOf() alone would revive the
      // shell but keep the engine API's keep-alive sockets on the dead connection (they hang).
      await cluster.reconnect(node);
    }
  });

  it('clock-skew fails on a node whose clock is off', async () => {
    const node = lab.nodes[1]!.name;
    await injectFault('clock-skew', node, '30');
    try {
      const results = await check(['clock-skew']);
      const r = of(results, 'clock-skew', node)[0];
      expect(r?.status).toBe('fail');
      expect((r!.evidence as { skewMs: number }).skewMs).toBeGreaterThan(25_000);
    } finally {
      await healFault('clock-skew', node);
    }
  });

  const unreachableOf = (rs: CheckResult[]) =>
    (of(rs, 'manager-quorum')[0]?.evidence as { unreachable?: string[] } | undefined)?.unreachable ?? [];
  const quorumHealthy = () =>
    eventually(
      () => check(['manager-quorum', 'swarm-state'], { timeoutMs: 0 }),
      (rs) => rs.every((r) => r.status === 'pass'),
      90_000,
    );

  // Needs DRYDOCK_LAB_MANAGERS=3: reported as skipped on a smaller lab, never as passed.
  it.skipIf(labManagers < 3)(
    'swarm-state and manager-quorum fail when dockerd stops on a manager',
    async () => {
      const mgrs = lab.nodes.filter((n) => n.role === 'manager');
      const node = mgrs[2]!.name;
      await injectFault('dockerd', node);
      try {
        const results = await eventually(
          () =>
            check(['swarm-state', 'manager-quorum', 'node-ready'], {
              scope: [node],
              timeoutMs: 0,
              avoid: node,
            }),
          (rs) => of(rs, 'swarm-state', node)[0]?.status === 'fail' && unreachableOf(rs).includes(node),
        );
        expect(of(results, 'swarm-state', node)[0]).toMatchObject({
          status: 'fail',
          message: expect.stringMatching(/engine unreachable/),
        });
        expect(of(results, 'manager-quorum')[0]).toMatchObject({
          status: 'fail',
          evidence: { unreachable: [node], quorum: true },
        });
        // Swarm keeps a manager whose engine stopped "ready" for a long time: recorded, not asserted.
        console.log(
          `node-ready with dockerd stopped on ${node}: ${of(results, 'node-ready', node)[0]?.message}`,
        );
      } finally {
        await healFault('dockerd', node);
      }
      const healed = await quorumHealthy();
      expect(
        healed.filter((r) => r.status !== 'pass'),
        JSON.stringify(healed),
      ).toEqual([]);
    },
  );

  it.skipIf(labManagers < 3)(
    'manager-quorum fails listing a manager that is cut off, and recovers',
    async () => {
      const mgrs = lab.nodes.filter((n) => n.role === 'manager');
      const node = mgrs[1]!.name;
      expect((await quorumHealthy()).every((r) => r.status === 'pass')).toBe(true);
      await injectFault('cut-link', node);
      try {
        const results = await eventually(
          () => check(['manager-quorum'], { timeoutMs: 0, avoid: node }),
          (rs) => unreachableOf(rs).includes(node),
        );
        expect(of(results, 'manager-quorum')[0]).toMatchObject({
          status: 'fail',
          message: `unreachable managers: ${node}`,
          evidence: { unreachable: [node], quorum: true },
        });
      } finally {
        await healFault('cut-link', node);
      }
      const healed = await eventually(
        () => check(['manager-quorum', 'ingress-peers'], { timeoutMs: 0 }),
        (rs) => rs.every((r) => r.status === 'pass'),
        90_000,
      );
      expect(
        healed.filter((r) => r.status !== 'pass'),
        JSON.stringify(healed),
      ).toEqual([]);
    },
  );
});
