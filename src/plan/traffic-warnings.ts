import { formatDuration } from '../shared/format-duration.js';
import { matchConstraint } from '../shared/match-constraint.js';
import type {
  ClusterFacts,
  ClusterNodeFacts,
  PlannedNode,
  PlannedStage,
  ServiceFacts,
  TaskFacts,
  TrafficWarning,
} from './types.js';

/** Below this, a task's in-flight requests are cut when it stops (Docker's default is 10 s). */
export const SHORT_STOP_GRACE_MS = 2000;

type DrainStage = Extract<PlannedStage, { kind: 'drain' }>;

/** A node the plan drains, with its drain stage and the nodes out of service beside it. */
interface DrainedNode {
  node: PlannedNode;
  stage: DrainStage;
  /**
   * Node IDs out while it is drained: itself, its batch peers, and nodes drained earlier that
   * the plan does not re-activate.
   */
  unavailable: Set<string>;
}

/** Where one service stands while one node is drained. */
interface Room {
  /** Tasks of the service on the drained node. */
  onNode: number;
  /** Ready, active nodes its constraints allow, the drained node included when it is one. */
  eligible: number;
  /** Of those, the nodes that can take tasks while the node (and its batch) is drained. */
  others: number;
  /** Tasks those nodes can hold: Infinity without a per-node limit. */
  capacity: number;
}

/**
 * Pure: what the plan's drains do to the traffic of the services that have tasks on drained
 * nodes, and what drydock does about each (moveFirst, plain drain, halt). Nothing is said about
 * services no drain touches. Ordered by service name; per service: per drained node (plan
 * order), then healthcheck, then stop grace.
 */
export function planTrafficWarnings(nodes: PlannedNode[], facts: ClusterFacts): TrafficWarning[] {
  const tasks = (facts.tasks ?? []).filter((t) => t.nodeId);
  const drained = listDrainedNodes(nodes);
  if (drained.length === 0) return [];
  const warnings: TrafficWarning[] = [];
  const services = [...facts.services].sort((a, b) => a.name.localeCompare(b.name, 'en'));
  for (const service of services) {
    const own = tasks.filter((t) => t.service === service.name);
    const touched = drained.filter((d) => own.some((t) => t.nodeId === d.node.id));
    if (touched.length === 0) continue;
    if (service.mode === 'replicated') warnings.push(...warnReplicated(service, own, touched, facts.nodes));
    warnings.push(...warnStopGrace(service, touched));
  }
  if (warnings.length > 0 || tasks.length > 0) warnings.push(...warnSingleManager(drained, facts.nodes));
  return warnings;
}

/**
 * One manager: while it is drained, upgraded or rebooted, Swarm orchestrates nothing. A task that
 * stops elsewhere then (one its HEALTHCHECK failed, on a busy node) stays down until it is back:
 * measured on the mesh lab, a well-behaved app was out for the whole of its manager's reboot.
 */
function warnSingleManager(drained: DrainedNode[], nodes: ClusterNodeFacts[]): TrafficWarning[] {
  const managers = nodes.filter((n) => n.role === 'manager');
  const only = managers.length === 1 ? managers[0] : undefined;
  if (!only || !drained.some((d) => d.node.id === only.id)) return [];
  return [
    {
      kind: 'single-manager',
      service: '(swarm)',
      nodes: [only.hostname],
      problem: `the swarm has one manager (${only.hostname})`,
      action: `while drydock maintains it (last), nothing replaces a task that stops elsewhere, e.g. one stopped as unhealthy, until ${only.hostname} is back; three managers keep orchestration up`,
    },
  ];
}

