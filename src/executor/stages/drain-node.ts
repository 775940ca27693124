import { ConnectionError } from '../../errors.js';
import type { Clock } from '../../shared/clock.js';
import { type WaitHeartbeat, waitUntil } from '../../shared/wait-until.js';
import type { SwarmApi, SwarmNode, SwarmService, SwarmTask } from '../../transport/types.js';
import type { EventWaker } from '../event-waker.js';

/** Task states in which a task still occupies its node. */
const ACTIVE_TASK_STATES = new Set([
  'new',
  'pending',
  'assigned',
  'accepted',
  'preparing',
  'ready',
  'starting',
  'running',
]);

/** A task meant to run that still occupies its node (any state from `new` to `running`). */
export function isLiveTask(t: SwarmTask): boolean {
  return t.desiredState === 'running' && ACTIVE_TASK_STATES.has(t.state);
}

export interface ConvergenceReport {
  /** Tasks still on the node that should have moved. */
  tasksOnNode: { service: string; task: string; state: string; name?: string }[];
  /**
   * Services below their desired count, with Swarm's own reason from the tasks that are not
   * running (`pending: no suitable node (max replicas per node limit exceed)`).
   */
  belowCount: { service: string; running: number; desired: number; reasons?: string[] }[];
}

/**
 * Is the node empty of service tasks, and is every service back at full count?
 * A task being shut down (desired state `shutdown`) still counts until its state says it is
 * gone; and when the node's own engine answers, no task container may still run there.
 */
export async function assessDrain(
  swarm: SwarmApi,
  nodeId: string,
  engine?: SwarmApi,
): Promise<ConvergenceReport> {
  const [services, tasks, nodes, containers] = await Promise.all([
    swarm.listServices(),
    swarm.listTasks(),
    swarm.listNodes(),
    engine ? engine.listContainers().catch(() => undefined) : Promise.resolve(undefined),
  ]);
  const names = new Map(services.map((s) => [s.id, s.name]));
  const tasksOnNode = tasks
    .filter((t) => t.nodeId === nodeId && ACTIVE_TASK_STATES.has(t.state))
    .map((t) => {
      const service = names.get(t.serviceId) ?? t.serviceId;
      return { service, task: t.id, state: t.state, ...(t.slot ? { name: `${service}.${t.slot}` } : {}) };
    });
  for (const c of containers ?? []) {
    if (c.swarmTask) tasksOnNode.push({ service: c.name, task: c.id, state: 'container still running' });
  }
  return { tasksOnNode, belowCount: servicesBelowCount(services, tasks, nodes) };
}

/** Replicated: running == replicas. Global: one running task per schedulable node (or API counts). */
export function servicesBelowCount(
  services: SwarmService[],
  tasks: SwarmTask[],
  nodes: SwarmNode[],
): ConvergenceReport['belowCount'] {
  const below: ConvergenceReport['belowCount'] = [];
  const schedulable = new Set(
    nodes.filter((n) => n.state === 'ready' && n.availability === 'active').map((n) => n.id),
  );
  for (const service of services) {
    const running = tasks.filter(
      (t) => t.serviceId === service.id && t.desiredState === 'running' && t.state === 'running',
    );
    const reasons = () => schedulerReasons(tasks.filter((t) => t.serviceId === service.id));
    if (service.mode === 'replicated') {
      const desired = service.replicas ?? 0;
      if (running.length < desired)
        below.push({ service: service.name, running: running.length, desired, reasons: reasons() });
    } else if (service.mode === 'global') {
      // The API's own desired count honours constraints; fall back to schedulable nodes.
      const desired = service.desiredTasks ?? schedulable.size;
      const onSchedulable = running.filter((t) => t.nodeId && schedulable.has(t.nodeId)).length;
      if (onSchedulable < desired)
        below.push({ service: service.name, running: onSchedulable, desired, reasons: reasons() });
    }
  }
  return below;
}

/**
 * Swarm's own words for the tasks meant to run that do not: `pending: no suitable node (…)`.
 * The error says why when there is one; the message says where the task is stuck otherwise.
 */
export function schedulerReasons(tasks: SwarmTask[]): string[] {
  const reasons = tasks
    .filter((t) => t.desiredState === 'running' && t.state !== 'running')
    .map((t) => `${t.state}: ${t.error || t.message || 'no message from swarm'}`);
  return [...new Set(reasons)].slice(0, 3);
}

export interface DrainOutcome {
  ok: boolean;
  waitedMs: number;
  tasksMoved: number;
  report: ConvergenceReport;
}

/**
 * Set the node to drain (with its version index, so a concurrent edit is detected) and wait
 * until its tasks have moved and every service is back at full count.
 */
