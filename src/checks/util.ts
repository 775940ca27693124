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
    extra: { node?: string; evidence?: unknown } = {},
  ): CheckResult => ({
    check,
    ...(extra.node === undefined ? {} : { node: extra.node }),
    status,
    message,
    ...(extra.evidence === undefined ? {} : { evidence: extra.evidence }),
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

/** Outcome of one attempt of a converging check: done stops the wait, otherwise it retries. */
export interface Attempt<T> {
  done: boolean;
  value: T;
}

/**
 * Retries `attempt` until it reports done or `timeoutMs` passes, sleeping `pollMs` (or until
 * `wake` resolves, e.g. on a Docker event) between attempts. Returns the last value and how long
 * it waited. Uses the injected clock so tests run in milliseconds.
 */
export async function waitUntil<T>(
  ctx: Pick<CheckContext, 'now' | 'sleep' | 'signal'>,
  timeoutMs: number,
  attempt: () => Promise<Attempt<T>>,
  options: { pollMs?: number; wake?: () => Promise<void> } = {},
): Promise<{ value: T; done: boolean; waitedMs: number }> {
  const pollMs = options.pollMs ?? 1000;
  const startedAt = ctx.now();
  for (;;) {
    const result = await attempt();
    const waitedMs = ctx.now() - startedAt;
    if (result.done || waitedMs >= timeoutMs || ctx.signal?.aborted) {
      return { value: result.value, done: result.done, waitedMs };
    }
    const delay = Math.min(pollMs, timeoutMs - waitedMs);
    await sleepOrWake(ctx, delay, options.wake);
  }
}

async function sleepOrWake(
  ctx: Pick<CheckContext, 'sleep' | 'signal'>,
  ms: number,
  wake: (() => Promise<void>) | undefined,
): Promise<void> {
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  ctx.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const sleeping = ctx.sleep(ms, controller.signal).catch(() => undefined);
    await (wake ? Promise.race([sleeping, wake()]) : sleeping);
  } finally {
    controller.abort();
    ctx.signal?.removeEventListener('abort', onAbort);
  }
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