/** Nodes whose drain stage will run: not skipped whole, and not drained before the run. */
function listDrainedNodes(nodes: PlannedNode[]): DrainedNode[] {
  const drained = nodes.flatMap((node) => {
    const stage = node.stages.find((s): s is DrainStage => s.kind === 'drain');
    return !node.skip && stage && !stage.skipReason ? [{ node, stage }] : [];
  });
  // A node the plan drains and never re-activates stays out for every later drain.
  const leftDrained = (d: { node: PlannedNode; stage: DrainStage }) =>
    !d.node.stages.some((s) => s.kind === 'activate' && !s.skipReason && s.index > d.stage.index);
  return drained.map((d) => ({
    ...d,
    unavailable: new Set(
      drained
        .filter((o) => o.node.batch === d.node.batch || (o.node.position < d.node.position && leftDrained(o)))
        .map((o) => o.node.id),
    ),
  }));
}

function warnReplicated(
  service: ServiceFacts,
  tasks: TaskFacts[],
  touched: DrainedNode[],
  all: ClusterNodeFacts[],
): TrafficWarning[] {
  const replicas = service.replicas ?? tasks.length;
  const warnings: TrafficWarning[] = [];
  for (const d of touched) {
    const room = measureRoom(service, tasks, d, all);
    // One replica: the single-replica warning says what happens to it, room or not.
    const warning =
      replicas === 1
        ? warnSingleReplica(service, d, room)
        : replicas > 1 && room
          ? warnNoRoom(service, replicas, d, room)
          : undefined;
    if (warning) warnings.push(warning);
  }
  if (service.healthcheck === 'not-in-spec' || service.healthcheck === 'disabled') {
    warnings.push({
      kind: 'no-healthcheck',
      service: service.name,
      nodes: touched.map((d) => d.node.name),
      problem:
        service.healthcheck === 'disabled'
          ? `${service.name} has its HEALTHCHECK disabled (--no-healthcheck)`
          : `${service.name} has no HEALTHCHECK in the service spec`,
      action: `drydock can only wait for its replacement${replicas === 1 ? '' : 's'} to be running, not ready to serve`,
    });
  }
  return warnings;
}

/**
 * How many tasks the other nodes can hold while `d` (and its batch) is drained. Undefined when
 * a constraint is one drydock cannot evaluate: then it says nothing rather than guess.
 */
function measureRoom(
  service: ServiceFacts,
  tasks: TaskFacts[],
  d: DrainedNode,
  all: ClusterNodeFacts[],
): Room | undefined {
  const constraints = service.constraints ?? [];
  const verdicts = all.map((n) => constraints.map((c) => matchConstraint(c, n)));
  if (verdicts.some((v) => v.includes(undefined))) return undefined;
  const eligible = all.filter(
    (n, i) =>
      n.state === 'ready' && n.availability === 'active' && (verdicts[i] ?? []).every((v) => v === true),
  );
  const others = eligible.filter((n) => !d.unavailable.has(n.id)).length;
  const max = service.maxReplicasPerNode;
  return {
    onNode: tasks.filter((t) => t.nodeId === d.node.id).length,
    eligible: eligible.length,
    others,
    capacity: max ? others * max : others > 0 ? Number.POSITIVE_INFINITY : 0,
  };
}

function warnSingleReplica(service: ServiceFacts, d: DrainedNode, room: Room | undefined): TrafficWarning {
  const name = d.node.name;
  const base = {
    kind: 'single-replica' as const,
    service: service.name,
    nodes: [name],
    problem: `${service.name} has 1 replica (on ${name})`,
  };
  const down = `${describePorts(service)} down while ${name} drains`;
  // Unknown constraints: say what drydock will try; Swarm's answer decides at run time.
  const fitsPlain = !room || room.capacity >= 1;
  const fitsMove = !room || room.capacity >= 1 + room.onNode;
  if (!fitsPlain) {
    return {
      ...base,
      action: `no other node can run it (${describeLimit(service)}): ${describePorts(service)} down, and the drain stage, which waits for every service at full count, halts after ${formatDuration(d.stage.timeoutMs)}: let it run on another node`,
    };
  }
  if (d.stage.moveFirst && fitsMove) {
    return {
      ...base,
      action: `drydock starts a second task on another node before draining ${name} and waits for it (moveFirst)`,
    };
  }
  if (d.stage.moveFirst) {
    return {
      ...base,
      action: `moveFirst cannot place a second task (${describeLimit(service)}), so drydock drains the plain way: ${down}: raise its replicas-max-per-node or make room on another node`,
    };
  }
  return {
    ...base,
    action: `drydock drains the plain way: ${down}: set moveFirst: true on the drain stage, or scale it to 2`,
  };
}

