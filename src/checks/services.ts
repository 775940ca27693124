import { formatDuration } from '../shared/format-duration.js';
import { matchConstraint } from '../shared/match-constraint.js';
import { waitUntil } from '../shared/wait-until.js';
import type { SwarmApi, SwarmNode, SwarmService, SwarmTask } from '../transport/types.js';
import type { CheckContext, CheckDefinition, CheckResult } from './types.js';
import { errorMessage, resultFor } from './util.js';

/** A service that is not where it should be, with the evidence. */
export interface ServiceProblem {
  service: string;
  serviceId: string;
  /** The node the problem is about (a failed task), if any. */
  node?: string;
  message: string;
  /** Won't resolve by waiting: a paused update or a task that already failed. */
  stuck: boolean;
  evidence: Record<string, unknown>;
}

const IN_PROGRESS = new Set(['updating', 'rollback_started']);
const PAUSED = new Set(['paused', 'rollback_paused']);
const FAILED = new Set(['failed', 'rejected']);

const isRunning = (t: SwarmTask) => t.state === 'running' && t.desiredState === 'running';

/** Swarm's own reason for tasks that should run and do not: ` (swarm: pending: no suitable node …)`. */
function swarmSays(pending: { state: string; message?: string; error?: string }[]): string {
  const reasons = [...new Set(pending.map((t) => `${t.state}: ${t.error || t.message || 'no message'}`))];
  return reasons.length > 0 ? ` (swarm: ${reasons.slice(0, 3).join('; ')})` : '';
}

/** Pure convergence evaluation of every service (see the check for what counts). */
export function evaluateServices(input: {
  services: SwarmService[];
  nodes: SwarmNode[];
  tasks: SwarmTask[];
  scope: string[];
  since: Date;
  ignore: string[];
}): { problems: ServiceProblem[]; checked: number } {
  const problems: ServiceProblem[] = [];
  const nodeById = new Map(input.nodes.map((n) => [n.id, n]));
  const scopeIds = new Set(input.nodes.filter((n) => input.scope.includes(n.hostname)).map((n) => n.id));
  let checked = 0;
  for (const service of input.services) {
    if (input.ignore.includes(service.name) || service.mode === 'other') continue;
    checked++;
    const tasks = input.tasks.filter((t) => t.serviceId === service.id);
    const running = tasks.filter(isRunning);
    // The scheduler's own explanation (e.g. "no suitable node") sits on pending tasks.
    const pending = tasks
      .filter((t) => t.desiredState === 'running' && t.state !== 'running')
      .slice(0, 5)
      .map((t) => ({ task: t.id, state: t.state, message: t.message, error: t.error }));
    const base = { service: service.name, serviceId: service.id };

    if (service.mode === 'replicated') {
      const desired = service.replicas ?? service.desiredTasks ?? 0;
      const count = service.runningTasks ?? running.length;
      if (count !== desired) {
        problems.push({
          ...base,
          message: `${service.name}: ${count}/${desired} running${swarmSays(pending)}`,
          stuck: false,
          evidence: { running: count, desired, pending },
        });
      }
    } else {
      const matches = (n: SwarmNode) => service.constraints.map((c) => matchConstraint(c, n));
      const understood = input.nodes.every((n) => matches(n).every((m) => m !== undefined));
      if (understood) {
        const eligible = input.nodes.filter(
          (n) => n.state === 'ready' && n.availability === 'active' && matches(n).every(Boolean),
        );
        const missing = eligible
          .filter((n) => !running.some((t) => t.nodeId === n.id))
          .map((n) => n.hostname);
        if (missing.length > 0) {
          problems.push({
            ...base,
            message: `${service.name}: no running task on ${missing.join(', ')}${swarmSays(pending)}`,
            stuck: false,
            evidence: { missingOn: missing, eligible: eligible.map((n) => n.hostname), pending },
          });
        }
      } else if (
        service.desiredTasks !== undefined &&
        (service.runningTasks ?? running.length) !== service.desiredTasks
      ) {
        const count = service.runningTasks ?? running.length;
        problems.push({
          ...base,
          message: `${service.name}: ${count}/${service.desiredTasks} running${swarmSays(pending)}`,
          stuck: false,
          evidence: {
            running: count,
            desired: service.desiredTasks,
            constraints: service.constraints,
            pending,
          },
        });
      }
    }

    if (service.updateState && (IN_PROGRESS.has(service.updateState) || PAUSED.has(service.updateState))) {
      const paused = PAUSED.has(service.updateState);
      problems.push({
        ...base,
        message: `${service.name}: update ${service.updateState}`,
        stuck: paused,
        evidence: { updateState: service.updateState },
      });
    }

    const since = input.since.getTime();
    for (const task of tasks) {
      if (!task.nodeId || !scopeIds.has(task.nodeId) || !FAILED.has(task.state)) continue;
      if (Date.parse(task.timestamp) < since) continue;
      const node = nodeById.get(task.nodeId)?.hostname ?? task.nodeId;
      problems.push({
        ...base,
        node,
        message: `${service.name}: task ${task.state} on ${node}: ${task.error || task.message || 'no error given'}`,
        stuck: true,
        evidence: {
          task: task.id,
          state: task.state,
          error: task.error,
          message: task.message,
          at: task.timestamp,
        },
      });
    }
  }
  return { problems, checked };
}

