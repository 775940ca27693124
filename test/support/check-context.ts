import { defaultCheckOptions } from '../../src/checks/catalogue.js';
import type { CheckContext, NodeFacts } from '../../src/checks/types.js';
import { FakeShell, fakeClock } from './fake-cluster.js';
import type { FakeSwarm } from './fake-swarm.js';

/** Facts of a healthy node as the facts script reports them (addresses match the fake swarm's). */
export function facts(name: string, over: Partial<NodeFacts> = {}): NodeFacts {
  return {
    node: name,
    bootId: 'boot-1',
    clockMs: 1_000_000,
    sampledAtMs: 1_000_000,
    routes: [
      { dst: 'default', gateway: '10.0.0.1', dev: 'eth0' },
      { dst: '10.0.0.0/24', dev: 'eth0', prefsrc: '10.0.0.11' },
      { dst: '172.17.0.0/16', dev: 'docker0' },
      { dst: '172.18.0.0/16', dev: 'docker_gwbridge' },
    ],
    addresses: [],
    ipForward: '1',
    routeGetSource: {},
    iptablesBackend: 'nf_tables',
    dockerIngressRules: null,
    ingressSbox: true,
    ipvs: null,
    rebootRequired: false,
    ipvsKernel: true,
    ...over,
  };
}

/** A check context over the fake swarm: every node in scope, healthy facts, instant sleeps. */
export function makeCtx(over: Partial<CheckContext> & { swarm: FakeSwarm }): CheckContext {
  const clock = fakeClock(1_000_000);
  const swarm = over.swarm;
  return {
    scope: swarm.nodes.map((n) => n.hostname),
    nodes: swarm.nodes,
    engineOf: async () => swarm,
    shellOf: async (n) => new FakeShell(n, () => ({})),
    factsOf: async (n) => facts(n),
    expectedAvailability: {},
    rebootedFrom: {},
    stageStartedAt: new Date('2029-12-31T00:00:00Z'),
    options: defaultCheckOptions(10_000),
    now: clock.now,
    sleep: clock.sleep,
    ...over,
  };
}
