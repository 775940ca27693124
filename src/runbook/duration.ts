import { z } from 'zod';
import { describeDurationBounds } from '../shared/parse-duration.js';

/**
 * The duration format of runbooks (its parser, `parseDuration`, is a shared leaf). Pure.
 */

const durationFormat = z.union(
  [
    z.number().nonnegative(),
    z.string().regex(/^(\d+(\.\d+)?(ms|s|m|h))+$/, 'a duration like 30s, 10m, 1h30m or 500ms'),
  ],
  { error: 'a duration like 30s, 10m, 1h30m or 500ms (or a number of seconds)' },
);

/**
 * Bounded, because Node's timers overflow at 2^31 ms and then fire at once: a `pause` of 600h
 * would be skipped and a command timeout of `1e308` would kill the command at once.
 */
function boundedDuration(allowZero: boolean) {
  return durationFormat.superRefine((raw, ctx) => {
    const problem = describeDurationBounds(raw, { allowZero });
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });
}

/** A duration: a number of seconds, or a string such as `500ms`, `30s`, `10m`, `1h`, `1h30m`. Positive, at most 7 days. */
export const rawDuration = boundedDuration(false).describe(
  'A duration: seconds as a number, or a string such as 500ms, 30s, 10m, 1h30m (more than 0, at most 168h).',
);

/** A duration where 0 means "none" (a soak between nodes, a delay between retries). */
export const rawDurationOrZero = boundedDuration(true).describe(
  'A duration: seconds as a number, or a string such as 500ms, 30s, 10m, 1h30m (0 for none, at most 168h).',
);
