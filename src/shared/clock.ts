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

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
    }),
};
