import { readIngressBackends, taskIps } from '../../checks/ipvs-backends.js';
import type { PlannedNode } from '../../plan/types.js';
import { formatDuration } from '../../shared/format-duration.js';
import { NODE_POLL_SPACING, waitUntil } from '../../shared/wait-until.js';
import type { SwarmApi, SwarmNode, SwarmService, SwarmTask } from '../../transport/types.js';
import type { EventWaker } from '../event-waker.js';
import type { ScaledService } from '../events.js';
import { isLiveTask, schedulerReasons, waitClock } from './drain-node.js';
import type { PlannedStageOf, StageContext } from './types.js';

/**
 * "Move first": a plain drain stops a node's tasks and starts their replacements at the same
 * time, so capacity dips and single-replica services go down. Instead the node is paused (no new
 * tasks land on it), each replicated service with tasks there is scaled up by that many, and the
 * drain waits until the replacements run (Swarm reports `running` only once a HEALTHCHECK
 * passes) and every node's IPVS routes to them. The counts are set back once the node is empty.
 */

/** Replicated services with live tasks on the node, each to be scaled up by its count there. */
export function planReplacements(
  services: SwarmService[],
  tasks: SwarmTask[],
  nodeId: string,
): ScaledService[] {
  return services
    .filter((s) => s.mode === 'replicated' && s.replicas !== undefined)
    .map((s) => {
      const onNode = tasks.filter((t) => t.serviceId === s.id && t.nodeId === nodeId && isLiveTask(t)).length;
      return { id: s.id, name: s.name, from: s.replicas!, to: s.replicas! + onNode };
    })
    .filter((s) => s.to > s.from)
    .sort((a, b) => a.name.localeCompare(b.name));
}

export interface ReplacementState {
  service: ScaledService;
  /** The new tasks that run (as many as were asked for), when they all do. */
  running: SwarmTask[] | undefined;
  /** Swarm cannot place them (`no suitable node …`): waiting is pointless. */
  unplaceable: string | undefined;
  /** Some are placed and on their way (`preparing`, `starting` until a HEALTHCHECK passes). */
  starting: boolean;
  /** What is still missing, for the heartbeat. */
  missing: string;
}

/** How far each scaled service's replacements got: new tasks (not in `before`) off the node. */
export function assessReplacements(
  scaled: ScaledService[],
  tasks: SwarmTask[],
  nodeId: string,
  before: Set<string>,
): ReplacementState[] {
  return scaled.map((service) => {
    const fresh = tasks.filter(
      (t) =>
        t.serviceId === service.id &&
        !before.has(t.id) &&
        t.desiredState === 'running' &&
        t.nodeId !== nodeId,
    );
    const running = fresh.filter((t) => t.state === 'running');
    const need = service.to - service.from;
    const reasons = schedulerReasons(tasks.filter((t) => t.serviceId === service.id));
    // Any one task Swarm cannot place says enough: the scale-up cannot complete.
    const stuckTask = tasks.find(
      (t) =>
        t.serviceId === service.id &&
        t.desiredState === 'running' &&
        t.state === 'pending' &&
        /no suitable node/i.test(`${t.error ?? ''} ${t.message ?? ''}`),
    );
    const stuck = stuckTask ? `pending: ${stuckTask.error || stuckTask.message}` : undefined;
    const short = running.length < need;
    return {
      service,
      running: short ? undefined : running.slice(0, need),
      unplaceable: short ? stuck : undefined,
      starting: short && !stuck && fresh.some((t) => t.state !== 'running' && isLiveTask(t)),
      missing: `${service.name} ${running.length}/${need} new task(s) running${reasons.length > 0 ? ` (swarm: ${reasons.join('; ')})` : ''}`,
    };
  });
}

/** Every node's IPVS backends at once (one exec per node, over its reused connection). */
function readBackendsOf(run: StageContext, nodes: string[]) {
  return Promise.all(
    nodes.map(async (name) => {
      const shell = await run.cluster.shellOf(name);
      return { name, backends: await readIngressBackends(shell, { sudo: run.sudo, timeoutMs: 30_000 }) };
    }),
  );
}

/**
 * The ready nodes whose routing mesh does not yet send traffic to every one of `ips`, as
 * "node3 lacks 10.0.0.12". Empty when every node routes to them, or when no node has a mesh
 * (a kernel without IPVS publishes in host mode: there is nothing to wait for).
 */
export async function nodesNotRoutingTo(
  run: StageContext,
  nodes: string[],
  ips: string[],
): Promise<string[]> {
  if (ips.length === 0) return [];
  const readings = await readBackendsOf(run, nodes);
  const missing: string[] = [];
  for (const { name, backends } of readings) {
    if (backends.kind === 'no-mesh') continue;
    if (backends.kind === 'no-sandbox') missing.push(`${name} has no ingress sandbox yet`);
    else {
      const lacks = ips.filter((ip) => !backends.ips.has(ip));
      if (lacks.length > 0) missing.push(`${name} lacks ${lacks.join(', ')}`);
    }
  }
  return missing;
}

/** The ready nodes still routing to any of `ips` (tasks that were on the drained node), as "node1 → 10.0.0.7". */
export async function nodesStillRoutingTo(
  run: StageContext,
  nodes: string[],
  ips: string[],
): Promise<string[]> {
  if (ips.length === 0) return [];
  const readings = await readBackendsOf(run, nodes);
  return readings.flatMap(({ name, backends }) => {
    if (backends.kind !== 'backends') return [];
    const stale = ips.filter((ip) => backends.ips.has(ip));
    return stale.length > 0 ? [`${name} → ${stale.join(', ')}`] : [];
  });
}

