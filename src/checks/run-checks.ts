import { ConnectionError } from '../errors.js';
import { formatDuration } from '../shared/format-duration.js';
import { waitUntil } from '../shared/wait-until.js';
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
  NodeCause,
  NodeFacts,
} from './types.js';
import { errorMessage } from './util.js';

/** What runChecks needs: a CheckContext without the round-scoped parts it builds itself. */
export type RunChecksContext = Omit<CheckContext, 'factsOf' | 'nodes'> & {
  /** The node list; read from the swarm API when omitted. */
  nodes?: SwarmNode[];
  /** Run the facts script with sudo (non-root SSH users). */
  sudo?: boolean;
  /**
   * Nodes already known not to answer (from diagnoseNodes): each gets one row stating the cause,
   * and the checks that need the dead part are skipped on it instead of failing one by one.
   */
  causes?: NodeCause[];
  /** Progress while checks wait: a line every `everyMs` naming what is still missing. */
  heartbeat?: { everyMs: number; write(line: string): void };
  /** Filled with the facts this round reads, by node (pre-flight's become the baseline's). */
  factsRead?: FactsReads;
};

/** Facts reads by node name, as a round started them. */
export type FactsReads = Map<string, Promise<NodeFacts>>;

/**
 * What each check needs of every node in its scope: its SSH, its engine (reached over SSH), or
 * only the cluster API (such checks keep their whole scope). A mapped type: a new check must say.
 */
const NEEDS: Record<CheckName, 'ssh' | 'engine' | 'cluster'> = {
  'node-ready': 'engine',
  'manager-quorum': 'cluster',
  'engine-version': 'engine',
  'swarm-state': 'engine',
  'reboot-observed': 'ssh',
  'services-converged': 'cluster',
  'ingress-peers': 'engine',
  'published-ports': 'engine',
  'ingress-mesh': 'cluster',
  'overlay-dns': 'engine',
  'ip-route': 'ssh',
  'clock-skew': 'ssh',
};

/** True when `cause` makes `check` pointless on the cause's node (a dead SSH takes the engine too). */
const blocks = (cause: NodeCause, check: CheckName): boolean =>
  NEEDS[check] === 'engine' || (NEEDS[check] === 'ssh' && cause.part === 'ssh');

/** How long an engine may refuse before it counts as not answering (errors come back at once). */
const ENGINE_GRACE_MS = 5000;

/**
 * Asks every node, before any check, whether its SSH and (when a check needs it) its engine
 * answer. A node that does not is a cause: reported once, first, instead of one failure per
 * check after each check's whole timeout. Only errors count: a slow answer is an answer.
 */
export async function diagnoseNodes(
  ctx: Pick<CheckContext, 'shellOf' | 'engineOf' | 'now' | 'sleep' | 'signal'>,
  nodes: string[],
  names: CheckName[],
): Promise<NodeCause[]> {
  // Only what the checks will use is asked: no SSH for cluster-only checks, no engine without one.
  const needs = new Set(names.map((n) => NEEDS[n]));
  if (!needs.has('ssh') && !needs.has('engine')) return [];
  const engine = needs.has('engine');
  const diagnosed = await Promise.all(
    nodes.map(async (node): Promise<NodeCause | undefined> => {
      let shell: NodeShell;
      try {
        shell = await ctx.shellOf(node);
      } catch (error) {
        const evidence = { error: errorMessage(error) };
        return { node, part: 'ssh', message: `SSH on ${node} not answering (${evidence.error})`, evidence };
      }
      if (!engine) return undefined;
      const { done, value: error } = await waitUntil(ctx, ENGINE_GRACE_MS, async () => {
        try {
          await (await ctx.engineOf(node)).ping();
          return { done: true, value: '' };
        } catch (e) {
          return { done: false, value: errorMessage(e) };
        }
      });
      if (done) return undefined;
      // What the init system says, as evidence only: it may not be systemd.
      const status = await shell
        .exec('systemctl is-active docker', { timeoutMs: 10_000, display: 'systemctl is-active docker' })
        .then((r) => (r.stdout.trim() || r.stderr.trim()).split('\n')[0] ?? '')
        .catch(() => '');
      const evidence = { error, ...(status ? { systemctlIsActive: status } : {}) };
      const why = status ? `${error}; systemctl is-active docker: ${status}` : error;
      return { node, part: 'engine', message: `engine on ${node} not answering (${why})`, evidence };
    }),
  );
  return diagnosed.filter((c): c is NodeCause => c !== undefined);
}

