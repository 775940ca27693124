import type { CheckResult } from '../../src/checks/types.js';
import type { RunEvent, RunReporter } from '../../src/executor/events.js';
import type { CheckRunnerPort, ClusterPort } from '../../src/executor/ports.js';
import type { CheckName } from '../../src/runbook/types.js';
import type { Clock } from '../../src/shared/clock.js';
import type {
  CommandResult,
  ExecOptions,
  NodeShell,
  SwarmApi,
  SwarmNode,
  SwarmService,
  SwarmTask,
} from '../../src/transport/types.js';

/**
 * A small in-memory swarm for executor unit tests (the real thing is in the integration
 * suite). Draining a node moves its tasks to the other active nodes on the next probe.
 */
export class FakeSwarm implements SwarmApi {
  readonly endpoint = 'fake';
  nodes: SwarmNode[];
  services: SwarmService[] = [];
  tasks: SwarmTask[] = [];
  configs: { id: string; name: string; labels: Record<string, string> }[] = [];
  /** Drains that never converge (a service constrained to the drained node). */
  stuckDrain = false;
  calls: string[] = [];

  constructor(
    nodes: {
      name: string;
      role?: 'manager' | 'worker';
      leader?: boolean;
      availability?: SwarmNode['availability'];
    }[],
  ) {
    this.nodes = nodes.map((n) => ({
      id: `id-${n.name}`,
      version: 1,
      hostname: n.name,
      role: n.role ?? 'worker',
      availability: n.availability ?? 'active',
      state: 'ready',
      address: `10.0.0.${n.name.replace(/\D/g, '') || '1'}`,
      labels: {},
      engineVersion: '20.10.24',
      ...(n.role === 'manager'
        ? { manager: { leader: n.leader ?? false, reachability: 'reachable' as const, addr: '' } }
        : {}),
    }));
  }

  /** A replicated service with one task on each of the given nodes. */
  addService(name: string, onNodes: string[]): void {
    const id = `svc-${name}`;
    this.services.push({
      id,
      name,
      version: 1,
      mode: 'replicated',
      replicas: onNodes.length,
      ports: [],
      endpointMode: 'vip',
      virtualIps: [],
      networks: [],
      constraints: [],
      labels: {},
    });
    for (const node of onNodes) this.addTask(id, node);
  }

  private addTask(serviceId: string, node: string): void {
    this.tasks.push({
      id: `task-${this.tasks.length}`,
      serviceId,
      nodeId: `id-${node}`,
      desiredState: 'running',
      state: 'running',
      timestamp: new Date(0).toISOString(),
      addresses: [],
    });
  }

  private moveTasksOff(nodeId: string): void {
    if (this.stuckDrain) return;
    const targets = this.nodes.filter((n) => n.id !== nodeId && n.availability === 'active');
    for (const task of this.tasks.filter((t) => t.nodeId === nodeId && t.desiredState === 'running')) {
      task.desiredState = 'shutdown';
      task.state = 'shutdown';
      const target = targets[0];
      if (target) this.addTask(task.serviceId, target.hostname);
    }
  }

  node(name: string): SwarmNode {
    return this.nodes.find((n) => n.hostname === name)!;
  }