export async function drainNode(
  swarm: SwarmApi,
  node: SwarmNode,
  options: {
    timeoutMs: number;
    clock: Clock;
    waker?: EventWaker;
    signal?: AbortSignal;
    engine?: SwarmApi;
    /** Called as soon as the node is set to drain, before the wait (which may fail or hang). */
    onDrainSet?: (tasksToMove: number) => void;
    /**
     * Called once, as soon as no task is left on the node, before the wait for full counts: the
     * moment to set back replica counts raised to start replacements first.
     */
    whenNodeEmpty?: () => Promise<void>;
    heartbeat?: WaitHeartbeat<ConvergenceReport>;
  },
): Promise<DrainOutcome> {
  const before = await assessDrain(swarm, node.id);
  await swarm.setNodeAvailability(node.id, node.version, 'drain');
  options.onDrainSet?.(before.tasksOnNode.length);
  let emptied = false;
  const result = await waitUntil(
    waitClock(options),
    options.timeoutMs,
    async () => {
      let report = await assessDrain(swarm, node.id, options.engine);
      if (!emptied && report.tasksOnNode.length === 0 && options.whenNodeEmpty) {
        emptied = true;
        await options.whenNodeEmpty();
        report = await assessDrain(swarm, node.id, options.engine);
      }
      return { done: report.tasksOnNode.length === 0 && report.belowCount.length === 0, value: report };
    },
    {
      pollMs: 250,
      ...(options.waker ? { wake: options.waker.next } : {}),
      ...(options.heartbeat ? { heartbeat: options.heartbeat } : {}),
    },
  );
  return {
    ok: result.done,
    waitedMs: result.waitedMs,
    tasksMoved: before.tasksOnNode.length,
    report: result.value,
  };
}

/**
 * Set the node back to active and wait until it is Ready/Active and the scheduler has placed
 * its global tasks again (the sign that tasks can be scheduled on it).
 */
export async function activateNode(
  swarm: SwarmApi,
  nodeName: string,
  options: {
    timeoutMs: number;
    clock: Clock;
    waker?: EventWaker;
    signal?: AbortSignal;
    heartbeat?: WaitHeartbeat<string>;
  },
): Promise<{ ok: boolean; waitedMs: number; detail: string }> {
  const node = await findNode(swarm, nodeName);
  if (node.availability !== 'active') await swarm.setNodeAvailability(node.id, node.version, 'active');
  const result = await waitUntil(
    waitClock(options),
    options.timeoutMs,
    async () => {
      const current = await findNode(swarm, nodeName);
      if (current.state !== 'ready' || current.availability !== 'active') {
        return { done: false, value: `node is ${current.state}/${current.availability}` };
      }
      const [services, tasks] = await Promise.all([
        swarm.listServices(),
        swarm.listTasks({ node: current.id }),
      ]);
      // An unconstrained global service must run here again; constrained ones may not.
      const expected = services
        .filter((s) => s.mode === 'global' && s.constraints.length === 0)
        .filter((s) => !tasks.some((t) => t.serviceId === s.id && t.state === 'running'))
        .map((s) => s.name);
      return expected.length === 0
        ? { done: true, value: 'Ready, Active, global tasks running' }
        : { done: false, value: `waiting for global task(s) ${expected.join(', ')}` };
    },
    {
      pollMs: 250,
      ...(options.waker ? { wake: options.waker.next } : {}),
      ...(options.heartbeat ? { heartbeat: options.heartbeat } : {}),
    },
  );
  return { ok: result.done, waitedMs: result.waitedMs, detail: result.value };
}

/** The clock and cancel signal of a stage, as `waitUntil` takes them. */
export function waitClock(options: { clock: Clock; signal?: AbortSignal }) {
  return {
    now: () => options.clock.now(),
    sleep: options.clock.sleep,
    ...(options.signal ? { signal: options.signal } : {}),
  };
}

export async function findNode(swarm: SwarmApi, name: string): Promise<SwarmNode> {
  const nodes = await swarm.listNodes();
  const node = nodes.find((n) => n.hostname === name);
  // Not a halt decision: inside a stage it is a failure the operator may retry or skip.
  if (!node) throw new ConnectionError(`node ${name} is not in the swarm any more`);
  return node;
}

/** `1 task still on the node: web.2 (running); below count: web 1/2 (swarm: pending: no suitable node …)`. */
export function describeConvergence(report: ConvergenceReport): string {
  const parts: string[] = [];
  const on = report.tasksOnNode;
  if (on.length > 0) {
    const tasks = on.map((t) => `${t.name ?? t.service} (${t.state})`).join(', ');
    parts.push(`${on.length} task${on.length === 1 ? '' : 's'} still on the node: ${tasks}`);
  }
  if (report.belowCount.length > 0) {
    const below = report.belowCount.map((b) => {
      const why = b.reasons && b.reasons.length > 0 ? ` (swarm: ${b.reasons.join('; ')})` : '';
      return `${b.service} ${b.running}/${b.desired}${why}`;
    });
    parts.push(`below count: ${below.join(', ')}`);
  }
  return parts.join('; ') || 'converged';
}
