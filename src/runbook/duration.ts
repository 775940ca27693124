import { z } from 'zod';

/**
 * The duration format of runbooks: its schema and its parser side by side, so the schema can
 * hand durations to checks already in ms. Pure.
 */

/** A duration: a number of seconds, or a string such as `500ms`, `30s`, `10m`, `1h`, `1h30m`. */
export const rawDuration = z
  .union(
    [
      z.number().nonnegative(),
      z.string().regex(/^(\d+(\.\d+)?(ms|s|m|h))+$/, 'a duration like 30s, 10m, 1h30m or 500ms'),
    ],
    { error: 'a duration like 30s, 10m, 1h30m or 500ms (or a number of seconds)' },
  )
  .describe('A duration: seconds as a number, or a string such as 500ms, 30s, 10m, 1h30m.');

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** `1h30m` → 5 400 000; `500ms` → 500; a number is seconds (`30` → 30 000). */
export function parseDuration(raw: number | string): number {
  if (typeof raw === 'number') return Math.round(raw * 1000);
  let total = 0;
  let matched = '';
  for (const match of raw.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
    total += Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
    matched += match[0];
  }
  if (matched !== raw || raw === '') throw new RangeError(`not a duration: ${JSON.stringify(raw)}`);
  return Math.round(total);
}
