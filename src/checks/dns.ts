import { quoteShellArg } from '../shared/shell-quote.js';
import { waitUntil } from '../shared/wait-until.js';
import type { SwarmNetwork, SwarmService, SwarmTask } from '../transport/types.js';
import type { CheckDefinition, CheckResult } from './types.js';
import { errorMessage, forEachNode, resultFor } from './util.js';

const MARK = '@@DDX-DNS';
const stripCidr = (addr: string) => addr.replace(/\/\d+$/, '');

/** The answer addresses of busybox/bind `nslookup` output (the server's own address excluded). */
export function parseNslookup(output: string): string[] {
  const start = output.search(/^Name:/m);
  if (start < 0) return [];
  const ips = [...output.slice(start).matchAll(/^Address(?:\s+\d+)?:\s*([0-9a-fA-F.:]+)\s*$/gm)].map(
    (m) => m[1]!,
  );
  return [...new Set(ips)].sort();
}

/**
 * All lookups for a network in one exec: each answer follows a marker line naming it. Names
 * come from the cluster (service names), so every one is quoted, and printed with printf,
 * since some `echo`s interpret backslashes.
 */
export function buildLookupScript(containerId: string, names: readonly string[]): string {
  const container = quoteShellArg(containerId);
  return names
    .map((name) => {
      const quoted = quoteShellArg(name);
      return `printf '%s %s\\n' ${MARK} ${quoted}; docker exec ${container} nslookup ${quoted} 2>&1`;
    })
    .join('; ');
}

interface Lookup {
  name: string;
  service: string;
  kind: 'tasks' | 'vip';
  expected: string[];
}

const sameSet = (a: string[], b: string[]) => a.length === b.length && a.every((x) => b.includes(x));

export const overlayDnsCheck: CheckDefinition<'overlay-dns'> = {
  name: 'overlay-dns',
  summary:
    'tasks.<service> (and the VIP) resolve to the current task IPs from inside a container on the node.',
  run: (ctx, options) =>
    forEachNode('overlay-dns', ctx, ctx.scope, async (node) => {
      const startedAt = ctx.now();
      const result = resultFor('overlay-dns', ctx, startedAt);
      const nodeId = ctx.nodes.find((n) => n.hostname === node)?.id;
      const [services, localTasks] = await Promise.all([
        ctx.swarm.listServices(),
        nodeId
          ? ctx.swarm.listTasks({ node: nodeId, desiredState: 'running' })
          : Promise.resolve([] as SwarmTask[]),
      ]);
      const engine = await ctx.engineOf(node);
      const byId = new Map(services.map((s) => [s.id, s]));
      // One running container per overlay network on this node to ask from.
      const networks = new Map<string, { network: SwarmNetwork; containerId: string }>();
      for (const task of localTasks) {
        const service = byId.get(task.serviceId);
        if (!service || task.state !== 'running' || !task.containerId) continue;
        for (const networkId of service.networks) {
          if (networks.has(networkId)) continue;
          const network = await engine.inspectNetwork(networkId, true).catch(() => undefined);
          if (network && network.driver === 'overlay' && !network.ingress) {
            networks.set(networkId, { network, containerId: task.containerId });
          }
        }
      }
      if (networks.size === 0) {
        return [
          result('not-applicable', 'no running task container on an overlay network on this node', {
            node,
            evidence: { localTasks: localTasks.length },
          }),
        ];
      }
      const wanted = (s: SwarmService) => options.services.length === 0 || options.services.includes(s.name);
      const attempt = async () => {
        const outcomes: { network: string; lookup: Lookup; resolved: string[]; ok: boolean }[] = [];
        for (const [networkId, { containerId }] of networks) {
          const network = await engine.inspectNetwork(networkId, true);
          const lookups: Lookup[] = [];
          for (const service of services.filter((s) => s.networks.includes(networkId) && wanted(s))) {
            const verbose = network.services[service.name];
            const expected = verbose
              ? verbose.tasks
                  .map((t) => t.endpointIp)
                  .filter(Boolean)
                  .map(stripCidr)
              : [];
            lookups.push({
              name: `tasks.${service.name}`,
              service: service.name,
              kind: 'tasks',
              expected: expected.sort(),
            });
            const vip = service.virtualIps.find((v) => v.networkId === networkId);
            if (service.endpointMode === 'vip' && vip) {
              lookups.push({
                name: service.name,
                service: service.name,
                kind: 'vip',
                expected: [stripCidr(vip.addr)],
              });
            }
          }
          if (lookups.length === 0) continue;
          const script = buildLookupScript(
            containerId,
            lookups.map((l) => l.name),
          );
          const shell = await ctx.shellOf(node);
          const run = await shell.exec(script, {
            timeoutMs: 30_000,
            display: `nslookup in ${containerId.slice(0, 12)}`,
          });
          const chunks = new Map<string, string>();
          for (const part of run.stdout.split(`${MARK} `).slice(1)) {
            const nl = part.indexOf('\n');
            chunks.set(part.slice(0, nl).trim(), part.slice(nl + 1));
          }
          for (const lookup of lookups) {
            const resolved = parseNslookup(chunks.get(lookup.name) ?? '');
            outcomes.push({
              network: network.name,
              lookup,
              resolved,
              ok: sameSet(resolved, lookup.expected),
            });
          }
        }
        return { done: outcomes.every((o) => o.ok), value: outcomes };
      };
      let outcome: Awaited<ReturnType<typeof waitUntil<Awaited<ReturnType<typeof attempt>>['value']>>>;
      try {
        outcome = await waitUntil(ctx, options.timeoutMs, attempt, { pollMs: 1000 });
      } catch (error) {
        return [
          result('fail', `lookup failed: ${errorMessage(error)}`, {
            node,
            evidence: { error: errorMessage(error) },
          }),
        ];
      }
      const bad = outcome.value.filter((o) => !o.ok);
      const evidence = {
        lookups: outcome.value.map((o) => ({
          network: o.network,
          name: o.lookup.name,
          expected: o.lookup.expected,
          resolved: o.resolved,
        })),
        waitedMs: outcome.waitedMs,
      };
      if (outcome.value.length === 0) {
        return [
          result('not-applicable', 'no service to resolve on the overlay networks here', { node, evidence }),
        ];
      }
      if (bad.length === 0) {
        return [
          result('pass', `${outcome.value.length} name(s) resolve to the current task IPs/VIPs`, {
            node,
            evidence,
          }),
        ];
      }
      const message = bad
        .map(
          (o) => `${o.lookup.name} → [${o.resolved.join(', ')}], expected [${o.lookup.expected.join(', ')}]`,
        )
        .join('; ');
      return [result('fail', message, { node, evidence }) satisfies CheckResult];
    }),
};