  async ping() {}
  async info() {
    return {
      nodeId: '',
      hostname: '',
      serverVersion: '20.10.24',
      localNodeState: 'active',
      controlAvailable: true,
      error: '',
      managers: 1,
      nodes: this.nodes.length,
    };
  }
  async listNodes() {
    return structuredClone(this.nodes);
  }
  async inspectNode(id: string) {
    return structuredClone(this.nodes.find((n) => n.id === id)!);
  }
  async setNodeAvailability(id: string, version: number, availability: SwarmNode['availability']) {
    const node = this.nodes.find((n) => n.id === id)!;
    if (node.version !== version) throw new Error(`update out of sequence (${version} != ${node.version})`);
    this.calls.push(`${availability} ${node.hostname}`);
    node.availability = availability;
    node.version++;
    if (availability === 'drain') this.moveTasksOff(id);
  }
  async listServices() {
    return structuredClone(this.services);
  }
  async listTasks(filter?: { service?: string; node?: string }) {
    return structuredClone(this.tasks.filter((t) => !filter?.node || t.nodeId === filter.node));
  }
  forced: string[] = [];
  async forceUpdateService(id: string) {
    this.forced.push(id);
  }
  async inspectNetwork(): Promise<never> {
    throw new Error('not in the fake');
  }
  async listContainers() {
    return [];
  }
  async listConfigs(name: string) {
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
  async *events(_filters: Record<string, string[]>, signal: AbortSignal) {
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  }
  async close() {}
}

type Responder = (command: string, node: string) => Partial<CommandResult> | undefined;

/** Shells that answer commands from a responder; `reboot` changes the boot id. */
export class FakeCluster implements ClusterPort {
  commands: { node: string; command: string; sudo: boolean }[] = [];
  bootIds: Record<string, string> = {};
  respond: Responder = () => undefined;
  /** Nodes that never come back after a reboot. */
  noReturn = new Set<string>();
  private down = new Set<string>();

  constructor(readonly swarmApi: FakeSwarm) {
    for (const n of swarmApi.nodes) this.bootIds[n.hostname] = `boot-${n.hostname}-1`;
  }

  async swarm() {
    return this.swarmApi;
  }
  async swarmAvoiding() {
    return this.swarmApi;
  }
  async engineOf() {
    return this.swarmApi;
  }
  async reconnect(node: string) {
    if (this.down.has(node)) {
      if (this.noReturn.has(node)) throw new Error(`connect ECONNREFUSED ${node}`);
      this.down.delete(node);
    }
    return this.shellOf(node);
  }
  async shellOf(node: string): Promise<NodeShell> {
    const exec = async (command: string, options: ExecOptions = {}): Promise<CommandResult> => {
      this.commands.push({ node, command, sudo: options.sudo ?? false });
      const base: CommandResult = {
        node,
        command: options.display ?? command,
        exitCode: 0,
        signal: null,
        stdout: '',
        stderr: '',
        durationMs: 1,
        timedOut: false,
        connectionLost: false,
      };
      const custom = this.respond(command, node);
      if (custom) return { ...base, ...custom };
      if (command.includes('boot_id')) return { ...base, stdout: `${this.bootIds[node]}\n` };
      if (command === 'reboot') {
        const n = Number(this.bootIds[node]!.split('-').at(-1)) + 1;
        this.bootIds[node] = `boot-${node}-${n}`;
        this.down.add(node);
        return { ...base, exitCode: null, connectionLost: true };
      }
      options.onStdout?.(`ran ${options.display ?? command}\n`);
      return base;
    };
    return { node, connected: true, exec, close: async () => {} };
  }
  async close() {}
}

/** Checks that pass unless told otherwise. */
export class FakeChecks implements CheckRunnerPort {
  rounds: { names: CheckName[]; scope: string[] }[] = [];
  failWhen: (names: CheckName[], scope: string[]) => CheckResult[] | undefined = () => undefined;

  async takeBaseline() {
    return { takenAt: new Date(0).toISOString(), nodes: {} };
  }
  async run(names: CheckName[], scope: string[]) {
    this.rounds.push({ names, scope });
    const failed = this.failWhen(names, scope);
    if (failed) return failed;
    return names.map((check) => ({ check, status: 'pass' as const, message: 'ok', durationMs: 0 }));
  }
}

/** A clock whose sleeps advance time instantly. */
export function fakeClock(start = Date.parse('2026-11-28T22:00:00Z')): Clock {
  let now = start;
  return {
    now: () => now,
    sleep: async (ms) => {
      now += ms;
    },
  };
}

export class EventLog implements RunReporter {
  events: RunEvent[] = [];
  onEvent(event: RunEvent) {
    this.events.push(event);
  }
  ofType<T extends RunEvent['type']>(type: T): Extract<RunEvent, { type: T }>[] {
    return this.events.filter((e): e is Extract<RunEvent, { type: T }> => e.type === type);
  }
}
