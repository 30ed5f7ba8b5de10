/**
 * Exponential backoff with jitter, as the OpenTelemetry Collector's `retry_on_failure` computes it:
 * the n-th nominal wait is `initial_interval · multiplierⁿ⁻¹`, capped at `max_interval`, and each
 * wait is drawn uniformly from `nominal × [1 − randomization_factor, 1 + randomization_factor]`.
 * The exporters' retry sender and the telemetryflow extension's registration and heartbeat loops
 * use it.
 *
 * @module
 */

/** The Collector's backoff keys, durations in milliseconds. */
export interface BackoffConfig {
  /** The first nominal wait. */
  readonly initial_interval: number;
  /** The largest nominal wait. */
  readonly max_interval: number;
  /** The growth of the nominal wait per attempt. */
  readonly multiplier: number;
  /** How far each wait is spread around its nominal value, as a fraction in [0, 1]. */
  readonly randomization_factor: number;
}

/** Options of {@linkcode ExponentialBackoff}. */
export interface BackoffOptions {
  /** Uniform in [0, 1), for jitter. @default Math.random */
  random?: () => number;
  /**
   * Round each wait to whole milliseconds and keep it within `[1, max_interval]` (the Collector
   * lets jitter exceed `max_interval`). @default false
   */
  capAtMax?: boolean;
}

/** The successive waits of one failure streak. */
export class ExponentialBackoff {
  readonly #config: BackoffConfig;
  readonly #random: () => number;
  readonly #cap: boolean;
  #current: number;

  constructor(config: BackoffConfig, options: BackoffOptions | (() => number) = {}) {
    const o = typeof options === "function" ? { random: options } : options;
    this.#config = config;
    this.#random = o.random ?? Math.random;
    this.#cap = o.capAtMax ?? false;
    this.#current = config.initial_interval;
  }

  /** The next wait in milliseconds; advances the nominal wait. */
  next(): number {
    const { randomization_factor: factor, multiplier, max_interval: max } = this.#config;
    const nominal = this.#cap ? Math.min(this.#current, max) : this.#current;
    this.#current = nominal >= max / multiplier ? max : nominal * multiplier;
    const spread = nominal * factor;
    const wait = nominal - spread + 2 * spread * this.#random();
    return this.#cap ? Math.max(1, Math.min(Math.round(wait), max)) : wait;
  }

  /** Starts over from `initial_interval` (after a success). */
  reset(): void {
    this.#current = this.#config.initial_interval;
  }
}
