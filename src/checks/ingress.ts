import { formatDuration } from '../shared/format-duration.js';
import { quoteShellArg } from '../shared/shell-quote.js';
import { NODE_POLL_SPACING, waitUntil } from '../shared/wait-until.js';
import type { PublishedPort, SwarmNode, SwarmService } from '../transport/types.js';
import { waitForExpectedNodes } from './expected-nodes.js';
import { netProber, type ProbeResult } from './probe.js';
import type { CheckContext, CheckDefinition, CheckResult, NodeFacts } from './types.js';
import { errorMessage, forEachNode, resultFor } from './util.js';

const ingressPorts = (services: SwarmService[]) =>
  services.flatMap((s) => s.ports.filter((p) => p.mode === 'ingress').map((port) => ({ service: s, port })));

/** Compares a node's ingress peer IPs with the Ready nodes' addresses. */
export function diffPeers(
  peers: { name: string; ip: string }[],
  ready: SwarmNode[],
): { missing: string[]; extra: string[] } {
  const ips = new Set(peers.map((p) => p.ip));
  const want = new Set(ready.map((n) => n.address));
  return {
    missing: ready.filter((n) => !ips.has(n.address)).map((n) => `${n.hostname} (${n.address})`),
    extra: [...ips].filter((ip) => !want.has(ip)).sort(),
  };
}

export const ingressPeersCheck: CheckDefinition<'ingress-peers'> = {
  name: 'ingress-peers',
  summary: "The ingress network's peer list, asked of every node's own engine, is the set of Ready nodes.",
  run: async (ctx, options) => {
    // Never judged against a momentarily short node list: the expected nodes, or a failure naming them.
    const expected = await waitForExpectedNodes(ctx, options.timeoutMs);
    const ready = expected.ready;
    const absent = missingNodesResult('ingress-peers', ctx, expected);
    const perNode = await forEachNode(
      'ingress-peers',
      ctx,
      ready.map((n) => n.hostname),
      async (node) => {
        const startedAt = ctx.now();
        let error: string | undefined;
        const { value, waitedMs } = await waitUntil(ctx, options.timeoutMs, async () => {
          try {
            const network = await (await ctx.engineOf(node)).inspectNetwork('ingress', true);
            error = undefined;
            const diff = diffPeers(network.peers, ready);
            return { done: diff.missing.length === 0 && diff.extra.length === 0, value: { diff, network } };
          } catch (e) {
            error = errorMessage(e);
            return { done: false, value: undefined };
          }
        });
        const result = resultFor('ingress-peers', ctx, startedAt);
        if (!value) {
          return [
            result('fail', `ingress network unreadable: ${error}`, { node, evidence: { error, waitedMs } }),
          ];
        }
        const { missing, extra } = value.diff;
        const evidence = { peers: value.network.peers.map((p) => p.ip).sort(), missing, extra, waitedMs };
        if (missing.length === 0 && extra.length === 0) {
          return [result('pass', `ingress peers = the ${ready.length} Ready nodes`, { node, evidence })];
        }
        const parts = [
          missing.length > 0 ? `missing ${missing.join(', ')}` : '',
          extra.length > 0 ? `extra ${extra.join(', ')}` : '',
        ].filter(Boolean);
        return [result('fail', `ingress peers: ${parts.join('; ')}`, { node, evidence })];
      },
    );
    return [...absent, ...perNode];
  },
};

/** The failure row for expected nodes that never showed up Ready (none when all did). */
function missingNodesResult(
  check: 'ingress-peers' | 'published-ports',
  ctx: CheckContext,
  expected: { missing: string[]; waitedMs: number },
): CheckResult[] {
  if (expected.missing.length === 0) return [];
  const { missing, waitedMs } = expected;
  return [
    resultFor(check, ctx, ctx.now() - waitedMs)(
      'fail',
      `expected nodes not Ready in the swarm: ${missing.join(', ')} (waited ${formatDuration(waitedMs)})`,
      { evidence: { missing, waitedMs } },
    ),
  ];
}

interface PortTarget {
  service: string;
  port: PublishedPort;
  node: SwarmNode;
}

/** Which node should serve which published port: ingress → every Ready node, host → nodes running a task. */
export async function publishedPortTargets(ctx: CheckContext): Promise<PortTarget[]> {
  const services = await ctx.swarm.listServices();
  const withPorts = services.filter((s) => s.ports.length > 0);
  if (withPorts.length === 0) return [];
  const [nodes, tasks] = await Promise.all([
    ctx.swarm.listNodes(),
    ctx.swarm.listTasks({ desiredState: 'running' }),
  ]);
  const ready = nodes.filter((n) => n.state === 'ready');
  const targets: PortTarget[] = [];
  for (const service of withPorts) {
    for (const port of service.ports) {
      const serving =
        port.mode === 'ingress'
          ? ready
          : ready.filter((n) =>
              tasks.some((t) => t.serviceId === service.id && t.nodeId === n.id && t.state === 'running'),
            );
      for (const node of serving) {
        if (ctx.scope.includes(node.hostname)) targets.push({ service: service.name, port, node });
      }
    }
  }
  return targets;
}

