// A little over ~400 lines: the planner is one pure pass (targets, order, stages, warnings) whose
// helpers share its types; the stage planners are a table typed over the stage kinds.
import { SafetyRefusal } from '../errors.js';
import { renderCommand, type SubstitutionScope } from '../runbook/substitute.js';
import type { CheckName, Runbook, SkipCondition, Stage } from '../runbook/types.js';
import { type PreviousRun, resolveContinueFrom } from './continue-from.js';
import { planSkipConditions } from './skip-conditions.js';
import { planTrafficWarnings } from './traffic-warnings.js';
import type {
  ClusterFacts,
  ClusterNodeFacts,
  Plan,
  PlannedBatch,
  PlannedCommand,
  PlannedNode,
  PlannedStage,
} from './types.js';

/**
 * The pure planner: runbook + cluster facts → the exact, ordered plan. `plan` prints it and
 * `run` executes it, so the preview is what runs. No I/O here.
 *
 * Safety rules enforced (each refusal says why and what to do):
 * - managers strictly one at a time, and never while another manager is unreachable or down;
 * - the leader goes last;
 * - workers in batches of `rollout.concurrency`.
 */
export function planRollout(
  runbook: Runbook,
  facts: ClusterFacts,
  /** The time the plan is made for (the caller reads the clock; the planner stays pure). */
  options: {
    now?: number;
    /** `run --continue-from`: the earlier run, and this runbook's absolute path (journals record those). */
    continueFrom?: { previous: PreviousRun; runbookFile: string };
  } = {},
): Plan {
  const warnings: string[] = [];
  refuseDuplicateHostnames(facts.nodes);
  const { selected, skipped } = selectTargets(runbook, facts.nodes);
  refuseUnsafeManagers(facts.nodes, selected);

  const ordered = orderNodes(runbook, selected, warnings);
  const batches = batchNodes(ordered, runbook.rollout.concurrency);
  const leader = facts.nodes.find((n) => n.role === 'manager' && n.leader) ?? null;
  const continued = options.continueFrom
    ? resolveContinueFrom(
        options.continueFrom.previous,
        { name: runbook.name, file: options.continueFrom.runbookFile, hash: runbook.hash },
        facts.nodes,
      )
    : undefined;

  const nodes: PlannedNode[] = [];
  let position = 0;
  for (const batch of batches) {
    for (const name of batch.nodes) {
      const node = selected.find((n) => n.hostname === name)!;
      position += 1;
      const planned = planNode(runbook, node, position, batch, batches.length);
      const skip = continued?.skip[name];
      nodes.push(skip ? { ...planned, skip: { reason: skip } } : planned);
    }
  }
  if (selected.length === 0) warnings.push('no node matches the runbook targets: nothing to do');
  const managerCount = facts.nodes.filter((n) => n.role === 'manager').length;
  if (managerCount === 1 && selected.some((n) => n.role === 'manager')) {
    warnings.push('single-manager swarm: the control plane is unavailable while the manager is maintained');
  }
  warnings.push(...describeRolloutWarnings(runbook, selected, options.now));

  return {
    formatVersion: 1,
    runbook: {
      name: runbook.name,
      file: runbook.file,
      hash: runbook.hash,
      ...(runbook.description ? { description: runbook.description } : {}),
    },
    cluster: {
      source: facts.source,
      origin: facts.origin,
      nodes: facts.nodes.length,
      managers: facts.nodes.filter((n) => n.role === 'manager').length,
      leader: leader?.hostname ?? null,
    },
    rollout: {
      concurrency: runbook.rollout.concurrency,
      soakBetweenNodesMs: runbook.rollout.soakBetweenNodesMs,
      ...(runbook.rollout.window?.start ? { windowStart: runbook.rollout.window.start.toISOString() } : {}),
      ...(runbook.rollout.window?.end ? { windowEnd: runbook.rollout.window.end.toISOString() } : {}),
    },
    checks: {
      preflight: runbook.checks.preflight,
      between: runbook.checks.between,
      afterNode: runbook.checks.afterNode,
    },
    variables: runbook.variables.map((v) => ({
      name: v.name,
      value:
        v.value === undefined
          ? `<unset: $${v.source.type === 'env' ? v.source.env : v.name}>`
          : v.secret
            ? '*****'
            : v.value,
      secret: v.secret,
      source:
        v.source.type === 'env'
          ? `env ${v.source.env}${v.source.usedDefault ? ' (default)' : ''}`
          : 'runbook',
    })),
    batches,
    nodes,
    ...(continued ? { continueFrom: continued.summary } : {}),
    skipped,
    warnings,
    // Only live facts say where tasks run; an inventory plan says nothing about traffic.
    ...(facts.tasks ? { traffic: planTrafficWarnings(nodes, facts) } : {}),
    ...(runbook.notify.length > 0
      ? {
          notify: runbook.notify.map((hook) => ({
            host: hook.host,
            format: hook.format,
            events: hook.events,
            required: hook.required,
          })),
        }
      : {}),
  };
}

