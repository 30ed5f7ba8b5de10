/**
 * The telemetryflow extension's backoff: {@linkcode ExponentialBackoff} of `lib/backoff.ts` with
 * waits kept within `[1 ms, max]`, and the "warn once per failure streak" rule of
 * `lib/log_throttle.ts` that keeps an unreachable platform from flooding the logs.
 *
 * @module
 */
import { ExponentialBackoff } from "../../../lib/backoff.ts";

export { FailureStreak } from "../../../lib/log_throttle.ts";

/** Backoff settings, in milliseconds. */
export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  multiplier: number;
  /** Each wait is drawn from `[wait × (1 − f), wait × (1 + f)]`, then capped at `maxMs`. */
  randomizationFactor: number;
}

/** Successive waits of one failure streak, each at most `maxMs`. */
export class Backoff {
  readonly #backoff: ExponentialBackoff;

  /** @param random a source in [0, 1) @default Math.random */
  constructor(policy: BackoffPolicy, random: () => number = Math.random) {
    this.#backoff = new ExponentialBackoff({
      initial_interval: policy.initialMs,
      max_interval: policy.maxMs,
      multiplier: policy.multiplier,
      randomization_factor: policy.randomizationFactor,
    }, { random, capAtMax: true });
  }

  /** The wait before the next attempt; each call grows the following one. */
  nextDelay(): number {
    return this.#backoff.next();
  }

  /** Starts over after a success. */
  reset(): void {
    this.#backoff.reset();
  }
}
