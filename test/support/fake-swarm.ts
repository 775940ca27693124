import type {
  EngineInfo,
  SwarmApi,
  SwarmEvent,
  SwarmNetwork,
  SwarmNode,
  SwarmService,
  SwarmTask,
} from '../../src/transport/types.js';

/**
 * The one in-memory swarm for unit tests (the real thing is in the integration suite), with
 * the one set of builders. Defaults: node `nodeN` has id `id-nodeN` and address `10.0.0.(10+N)`,
 * engine 24.0.7, Ready and active; a service is replicated with one replica, a healthcheck and Docker's
 * default stop grace period; a task is running.
 */

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

type Reachability = NonNullable<SwarmNode['manager']>['reachability'];

/** A manager, reachable unless `over.reachability` says otherwise. */
export function manager(
  hostname: string,
  leader = false,
  over: Partial<SwarmNode> & { reachability?: Reachability } = {},
): SwarmNode {
  const { reachability = 'reachable', ...rest } = over;
  const n = node(hostname, { role: 'manager', ...rest });
  return { ...n, manager: { leader, reachability, addr: `${n.address}:2377` }, ...rest };
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
    // A well-behaved service unless a test says otherwise: no traffic warning from these.
    healthcheck: 'defined',
    stopGracePeriodMs: 10_000,
    ...over,
  };
}

let taskSeq = 0;
export function task(
  svc: Pick<SwarmService, 'id'>,
  on: Pick<SwarmNode, 'id'>,
  over: Partial<SwarmTask> = {},
): SwarmTask {
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
    controlAvailable: true,
    error: '',
    managers: 1,
    nodes: 1,
    ...over,
  };
}

type SwarmConfig = { id: string; name: string; labels: Record<string, string> };

/**
 * A SwarmApi whose state the test sets and inspects directly. Draining a node moves its
 * running tasks to the first other active node at once; `fail` makes every read throw.
 */
export class FakeSwarm implements SwarmApi {
  readonly endpoint = 'fake';
  services: SwarmService[] = [];
  tasks: SwarmTask[] = [];
  networks: Record<string, SwarmNetwork> = {};
  configs: SwarmConfig[] = [];
  engineInfo: EngineInfo = info();
  /** When set, every read throws it (a manager that stopped answering). */
  fail: Error | undefined;
  /** Drains that never converge (a service constrained to the drained node). */
  stuckDrain = false;
  /** Scaling up cannot place a task (as with max replicas per node): it stays pending. */
  unplaceable = false;
  /** Scaled-up tasks sit in `starting` for this many task listings (a slow HEALTHCHECK), then run. */
  startingForReads = 0;
  /** Availability changes, as `drain node2`. */
  calls: string[] = [];
  /** Services given a forced update. */
  forced: string[] = [];

  constructor(public nodes: SwarmNode[] = []) {}

  /** The node named `name` (the live object: mutate it to change the swarm). */
  node(name: string): SwarmNode {
    const found = this.nodes.find((n) => n.hostname === name);
    if (!found) throw new Error(`no node ${name} in the fake swarm`);
    return found;
  }

  /** A replicated service with one running task on each of the given nodes. */
  addService(name: string, onNodes: string[]): SwarmService {
    const svc = service(name, { replicas: onNodes.length });
    this.services.push(svc);
    for (const name of onNodes) this.tasks.push(task(svc, this.node(name)));
    return svc;
  }

  private check(): void {
    if (this.fail) throw this.fail;
  }

  private moveTasksOff(nodeId: string): void {
    if (this.stuckDrain) return;
    const target = this.nodes.find((n) => n.id !== nodeId && n.availability === 'active');
    for (const t of this.tasks.filter((x) => x.nodeId === nodeId && x.desiredState === 'running')) {
      t.desiredState = 'shutdown';
      t.state = 'shutdown';
      if (target) this.tasks.push(task({ id: t.serviceId }, target));
    }
  }

  async ping() {
    this.check();
  }
  async info() {
    this.check();
    return { ...this.engineInfo };
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
  async setNodeAvailability(id: string, version: number, availability: SwarmNode['availability']) {
    this.check();
    const n = this.nodes.find((x) => x.id === id);
    if (!n) throw new Error(`no such node ${id}`);
    if (n.version !== version) throw new Error(`update out of sequence (${version} != ${n.version})`);
    this.calls.push(`${availability} ${n.hostname}`);
    n.availability = availability;
    n.version++;
    if (availability === 'drain') this.moveTasksOff(id);
  }
  async listServices() {
    this.check();
    return structuredClone(this.services);
  }
  async listTasks(filter: { service?: string; node?: string; desiredState?: string } = {}) {
    this.check();
    if (this.startingForReads > 0 && --this.startingForReads === 0) {
      for (const t of this.tasks.filter((x) => x.state === 'starting')) t.state = 'running';
    }
    return structuredClone(
      this.tasks.filter(
        (t) =>
          (!filter.service || t.serviceId === filter.service) &&
          (!filter.node || t.nodeId === filter.node) &&
          (!filter.desiredState || t.desiredState === filter.desiredState),
      ),
    );
  }
  /** Like Swarm: new tasks go to the schedulable node with the fewest of the service's tasks. */
  async scaleService(id: string, replicas: number, expected: number) {
    this.check();
    const s = this.services.find((x) => x.id === id);
    if (!s || s.replicas !== expected) return false;
    this.calls.push(`scale ${s.name} ${expected}→${replicas}`);
    s.replicas = replicas;
    s.version++;
    const live = () => this.tasks.filter((t) => t.serviceId === id && t.desiredState === 'running');
    const countOn = (nodeId: string) => live().filter((t) => t.nodeId === nodeId).length;
    while (live().length < replicas) {
      const target = this.nodes
        .filter((n) => n.availability === 'active' && n.state === 'ready')
        .sort((a, b) => countOn(a.id) - countOn(b.id))[0];
      if (!target || this.unplaceable) {
        const why = 'no suitable node (max replicas per node limit exceed)';
        this.tasks.push({ ...task({ id }, { id: '' }), nodeId: undefined, state: 'pending', error: why });
        continue;
      }
      this.tasks.push(task({ id }, target, this.startingForReads > 0 ? { state: 'starting' } : {}));
    }
    while (live().length > replicas) {
      const victim = live().at(-1)!;
      victim.desiredState = 'shutdown';
      victim.state = 'shutdown';
    }
    return true;
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
  async listNetworks(driver: string) {
    this.check();
    return structuredClone(Object.values(this.networks).filter((n) => n.driver === driver));
  }
  async listContainers() {
    return [];
  }
  async listConfigs(name: string) {
    this.check();
    return this.configs.filter((c) => c.name === name);
  }
  async createConfig(name: string, labels: Record<string, string>, _data = '') {
    if (this.configs.some((c) => c.name === name)) throw new Error('409 conflict: name exists');
    const id = `cfg-${this.configs.length}`;
    this.configs.push({ id, name, labels });
    return id;
  }
  async removeConfig(id: string) {
    this.configs = this.configs.filter((c) => c.id !== id);
  }
  async updateConfigLabels(id: string, labels: Record<string, string>) {
    const config = this.configs.find((c) => c.id === id);
    if (!config) throw new Error(`404 config ${id} not found`);
    config.labels = { ...labels };
  }
  /** A quiet stream that stays open until the subscriber aborts: waiters fall back to polling. */
  async *events(_filters: Record<string, string[]>, signal: AbortSignal): AsyncIterable<SwarmEvent> {
    if (signal.aborted) return;
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  }
  async close() {}
}
