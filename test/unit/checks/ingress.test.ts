import { describe, expect, it } from 'vitest';
import {
  ingressMeshCheck,
  ingressPeersCheck,
  parseIpvs,
  publishedPortsCheck,
} from '../../../src/checks/ingress.js';
import type { PortProber } from '../../../src/checks/probe.js';
import type { SwarmNetwork } from '../../../src/transport/types.js';
import { facts, makeCtx } from '../../support/check-context.js';
import { FakeSwarm, node, service, task } from '../../support/fake-swarm.js';

const net = (peers: string[]): SwarmNetwork => ({
  id: 'ing',
  name: 'ingress',
  driver: 'overlay',
  scope: 'swarm',
  ingress: true,
  peers: peers.map((ip, i) => ({ name: `p${i}`, ip })),
  services: {},
});

describe('ingress-peers', () => {
  it('asks every Ready node its own engine and reports missing and extra peers per node', async () => {
    const swarm = new FakeSwarm();
    swarm.nodes = [node('node1'), node('node2'), node('node3')];
    const views: Record<string, SwarmNetwork> = {
      node1: net(['10.0.0.11', '10.0.0.12', '10.0.0.13']),
      node2: net(['10.0.0.11', '10.0.0.12', '10.0.0.13']),
      node3: net(['10.0.0.11', '10.0.0.13', '10.0.0.99']),
    };
    const engineOf = async (n: string) => {
      const e = new FakeSwarm();
      e.networks = { ingress: views[n]! };
      return e;
    };
    const results = await ingressPeersCheck.run(makeCtx({ swarm, engineOf }), { timeoutMs: 2000 });
    expect(results.map((r) => [r.node, r.status])).toEqual([
      ['node1', 'pass'],
      ['node2', 'pass'],
      ['node3', 'fail'],
    ]);
    expect(results[2]).toMatchObject({
      message: 'ingress peers: missing node2 (10.0.0.12); extra 10.0.0.99',
      evidence: { missing: ['node2 (10.0.0.12)'], extra: ['10.0.0.99'] },
    });
  });
});

describe('published-ports', () => {
  const prober = (down: Set<string>): PortProber => ({
    tcp: async (host, port) =>
      down.has(`${host}:${port}`)
        ? { ok: false, error: 'ECONNREFUSED', durationMs: 1 }
        : { ok: true, durationMs: 1 },
    http: async (host, port) =>
      down.has(`${host}:${port}`)
        ? { ok: false, status: 502, error: 'HTTP 502', durationMs: 1 }
        : { ok: true, status: 200, durationMs: 1 },
  });

  it('probes host-mode ports only where tasks run, ingress ports on every Ready node', async () => {
    const swarm = new FakeSwarm();
    swarm.nodes = [node('node1'), node('node2'), node('node3', { state: 'down' })];
    const web = service('web', { ports: [{ published: 8080, target: 80, protocol: 'tcp', mode: 'host' }] });
    const mesh = service('mesh', {
      ports: [{ published: 9000, target: 80, protocol: 'tcp', mode: 'ingress' }],
    });
    swarm.services = [web, mesh];
    swarm.tasks = [task(web, swarm.nodes[1]!)];
    const results = await publishedPortsCheck.run(
      makeCtx({ swarm, probe: prober(new Set(['10.0.0.11:9000'])) }),
      {
        timeoutMs: 3000,
        paths: { '8080': '/' },
        fromCluster: false,
        connectTimeoutMs: 1000,
      },
    );
    expect(results.map((r) => [r.node, r.status, r.message])).toEqual([
      ['node2', 'pass', 'web 8080/tcp (host): HTTP 200 on /'],
      ['node1', 'fail', 'mesh 9000/tcp (ingress) does not answer on 10.0.0.11: ECONNREFUSED (waited 3s)'],
      ['node2', 'pass', 'mesh 9000/tcp (ingress): TCP connect ok'],
    ]);
  });

  it('is not-applicable without published ports', async () => {
    const swarm = new FakeSwarm();
    swarm.nodes = [node('node1')];
    const [r] = await publishedPortsCheck.run(makeCtx({ swarm }), {
      timeoutMs: 0,
      paths: {},
      fromCluster: false,
      connectTimeoutMs: 1,
    });
    expect(r?.status).toBe('not-applicable');
  });
});

