import type { CheckResult } from '../checks/types.js';
import type { HaltError } from '../errors.js';
import type { Plan } from '../plan/types.js';
import { withDeadline } from '../shared/deadline.js';
import type { CommandResult, SwarmNode } from '../transport/types.js';
import type { HaltReport } from './events.js';
import type { ClusterPort } from './ports.js';
import type { RunProgress } from './run-progress.js';

/** What a halt carries for its report: the failing command and the failed checks. */
export interface HaltEvidence {
  command?: CommandResult;
  failedChecks: CheckResult[];
}

/** The executor's halts: the one halt error, with its evidence typed. */
export type RunHalt = HaltError<HaltEvidence>;

/** The report after a halt: what failed, every node's state as the API sees it now, how to resume. */
export async function buildHaltReport(
  halt: RunHalt,
  run: { runId: string; plan: Plan; progress: RunProgress; cluster: ClusterPort; resumeCommand: string },
): Promise<HaltReport> {
  let nodes: HaltReport['nodes'] = [];
  try {
    const listed = await readNodesWithin(run.cluster, HALT_READ_MS);
    nodes = listed.map((n: SwarmNode) => ({
      name: n.hostname,
      availability: n.availability,
      state: n.state,
      progress: describeNodeProgress(run.plan, run.progress, n.hostname, halt),
    }));
  } catch (error) {
    // Say who did not answer (e.g. "manager node1's engine does not answer …"), not just that.
    nodes = run.plan.nodes.map((n) => ({
      name: n.name,
      availability: 'unknown',
      state: `unknown: ${(error as Error).message}`,
      progress: describeNodeProgress(run.plan, run.progress, n.name, halt),
    }));
  }
  const command = halt.evidence?.command;
  return {
    runId: run.runId,
    node: halt.node,
    stage: halt.stage,
    reason: halt.message,
    ...(command ? { command } : {}),
    failedChecks: halt.evidence?.failedChecks ?? [],
    lastOutput: tailOutput(command),
    nodes,
    resumeCommand: run.resumeCommand,
  };
}

/** The halt must be reported even when the cluster is what hangs: its read gets a short deadline. */
const HALT_READ_MS = 10_000;

async function readNodesWithin(cluster: ClusterPort, ms: number): Promise<SwarmNode[]> {
  let timer: NodeJS.Timeout | undefined;
  const overdue = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no manager answered within ${ms / 1000}s (reconnecting)`)),
      ms + 2000,
    );
  });
  try {
    // Docker calls end by the deadline; the race also ends a reconnect that hangs.
    return await Promise.race([withDeadline(ms, async () => (await cluster.swarm()).listNodes()), overdue]);
  } finally {
    clearTimeout(timer);
  }
}

function describeNodeProgress(plan: Plan, p: RunProgress, name: string, halt: RunHalt): string {
  const planned = plan.nodes.find((n) => n.name === name);
  if (!planned) return 'not in this run';
  if (p.doneNodes.has(name)) return 'done';
  const done = p.doneStages[name]?.size ?? 0;
  // The halt itself says where this node stopped; an earlier failure that a retry fixed does not.
  const stoppedAt =
    halt.node === name && halt.stage
      ? halt.stage
      : p.stoppedAt?.node === name
        ? p.stoppedAt.stage
        : undefined;
  if (done === 0 && !stoppedAt) return 'not started';
  return `${done}/${planned.stages.length} stages done${stoppedAt ? `, stopped at ${stoppedAt}` : ''}`;
}

/** The last lines of a command's output, stdout then stderr. */
export function tailOutput(result: CommandResult | undefined, lines = 15): string[] {
  if (!result) return [];
  const all = `${result.stdout}\n${result.stderr}`.split('\n').filter((l) => l.trim());
  return all.slice(-lines);
}

/** A failed stage in a few lines for the operator: reason, command and exit, last output, failed checks. */
export function describeFailure(failure: {
  reason: string;
  command?: CommandResult;
  checks?: CheckResult[];
}): string {
  return [
    failure.reason,
    ...(failure.command
      ? [`$ ${failure.command.command}`, `exit ${failure.command.exitCode ?? failure.command.signal}`]
      : []),
    ...tailOutput(failure.command),
    ...(failure.checks ?? []).map((c) => `${c.status} ${c.check}${c.node ? `@${c.node}` : ''}: ${c.message}`),
  ].join('\n');
}
