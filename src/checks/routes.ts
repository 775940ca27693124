import type { CheckOptions } from '../runbook/types.js';
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

  let status: 'pass' | 'warn' | 'fail' = failures.length > 0 ? 'fail' : 'pass';
  const messages = [...failures];
  if (baseline) {
    const diff = diffRoutes(baseline.routes, facts.routes);
    if (diff.added.length > 0 || diff.removed.length > 0) {
      evidence.added = diff.added;
      evidence.removed = diff.removed;
      const summary = `routes differ from baseline (+${diff.added.length} -${diff.removed.length})`;
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
  run: (ctx, options) =>
    forEachNode('ip-route', ctx, ctx.scope, async (node) => {
      const startedAt = ctx.now();
      const facts = await ctx.factsOf(node);
      const swarmNode = ctx.nodes.find((n) => n.hostname === node);
      const advertise = ctx.baseline?.nodes[node]?.swarm.address ?? swarmNode?.address;
      const verdict = evaluateRoutes(facts, ctx.baseline?.nodes[node]?.facts, advertise, options);
      return [
        resultFor('ip-route', ctx, startedAt)(verdict.status, verdict.message, {
          node,
          evidence: verdict.evidence,
        }),
      ];
    }),
};

export const clockSkewCheck: CheckDefinition<'clock-skew'> = {
  name: 'clock-skew',
  summary: 'Node clocks within the allowed skew of the drydock host and of each other.',
  run: async (ctx: CheckContext, options) => {
    const startedAt = ctx.now();
    const skews: Record<string, { skewMs: number; errorMs: number }> = {};
    const results: CheckResult[] = await forEachNode('clock-skew', ctx, ctx.scope, async (node) => {
      const facts = await ctx.factsOf(node);
      if (!Number.isFinite(facts.clockMs)) {
        return [
          resultFor('clock-skew', ctx, startedAt)('fail', 'could not read the node clock', {
            node,
            evidence: { error: facts.sectionErrors?.clock },
          }),
        ];
      }
      const skewMs = Math.round(facts.clockMs - facts.sampledAtMs);
      const errorMs = Math.round(facts.clockErrorMs);
      skews[node] = { skewMs, errorMs };
      // Fail only on skew that the measurement's own uncertainty cannot explain.
      const ok = Math.abs(skewMs) - errorMs <= options.maxMs;
      const within = errorMs > 0 ? ` ±${errorMs}ms` : '';
      return [
        resultFor('clock-skew', ctx, startedAt)(
          ok ? 'pass' : 'fail',
          `clock ${skewMs >= 0 ? '+' : ''}${skewMs}ms${within} vs drydock host (max ${options.maxMs}ms)`,
          { node, evidence: { skewMs, maxMs: options.maxMs, ...(errorMs > 0 ? { errorMs } : {}) } },
        ),
      ];
    });
    const samples = Object.values(skews);
    if (samples.length > 1) {
      const spread = Math.max(...samples.map((s) => s.skewMs)) - Math.min(...samples.map((s) => s.skewMs));
      // The smallest spread the samples allow: highest lower bound minus lowest upper bound.
      const leastSpread =
        Math.max(...samples.map((s) => s.skewMs - s.errorMs)) -
        Math.min(...samples.map((s) => s.skewMs + s.errorMs));
      results.push(
        resultFor('clock-skew', ctx, startedAt)(
          leastSpread <= options.maxMs ? 'pass' : 'fail',
          `clock spread between nodes ${spread}ms (max ${options.maxMs}ms)`,
          {
            evidence: {
              spreadMs: spread,
              skews: Object.fromEntries(Object.entries(skews).map(([n, s]) => [n, s.skewMs])),
            },
          },
        ),
      );
    }
    return results;
  },
};