/** The check that states a cause: the one that tests the dead part most directly. */
function causeCheck(cause: NodeCause, names: CheckName[]): CheckName | undefined {
  const preferred: CheckName = cause.part === 'engine' ? 'swarm-state' : 'ip-route';
  if (names.includes(preferred)) return preferred;
  return names.find((n) => blocks(cause, n));
}

/** The cause row and the skipped rows of every node with a cause. */
function causeRows(causes: NodeCause[], names: CheckName[]): CheckResult[] {
  return causes.flatMap((cause) => {
    const stated = causeCheck(cause, names);
    if (!stated) return [];
    const row = (check: CheckName, status: CheckStatus, message: string): CheckResult => ({
      check,
      node: cause.node,
      status,
      message,
      evidence: cause.evidence,
      durationMs: 0,
      cause,
    });
    return [
      row(stated, 'fail', cause.message),
      ...names
        .filter((n) => n !== stated && blocks(cause, n))
        .map((n) =>
          row(
            n,
            'skipped',
            `skipped: ${cause.part === 'ssh' ? 'SSH' : 'engine'} on ${cause.node} not answering`,
          ),
        ),
    ];
  });
}

/**
 * A result the causes explain: a failure on a dead node that its cause rows already cover is
 * dropped (checks that ask every node ignore the scope), and a failure elsewhere that names a
 * dead node says it probably follows from it.
 */
