import type { CheckOptions } from '../runbook/types.js';
import { cidrsOverlap } from '../shared/cidr.js';
import type { SwarmApi } from '../transport/types.js';
import { type ClockSample, clockSampleOf, sampleNodeClock } from './facts.js';
import type { CheckContext, CheckDefinition, CheckResult, NodeFacts, RouteEntry } from './types.js';
import { forEachNode, resultFor } from './util.js';

const DOCKER_DEVS = ['docker_gwbridge', 'docker0'];

/** A route's identity for diffs: flags such as linkdown and the source address don't count. */
export function routeKey(route: RouteEntry): string {
  return [
    route.dst,
    route.gateway ? `via ${route.gateway}` : '',
    route.dev ? `dev ${route.dev}` : '',
    route.metric === undefined ? '' : `metric ${route.metric}`,
  ]
    .filter(Boolean)
    .join(' ');
}

/** Routes added and removed between two route tables, as `ip route`-like strings. */
export function diffRoutes(
  before: RouteEntry[],
  after: RouteEntry[],
): { added: string[]; removed: string[] } {
  const b = new Set(before.map(routeKey));
  const a = new Set(after.map(routeKey));
  return {
    added: [...a].filter((k) => !b.has(k)).sort(),
    removed: [...b].filter((k) => !a.has(k)).sort(),
  };
}

/** The swarm's own address space: its default address pools and every overlay network's subnet. */
export interface SwarmAddressSpace {
  pools: string[];
  overlays: { name: string; subnet: string }[];
}

/** Read from a manager; what cannot be read is left out (the rest of the check still runs). */
export async function readSwarmAddressSpace(swarm: SwarmApi): Promise<SwarmAddressSpace> {
  const [info, networks] = await Promise.all([
    swarm.info().catch(() => undefined),
    swarm.listNetworks('overlay').catch(() => []),
  ]);
  return {
    pools: info?.defaultAddrPool ?? [],
    overlays: networks.flatMap((n) => (n.subnets ?? []).map((subnet) => ({ name: n.name, subnet }))),
  };
}

/** Docker's own devices carry docker's own subnets; the default route overlaps everything. */
const isDockerDevice = (dev: string | undefined) =>
  dev !== undefined && (DOCKER_DEVS.includes(dev) || /^(br-|veth|vx-)/.test(dev));

/**
 * Routes on the node that cover part of the swarm's address space: traffic to overlay task
 * addresses would leave through them instead of the overlay. Dangerous, never cosmetic.
 */
export function findSwarmOverlaps(
  routes: RouteEntry[],
  space: SwarmAddressSpace,
): { route: string; overlaps: string }[] {
  const found: { route: string; overlaps: string }[] = [];
  for (const route of routes) {
    if (route.dst === 'default' || isDockerDevice(route.dev)) continue;
    const overlay = space.overlays.find((o) => cidrsOverlap(route.dst, o.subnet));
    // The node's own LAN (a connected route) inside a wide default pool (10.0.0.0/8) is how most
    // swarms run: only a subnet actually allocated to an overlay collides with it. Any other
    // route into the pool was put there by someone, and is the dangerous kind.
    const connected = route.protocol === 'kernel' && route.scope === 'link';
    const pool = connected ? undefined : space.pools.find((p) => cidrsOverlap(route.dst, p));
    if (overlay)
      found.push({ route: routeKey(route), overlaps: `overlay network ${overlay.name} ${overlay.subnet}` });
    else if (pool) found.push({ route: routeKey(route), overlaps: `the swarm address pool ${pool}` });
  }
  return found;
}

const defaultRoute = (facts: NodeFacts) => facts.routes.find((r) => r.dst === 'default');

/**
 * Pure comparison of one node's facts with its baseline (or with absolute expectations when
 * there is no baseline). `advertiseAddr` is the node's swarm address.
 */