/**
 * The shell command that tries a TCP connect: nc -z, or bash's /dev/tcp where nc is missing.
 * Every value is quoted, and the address twice inside `bash -c '…'`: once for the inner bash,
 * then the whole inner script for the outer shell.
 */
export function buildPortProbeCommand(host: string, port: number, seconds: number): string {
  const [h, p, s] = [host, String(port), String(seconds)].map(quoteShellArg);
  const inner = `: </dev/tcp/${h}/${p}`;
  return `if command -v nc >/dev/null 2>&1; then nc -z -w ${s} ${h} ${p}; else timeout ${s} bash -c ${quoteShellArg(inner)}; fi`;
}

/** Probes a port from inside the cluster: a shell on another node runs nc -z (or bash /dev/tcp). */
async function probeFromCluster(
  ctx: CheckContext,
  via: string,
  host: string,
  port: number,
  timeoutMs: number,
): Promise<ProbeResult> {
  const command = buildPortProbeCommand(host, port, Math.max(1, Math.ceil(timeoutMs / 1000)));
  const shell = await ctx.shellOf(via);
  const r = await shell.exec(command, { timeoutMs: timeoutMs + 5000 });
  return r.exitCode === 0
    ? { ok: true, durationMs: r.durationMs }
    : {
        ok: false,
        error: `from ${via}: exit ${r.exitCode} ${r.stderr.trim()}`.trim(),
        durationMs: r.durationMs,
      };
}

export const publishedPortsCheck: CheckDefinition<'published-ports'> = {
  name: 'published-ports',
  summary: 'Every published port answers on every node that should serve it.',
  run: async (ctx, options) => {
    const startedAt = ctx.now();
    const result = resultFor('published-ports', ctx, startedAt);
    // Which nodes should serve depends on which are Ready: wait for the expected ones first.
    const published = (await ctx.swarm.listServices()).some((s) => s.ports.length > 0);
    const expected = published ? await waitForExpectedNodes(ctx, options.timeoutMs) : undefined;
    const absent = expected ? missingNodesResult('published-ports', ctx, expected) : [];
    const targets = await publishedPortTargets(ctx);
    if (targets.length === 0) {
      return absent.length > 0
        ? absent
        : [result('not-applicable', 'no published ports on the nodes in scope')];
    }
    const prober = ctx.probe ?? netProber;
    const ready = ctx.nodes.filter((n) => n.state === 'ready');
    const probed = await Promise.all(
      targets.map(async ({ service, port, node }): Promise<CheckResult> => {
        const label = `${service} ${port.published}/${port.protocol} (${port.mode})`;
        const evidence = {
          service,
          port: port.published,
          protocol: port.protocol,
          mode: port.mode,
          address: node.address,
        };
        if (port.protocol !== 'tcp') {
          return result('not-applicable', `${label}: only TCP ports can be probed`, {
            node: node.hostname,
            evidence,
          });
        }
        const path = options.paths[String(port.published)];
        const probeOnce = async () => {
          const fromHost = path
            ? await prober.http(node.address, port.published, path, options.connectTimeoutMs)
            : await prober.tcp(node.address, port.published, options.connectTimeoutMs);
          let fromCluster: ProbeResult | undefined;
          if (options.fromCluster) {
            const via = ready.find((n) => n.hostname !== node.hostname) ?? node;
            fromCluster = await probeFromCluster(
              ctx,
              via.hostname,
              node.address,
              port.published,
              options.connectTimeoutMs,
            ).catch(
              (e): ProbeResult => ({
                ok: false,
                error: `from ${via.hostname}: ${errorMessage(e)}`,
                durationMs: 0,
              }),
            );
          }
          return { done: fromHost.ok && (fromCluster?.ok ?? true), value: { fromHost, fromCluster } };
        };
        const { value, done, waitedMs } = await waitUntil(ctx, options.timeoutMs, probeOnce, {
          pollMs: 1000,
          spacing: NODE_POLL_SPACING,
        });
        const full = {
          ...evidence,
          ...(path ? { path, status: value.fromHost.status } : {}),
          fromHost: value.fromHost,
          ...(value.fromCluster ? { fromCluster: value.fromCluster } : {}),
          waitedMs,
        };
        if (done) {
          const how = path ? `HTTP ${value.fromHost.status} on ${path}` : 'TCP connect ok';
          return result('pass', `${label}: ${how}`, { node: node.hostname, evidence: full });
        }
        const why = [
          value.fromHost.ok ? '' : value.fromHost.error,
          value.fromCluster?.ok === false ? value.fromCluster.error : '',
        ]
          .filter(Boolean)
          .join('; ');
        return result(
          'fail',
          `${label} does not answer on ${node.address}: ${why} (waited ${formatDuration(waitedMs)})`,
          {
            node: node.hostname,
            evidence: full,
          },
        );
      }),
    );
    return [...absent, ...probed];
  },
};