/**
 * Everything the plan is keyed on is the hostname. Two live entries with one hostname (a
 * replaced node beside its stale Down entry) would make every step ambiguous: refuse, naming
 * the node IDs that clash.
 */
export function refuseDuplicateHostnames(nodes: ClusterNodeFacts[]): void {
  const byName = new Map<string, ClusterNodeFacts[]>();
  for (const node of nodes) byName.set(node.hostname, [...(byName.get(node.hostname) ?? []), node]);
  const clashes = [...byName.entries()].filter(([, entries]) => entries.length > 1);
  if (clashes.length === 0) return;
  const described = clashes.map(
    ([name, entries]) =>
      `\`${name}\` is node ${entries.map((n) => `${n.id} (${n.state}, ${n.availability})`).join(' and ')}`,
  );
  const stale = clashes.flatMap(([, entries]) => entries.filter((n) => n.state !== 'ready').map((n) => n.id));
  throw new SafetyRefusal(`the swarm lists a hostname more than once: ${described.join('; ')}`, {
    hint: stale.length
      ? `a replaced node's stale entry? remove it from a manager: docker node rm ${stale.join(' ')}`
      : 'give every node its own hostname, or remove the stale entry with `docker node rm <id>`',
  });
}

/** Things worth saying before a run: a window already over, an unset variable, more concurrency than workers. */
function describeRolloutWarnings(
  runbook: Runbook,
  selected: ClusterNodeFacts[],
  now: number | undefined,
): string[] {
  const warnings: string[] = [];
  const end = runbook.rollout.window?.end;
  if (end && now !== undefined && end.getTime() < now) {
    warnings.push(
      `the maintenance window ended at ${end.toISOString()}: \`drydock run\` will refuse to start`,
    );
  }
  for (const v of runbook.variables) {
    if (v.value !== undefined || v.source.type !== 'env') continue;
    warnings.push(
      `variable \`${v.name}\`${v.secret ? ' (secret)' : ''} has no value: environment variable $${v.source.env} is not set, so a stage that uses it will halt: export it before \`drydock run\``,
    );
  }
  const workers = selected.filter((n) => n.role === 'worker').length;
  const { concurrency } = runbook.rollout;
  if (concurrency > 1 && concurrency > workers) {
    warnings.push(
      `rollout.concurrency is ${concurrency} but only ${workers} worker${workers === 1 ? ' is' : 's are'} targeted: ${workers === 0 ? 'it has no effect' : `batches hold ${workers} at most`}`,
    );
  }
  return warnings;
}

/** Apply `targets` (roles, labels, names, exclude); say why every other node is left alone. */
export function selectTargets(
  runbook: Runbook,
  nodes: ClusterNodeFacts[],
): { selected: ClusterNodeFacts[]; skipped: { name: string; reason: string }[] } {
  const { roles, labels, names, exclude } = runbook.targets;
  const selected: ClusterNodeFacts[] = [];
  const skipped: { name: string; reason: string }[] = [];
  const known = new Set(nodes.map((n) => n.hostname));
  for (const wanted of [...(names ?? []), ...exclude, ...(runbook.rollout.order ?? [])]) {
    if (!known.has(wanted)) {
      throw new SafetyRefusal(`the runbook names node \`${wanted}\`, which is not in the cluster`, {
        hint: `known nodes: ${[...known].sort().join(', ')}`,
      });
    }
  }
  for (const node of nodes) {
    const reason = exclude.includes(node.hostname)
      ? 'excluded by targets.exclude'
      : !roles.includes(node.role)
        ? `role ${node.role} not in targets.roles`
        : names && !names.includes(node.hostname)
          ? 'not in targets.names'
          : Object.entries(labels).find(([k, v]) => node.labels[k] !== v)
            ? `labels do not match ${formatLabels(labels)}`
            : null;
    if (reason) skipped.push({ name: node.hostname, reason });
    else selected.push(node);
  }
  return { selected, skipped };
}

/**
 * Refuse a plan that would take a manager down while quorum is already at risk: any other
 * manager unreachable or not ready means losing one more could lose quorum.
 */
