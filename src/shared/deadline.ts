import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The deadline of whatever is waiting, carried down the async call chain: a wait (`waitUntil`)
 * sets it for each attempt, and an adapter call made inside that attempt (a Docker API request)
 * ends by then, however deep it sits, without every port method taking a signal. Wall-clock
 * milliseconds (Date.now()), because the adapters time real I/O. The wait's cancel signal rides
 * along: an operator's second Ctrl-C ends the request in flight, not only the wait around it.
 */
interface Deadline {
  at: number;
  signal?: AbortSignal;
}
const deadlines = new AsyncLocalStorage<Deadline>();

/** Run `fn` with a deadline `ms` from now (or the enclosing one if sooner), cancelled by `signal` too. */
export function withDeadline<T>(ms: number, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  const at = Date.now() + Math.max(0, ms);
  const outer = deadlines.getStore();
  const signals = [outer?.signal, signal].filter((s): s is AbortSignal => s !== undefined);
  const combined = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
  return deadlines.run(
    { at: outer !== undefined && outer.at < at ? outer.at : at, ...(combined ? { signal: combined } : {}) },
    fn,
  );
}

/** Milliseconds left until the enclosing deadline; undefined when nothing waits with one. */
export function timeLeft(): number | undefined {
  const deadline = deadlines.getStore();
  return deadline === undefined ? undefined : Math.max(0, deadline.at - Date.now());
}

/** The cancel signal of whatever waits, if it has one. */
export function waitSignal(): AbortSignal | undefined {
  return deadlines.getStore()?.signal;
}
