import { formatDuration } from '../shared/format-duration.js';
import { waitUntil } from '../shared/wait-until.js';
import type { SwarmNode } from '../transport/types.js';
import type { CheckDefinition } from './types.js';
import { errorMessage, resultFor } from './util.js';

export interface QuorumVerdict {
  ok: boolean;
  message: string;
  evidence: {
    managers: number;
    reachable: string[];
    unreachable: string[];
    leaders: string[];
    needed: number;
    quorum: boolean;
  };
}

/** Pure quorum evaluation over the swarm node list. */
export function evaluateQuorum(nodes: SwarmNode[]): QuorumVerdict {
  const managers = nodes.filter((n) => n.role === 'manager');
  const reachable = managers.filter((m) => m.manager?.reachability === 'reachable').map((m) => m.hostname);
  const unreachable = managers.filter((m) => m.manager?.reachability !== 'reachable').map((m) => m.hostname);
  const leaders = managers.filter((m) => m.manager?.leader).map((m) => m.hostname);
  const needed = Math.floor(managers.length / 2) + 1;
  const quorum = reachable.length >= needed;
  const evidence = { managers: managers.length, reachable, unreachable, leaders, needed, quorum };
  const problems: string[] = [];
  if (!quorum) problems.push(`quorum lost: ${reachable.length}/${managers.length} reachable, need ${needed}`);
  if (unreachable.length > 0) problems.push(`unreachable managers: ${unreachable.join(', ')}`);
  if (leaders.length !== 1)
    problems.push(`${leaders.length} leaders${leaders.length ? ` (${leaders.join(', ')})` : ''}`);
  if (problems.length > 0) return { ok: false, message: problems.join('; '), evidence };
  return {
    ok: true,
    message: `${reachable.length}/${managers.length} managers reachable, leader ${leaders[0]}`,
    evidence,
  };
}

export const managerQuorumCheck: CheckDefinition<'manager-quorum'> = {
  name: 'manager-quorum',
  summary: 'Every manager reachable, exactly one leader, quorum held.',
  run: async (ctx, options) => {
    const startedAt = ctx.now();
    const { value, waitedMs } = await waitUntil<{ verdict?: QuorumVerdict; error?: string }>(
      ctx,
      options.timeoutMs,
      async () => {
        try {
          const verdict = evaluateQuorum(await ctx.swarm.listNodes());
          return { done: verdict.ok, value: { verdict } };
        } catch (error) {
          return { done: false, value: { verdict: undefined, error: errorMessage(error) } };
        }
      },
    );
    const result = resultFor('manager-quorum', ctx, startedAt);
    if (!value.verdict) {
      return [
        result('fail', `swarm API via ${ctx.swarm.endpoint} failed: ${value.error}`, {
          evidence: { error: value.error, waitedMs },
        }),
      ];
    }
    const { ok, message, evidence } = value.verdict;
    const waited = ok && waitedMs > 0 ? ` after ${formatDuration(waitedMs)}` : '';
    return [result(ok ? 'pass' : 'fail', message + waited, { evidence: { ...evidence, waitedMs } })];
  },
};