export function refuseUnsafeManagers(all: ClusterNodeFacts[], selected: ClusterNodeFacts[]): void {
  const managers = all.filter((n) => n.role === 'manager');
  const selectedManagers = selected.filter((n) => n.role === 'manager');
  if (selectedManagers.length === 0) return;
  const unhealthy = managers.filter((m) => m.reachability !== 'reachable' || m.state !== 'ready');
  if (unhealthy.length > 0) {
    const list = unhealthy
      .map((m) => `${m.hostname} (${m.reachability ?? 'unknown'}, ${m.state})`)
      .join(', ');
    throw new SafetyRefusal(`refusing to plan manager maintenance: manager ${list} is not healthy`, {
      hint: 'restore every manager to Ready/reachable first, or exclude managers with targets.roles: [worker]',
    });
  }
  const leaders = managers.filter((m) => m.leader);
  if (leaders.length !== 1) {
    throw new SafetyRefusal(
      `refusing to plan manager maintenance: found ${leaders.length} leaders, expected 1`,
      {
        hint: 'wait for the swarm to elect a leader and re-run',
      },
    );
  }
  if (managers.length === 2) {
    // Two managers have a quorum of two: taking either down stops the control plane.
    throw new SafetyRefusal(
      'refusing to plan manager maintenance: a 2-manager swarm loses quorum with one down',
      {
        hint: 'add a third manager, or maintain workers only (targets.roles: [worker])',
      },
    );
  }
}

/** Workers first (explicit order respected), then managers one by one, the leader last. */
function orderNodes(runbook: Runbook, selected: ClusterNodeFacts[], warnings: string[]): ClusterNodeFacts[] {
  const explicit = runbook.rollout.order;
  const rank = (n: ClusterNodeFacts) => {
    const i = explicit?.indexOf(n.hostname) ?? -1;
    return i === -1 ? Number.MAX_SAFE_INTEGER : i;
  };
  const byExplicitThenName = (a: ClusterNodeFacts, b: ClusterNodeFacts) =>
    rank(a) - rank(b) || a.hostname.localeCompare(b.hostname, 'en', { numeric: true });
  const workers = selected.filter((n) => n.role === 'worker').sort(byExplicitThenName);
  const managers = selected.filter((n) => n.role === 'manager' && !n.leader).sort(byExplicitThenName);
  const leader = selected.filter((n) => n.role === 'manager' && n.leader);
  const ordered = [...workers, ...managers, ...leader];
  if (explicit) {
    const asWritten = explicit.filter((name) => selected.some((n) => n.hostname === name));
    const asPlanned = ordered.map((n) => n.hostname).filter((name) => asWritten.includes(name));
    if (asWritten.join() !== asPlanned.join()) {
      warnings.push(
        `rollout.order adjusted for safety (workers before managers, leader last): ${asPlanned.join(', ')}`,
      );
    }
  }
  return ordered;
}

function batchNodes(ordered: ClusterNodeFacts[], concurrency: number): PlannedBatch[] {
  const batches: PlannedBatch[] = [];
  for (const node of ordered) {
    const last = batches.at(-1);
    const fits = last && node.role === 'worker' && last.role === 'worker' && last.nodes.length < concurrency;
    if (fits) last.nodes.push(node.hostname);
    else batches.push({ number: batches.length + 1, role: node.role, nodes: [node.hostname] });
  }
  return batches;
}

function planNode(
  runbook: Runbook,
  node: ClusterNodeFacts,
  position: number,
  batch: PlannedBatch,
  batchCount: number,
): PlannedNode {
  const reason =
    node.role === 'worker'
      ? `worker, batch ${batch.number} of ${batchCount}${batch.nodes.length > 1 ? ` (${batch.nodes.length} in parallel)` : ''}`
      : node.leader
        ? `leader, last (batch ${batch.number} of ${batchCount})`
        : `manager, one at a time (batch ${batch.number} of ${batchCount})`;
  const notes: string[] = [];
  if (node.availability !== 'active') {
    notes.push(
      `was ${node.availability} before the run: drydock will not re-activate it (it stays ${node.availability})`,
    );
  }
  if (node.state !== 'ready')
    notes.push(`state is ${node.state}: pre-flight will refuse unless --force-preflight`);
  const scope: StageScope = {
    variables: runbook.variables,
    node,
    runbook: { name: runbook.name },
    sudo: runbook.connection.ssh.sudo,
  };
  const stages = runbook.stages.map((stage, index) =>
    planStage(stage, index, scope, node, runbook.checks.between),
  );
  return {
    name: node.hostname,
    id: node.id,
    address: node.address,
    role: node.role,
    leader: node.leader,
    availabilityBefore: node.availability,
    position,
    batch: batch.number,
    reason,
    notes,
    stages,
  };
}

