import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  buildFactsScript,
  clockSampleOf,
  gatherNodeFacts,
  measureOffset,
  parseNodeFacts,
  sampleNodeClock,
} from '../../../src/checks/facts.js';
import { FakeShell, fakeClock } from '../../support/fake-cluster.js';

const captured = readFileSync(new URL('./fixtures/facts-namespace-lab.txt', import.meta.url), 'utf8');
const peers = ['10.77.4.12', '10.77.4.99', "bad'peer"];

describe('parseNodeFacts on output captured from a namespace-lab node', () => {
  const facts = parseNodeFacts('node1', captured, peers, 1_795_870_893_000);

  it('reads boot id, clock, ip_forward and reboot-required', () => {
    expect(facts.bootId).toBe('7bb963b5-363d-4bd8-a911-35849fa74d2f');
    expect(facts.clockMs).toBe(1_795_870_893_920);
    expect(facts.ipForward).toBe('1');
    expect(facts.rebootRequired).toBe(false);
  });

  it('parses ip -j route and ip -j addr', () => {
    expect(facts.routes.map((r) => r.dst)).toEqual(['10.77.4.0/24', '172.17.0.0/16', '172.18.0.0/16']);
    expect(facts.routes[2]).toMatchObject({ dev: 'docker_gwbridge', prefsrc: '172.18.0.1' });
    const eth0 = facts.addresses.find((a) => a.ifname === 'eth0');
    expect(eth0?.addrs[0]).toEqual({ family: 'inet', local: '10.77.4.11', prefixlen: 24 });
  });

  it('records route-get sources per peer and an error for a bad peer, not a crash', () => {
    expect(facts.routeGetSource).toEqual({
      '10.77.4.12': '10.77.4.11',
      '10.77.4.99': '10.77.4.11',
      "bad'peer": null,
    });
    expect(facts.sectionErrors?.['routeget.2']).toMatch(/bad'peer/);
  });

  it('sees nf_tables, no DOCKER-INGRESS chain, ingress_sbox, and a kernel without IPVS', () => {
    expect(facts.iptablesBackend).toBe('nf_tables');
    expect(facts.dockerIngressRules).toBeNull();
    expect(facts.ingressSbox).toBe(true);
    expect(facts.ipvsKernel).toBe(false);
    expect(facts.ipvs).toBeNull();
    expect(facts.sectionErrors?.ipvs).toMatch(/Can't initialize ipvs/);
  });
});

describe('parseNodeFacts robustness', () => {
  it('turns missing and malformed sections into sectionErrors', () => {
    const out =
      '@@DDX:boot@@\nabc\n@@DDX-RC:0@@\n@@DDX:route@@\n[{"dst":\n@@DDX-RC:0@@\n@@DDX:clock@@\nsh: date: not found\n@@DDX-RC:127@@\n';
    const facts = parseNodeFacts('n', out, [], 0);
    expect(facts.bootId).toBe('abc');
    expect(facts.routes).toEqual([]);
    expect(facts.sectionErrors?.route).toMatch(/unparsable JSON/);
    expect(facts.sectionErrors?.clock).toMatch(/exit 127/);
    expect(facts.sectionErrors?.addr).toBe('section missing from output');
    expect(Number.isNaN(facts.clockMs)).toBe(true);
    expect(facts.iptablesBackend).toBe('unknown');
  });

  it('parses DOCKER-INGRESS rules, ipvsadm output and legacy iptables', () => {
    const out = [
      '@@DDX:iptver@@',
      'iptables v1.8.7 (legacy)',
      '@@DDX-RC:0@@',
      '@@DDX:ingress@@',
      '-N DOCKER-INGRESS',
      '-A DOCKER-INGRESS -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.18.0.2:8080',
      '-A DOCKER-INGRESS -j RETURN',
      '@@DDX-RC:0@@',
      '@@DDX:ipvs@@',
      'FWM  256 rr',
      '  -> 10.0.0.5:0                   Masq    1      0          0',
      '@@DDX-RC:0@@',
      '@@DDX:routeget.0@@',
      '10.0.0.2 dev eth0 src 10.0.0.1 uid 0',
      '@@DDX-RC:0@@',
    ].join('\n');
    const facts = parseNodeFacts('n', out, ['10.0.0.2'], 0);
    expect(facts.iptablesBackend).toBe('legacy');
    expect(facts.dockerIngressRules).toHaveLength(3);
    expect(facts.ipvs).toMatch(/FWM {2}256/);
    expect(facts.routeGetSource['10.0.0.2']).toBe('10.0.0.1');
  });
});

describe('gatherNodeFacts', () => {
  it('runs ONE exec with every peer shell-quoted', async () => {
    const shell = new FakeShell('node1', () => ({ stdout: captured }));
    const facts = await gatherNodeFacts(shell, peers);
    expect(shell.commands).toHaveLength(1);
    expect(shell.commands[0]).toContain(`ip -j route get 'bad'\\''peer'`);
    expect(facts.bootId).toBe('7bb963b5-363d-4bd8-a911-35849fa74d2f');
    expect(facts.raw).toBe(captured);
  });

  it('throws when the exec itself fails (connection lost), so the caller reports the node', async () => {
    const shell = new FakeShell('node1', () => ({ exitCode: null, connectionLost: true }));
    await expect(gatherNodeFacts(shell, [])).rejects.toThrow(/connection lost/);
  });

  it('builds a POSIX script with one section per peer', () => {
    const script = buildFactsScript(['a', 'b']);
    expect(script).toContain('s routeget.0');
    expect(script).toContain('s routeget.1');
    expect(script).toContain('nsenter --net=/var/run/docker/netns/ingress_sbox ipvsadm -Ln');
  });
});

describe('reading a node clock NTP-style', () => {
  it('measures the offset against the midpoint of the round trip, ± half of it', () => {
    expect(measureOffset(1_000_500, 1_000_000, 1_001_000)).toMatchObject({ offsetMs: 0, uncertaintyMs: 500 });
    expect(measureOffset(1_031_000, 1_000_000, 1_002_000)).toMatchObject({
      offsetMs: 30_000,
      uncertaintyMs: 1000,
    });
  });

  /** A node sharing the local clock (plus `skewMs`) whose `date` runs `beforeMs` into each exec. */
  function slowNode(
    clock: ReturnType<typeof fakeClock>,
    trips: [beforeMs: number, afterMs: number][],
    skewMs = 0,
  ) {
    let i = 0;
    return new FakeShell('node2', () => {
      const [before, after] = trips[Math.min(i++, trips.length - 1)]!;
      clock.advance(before);
      const stdout = `${clock.now() + skewMs}000000\n`;
      clock.advance(after);
      return { stdout };
    });
  }

  it('on a busy host a late reading in a slow exec is uncertainty, not skew', async () => {
    const clock = fakeClock(1_700_000_000_000);
    // Every exec is slow and the reading comes at its very end (channel open dominates).
    const shell = slowNode(clock, [[3000, 10]]);
    const sample = await sampleNodeClock(shell, { now: clock.now });
    expect(shell.commands).toEqual(['date +%s%N', 'date +%s%N', 'date +%s%N']);
    expect(sample.offsetMs).toBe(1495);
    expect(sample.uncertaintyMs).toBe(1505);
    expect(Math.abs(sample.offsetMs)).toBeLessThanOrEqual(sample.uncertaintyMs);
  });

  it('keeps the sample with the shortest round trip and stops once one is precise', async () => {
    const clock = fakeClock(1_700_000_000_000);
    const shell = slowNode(
      clock,
      [
        [2000, 5],
        [30, 10],
        [500, 500],
      ],
      7000,
    );
    const sample = await sampleNodeClock(shell, { now: clock.now });
    expect(shell.commands).toHaveLength(2);
    expect(sample).toMatchObject({ offsetMs: 7010, uncertaintyMs: 20 });
  });

  it("reads the facts exec's clock against that exec's whole round trip", async () => {
    const clock = fakeClock(1_795_870_893_000);
    // The captured node clock says …893920; the exec takes 2 s on a busy host.
    const shell = new FakeShell('node1', () => {
      clock.advance(2000);
      return { stdout: captured };
    });
    const facts = await gatherNodeFacts(shell, [], { now: clock.now });
    expect(facts.clockUncertaintyMs).toBe(1000);
    expect(clockSampleOf(facts)).toMatchObject({ offsetMs: -80, uncertaintyMs: 1000 });
  });

  it('asks nothing more when a reading made already settles the question', async () => {
    const shell = new FakeShell('node2', () => ({ stdout: '1' }));
    const first = measureOffset(1_000_100, 1_000_000, 1_000_400);
    expect(await sampleNodeClock(shell, { first, settled: (s) => s.uncertaintyMs < 500 })).toBe(first);
    expect(shell.commands).toEqual([]);
  });

  it('throws when no reading parses, naming the node', async () => {
    const shell = new FakeShell('node2', () => ({ exitCode: 127, stdout: '', stderr: 'date: not found' }));
    await expect(sampleNodeClock(shell)).rejects.toThrow(/node2.*exit 127.*date: not found/);
  });
});
