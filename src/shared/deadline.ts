import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The deadline of whatever is waiting, carried down the async call chain: a wait (`waitUntil`)
 * sets it for each attempt, and an adapter call made inside that attempt (a Docker API request)
 * ends by then, however deep it sits, without every port method taking a signal. Wall-clock
 * milliseconds (Date.now()), because the adapters time real I/O.
 */
const deadlines = new AsyncLocalStorage<number>();

/** Run `fn` with a deadline `ms` from now, or the enclosing one if that is sooner. */
export function withDeadline<T>(ms: number, fn: () => Promise<T>): Promise<T> {
  const at = Date.now() + Math.max(0, ms);
  const outer = deadlines.getStore();
  return deadlines.run(outer !== undefined && outer < at ? outer : at, fn);
}

/** Milliseconds left until the enclosing deadline; undefined when nothing waits with one. */
export function timeLeft(): number | undefined {
  const at = deadlines.getStore();
  return at === undefined ? undefined : Math.max(0, at - Date.now());
}