function planCommand(template: string, scope: SubstitutionScope): PlannedCommand {
  const rendered = renderCommand(template, scope, { reveal: false });
  return { template, display: rendered.text, hasSecrets: rendered.hasSecrets };
}

/** One handler per stage kind; the mapped type makes a new kind fail to compile until handled. */
type StagePlanners = {
  [K in Stage['kind']]: (
    stage: Extract<Stage, { kind: K }>,
    base: BaseStage,
    scope: StageScope,
    node: ClusterNodeFacts,
  ) => PlannedStage;
};
/** Substitution scope plus the connection facts a stage plan needs. */
type StageScope = SubstitutionScope & { sudo: boolean };

interface BaseStage {
  index: number;
  name: string;
  description?: string;
  checksAfter: CheckName[];
  conditions: string[];
}

const stagePlanners: StagePlanners = {
  drain: (stage, base, _scope, node) => ({
    ...base,
    kind: 'drain',
    timeoutMs: stage.timeoutMs,
    moveFirst: stage.moveFirst,
    moveTimeoutMs: stage.moveTimeoutMs,
    ...(node.availability === 'drain'
      ? { skipReason: 'already drained before the run: left as is, and it will not be re-activated' }
      : {}),
    conditions: [
      ...base.conditions,
      'waits until no task runs on the node and every service is at full count',
    ],
  }),
  run: (stage, base, scope) => ({
    ...base,
    kind: 'run',
    commands: stage.commands.map((c) => planCommand(c, scope)),
    sudo: stage.sudo,
    timeoutMs: stage.timeoutMs,
    retries: stage.retries,
    retryDelayMs: stage.retryDelayMs,
    ...planSkipIf(stage.skipIf, scope),
  }),
  local: (stage, base, scope) => ({
    ...base,
    kind: 'local',
    commands: stage.commands.map((c) => planCommand(c, scope)),
    timeoutMs: stage.timeoutMs,
    retries: stage.retries,
    retryDelayMs: stage.retryDelayMs,
    ...(stage.until
      ? {
          until: {
            command: planCommand(stage.until.command, scope),
            timeoutMs: stage.until.timeoutMs,
            intervalMs: stage.until.intervalMs,
          },
        }
      : {}),
    conditions: [...base.conditions, "runs on the operator's machine, not on the node"],
  }),
  reboot: (stage, base, scope) => ({
    ...base,
    kind: 'reboot',
    when: stage.when,
    requiredFile: stage.requiredFile,
    command: planCommand(stage.command, scope),
    engineLog: planCommand(stage.engineLog, scope),
    sudo: scope.sudo,
    returnTimeoutMs: stage.returnTimeoutMs,
    ...planSkipIf(stage.skipIf, scope),
    conditions: [
      ...base.conditions,
      ...(stage.when === 'if-required' ? [`reboot only if ${stage.requiredFile} exists on the node`] : []),
      'confirms the boot id changed after the node returns',
    ],
  }),
  activate: (stage, base, _scope, node) => ({
    ...base,
    kind: 'activate',
    timeoutMs: stage.timeoutMs,
    ...(node.availability !== 'active'
      ? { skipReason: `was ${node.availability} before the run: drydock only re-activates nodes it drained` }
      : {}),
  }),
  checks: (stage, base) => ({ ...base, kind: 'checks', run: stage.run }),
  pause: (stage, base) => ({
    ...base,
    kind: 'pause',
    durationMs: stage.durationMs,
    ...(stage.reason ? { reason: stage.reason } : {}),
  }),
  prompt: (stage, base) => ({
    ...base,
    kind: 'prompt',
    message: stage.message,
    unattended: stage.unattended,
    conditions: [
      ...base.conditions,
      `interactive: asks the operator; unattended: ${stage.unattended === 'halt' ? 'halts' : 'continues'}`,
    ],
  }),
};

function planSkipIf(conditions: readonly SkipCondition[], scope: StageScope) {
  return conditions.length > 0 ? { skipIf: planSkipConditions(conditions, scope) } : {};
}

function planStage(
  stage: Stage,
  index: number,
  scope: StageScope,
  node: ClusterNodeFacts,
  between: CheckName[],
): PlannedStage {
  const base: BaseStage = {
    index,
    name: stage.name,
    ...(stage.description ? { description: stage.description } : {}),
    checksAfter: stage.checks ? between : [],
    conditions: [],
  };
  const planner = stagePlanners[stage.kind] as (
    s: Stage,
    b: BaseStage,
    sc: StageScope,
    n: ClusterNodeFacts,
  ) => PlannedStage;
  return planner(stage, base, scope, node);
}

function formatLabels(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}