export function evaluateRoutes(
  facts: NodeFacts,
  baseline: NodeFacts | undefined,
  advertiseAddr: string | undefined,
  options: CheckOptions['ip-route'],
  space?: SwarmAddressSpace,
): { status: 'pass' | 'warn' | 'fail'; message: string; evidence: Record<string, unknown> } {
  const failures: string[] = [];
  const evidence: Record<string, unknown> = {};

  if (facts.sectionErrors?.route) {
    return {
      status: 'fail',
      message: `could not read the routing table: ${facts.sectionErrors.route}`,
      evidence: { error: facts.sectionErrors.route },
    };
  }

  const now = defaultRoute(facts);
  if (baseline) {
    const before = defaultRoute(baseline);
    if (before && (!now || routeKey(now) !== routeKey(before))) {
      evidence.defaultRoute = { before: routeKey(before), now: now ? routeKey(now) : null };
      if (options.requireDefaultRoute) {
        failures.push(now ? `default route changed (was ${routeKey(before)})` : 'default route is gone');
      }
    }
  } else if (options.requireDefaultRoute && !now) {
    evidence.defaultRoute = { now: null };
    failures.push('no default route');
  }

  const devsBefore = baseline
    ? baseline.routes.map((r) => r.dev)
    : facts.addresses.filter((a) => a.addrs.some((x) => x.family === 'inet')).map((a) => a.ifname);
  const missingDocker = DOCKER_DEVS.filter(
    (dev) => devsBefore.includes(dev) && !facts.routes.some((r) => r.dev === dev),
  );
  if (missingDocker.length > 0) {
    evidence.missingDockerRoutes = missingDocker;
    failures.push(`route via ${missingDocker.join(', ')} missing`);
  }

  if (facts.ipForward !== '1') {
    evidence.ipForward = facts.ipForward || null;
    failures.push(`ip_forward is ${facts.ipForward || 'unreadable'}`);
  }

  if (advertiseAddr) {
    const wrong = Object.entries(facts.routeGetSource).filter(([, src]) => src !== advertiseAddr);
    if (wrong.length > 0) {
      evidence.routeGetSource = Object.fromEntries(wrong);
      failures.push(
        `route to ${wrong.map(([peer, src]) => `${peer} uses source ${src ?? 'none'}`).join(', ')} (advertise address ${advertiseAddr})`,
      );
    }
  }

  // With or without a baseline, whatever onDiff says: `drydock check` must see it too.
  const overlaps = space ? findSwarmOverlaps(facts.routes, space) : [];
  if (overlaps.length > 0) {
    evidence.swarmOverlaps = overlaps;
    failures.push(...overlaps.map((o) => `route ${o.route} overlaps ${o.overlaps}`));
  }

  let status: 'pass' | 'warn' | 'fail' = failures.length > 0 ? 'fail' : 'pass';
  const messages = [...failures];
  if (baseline) {
    const diff = diffRoutes(baseline.routes, facts.routes);
    if (diff.added.length > 0 || diff.removed.length > 0) {
      evidence.added = diff.added;
      evidence.removed = diff.removed;
      // The lines themselves: an operator must see which route came or went, not only a count.
      const lines = [...diff.added.map((r) => `+ ${r}`), ...diff.removed.map((r) => `- ${r}`)];
      const summary = `routes differ from baseline (+${diff.added.length} -${diff.removed.length}): ${lines.join(', ')}`;
      messages.push(summary);
      if (status === 'pass') status = options.onDiff;
    }
  }
  if (messages.length === 0) {
    return {
      status,
      message: baseline
        ? 'routes unchanged since baseline'
        : 'default and docker routes present, ip_forward on',
      evidence,
    };
  }
  return { status, message: messages.join('; '), evidence };
}