/** Forces a rolling restart of a service (`docker service update --force`). */
export async function remediateService(swarm: SwarmApi, serviceId: string): Promise<void> {
  await swarm.forceUpdateService(serviceId);
}

/**
 * Wakes a waiter on the next service or container event, so convergence is noticed at once;
 * the caller's poll interval covers an engine whose event stream fails.
 */
function watchEvents(ctx: CheckContext): { wake: () => Promise<void>; stop: () => void } {
  const controller = new AbortController();
  let notify: (() => void) | undefined;
  let next = new Promise<void>((resolve) => {
    notify = resolve;
  });
  void (async () => {
    try {
      for await (const _event of ctx.swarm.events({ type: ['service', 'container'] }, controller.signal)) {
        notify?.();
        next = new Promise<void>((resolve) => {
          notify = resolve;
        });
      }
    } catch {
      // Polling covers it.
    }
  })();
  return { wake: () => next, stop: () => controller.abort() };
}

export const servicesConvergedCheck: CheckDefinition<'services-converged'> = {
  name: 'services-converged',
  summary: 'Every service at its desired count, none stuck mid-update, no failed task on the node.',
  run: async (ctx, options) => {
    const startedAt = ctx.now();
    const result = resultFor('services-converged', ctx, startedAt);
    const events = watchEvents(ctx);
    const remediated: string[] = [];
    let lastError: string | undefined;
    const attempt = async () => {
      try {
        const [services, nodes, tasks] = await Promise.all([
          ctx.swarm.listServices(),
          ctx.swarm.listNodes(),
          ctx.swarm.listTasks(),
        ]);
        lastError = undefined;
        const verdict = evaluateServices({
          services,
          nodes,
          tasks,
          scope: ctx.scope,
          since: ctx.stageStartedAt,
          ignore: options.ignore,
        });
        const waiting = verdict.problems.some((p) => !p.stuck);
        ctx.progress?.(undefined, waiting ? verdict.problems.map((p) => p.message).join(', ') : undefined);
        return { done: !waiting, value: verdict };
      } catch (error) {
        lastError = errorMessage(error);
        return { done: false, value: undefined };
      }
    };
    try {
      let outcome = await waitUntil(ctx, options.timeoutMs, attempt, { pollMs: 1000, wake: events.wake });
      let waitedMs = outcome.waitedMs;
      if (options.remediate && outcome.value && outcome.value.problems.length > 0) {
        for (const id of new Set(outcome.value.problems.filter((p) => !p.node).map((p) => p.serviceId))) {
          await remediateService(ctx.swarm, id);
          remediated.push(id);
        }
        if (remediated.length > 0) {
          outcome = await waitUntil(ctx, options.timeoutMs, attempt, { pollMs: 1000, wake: events.wake });
          waitedMs += outcome.waitedMs;
        }
      }
      const verdict = outcome.value;
      if (!verdict) {
        return [
          result('fail', `swarm API failed: ${lastError}`, { evidence: { error: lastError, waitedMs } }),
        ];
      }
      if (verdict.problems.length === 0) {
        const waited = waitedMs > 0 ? ` after waiting ${formatDuration(waitedMs)}` : '';
        return [
          result('pass', `${verdict.checked} services converged${waited}`, {
            evidence: { services: verdict.checked, waitedMs, remediated },
          }),
        ];
      }
      return verdict.problems.map(
        (p): CheckResult =>
          result('fail', p.stuck ? p.message : `${p.message} after ${formatDuration(waitedMs)}`, {
            ...(p.node ? { node: p.node } : {}),
            evidence: {
              service: p.service,
              ...p.evidence,
              waitedMs,
              remediated: remediated.includes(p.serviceId),
            },
          }),
      );
    } finally {
      events.stop();
    }
  },
};