/** Virtual services in `ipvsadm -Ln` output and how many backends each has. */
export function parseIpvs(text: string): { service: string; backends: string[] }[] {
  const out: { service: string; backends: string[] }[] = [];
  for (const line of text.split('\n')) {
    if (/^(FWM|TCP|UDP|SCTP)\s/.test(line))
      out.push({ service: line.trim().replace(/\s+/g, ' '), backends: [] });
    else if (/^\s+->\s+\d/.test(line)) out.at(-1)?.backends.push(line.trim().split(/\s+/)[1] ?? '');
  }
  return out;
}

/** Why a node's mesh plumbing is incomplete for the given ingress ports (empty when fine). */
export function meshProblems(
  facts: NodeFacts,
  ports: { service: string; port: PublishedPort }[],
  servicesWithTasks: number,
): { problems: string[]; evidence: Record<string, unknown> } {
  const problems: string[] = [];
  const evidence: Record<string, unknown> = {};
  if (!facts.ingressSbox) problems.push('ingress_sbox missing');
  const rules = facts.dockerIngressRules ?? [];
  const missingRules = ports
    .filter(
      ({ port }) =>
        !rules.some(
          (r) =>
            r.includes(`-p ${port.protocol}`) &&
            new RegExp(`--dport ${port.published}\\b`).test(r) &&
            r.includes('DNAT'),
        ),
    )
    .map(({ service, port }) => `${port.published}/${port.protocol} (${service})`);
  if (facts.dockerIngressRules === null) problems.push('DOCKER-INGRESS chain missing');
  else if (missingRules.length > 0) problems.push(`DOCKER-INGRESS lacks ${missingRules.join(', ')}`);
  if (missingRules.length > 0) evidence.missingRules = missingRules;
  evidence.dockerIngressRules = facts.dockerIngressRules;
  if (facts.ipvs !== null) {
    const virtual = parseIpvs(facts.ipvs);
    const empty = virtual.filter((v) => v.backends.length === 0).map((v) => v.service);
    const served = virtual.filter((v) => v.backends.length > 0).length;
    evidence.ipvs = virtual;
    if (empty.length > 0) problems.push(`IPVS services without backends: ${empty.join(', ')}`);
    if (served < servicesWithTasks) {
      problems.push(`${served} IPVS services with backends, ${servicesWithTasks} ingress services running`);
    }
  }
  return { problems, evidence };
}

/** One reading of the mesh: every result, and whether waiting could still change it. */
interface MeshReading {
  results: CheckResult[];
  settled: boolean;
}

/**
 * Reads the mesh once: services, tasks and every Ready node's facts. Missing plumbing is "not yet"
 * rather than final: after an engine restart the engine re-programs DNAT rules and IPVS backends
 * over several seconds, so the caller polls until the timeout. A poll re-gathers the facts of the
 * nodes in scope, and of any node whose last read failed; the others are only compared against
 * (their iptables backend), so the round's reading of them stands. On a big cluster, waiting for
 * one node must not mean one exec per node per second.
 */
