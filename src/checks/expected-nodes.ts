import { waitUntil } from '../shared/wait-until.js';
import type { SwarmNode } from '../transport/types.js';
import type { CheckContext } from './types.js';

/**
 * The nodes a check that judges "every node" must find Ready: during a run, the nodes that were
 * Ready in the baseline; without one (`drydock check`), every listed node that is not Down. A
 * manager that has just restarted lists the others as unknown for a while: that view is not
 * "fewer nodes", it is a view to wait out.
 */
export function expectedNodeNames(ctx: Pick<CheckContext, 'baseline' | 'nodes'>): string[] {
  if (ctx.baseline) {
    return Object.values(ctx.baseline.nodes)
      .filter((n) => n.swarm.state === 'ready' && n.swarm.hostname !== '')
      .map((n) => n.swarm.hostname);
  }
  // A node entry without a description (no hostname yet, or a ghost after a forced removal)
  // can never be found Ready by name: waiting for it would only time out.
  return ctx.nodes.filter((n) => n.state !== 'down' && n.hostname !== '').map((n) => n.hostname);
}

/** Waits (bounded) until every expected node is listed Ready; the Ready nodes then, and any still missing. */
export async function waitForExpectedNodes(
  ctx: CheckContext,
  timeoutMs: number,
): Promise<{ ready: SwarmNode[]; missing: string[]; waitedMs: number }> {
  const expected = expectedNodeNames(ctx);
  const { value, waitedMs } = await waitUntil(ctx, timeoutMs, async () => {
    const nodes = await ctx.swarm.listNodes().catch(() => [] as SwarmNode[]);
    const ready = nodes.filter((n) => n.state === 'ready');
    const missing = expected.filter((name) => !ready.some((n) => n.hostname === name));
    ctx.progress?.(undefined, missing.length ? `nodes not Ready yet: ${missing.join(', ')}` : undefined);
    return { done: missing.length === 0, value: { ready, missing } };
  });
  ctx.progress?.(undefined, undefined);
  return { ...value, waitedMs };
}
