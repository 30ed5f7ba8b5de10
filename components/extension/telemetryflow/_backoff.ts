/**
 * Exponential backoff with jitter and a bound, and the "warn once per failure streak" rule that
 * keeps an unreachable platform from flooding the logs.
 *
 * @module
 */
import type { Logger } from "../../../lib/telemetry/logger.ts";

/** Backoff settings, in milliseconds. */
export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  multiplier: number;
  /** Each wait is drawn from `[wait × (1 − f), wait × (1 + f)]`, then capped at `maxMs`. */
  randomizationFactor: number;
}

/** Successive waits of one failure streak. */
export class Backoff {
  readonly #policy: BackoffPolicy;
  readonly #random: () => number;
  #next: number;

  /** @param random a source in [0, 1) @default Math.random */
  constructor(policy: BackoffPolicy, random: () => number = Math.random) {
    this.#policy = policy;
    this.#random = random;
    this.#next = policy.initialMs;
  }

  /** The wait before the next attempt; each call grows the following one. */
  nextDelay(): number {
    const p = this.#policy;
    const base = Math.min(this.#next, p.maxMs);
    this.#next = Math.min(this.#next * p.multiplier, p.maxMs);
    const spread = base * p.randomizationFactor;
    const delay = base - spread + this.#random() * 2 * spread;
    return Math.max(1, Math.min(Math.round(delay), p.maxMs));
  }

  /** Starts over after a success. */
  reset(): void {
    this.#next = this.#policy.initialMs;
  }
}

/** Logs the first failure of a streak at warn, the rest at debug, and the recovery at info. */
export class FailureStreak {
  readonly #logger: Logger;
  readonly #what: string;
  #failures = 0;

  /** @param what the operation, as in "Heartbeat failed" */
  constructor(logger: Logger, what: string) {
    this.#logger = logger;
    this.#what = what;
  }

  /** Failures in the current streak. */
  get failures(): number {
    return this.#failures;
  }

  /** Records a failure; `fields` must hold no secret. */
  failed(reason: string, fields: Readonly<Record<string, unknown>> = {}): void {
    this.#failures++;
    const log = this.#failures === 1 ? this.#logger.warn : this.#logger.debug;
    log.call(this.#logger, `${this.#what} failed: ${reason}`, {
      ...fields,
      failures: this.#failures,
    });
  }

  /** Records a success, logging the recovery when a streak ends. */
  succeeded(): void {
    if (this.#failures > 0) {
      this.#logger.info(`${this.#what} succeeded again`, { failures: this.#failures });
    }
    this.#failures = 0;
  }
}