/**
 * Set the services back to their operator's counts, each only if it is still at the run's
 * count (someone may have scaled it since: then it is left as they set it, with a note).
 */
export async function restoreReplicas(
  swarm: SwarmApi,
  services: ScaledService[],
  node: string,
  run: StageContext,
  stage: string,
): Promise<void> {
  if (services.length === 0) return;
  for (const s of services) {
    const set = await swarm.scaleService(s.id, s.from, s.to).catch((error: Error) => {
      // A service removed meanwhile has nothing to set back.
      if (/no such service|not found/i.test(error.message)) return false;
      throw error;
    });
    if (!set) run.note(node, `${s.name} is no longer at ${s.to} replicas: left as someone set it`, stage);
  }
  run.emit({ type: 'replicas', node, action: 'restored', services, at: run.at() });
}

/**
 * Pause the node, scale up, and wait (bounded) for the replacements. Returns the services whose
 * replacements run and are routed to: they are set back after the drain. A service Swarm cannot
 * place, or that is not ready in time, is set back at once and drained the plain way, with a note:
 * moving first is an improvement on a drain, never a reason to halt one.
 */
export async function startReplacementsFirst(
  swarm: SwarmApi,
  target: SwarmNode,
  tasks: SwarmTask[],
  stage: PlannedStageOf<'drain'>,
  node: PlannedNode,
  run: StageContext,
  waker: EventWaker,
): Promise<ScaledService[]> {
  const services = await swarm.listServices();
  const planned = planReplacements(services, tasks, target.id);
  if (planned.length === 0) return [];
  await swarm.setNodeAvailability(target.id, target.version, 'pause');
  run.emit({ type: 'paused', node: node.name, nodeId: target.id, at: run.at() });
  run.state.expectedAvailability[node.name] = 'pause';
  // Journaled before the change: a crash mid-way is still set back by a resume.
  run.emit({ type: 'replicas', node: node.name, action: 'scaled-up', services: planned, at: run.at() });
  const before = new Set(tasks.map((t) => t.id));
  let pending: ScaledService[] = [];
  const untouched: ScaledService[] = [];
  for (const s of planned) {
    if (await swarm.scaleService(s.id, s.to, s.from)) pending.push(s);
    else {
      untouched.push(s);
      run.note(node.name, `${s.name} changed meanwhile: not moved first`, stage.name);
    }
  }
  if (untouched.length > 0) {
    run.emit({ type: 'replicas', node: node.name, action: 'restored', services: untouched, at: run.at() });
  }
  const ingress = new Set(services.filter((s) => s.ports.some((p) => p.mode === 'ingress')).map((s) => s.id));
  const giveUp = async (services: ScaledService[], why: string) => {
    pending = pending.filter((p) => !services.includes(p));
    await restoreReplicas(swarm, services, node.name, run, stage.name);
    run.note(
      node.name,
      `${services.map((s) => s.name).join(', ')} not moved first (${why}): drained the plain way`,
      stage.name,
    );
  };
  let last: ReplacementState[] = [];
  const attempt = async () => {
    const states = assessReplacements(pending, await swarm.listTasks(), target.id, before);
    last = states;
    for (const s of states.filter((x) => x.unplaceable)) await giveUp([s.service], `swarm: ${s.unplaceable}`);
    const waiting = states.filter((s) => !s.unplaceable && !s.running).map((s) => s.missing);
    if (waiting.length > 0) return { done: false, value: waiting.join('; ') };
    const ips = states
      .filter((s) => s.running && ingress.has(s.service.id))
      .flatMap((s) => s.running!.flatMap((t) => taskIps(t.ingressAddresses ?? t.addresses)));
    const ready = (await swarm.listNodes()).filter((n) => n.state === 'ready').map((n) => n.hostname);
    const unrouted = await nodesNotRoutingTo(run, ready, ips);
    return unrouted.length === 0
      ? { done: true, value: '' }
      : { done: false, value: `replacements running, not yet routed to: ${unrouted.join('; ')}` };
  };
  const waitFor = (timeoutMs: number) =>
    waitUntil(waitClock({ clock: run.clock, signal: run.cancelSignal }), timeoutMs, attempt, {
      // Each round reads every node's IPVS over SSH: not more often than every 2 s (Swarm events wake it sooner).
      pollMs: 2000,
      spacing: NODE_POLL_SPACING,
      wake: waker.next,
      heartbeat: run.heartbeatFor(
        node.name,
        stage.name,
        'drain',
        timeoutMs,
        (missing: string) => `starting replacements before draining ${node.name}: ${missing}`,
      ),
    });
  let waitedMs = stage.moveTimeoutMs;
  let result = await waitFor(waitedMs);
  // Replacements still on their way (a slow image start, a HEALTHCHECK's start period) are worth
  // more of the drain's time: falling back now stops the node's tasks while they are the only
  // ones serving. Not so for replacements that run but are not routed to: that is the mesh.
  const more = stage.timeoutMs - stage.moveTimeoutMs;
  const stillStarting = () => last.some((s) => pending.includes(s.service) && s.starting);
  if (!result.done && more > 0 && pending.length > 0 && stillStarting() && !run.cancelSignal.aborted) {
    run.note(
      node.name,
      `replacements still starting after ${formatDuration(stage.moveTimeoutMs)} (${result.value}): waiting up to ${formatDuration(more)} more, within the drain's timeout`,
      stage.name,
    );
    result = await waitFor(more);
    waitedMs += more;
  }
  if (!result.done && pending.length > 0) {
    await giveUp([...pending], `not ready within ${formatDuration(waitedMs)}: ${result.value}`);
  }
  return pending;
}
