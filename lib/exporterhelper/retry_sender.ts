/**
 * The retry sender: retries retryable failures with exponential backoff and jitter, as the
 * OpenTelemetry Collector's `retry_on_failure` does.
 *
 * - The n-th wait is `initial_interval · multiplierⁿ⁻¹`, capped at `max_interval`, then spread
 *   uniformly over `± randomization_factor` of itself (so a wait can exceed `max_interval` by that
 *   factor, as in the Collector's backoff library).
 * - A server's requested delay (`retryAfterMs`: HTTP `Retry-After`, gRPC `RetryInfo`) makes the
 *   wait `max(backoff, retryAfter)`, as the Collector does (`retry_sender.go`: `backoffDelay =
 *   max(backoffDelay, throttleErr.delay)`): a server asking for less never makes tfo retry faster
 *   than its backoff, and one asking for more is obeyed.
 * - When the next attempt would start after `max_elapsed_time` from the first, it gives up at
 *   once with the last error (retryable, so an upstream may still retry); 0 retries forever.
 * - Permanent errors pass straight through: retrying the same data can never succeed.
 * - An abort of `stopSignal` (shutdown) ends a wait early, and stops before a new attempt, with a
 *   {@linkcode ShutdownError}.
 *
 * @module
 */
import { ConsumerError, errorMessage, isPermanent, permanentError } from "../consumer/consumer.ts";
import { OtlpDecodeError } from "../otlp/errors.ts";
import type { Signal } from "../pdata/types.ts";
import type { Logger } from "../telemetry/logger.ts";
import { ExponentialBackoff } from "../backoff.ts";
import { type Clock, sleep, SYSTEM_CLOCK } from "../clock.ts";
import { RateLimitedLog } from "../log_throttle.ts";

// The backoff is shared with the telemetryflow extension; re-exported for existing imports.
export { ExponentialBackoff };
import { formatDuration } from "../config/schema.ts";
import type { Sender } from "./timeout_sender.ts";

/** The `retry_on_failure` settings; durations in milliseconds. */
export interface RetryConfig {
  /** Retry retryable failures at all. */
  readonly enabled: boolean;
  /** The first wait. */
  readonly initial_interval: number;
  /** How far each wait is spread around its nominal value, as a fraction in [0, 1]. */
  readonly randomization_factor: number;
  /** The growth of the nominal wait per retry. */
  readonly multiplier: number;
  /** The largest nominal wait. */
  readonly max_interval: number;
  /** The most time from the first attempt to the start of the last; 0 means no limit. */
  readonly max_elapsed_time: number;
}

/** A retryable failure that ended because the exporter is shutting down. */
export class ShutdownError extends ConsumerError {
  constructor(cause: unknown) {
    super(`Interrupted due to shutdown: ${errorMessage(cause)}`, false, { cause });
    this.name = "ShutdownError";
  }
}

/** True for a failure that ended because of shutdown (a persistent queue keeps the entry). */
export function isShutdownError(error: unknown): error is ShutdownError {
  return error instanceof ShutdownError;
}

/** Options of {@linkcode retrySender}. */
export interface RetrySenderOptions {
  /** Logs each retry, rate-limited. */
  logger: Logger;
  /** Aborts waits and further attempts (shutdown). */
  stopSignal?: AbortSignal;
  /** @default SYSTEM_CLOCK */
  clock?: Clock;
  /** Uniform in [0, 1), for jitter. @default Math.random */
  random?: () => number;
}

/** Wraps `next` so that retryable failures are retried as `config` says. */
export function retrySender<S extends Signal>(
  next: Sender<S>,
  config: RetryConfig,
  options: RetrySenderOptions,
): Sender<S> {
  if (!config.enabled) return next;
  const clock = options.clock ?? SYSTEM_CLOCK;
  const { stopSignal } = options;
  const retryLog = new RateLimitedLog(
    options.logger,
    "info",
    "Exporting failed. Will retry the request after interval",
    clock,
  );

  return async (payload) => {
    const started = clock.now();
    const backoff = new ExponentialBackoff(config, options.random);
    for (;;) {
      try {
        await next(payload);
        return;
      } catch (error) {
        if (isPermanent(error)) throw error;
        // Data that does not decode never will: drop this request, never retry it.
        if (error instanceof OtlpDecodeError) {
          throw permanentError(`Cannot encode the data to send: ${error.message}`, {
            cause: error,
          });
        }
        if (stopSignal?.aborted) throw new ShutdownError(error);
        const retryAfter = error instanceof ConsumerError ? error.retryAfterMs : undefined;
        const delay = Math.max(backoff.next(), retryAfter ?? 0);
        const elapsed = clock.now() - started;
        if (config.max_elapsed_time > 0 && elapsed + delay > config.max_elapsed_time) {
          throw new ConsumerError(`No more retries left: ${errorMessage(error)}`, false, {
            cause: error,
          });
        }
        retryLog.log({ error, interval: formatDuration(Math.round(delay)) });
        if (!await sleep(clock, delay, stopSignal)) throw new ShutdownError(error);
      }
    }
  };
}