async function readMesh(
  ctx: CheckContext,
  fresh: boolean,
  unreadable: Set<string>,
  result: ReturnType<typeof resultFor>,
): Promise<MeshReading> {
  const services = await ctx.swarm.listServices();
  const ports = ingressPorts(services);
  if (ports.length === 0) {
    return {
      results: [result('not-applicable', 'no service publishes in ingress mode (host-mode publishing)')],
      settled: true,
    };
  }
  const ready = ctx.nodes.filter((n) => n.state === 'ready').map((n) => n.hostname);
  const facts = new Map<string, NodeFacts>();
  const failures: CheckResult[] = [];
  await Promise.all(
    ready.map(async (node) => {
      try {
        const again = fresh && (ctx.scope.includes(node) || unreadable.has(node));
        facts.set(node, await ctx.factsOf(node, { fresh: again }));
        unreadable.delete(node);
      } catch (e) {
        unreadable.add(node);
        failures.push(
          result('fail', `${node}: ${errorMessage(e)}`, { node, evidence: { error: errorMessage(e) } }),
        );
      }
    }),
  );
  const noIpvs = [...facts.values()].filter((f) => f.ipvsKernel === false).map((f) => f.node);
  if (noIpvs.length > 0 && noIpvs.length === facts.size) {
    return {
      results: [
        ...failures,
        result('not-applicable', 'kernel has no IPVS: no routing mesh (host-mode publishing)', {
          evidence: { nodesWithoutIpvs: noIpvs.sort(), ingressPorts: ports.map((p) => p.port.published) },
        }),
      ],
      settled: true,
    };
  }
  const tasks = await ctx.swarm.listTasks({ desiredState: 'running' });
  const ingressServiceIds = new Set(ports.map((p) => p.service.id));
  const servicesWithTasks = [...ingressServiceIds].filter((id) =>
    tasks.some((t) => t.serviceId === id && t.state === 'running'),
  ).length;
  const backends = new Set([...facts.values()].map((f) => f.iptablesBackend));
  const results: CheckResult[] = [...failures];
  for (const node of ctx.scope.filter((n) => facts.has(n))) {
    const f = facts.get(node)!;
    const named = ports.map((p) => ({ service: p.service.name, port: p.port }));
    const { problems, evidence } = meshProblems(f, named, servicesWithTasks);
    if (f.ipvsKernel === false) problems.push('kernel has no IPVS');
    const before = ctx.baseline?.nodes[node]?.facts.iptablesBackend;
    if (before && before !== f.iptablesBackend)
      problems.push(`iptables backend ${before} → ${f.iptablesBackend}`);
    if (backends.size > 1)
      problems.push(`iptables backends differ across nodes: ${[...backends].sort().join(', ')}`);
    const full = { ...evidence, iptablesBackend: f.iptablesBackend, iptablesBackendBefore: before };
    ctx.progress?.(node, problems.length > 0 ? problems.join('; ') : undefined);
    results.push(
      problems.length === 0
        ? result('pass', `mesh ok: ${ports.length} ingress port(s) programmed`, { node, evidence: full })
        : result('fail', problems.join('; '), {
            node,
            evidence: full,
            ...(f.ingressSbox ? {} : { hint: noIngressSandboxHint(node) }),
          }),
    );
  }
  return { results, settled: !results.some((r) => r.status === 'fail') };
}

/**
 * The engine runs, ingress services exist, and it never built its ingress sandbox. Seen on the mesh
 * lab after an engine restart of a drained manager (Docker 20.10): the restarted engine found the
 * old ingress vxlan link still there, and its log says "Failed creating ingress network: … error
 * creating vxlan interface: file exists" (moby/libnetwork#1765). A second restart does not help;
 * removing the leftovers with the engine stopped does, and so does a reboot.
 */
function noIngressSandboxHint(node: string): string {
  return (
    `the engine on ${node} did not build its ingress sandbox; if its log says "Failed creating ingress network … ` +
    'error creating vxlan interface: file exists" (moby/libnetwork#1765), stop the engine, delete the leftover ' +
    'vx-* links (`ip -br link show type vxlan`) and /var/run/docker/netns/*, and start it again (a reboot also ' +
    'clears them); then resume'
  );
}

export const ingressMeshCheck: CheckDefinition<'ingress-mesh'> = {
  name: 'ingress-mesh',
  summary:
    'ingress_sbox present, DOCKER-INGRESS holds every ingress port, IPVS backends, same iptables backend (waits for them).',
  run: async (ctx, options) => {
    const startedAt = ctx.now();
    const result = resultFor('ingress-mesh', ctx, startedAt);
    let reads = 0;
    const unreadable = new Set<string>();
    const attempt = async () => {
      const fresh = reads++ > 0;
      try {
        const reading = await readMesh(ctx, fresh, unreadable, result);
        return { done: reading.settled, value: reading.results };
      } catch (e) {
        const error = errorMessage(e);
        return {
          done: false,
          value: [result('fail', `swarm API failed: ${error}`, { evidence: { error } })],
        };
      }
    };
    const { value, done, waitedMs } = await waitUntil(ctx, options.timeoutMs, attempt, {
      pollMs: 1000,
      spacing: NODE_POLL_SPACING,
    });
    if (waitedMs === 0) return value;
    const after = ` after waiting ${formatDuration(waitedMs)}`;
    return value.map((r) =>
      r.status === 'fail' || (done && r.status === 'pass')
        ? {
            ...r,
            message: `${r.message}${r.status === 'fail' ? ` (still missing${after})` : after}`,
            evidence: { ...(r.evidence as Record<string, unknown>), waitedMs },
          }
        : r,
    );
  },
};
