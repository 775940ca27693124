import { formatDuration } from './format-duration.js';

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/**
 * The longest duration drydock accepts anywhere (a timeout, a pause, the lock's ttl): 7 days.
 * Far beyond any maintenance window, and far below the ~24.8 days (2^31 ms) at which Node's
 * timers overflow and fire at once.
 */
export const MAX_DURATION_MS = 7 * 24 * 3_600_000;

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

/**
 * What is wrong with a duration's size, or undefined when it is usable: not finite, above
 * `MAX_DURATION_MS`, or zero where zero means nothing (a timeout of 0s could never succeed).
 */
export function describeDurationBounds(
  raw: number | string,
  options: { allowZero: boolean },
): string | undefined {
  let ms: number;
  try {
    ms = parseDuration(raw);
  } catch {
    return undefined; // the format check reports it
  }
  if (!Number.isFinite(ms) || ms > MAX_DURATION_MS) {
    return `${JSON.stringify(raw)} is too long: at most ${formatDuration(MAX_DURATION_MS)} (7 days)`;
  }
  if (ms === 0 && !options.allowZero) return `${JSON.stringify(raw)} is zero: give a positive duration`;
  return undefined;
}