export const ipRouteCheck: CheckDefinition<'ip-route'> = {
  name: 'ip-route',
  summary:
    'ip route unchanged since the baseline; docker routes present; ip_forward on; peers via the advertise address.',
  run: async (ctx, options) => {
    const space = await readSwarmAddressSpace(ctx.swarm);
    return forEachNode('ip-route', ctx, ctx.scope, async (node) => {
      const startedAt = ctx.now();
      const facts = await ctx.factsOf(node);
      const swarmNode = ctx.nodes.find((n) => n.hostname === node);
      const advertise = ctx.baseline?.nodes[node]?.swarm.address ?? swarmNode?.address;
      const verdict = evaluateRoutes(facts, ctx.baseline?.nodes[node]?.facts, advertise, options, space);
      return [
        resultFor('ip-route', ctx, startedAt)(verdict.status, verdict.message, {
          node,
          evidence: verdict.evidence,
        }),
      ];
    });
  },
};

/** Signed milliseconds: `+120ms`, `-3ms`. */
const signed = (ms: number) => `${ms >= 0 ? '+' : ''}${ms}ms`;

/**
 * Whether a measured offset is beyond `maxMs`. The true offset lies within ±uncertainty of the
 * measured one, so only an offset beyond max by more than the uncertainty is certainly too large:
 * a slow round trip (a busy drydock host) widens the uncertainty instead of faking skew.
 */
export function isSkewBeyond(offsetMs: number, uncertaintyMs: number, maxMs: number): boolean {
  return Math.abs(offsetMs) - uncertaintyMs > maxMs;
}

export const clockSkewCheck: CheckDefinition<'clock-skew'> = {
  name: 'clock-skew',
  summary: 'Node clocks within the allowed skew of the drydock host and of each other.',
  run: async (ctx: CheckContext, options) => {
    const startedAt = ctx.now();
    const samples: Record<string, ClockSample> = {};
    const results: CheckResult[] = await forEachNode('clock-skew', ctx, ctx.scope, async (node) => {
      // The facts exec (shared with ip-route) read the clock already; only when its window is
      // too wide to tell pass from fail is the node asked again, in tiny execs.
      const first = clockSampleOf(await ctx.factsOf(node));
      const settled = (s: ClockSample) =>
        Math.abs(s.offsetMs) + s.uncertaintyMs <= options.maxMs ||
        isSkewBeyond(s.offsetMs, s.uncertaintyMs, options.maxMs);
      const sample =
        first && settled(first)
          ? first
          : await sampleNodeClock(await ctx.shellOf(node), {
              now: ctx.now,
              settled,
              ...(first ? { first } : {}),
            });
      samples[node] = sample;
      const { offsetMs, uncertaintyMs } = sample;
      const beyond = isSkewBeyond(offsetMs, uncertaintyMs, options.maxMs);
      return [
        resultFor('clock-skew', ctx, startedAt)(
          beyond ? 'fail' : 'pass',
          `clock ${signed(offsetMs)} ±${uncertaintyMs}ms vs drydock host (max ${options.maxMs}ms)`,
          { node, evidence: { skewMs: offsetMs, uncertaintyMs, maxMs: options.maxMs } },
        ),
      ];
    });
    const measured = Object.entries(samples);
    if (measured.length > 1) {
      const [, low] = measured.reduce((a, b) => (b[1].offsetMs < a[1].offsetMs ? b : a));
      const [, high] = measured.reduce((a, b) => (b[1].offsetMs > a[1].offsetMs ? b : a));
      const spread = high.offsetMs - low.offsetMs;
      // Both ends carry their own uncertainty.
      const uncertaintyMs = high.uncertaintyMs + low.uncertaintyMs;
      const skews = Object.fromEntries(measured.map(([n, s]) => [n, s.offsetMs]));
      results.push(
        resultFor('clock-skew', ctx, startedAt)(
          isSkewBeyond(spread, uncertaintyMs, options.maxMs) ? 'fail' : 'pass',
          `clock spread between nodes ${spread}ms ±${uncertaintyMs}ms (max ${options.maxMs}ms)`,
          { evidence: { spreadMs: spread, uncertaintyMs, skews } },
        ),
      );
    }
    return results;
  },
};
