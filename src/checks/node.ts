import { formatDuration } from '../shared/format-duration.js';
import { waitUntil } from '../shared/wait-until.js';
import type { EngineInfo, SwarmNode } from '../transport/types.js';
import type { CheckContext, CheckDefinition, CheckResult } from './types.js';
import { compareVersions, errorMessage, forEachNode, resultFor } from './util.js';

/** Why a node is not as expected, or undefined when it is. */
export function nodeReadyProblems(
  node: SwarmNode | undefined,
  expectedAvailability: SwarmNode['availability'],
  expectedAddr: string | undefined,
): string[] {
  if (!node) return ['not in the swarm node list'];
  const problems: string[] = [];
  if (node.state !== 'ready') problems.push(`state ${node.state}`);
  if (node.availability !== expectedAvailability) {
    problems.push(`availability ${node.availability}, expected ${expectedAvailability}`);
  }
  if (expectedAddr && node.address !== expectedAddr) {
    problems.push(`address ${node.address}, was ${expectedAddr}`);
  }
  return problems;
}

export const nodeReadyCheck: CheckDefinition<'node-ready'> = {
  name: 'node-ready',
  summary: 'Node Status.State is ready, availability as expected, address as recorded.',
  run: (ctx, options) =>
    forEachNode('node-ready', ctx, ctx.scope, async (name) => {
      const startedAt = ctx.now();
      const expected = ctx.expectedAvailability[name] ?? 'active';
      const expectedAddr = ctx.baseline?.nodes[name]?.swarm.address;
      let current = ctx.nodes.find((n) => n.hostname === name);
      let lastError: string | undefined;
      const { value: problems, waitedMs } = await waitUntil(ctx, options.timeoutMs, async () => {
        try {
          current = current?.id
            ? await ctx.swarm.inspectNode(current.id)
            : (await ctx.swarm.listNodes()).find((n) => n.hostname === name);
          lastError = undefined;
        } catch (error) {
          lastError = errorMessage(error);
        }
        const found = lastError
          ? [`swarm API: ${lastError}`]
          : nodeReadyProblems(current, expected, expectedAddr);
        ctx.progress?.(name, found.length === 0 ? undefined : found.join('; '));
        return { done: found.length === 0, value: found };
      });
      const result = resultFor('node-ready', ctx, startedAt);
      const evidence = current
        ? {
            state: current.state,
            availability: current.availability,
            address: current.address,
            expected,
            waitedMs,
          }
        : { expected, waitedMs, error: lastError };
      if (problems.length === 0) {
        const waited = waitedMs > 0 ? ` after ${formatDuration(waitedMs)}` : '';
        return [result('pass', `ready, ${expected}${waited}`, { node: name, evidence })];
      }
      return [result('fail', problems.join('; '), { node: name, evidence })];
    }),
};

export const swarmStateCheck: CheckDefinition<'swarm-state'> = {
  name: 'swarm-state',
  summary: "docker info on the node's own engine: LocalNodeState active, no swarm error.",
  run: (ctx, options) =>
    forEachNode('swarm-state', ctx, ctx.scope, async (node) => {
      const startedAt = ctx.now();
      type Seen = { info?: EngineInfo; error?: string };
      const { value, waitedMs } = await waitUntil<Seen>(ctx, options.timeoutMs, async () => {
        try {
          const engine = await ctx.engineOf(node);
          const info = await engine.info();
          const ok = info.localNodeState === 'active' && info.error === '';
          ctx.progress?.(
            node,
            ok ? undefined : `swarm ${info.localNodeState || 'unknown'} ${info.error}`.trim(),
          );
          return { done: ok, value: { info } };
        } catch (error) {
          ctx.progress?.(node, `engine unreachable: ${errorMessage(error)}`);
          return { done: false, value: { info: undefined, error: errorMessage(error) } };
        }
      });
      const result = resultFor('swarm-state', ctx, startedAt);
      if (!value.info) {
        return [
          result('fail', `engine unreachable: ${value.error}`, {
            node,
            evidence: { error: value.error, waitedMs },
          }),
        ];
      }
      const { localNodeState, error, controlAvailable, serverVersion } = value.info;
      const evidence = { localNodeState, error, controlAvailable, serverVersion, waitedMs };
      if (localNodeState === 'active' && error === '') {
        return [result('pass', `swarm ${localNodeState}`, { node, evidence })];
      }
      return [
        result('fail', `swarm ${localNodeState || 'unknown'}${error ? `: ${error}` : ''}`, {
          node,
          evidence,
        }),
      ];
    }),
};