describe('ingress-mesh', () => {
  const ingressSvc = service('web', {
    ports: [{ published: 8080, target: 80, protocol: 'tcp', mode: 'ingress' }],
  });
  const rules = [
    '-N DOCKER-INGRESS',
    '-A DOCKER-INGRESS -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.18.0.2:8080',
    '-A DOCKER-INGRESS -j RETURN',
  ];
  const ipvs =
    'IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port Forward Weight ActiveConn InActConn\nFWM  256 rr\n  -> 10.0.0.5:0                   Masq    1      0          0\n';
  /** A swarm of `count` nodes running web on node1, and facts of a fully programmed mesh. */
  const programmedMesh = (count: number) => {
    const swarm = new FakeSwarm();
    swarm.nodes = Array.from({ length: count }, (_, i) => node(`node${i + 1}`));
    swarm.services = [ingressSvc];
    swarm.tasks = [task(ingressSvc, swarm.nodes[0]!)];
    return { swarm, good: facts('x', { dockerIngressRules: rules, ipvs }) };
  };

  it('is not-applicable with host-mode publishing only', async () => {
    const swarm = new FakeSwarm();
    swarm.nodes = [node('node1')];
    swarm.services = [
      service('web', { ports: [{ published: 8080, target: 80, protocol: 'tcp', mode: 'host' }] }),
    ];
    const [r] = await ingressMeshCheck.run(makeCtx({ swarm }), { timeoutMs: 0 });
    expect(r).toMatchObject({
      status: 'not-applicable',
      message: expect.stringContaining('host-mode publishing'),
    });
  });

  it('is not-applicable, with the reason, on a kernel without IPVS', async () => {
    const swarm = new FakeSwarm();
    swarm.nodes = [node('node1')];
    swarm.services = [ingressSvc];
    const [r] = await ingressMeshCheck.run(
      makeCtx({ swarm, factsOf: async (n) => facts(n, { ipvsKernel: false }) }),
      { timeoutMs: 0 },
    );
    expect(r).toMatchObject({
      status: 'not-applicable',
      message: 'kernel has no IPVS: no routing mesh (host-mode publishing)',
    });
  });

  it('passes a programmed mesh and fails a missing rule, missing backends and a changed iptables backend', async () => {
    const { swarm, good } = programmedMesh(3);
    const perNode = {
      node1: good,
      node2: { ...good, dockerIngressRules: rules.filter((r) => !r.includes('8080')) },
      node3: { ...good, ipvs: 'FWM  256 rr\n', iptablesBackend: 'legacy' as const },
    };
    const baseline = { takenAt: '', nodes: { node3: { facts: facts('node3'), swarm: swarm.nodes[2]! } } };
    const results = await ingressMeshCheck.run(
      makeCtx({
        swarm,
        baseline,
        factsOf: async (n) => ({ ...perNode[n as keyof typeof perNode], node: n }),
      }),
      { timeoutMs: 5000 },
    );
    expect(results.map((r) => [r.node, r.status])).toEqual([
      ['node1', 'fail'],
      ['node2', 'fail'],
      ['node3', 'fail'],
    ]);
    expect(results[0]?.message).toBe(
      'iptables backends differ across nodes: legacy, nf_tables (still missing after waiting 5s)',
    );
    expect(results[1]?.evidence).toMatchObject({ missingRules: ['8080/tcp (web)'], waitedMs: 5000 });
    expect(results[1]?.message).toMatch(
      /^DOCKER-INGRESS lacks 8080\/tcp \(web\);.*\(still missing after waiting 5s\)$/,
    );
    expect(results[2]?.message).toMatch(
      /IPVS services without backends: FWM 256 rr.*iptables backend nf_tables → legacy/,
    );
  });

  it('waits while an engine re-programs the mesh (fresh facts each poll) and passes once it is back', async () => {
    const { swarm, good } = programmedMesh(2);
    // node2's engine just restarted: no rule, then the rule without backends, then all of it.
    const node2 = [
      { ...good, dockerIngressRules: ['-N DOCKER-INGRESS'], ipvs: '' },
      { ...good, ipvs: 'FWM  256 rr\n' },
      good,
    ];
    const reads: boolean[] = [];
    const results = await ingressMeshCheck.run(
      makeCtx({
        swarm,
        factsOf: async (n, read) => {
          if (n === 'node1') return { ...good, node: n };
          reads.push(read?.fresh ?? false);
          return { ...(node2[reads.length - 1] ?? good), node: n };
        },
      }),
      { timeoutMs: 60_000 },
    );
    expect(reads).toEqual([false, true, true]);
    expect(results.map((r) => [r.node, r.status])).toEqual([
      ['node1', 'pass'],
      ['node2', 'pass'],
    ]);
    // Polls 1 s, then 1.5 s apart (they back off: each one runs a script on the node).
    expect(results[1]?.message).toBe('mesh ok: 1 ingress port(s) programmed after waiting 2.5s');
  });

  it('recognises an engine that never built its ingress sandbox and says how to fix it', async () => {
    const { swarm, good } = programmedMesh(2);
    const broken = { ...good, ingressSbox: false, dockerIngressRules: ['-N DOCKER-INGRESS'], ipvs: null };
    const results = await ingressMeshCheck.run(
      makeCtx({ swarm, factsOf: async (n) => ({ ...(n === 'node2' ? broken : good), node: n }) }),
      { timeoutMs: 5000 },
    );
    expect(results[0]).toMatchObject({ node: 'node1', status: 'pass' });
    expect(results[0]?.hint).toBeUndefined();
    expect(results[1]).toMatchObject({ node: 'node2', status: 'fail' });
    expect(results[1]?.message).toMatch(/^ingress_sbox missing; DOCKER-INGRESS lacks 8080\/tcp/);
    expect(results[1]?.hint).toMatch(/engine on node2 did not build its ingress sandbox/);
    expect(results[1]?.hint).toContain('moby/libnetwork#1765');
  });

  it('re-reads only the node in scope (and a node whose read failed) while it waits', async () => {
    const { swarm, good } = programmedMesh(3);
    const reads: string[] = [];
    let node3Reads = 0;
    let node1Reads = 0;
    const results = await ingressMeshCheck.run(
      makeCtx({
        swarm,
        scope: ['node1'],
        factsOf: async (n, read) => {
          reads.push(`${n}${read?.fresh ? ' fresh' : ''}`);
          // node1 (in scope) is back on its third read; node3 fails its first read only.
          if (n === 'node1') return { ...(node1Reads++ < 2 ? { ...good, ipvs: '' } : good), node: n };
          if (n === 'node3' && node3Reads++ === 0) throw new Error('ssh: connection reset');
          return { ...good, node: n };
        },
      }),
      { timeoutMs: 60_000 },
    );
    expect(results.map((r) => [r.node, r.status])).toEqual([['node1', 'pass']]);
    expect(reads).toEqual([
      'node1',
      'node2',
      'node3',
      'node1 fresh',
      'node2',
      'node3 fresh',
      'node1 fresh',
      'node2',
      'node3',
    ]);
  });

  it('parses ipvsadm -Ln', () => {
    expect(parseIpvs(ipvs)).toEqual([{ service: 'FWM 256 rr', backends: ['10.0.0.5:0'] }]);
  });
});

