import type { CheckContext, CheckName, CheckResult, CheckStatus } from './types.js';

/** The message of anything thrown, for evidence. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** Builds results for one check, measuring time from `startedAt` (the check's clock). */
export function resultFor(check: CheckName, ctx: Pick<CheckContext, 'now'>, startedAt: number) {
  return (
    status: CheckStatus,
    message: string,
    extra: { node?: string; evidence?: unknown; hint?: string } = {},
  ): CheckResult => ({
    check,
    ...(extra.node === undefined ? {} : { node: extra.node }),
    status,
    message,
    ...(extra.evidence === undefined ? {} : { evidence: extra.evidence }),
    ...(extra.hint === undefined ? {} : { hint: extra.hint }),
    durationMs: Math.max(0, ctx.now() - startedAt),
  });
}

/**
 * Runs `fn` for every node in parallel; a node whose work throws (unreachable, engine down)
 * becomes a failed result with the error as evidence instead of failing the whole check.
 */
export async function forEachNode(
  check: CheckName,
  ctx: Pick<CheckContext, 'now'>,
  nodes: string[],
  fn: (node: string) => Promise<CheckResult[]>,
): Promise<CheckResult[]> {
  const perNode = await Promise.all(
    nodes.map(async (node) => {
      const startedAt = ctx.now();
      try {
        return await fn(node);
      } catch (error) {
        return [
          resultFor(check, ctx, startedAt)('fail', `${node}: ${errorMessage(error)}`, {
            node,
            evidence: { error: errorMessage(error) },
          }),
        ];
      }
    }),
  );
  return perNode.flat();
}

/** Compares dotted version strings numerically (20.10.24+dfsg1 vs 24.0.7); -1, 0 or 1. */
export function compareVersions(a: string, b: string): number {
  const parts = (v: string) => (v.match(/\d+/g) ?? []).slice(0, 3).map(Number);
  const pa = parts(a);
  const pb = parts(b);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}