function explainByCause(result: CheckResult, causes: NodeCause[]): CheckResult[] {
  if (result.status !== 'fail' || result.cause) return [result];
  // The cause rows already cover every check the cause blocks on its node.
  const own = causes.find((c) => c.node === result.node);
  if (own && blocks(own, result.check)) return [];
  const named = causes.find((c) => new RegExp(`\\b${escapeRegExp(c.node)}\\b`).test(result.message));
  if (!named) return [result];
  const because = named.message.split(' (')[0];
  return [{ ...result, message: `${result.message} (probably because ${because})`, cause: named }];
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * A facts cache for one round: the first caller for a node triggers the single exec, every
 * other caller shares its promise. Peers are the other nodes' addresses.
 */
export function createFactsCache(
  ctx: Pick<CheckContext, 'shellOf' | 'now'>,
  nodes: SwarmNode[],
  options: { sudo?: boolean } = {},
  cache: FactsReads = new Map(),
): (node: string, read?: { fresh?: boolean }) => Promise<NodeFacts> {
  return (node, read) => {
    let facts = read?.fresh ? undefined : cache.get(node);
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
    scaleService: (id, replicas, expected) => swarm.scaleService(id, replicas, expected).finally(expire),
    inspectNetwork: (idOrName, verbose) => swarm.inspectNetwork(idOrName, verbose),
    listNetworks: (driver) => shared(`networks ${driver}`, () => swarm.listNetworks(driver)),
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
    factsOf: createFactsCache(rawCtx, nodes, { sudo: rawCtx.sudo ?? false }, rawCtx.factsRead),
  };
  const unique = [...new Set(names)];
  const causes = rawCtx.causes ?? [];
  const waiting = new Map<CheckName, Map<string, string>>();
  const heartbeat = rawCtx.heartbeat ? startHeartbeat(rawCtx, rawCtx.heartbeat, waiting) : undefined;
  const perCheck = await Promise.all(
    unique.map(async (name) => {
      const startedAt = ctx.now();
      const notes = new Map<string, string>();
      waiting.set(name, notes);
      // A node whose needed part is dead is left out: its cause row speaks for it.
      const scope = ctx.scope.filter(
        (node) => !causes.some((c) => c.node === node && NEEDS[name] !== 'cluster' && blocks(c, name)),
      );
      const checkCtx: CheckContext = {
        ...ctx,
        scope,
        progress: (node, missing) => {
          if (missing === undefined) notes.delete(node ?? '');
          else notes.set(node ?? '', missing);
        },
      };
      // The catalogue is keyed by name, so the options match the definition.
      const definition = checkCatalogue[name] as CheckDefinition;
      try {
        const results = await definition.run(checkCtx, ctx.options[name] as never);
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
      } finally {
        waiting.delete(name);
      }
    }),
  );
  await heartbeat?.stop();
  return [...causeRows(causes, unique), ...perCheck.flat().flatMap((r) => explainByCause(r, causes))];
}

/**
 * Every `everyMs` while checks run, one line naming each check still running and, where it said,
 * what it still misses on which node: a check that polls until its timeout is never silent.
 */
function startHeartbeat(
  clock: Pick<CheckContext, 'now' | 'sleep' | 'options'>,
  heartbeat: NonNullable<RunChecksContext['heartbeat']>,
  waiting: Map<CheckName, Map<string, string>>,
): { stop(): Promise<void> } {
  const controller = new AbortController();
  const startedAt = clock.now();
  const loop = (async () => {
    for (;;) {
      await clock.sleep(heartbeat.everyMs, controller.signal).catch(() => undefined);
      if (controller.signal.aborted) return;
      if (waiting.size === 0) continue;
      heartbeat.write(describeWaiting(waiting, clock.now() - startedAt, clock.options));
    }
  })();
  return {
    stop: async () => {
      controller.abort();
      await loop;
    },
  };
}

/** `still checking after 20s: swarm-state (up to 2m) on node4: engine unreachable: …; ip-route`. */
export function describeWaiting(
  waiting: Map<CheckName, Map<string, string>>,
  elapsedMs: number,
  options: CheckContext['options'],
): string {
  const parts = [...waiting.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, notes]) => {
      const timeoutMs = (options[name] as { timeoutMs?: number } | undefined)?.timeoutMs;
      const limit = timeoutMs === undefined ? '' : ` (up to ${formatDuration(timeoutMs)})`;
      const missing = [...notes.entries()]
        .sort(([a], [b]) => a.localeCompare(b, undefined, { numeric: true }))
        .map(([node, what]) => (node ? `${node}: ${what}` : what));
      return `${name}${limit}${missing.length ? ` waiting for ${missing.join(', ')}` : ''}`;
    });
  const elapsed = formatDuration(Math.round(elapsedMs / 1000) * 1000);
  return `still checking after ${elapsed}: ${parts.join('; ')}`;
}

/** Records every node's facts and swarm view before a run; later rounds compare against it. */
export async function takeBaseline(ctx: {
  swarm: SwarmApi;
  shellOf(node: string): Promise<NodeShell>;
  nodes?: SwarmNode[];
  now?: () => number;
  sudo?: boolean;
  /**
   * Facts a round just read (the pre-flight's): used where they succeeded, so the start of a
   * run reads every node once, not twice. The nodes pay for each read (busy hosts feel it).
   */
  known?: FactsReads;
}): Promise<Baseline> {
  const now = ctx.now ?? Date.now;
  const nodes = ctx.nodes ?? (await ctx.swarm.listNodes());
  const factsOf = createFactsCache({ shellOf: ctx.shellOf, now }, nodes, { sudo: ctx.sudo ?? false });
  // A read that failed then is read again now.
  const readFacts = (node: string) => ctx.known?.get(node)?.catch(() => factsOf(node)) ?? factsOf(node);
  const entries = await Promise.allSettled(
    nodes.map(async (n) => [n.hostname, await readFacts(n.hostname)] as const),
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
  const counts: Record<CheckStatus, number> = {
    pass: 0,
    warn: 0,
    fail: 0,
    'not-applicable': 0,
    skipped: 0,
  };
  for (const r of results) counts[r.status]++;
  const failed = results.filter((r) => r.status === 'fail');
  return { healthy: failed.length === 0, counts, failed };
}
