/**
 * A log line that is written at most once per interval. Lines in between are counted and the
 * count is reported with the next line written, so a failing backend floods neither the log nor
 * the disk, and nothing goes unmentioned.
 *
 * @module
 */
import type { LogFields, Logger, LogLevel } from "../telemetry/logger.ts";
import type { Clock } from "./_clock.ts";

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
