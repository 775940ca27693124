/**
 * The one clock shape: time and sleep, injectable so waits with timeouts are testable in
 * milliseconds. A wait may also carry the run's abort signal.
 */
export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** A clock plus the signal that cuts its waits short (SIGINT, a halt elsewhere). */
export interface AbortableClock extends Clock {
  signal?: AbortSignal;
}

/** Node's timers hold a signed 32-bit delay: anything longer fires after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      // A long wait is a chain of timers each within the limit, so it never fires early.
      const until = Date.now() + ms;
      let timer = setTimeout(tick, Math.min(ms, MAX_TIMER_MS));
      function tick() {
        const left = until - Date.now();
        if (left > 0) {
          timer = setTimeout(tick, Math.min(left, MAX_TIMER_MS));
          return;
        }
        done();
      }
      function done() {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
    }),
};
