import { ConnectionError } from '../errors.js';
import type { NodeShell, SwarmApi, SwarmNode } from '../transport/types.js';
import { checkCatalogue } from './catalogue.js';
import { gatherNodeFacts } from './facts.js';
import type {
  Baseline,
  CheckContext,
  CheckDefinition,
  CheckName,
  CheckResult,
  CheckStatus,
  NodeFacts,
} from './types.js';
import { errorMessage } from './util.js';

/** What runChecks needs: a CheckContext without the round-scoped parts it builds itself. */
export type RunChecksContext = Omit<CheckContext, 'factsOf' | 'nodes'> & {
  /** The node list; read from the swarm API when omitted. */
  nodes?: SwarmNode[];
  /** Run the facts script with sudo (non-root SSH users). */
  sudo?: boolean;
};

/**
 * A facts cache for one round: the first caller for a node triggers the single exec, every
 * other caller shares its promise. Peers are the other nodes' addresses.
 */
export function createFactsCache(
  ctx: Pick<CheckContext, 'shellOf' | 'now'>,
  nodes: SwarmNode[],
  options: { sudo?: boolean } = {},
): (node: string) => Promise<NodeFacts> {
  const cache = new Map<string, Promise<NodeFacts>>();
  return (node) => {
    let facts = cache.get(node);
    if (!facts) {
      const peers = nodes.filter((n) => n.hostname !== node && n.address).map((n) => n.address);
      facts = ctx
        .shellOf(node)
        .then((shell) => gatherNodeFacts(shell, peers, { sudo: options.sudo ?? false, now: ctx.now }));
      cache.set(node, facts);
    }
    return facts;
  };
}

/**
 * The swarm API as the checks of one round share it: the read-only list calls every check makes
 * (nodes, services, tasks) go to the manager once per round, not once per check and node. A check
 * that sleeps is about to re-poll, so every sleep ends the round's view and the next read is fresh.
 * Failed calls are not kept.
 */
export function createRoundCache(swarm: SwarmApi): { swarm: SwarmApi; expire: () => void } {
  let reads = new Map<string, Promise<unknown>>();
  // A write or a sleep ends the round's view.
  const expire = () => {
    reads = new Map();
  };
  const shared = <T>(key: string, read: () => Promise<T>): Promise<T> => {
    const cached = reads.get(key) as Promise<T> | undefined;
    if (cached) return cached;
    const current = reads;
    const reading = read();
    current.set(key, reading);
    reading.catch(() => {
      if (current.get(key) === reading) current.delete(key);
    });
    return reading;
  };
  const cachedSwarm: SwarmApi = {
    get endpoint() {
      return swarm.endpoint;
    },
    ping: () => swarm.ping(),
    info: () => swarm.info(),
    listNodes: () => shared('nodes', () => swarm.listNodes()),
    inspectNode: (id) => shared(`node ${id}`, () => swarm.inspectNode(id)),
    setNodeAvailability: (id, version, availability) =>
      swarm.setNodeAvailability(id, version, availability).finally(expire),
    listServices: () => shared('services', () => swarm.listServices()),
    listTasks: (filter = {}) =>
      shared(`tasks ${filter.service ?? ''} ${filter.node ?? ''} ${filter.desiredState ?? ''}`, () =>
        swarm.listTasks(filter),
      ),
    forceUpdateService: (id) => swarm.forceUpdateService(id).finally(expire),
    inspectNetwork: (idOrName, verbose) => swarm.inspectNetwork(idOrName, verbose),
    listContainers: () => swarm.listContainers(),
    listConfigs: (nameFilter) => swarm.listConfigs(nameFilter),
    createConfig: (name, labels, data) => swarm.createConfig(name, labels, data),
    removeConfig: (id) => swarm.removeConfig(id),
    updateConfigLabels: (id, labels) => swarm.updateConfigLabels(id, labels),
    events: (filters, signal) => swarm.events(filters, signal),
    close: () => swarm.close(),
  };
  return { swarm: cachedSwarm, expire };
}

/**
 * Runs the named checks in parallel for one round. Never throws for an unreachable node or a
 * failing API: a check that throws becomes a failed result with the error as evidence.
 */
export async function runChecks(names: CheckName[], rawCtx: RunChecksContext): Promise<CheckResult[]> {
  const round = createRoundCache(rawCtx.swarm);
  const nodes = rawCtx.nodes ?? (await round.swarm.listNodes().catch(() => [] as SwarmNode[]));
  const ctx: CheckContext = {
    ...rawCtx,
    swarm: round.swarm,
    sleep: (ms, signal) => rawCtx.sleep(ms, signal).finally(round.expire),
    nodes,
    factsOf: createFactsCache(rawCtx, nodes, { sudo: rawCtx.sudo ?? false }),
  };
  const perCheck = await Promise.all(
    [...new Set(names)].map(async (name) => {
      const startedAt = ctx.now();
      // The catalogue is keyed by name, so the options match the definition.
      const definition = checkCatalogue[name] as CheckDefinition;
      try {
        const results = await definition.run(ctx, ctx.options[name] as never);
        return results.map((r) => ({ ...r, durationMs: r.durationMs || ctx.now() - startedAt }));
      } catch (error) {
        return [
          {
            check: name,
            status: 'fail' as const,
            message: `check failed: ${errorMessage(error)}`,
            evidence: { error: errorMessage(error) },
            durationMs: ctx.now() - startedAt,
          },
        ];
      }
    }),
  );
  return perCheck.flat();
}

/** Records every node's facts and swarm view before a run; later rounds compare against it. */
export async function takeBaseline(ctx: {
  swarm: SwarmApi;
  shellOf(node: string): Promise<NodeShell>;
  nodes?: SwarmNode[];
  now?: () => number;
  sudo?: boolean;
}): Promise<Baseline> {
  const now = ctx.now ?? Date.now;
  const nodes = ctx.nodes ?? (await ctx.swarm.listNodes());
  const factsOf = createFactsCache({ shellOf: ctx.shellOf, now }, nodes, { sudo: ctx.sudo ?? false });
  const entries = await Promise.allSettled(
    nodes.map(async (n) => [n.hostname, await factsOf(n.hostname)] as const),
  );
  const failed = entries.flatMap((e, i) =>
    e.status === 'rejected' ? [`${nodes[i]!.hostname}: ${errorMessage(e.reason)}`] : [],
  );
  if (failed.length > 0) {
    throw new ConnectionError(
      `could not record the baseline on ${failed.length} node(s): ${failed.join('; ')}`,
      {
        hint: 'Every node must answer over SSH before a run; fix access or exclude the node.',
      },
    );
  }
  const baseline: Baseline = { takenAt: new Date(now()).toISOString(), nodes: {} };
  entries.forEach((e, i) => {
    if (e.status === 'fulfilled') baseline.nodes[e.value[0]] = { facts: e.value[1], swarm: nodes[i]! };
  });
  return baseline;
}

/** Counts by status and the verdict: healthy unless something failed (warnings don't block). */
export function summarizeChecks(results: CheckResult[]): {
  healthy: boolean;
  counts: Record<CheckStatus, number>;
  failed: CheckResult[];
} {
  const counts: Record<CheckStatus, number> = { pass: 0, warn: 0, fail: 0, 'not-applicable': 0 };
  for (const r of results) counts[r.status]++;
  const failed = results.filter((r) => r.status === 'fail');
  return { healthy: failed.length === 0, counts, failed };
}