/** True when `actual` is `expected` or a distribution build of it (20.10.24 vs 20.10.24+dfsg1). */
export function versionMatches(actual: string, expected: string): boolean {
  if (actual === expected) return true;
  return actual.startsWith(expected) && /^[+~-]/.test(actual.slice(expected.length));
}

export const engineVersionCheck: CheckDefinition<'engine-version'> = {
  name: 'engine-version',
  summary: 'Engine version equals the target; managers never behind workers.',
  run: async (ctx, options) => {
    const startedAt = ctx.now();
    const result = resultFor('engine-version', ctx, startedAt);
    const results: CheckResult[] = [];
    const byName = new Map(ctx.nodes.map((n) => [n.hostname, n]));
    for (const name of ctx.scope) {
      const node = byName.get(name);
      if (!node) {
        results.push(result('fail', 'not in the swarm node list', { node: name }));
      } else if (options.expected === undefined) {
        results.push(
          result('pass', `engine ${node.engineVersion}`, {
            node: name,
            evidence: { version: node.engineVersion },
          }),
        );
      } else if (versionMatches(node.engineVersion, options.expected)) {
        results.push(
          result('pass', `engine ${node.engineVersion}`, {
            node: name,
            evidence: { version: node.engineVersion, expected: options.expected },
          }),
        );
      } else {
        results.push(
          result('fail', `engine ${node.engineVersion}, expected ${options.expected}`, {
            node: name,
            evidence: { version: node.engineVersion, expected: options.expected },
          }),
        );
      }
    }
    if (options.managersNotBehindWorkers) {
      const managers = ctx.nodes.filter((n) => n.role === 'manager');
      const workers = ctx.nodes.filter((n) => n.role === 'worker');
      const behind = managers.filter((m) =>
        workers.some((w) => compareVersions(m.engineVersion, w.engineVersion) < 0),
      );
      const newestWorker = workers
        .map((w) => w.engineVersion)
        .sort(compareVersions)
        .at(-1);
      if (behind.length > 0) {
        results.push(
          result(
            'fail',
            `managers behind workers: ${behind.map((m) => `${m.hostname} ${m.engineVersion}`).join(', ')}`,
            {
              evidence: {
                behind: behind.map((m) => ({ node: m.hostname, version: m.engineVersion })),
                newestWorker,
              },
            },
          ),
        );
      } else {
        results.push(result('pass', 'no manager behind a worker', { evidence: { newestWorker } }));
      }
    }
    return results;
  },
};

export const rebootObservedCheck: CheckDefinition<'reboot-observed'> = {
  name: 'reboot-observed',
  summary: 'A node that a reboot stage rebooted really rebooted (boot id changed).',
  run: async (ctx: CheckContext) => {
    const startedAt = ctx.now();
    const rebooted = ctx.scope.filter((n) => ctx.rebootedFrom[n] !== undefined);
    if (rebooted.length === 0) {
      return [
        resultFor(
          'reboot-observed',
          ctx,
          startedAt,
        )('not-applicable', 'no node in scope was rebooted by this run'),
      ];
    }
    return forEachNode('reboot-observed', ctx, rebooted, async (node) => {
      const facts = await ctx.factsOf(node);
      const before = ctx.rebootedFrom[node];
      const evidence = { bootIdBefore: before, bootIdNow: facts.bootId };
      const result = resultFor('reboot-observed', ctx, startedAt);
      if (!facts.bootId) {
        return [
          result('fail', 'could not read the boot id', {
            node,
            evidence: { ...evidence, error: facts.sectionErrors?.boot },
          }),
        ];
      }
      return facts.bootId !== before
        ? [result('pass', 'boot id changed: the node rebooted', { node, evidence })]
        : [result('fail', 'boot id unchanged: the node did not reboot', { node, evidence })];
    });
  },
};