/**
 * Not enough nodes left while `d` is drained: below `replicas` the drain cannot converge;
 * below `replicas + tasks on d`, moveFirst cannot place its extra tasks and falls back.
 */
function warnNoRoom(
  service: ServiceFacts,
  replicas: number,
  d: DrainedNode,
  room: Room,
): TrafficWarning | undefined {
  const fitsPlain = room.capacity >= replicas;
  const fitsMove = room.capacity >= replicas + room.onNode;
  if (fitsPlain && (fitsMove || !d.stage.moveFirst)) return undefined;
  const name = d.node.name;
  const max = service.maxReplicasPerNode;
  const needed = fitsPlain ? replicas + room.onNode : replicas;
  const neededNodes = max ? Math.ceil(needed / max) : 1;
  const limit = max ? `at most ${max} per node, ` : '';
  const problem =
    `${service.name}: ${replicas} replicas, ${limit}${room.eligible} eligible node${room.eligible === 1 ? '' : 's'}: ` +
    `while ${name} is drained only ${room.others} can take it (${fitsPlain ? 'moveFirst needs' : 'needs'} ${neededNodes})`;
  const stop =
    room.onNode === 1
      ? `its task on ${name} stops before its replacement runs`
      : `its ${room.onNode} tasks on ${name} stop before their replacements run`;
  if (fitsPlain) {
    return {
      kind: 'no-room',
      service: service.name,
      nodes: [name],
      problem,
      action: `moveFirst cannot place an extra task, so drydock drains the plain way: ${stop}`,
    };
  }
  const short = replicas - room.capacity;
  return {
    kind: 'no-room',
    service: service.name,
    nodes: [name],
    problem,
    action:
      `${d.stage.moveFirst ? 'moveFirst cannot place an extra task either; ' : ''}` +
      `the service runs ${short} task${short === 1 ? '' : 's'} short while ${name} is drained, and the drain stage, which waits for every service at full count, halts after ${formatDuration(d.stage.timeoutMs)}: ` +
      `lower its replicas${max ? ' or raise its replicas-max-per-node' : ''}, or add a node it may run on`,
  };
}

function warnStopGrace(service: ServiceFacts, touched: DrainedNode[]): TrafficWarning[] {
  const grace = service.stopGracePeriodMs;
  if (grace === undefined || grace >= SHORT_STOP_GRACE_MS) return [];
  return [
    {
      kind: 'short-stop-grace',
      service: service.name,
      nodes: touched.map((d) => d.node.name),
      problem: `${service.name} stop-grace-period is ${formatDuration(grace)}`,
      action: `in-flight requests are cut when its tasks stop; drydock cannot lengthen it (docker service update --stop-grace-period 10s ${service.name})`,
    },
  ];
}

function describePorts(service: ServiceFacts): string {
  const ports = service.ports.map((p) => p.published);
  if (ports.length === 0) return 'it is';
  return `its published port${ports.length === 1 ? '' : 's'} ${ports.join(', ')} ${ports.length === 1 ? 'is' : 'are'}`;
}

function describeLimit(service: ServiceFacts): string {
  const parts = [
    ...(service.maxReplicasPerNode ? [`at most ${service.maxReplicasPerNode} per node`] : []),
    ...((service.constraints ?? []).length > 0 ? [`constraints ${service.constraints?.join(', ')}`] : []),
  ];
  return parts.join(', ') || 'no other ready, active node';
}

/** One warning as a line: what is wrong, then what drydock does about it. */
export function formatTrafficWarning(warning: TrafficWarning): string {
  return `${warning.problem}: ${warning.action}`;
}
