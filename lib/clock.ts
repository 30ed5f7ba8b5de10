/**
 * Time as components and helpers see it: the current time and timers, injectable so tests run
 * schedules (backoff, collection intervals, polling) on fake time instead of waiting. The exporter
 * helper, the host metrics scrapers, the file log receiver and the telemetryflow extension take a
 * {@linkcode Clock}; {@linkcode SYSTEM_CLOCK} is the real one.
 *
 * @module
 */

/** A source of time and timers. */
export interface Clock {
  /** The current time in milliseconds. */
  now(): number;
  /** Calls `fn` once after `ms` milliseconds; returns a handle for {@linkcode Clock.clearTimer}. */
  setTimer(fn: () => void, ms: number): unknown;
  /** Cancels a timer that has not fired yet. */
  clearTimer(handle: unknown): void;
}

/** The real clock: `Date.now` and `setTimeout`. */
export const SYSTEM_CLOCK: Clock = {
  now: () => Date.now(),
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (handle) => clearTimeout(handle as number),
};

/**
 * Waits `ms` milliseconds. Resolves true when the time passed, false as soon as `signal` aborts
 * (at once when it already has).
 */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clock.clearTimer(timer);
      resolve(false);
    };
    const timer = clock.setTimer(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