describe('checks that judge every node wait for the expected nodes (never pass on a short view)', () => {
  /** A manager just restarted: it lists the other nodes as unknown for `rounds` reads. */
  function restartingManager(rounds: number, stuck: string[] = []): FakeSwarm {
    const swarm = new FakeSwarm([node('node1'), node('node2'), node('node3')]);
    const listNodes = swarm.listNodes.bind(swarm);
    let reads = 0;
    swarm.listNodes = async () => {
      reads++;
      const nodes = await listNodes();
      return nodes.map((n) =>
        n.hostname !== 'node1' && (reads <= rounds || stuck.includes(n.hostname))
          ? { ...n, state: 'unknown' as const }
          : n,
      );
    };
    const peers = net(['10.0.0.11', '10.0.0.12', '10.0.0.13']);
    swarm.networks = { ingress: peers };
    return swarm;
  }
  const baselineOf = (swarm: FakeSwarm) => ({
    takenAt: '',
    nodes: Object.fromEntries(swarm.nodes.map((n) => [n.hostname, { facts: facts(n.hostname), swarm: n }])),
  });

  it('ingress-peers waits out a momentarily short node list, then judges all nodes', async () => {
    const swarm = restartingManager(2);
    const ctx = makeCtx({ swarm, nodes: await swarm.listNodes(), baseline: baselineOf(swarm) });
    const results = await ingressPeersCheck.run(ctx, { timeoutMs: 30_000 });
    expect(results.map((r) => [r.node, r.status])).toEqual([
      ['node1', 'pass'],
      ['node2', 'pass'],
      ['node3', 'pass'],
    ]);
    expect(results[0]!.message).toBe('ingress peers = the 3 Ready nodes');
  });

  it('ingress-peers fails naming an expected node that never comes back Ready', async () => {
    const swarm = restartingManager(0, ['node3']);
    const ctx = makeCtx({ swarm, nodes: await swarm.listNodes(), baseline: baselineOf(swarm) });
    const results = await ingressPeersCheck.run(ctx, { timeoutMs: 5_000 });
    const failed = results.filter((r) => r.status === 'fail');
    expect(failed[0]!.message).toMatch(/^expected nodes not Ready in the swarm: node3 \(waited \d+s\)$/);
  });

  it('published-ports fails naming the missing nodes instead of saying not-applicable', async () => {
    const swarm = restartingManager(1_000);
    swarm.services = [
      service('web', { ports: [{ published: 8080, target: 80, protocol: 'tcp', mode: 'ingress' }] }),
    ];
    const ctx = makeCtx({
      swarm,
      nodes: await swarm.listNodes(),
      baseline: baselineOf(swarm),
      scope: ['node2'],
    });
    const results = await publishedPortsCheck.run(ctx, {
      timeoutMs: 5_000,
      paths: {},
      fromCluster: false,
      connectTimeoutMs: 1000,
    });
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ status: 'fail' });
    expect(results[0]!.message).toMatch(/^expected nodes not Ready in the swarm: node2, node3/);
  });
});
