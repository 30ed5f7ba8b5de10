/**
 * `error_mode` as the Collector's OTTL processors apply it: `ignore` logs the failure and goes on,
 * `silent` goes on without logging, `propagate` fails the whole payload. Every failure is counted;
 * logging is limited to one line per interval (with the number of failures since the last line)
 * so a bad statement on a busy pipeline cannot flood the log.
 *
 * @module
 */
import { z } from "../config/z.js";
import type { Logger } from "../telemetry/logger.ts";
import type { Counter } from "../telemetry/metrics.ts";

/** The `error_mode` values. */
export const errorModeSchema = z.enum(["ignore", "silent", "propagate"], {
  message: "must be one of ignore, silent, propagate",
});

/** An `error_mode` value. */
export type ErrorMode = z.output<typeof errorModeSchema>;

/** Options of {@linkcode createErrorHandler}. */
export interface ErrorHandlerOptions {
  logger: Logger;
  /** Counts every failure. */
  counter?: Counter;
  /** At most one log line per this many milliseconds. @default 10000 */
  intervalMs?: number;
  /** The clock. @default Date.now */
  now?: () => number;
}

/** Handles one run-time failure: returns to go on, throws to fail the payload. */
export type ErrorHandler = (error: unknown, what: string) => void;

/** Builds the handler for `mode`. */
export function createErrorHandler(mode: ErrorMode, options: ErrorHandlerOptions): ErrorHandler {
  const interval = options.intervalMs ?? 10_000;
  const now = options.now ?? Date.now;
  let lastLog = -Infinity;
  let suppressed = 0;
  return (error, what) => {
    options.counter?.add(1);
    if (mode === "propagate") throw error;
    if (mode === "silent") return;
    const t = now();
    if (t - lastLog < interval) {
      suppressed++;
      return;
    }
    lastLog = t;
    options.logger.warn("failed to execute OTTL, continuing (error_mode ignore)", {
      statement: what,
      error: error instanceof Error ? error.message : String(error),
      ...(suppressed > 0 ? { suppressed_since_last_log: suppressed } : {}),
    });
    suppressed = 0;
  };
}
