import { z } from 'zod';

/**
 * The duration format of runbooks (its parser, `parseDuration`, is a shared leaf). Pure.
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
