/**
 * The two ways tfo keeps a repeating problem from flooding its log, so that neither the log nor
 * the disk fills and nothing goes unmentioned:
 *
 * - {@linkcode RateLimitedLog}: one kind of line at most once per interval; the lines in between
 *   are counted and the count is reported with the next line written (exporter retries, failed
 *   sends).
 * - {@linkcode FailureStreak}: the first failure of a streak at warn, the rest at debug, and the
 *   recovery at info (an unreachable platform, a failing poll).
 *
 * @module
 */
import type { LogFields, Logger, LogLevel } from "./telemetry/logger.ts";
import type { Clock } from "./clock.ts";

/** How often a rate-limited line is written at most. */
export const LOG_INTERVAL_MS = 10_000;

/** Writes one kind of line at most once per interval. */
export class RateLimitedLog {
  readonly #logger: Logger;
  readonly #level: LogLevel;
  readonly #message: string;
  readonly #clock: Clock;
  readonly #intervalMs: number;
  #last = Number.NEGATIVE_INFINITY;
  #suppressed = 0;

  constructor(
    logger: Logger,
    level: LogLevel,
    message: string,
    clock: Clock,
    intervalMs = LOG_INTERVAL_MS,
  ) {
    this.#logger = logger;
    this.#level = level;
    this.#message = message;
    this.#clock = clock;
    this.#intervalMs = intervalMs;
  }

  /** Writes the line with `fields` unless one was written less than an interval ago. */
  log(fields: LogFields): void {
    const now = this.#clock.now();
    if (now - this.#last < this.#intervalMs) {
      this.#suppressed++;
      return;
    }
    const suppressed = this.#suppressed;
    this.#last = now;
    this.#suppressed = 0;
    this.#logger[this.#level](
      this.#message,
      suppressed === 0 ? fields : { ...fields, suppressed_since_last: suppressed },
    );
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
