import { defaultCheckOptions } from '../../../src/checks/catalogue.js';
import type { CheckContext, NodeFacts } from '../../../src/checks/types.js';
import type {
  CommandResult,
  EngineInfo,
  NodeShell,
  SwarmApi,
  SwarmEvent,
  SwarmNetwork,
  SwarmNode,
  SwarmService,
  SwarmTask,
} from '../../../src/transport/types.js';

export function node(hostname: string, over: Partial<SwarmNode> = {}): SwarmNode {
  const k = Number(hostname.replace(/\D/g, '')) || 1;
  return {
    id: `id-${hostname}`,
    version: 1,
    hostname,
    role: 'worker',
    availability: 'active',
    state: 'ready',
    address: `10.0.0.${10 + k}`,
    labels: {},
    engineVersion: '24.0.7',
    ...over,
  };
}

export function manager(hostname: string, leader = false, over: Partial<SwarmNode> = {}): SwarmNode {
  const n = node(hostname, { role: 'manager', ...over });
  return { ...n, manager: { leader, reachability: 'reachable', addr: `${n.address}:2377` }, ...over };
}

export function service(name: string, over: Partial<SwarmService> = {}): SwarmService {
  return {
    id: `svc-${name}`,
    name,
    version: 1,
    mode: 'replicated',
    replicas: 1,
    ports: [],
    endpointMode: 'vip',
    virtualIps: [],
    networks: [],
    constraints: [],
    labels: {},
    ...over,
  };
}

let taskSeq = 0;
export function task(svc: SwarmService, on: SwarmNode, over: Partial<SwarmTask> = {}): SwarmTask {
  taskSeq++;
  return {
    id: `task-${taskSeq}`,
    serviceId: svc.id,
    nodeId: on.id,
    desiredState: 'running',
    state: 'running',
    timestamp: '2030-01-01T00:00:00Z',
    containerId: `ctr-${taskSeq}`,
    addresses: [],
    ...over,
  };
}

export function info(over: Partial<EngineInfo> = {}): EngineInfo {
  return {
    nodeId: 'x',
    hostname: 'x',
    serverVersion: '24.0.7',
    localNodeState: 'active',
    controlAvailable: false,
    error: '',
    managers: 1,
    nodes: 1,
    ...over,
  };
}

/** A SwarmApi whose state the test mutates; unimplemented calls throw. */
export class FakeSwarm implements SwarmApi {
  endpoint = 'fake';
  nodes: SwarmNode[] = [];
  services: SwarmService[] = [];
  tasks: SwarmTask[] = [];
  networks: Record<string, SwarmNetwork> = {};
  engineInfo: EngineInfo = info();
  forced: string[] = [];
  fail: Error | undefined;
  eventQueue: SwarmEvent[] = [];
  private check() {
    if (this.fail) throw this.fail;
  }
  async ping() {
    this.check();
  }
  async info() {
    this.check();
    return this.engineInfo;
  }
  async listNodes() {
    this.check();
    return structuredClone(this.nodes);
  }
  async inspectNode(id: string) {
    this.check();
    const n = this.nodes.find((x) => x.id === id);
    if (!n) throw new Error(`no such node ${id}`);
    return structuredClone(n);
  }
  async setNodeAvailability() {
    throw new Error('read-only');
  }
  async listServices() {
    this.check();
    return structuredClone(this.services);
  }
  async listTasks(filter: { service?: string; node?: string; desiredState?: string } = {}) {
    this.check();
    return this.tasks.filter(
      (t) =>
        (!filter.service || t.serviceId === filter.service) &&
        (!filter.node || t.nodeId === filter.node) &&
        (!filter.desiredState || t.desiredState === filter.desiredState),
    );
  }
  async forceUpdateService(id: string) {
    this.forced.push(id);
  }
  async inspectNetwork(idOrName: string) {
    this.check();
    const n = this.networks[idOrName];
    if (!n) throw new Error(`network ${idOrName} not found`);
    return structuredClone(n);
  }
  async listContainers() {
    return [];
  }
  async listConfigs() {
    return [];
  }
  async createConfig(): Promise<string> {
    throw new Error('read-only');
  }
  async removeConfig() {
    throw new Error('read-only');
  }
  async updateConfigLabels() {
    throw new Error('read-only');
  }
  async *events(_filters: Record<string, string[]>, signal: AbortSignal): AsyncIterable<SwarmEvent> {
    while (!signal.aborted && this.eventQueue.length > 0) yield this.eventQueue.shift()!;
  }
  async close() {}
}

/** A shell answering commands through a function. */
export class FakeShell implements NodeShell {
  connected = true;
  commands: string[] = [];
  constructor(
    readonly node: string,
    private answer: (command: string) => Partial<CommandResult>,
  ) {}
  async exec(command: string): Promise<CommandResult> {
    this.commands.push(command);
    return {
      node: this.node,
      command,
      exitCode: 0,
      signal: null,
      stdout: '',
      stderr: '',
      durationMs: 5,
      timedOut: false,
      connectionLost: false,
      ...this.answer(command),
    };
  }
  async close() {}
}

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

/** A fake clock: sleep advances time instantly. */
export function fakeClock(start = 1_000_000) {
  let t = start;
  return {
    now: () => t,
    sleep: async (ms: number) => {
      t += ms;
    },
    advance: (ms: number) => {
      t += ms;
    },
  };
}

export function makeCtx(over: Partial<CheckContext> & { swarm: FakeSwarm }): CheckContext {
  const clock = fakeClock();
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
