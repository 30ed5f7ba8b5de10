/**
 * Config of the `debug` exporter and of its deprecated predecessor `logging`, with the
 * OpenTelemetry Collector's keys and defaults.
 *
 * @module
 */
import { z } from "../../../lib/config/z.js";

/** How much the debug exporter writes per batch. */
export const VERBOSITIES = ["basic", "normal", "detailed"] as const;

/** How much the debug exporter writes: counts, a line per item, or every field. */
export type Verbosity = (typeof VERBOSITIES)[number];

/** The `debug` exporter's config schema. */
export const debugConfigSchema = z.strictObject({
  /** `basic`: one line of counts per batch; `normal`: a line per item; `detailed`: every field. */
  verbosity: z.enum(VERBOSITIES).default("basic"),
  /** Batches of a signal written in full each second before sampling starts. */
  sampling_initial: z.number().int().nonnegative().default(2),
  /** After `sampling_initial`, every this-many-th batch of the second is written (0: none). */
  sampling_thereafter: z.number().int().nonnegative().default(1),
  /** Write through tfo's own logger (true) or as plain text to stdout (false). */
  use_internal_logger: z.boolean().default(true),
});

/** The `debug` exporter's validated config. */
export type DebugConfig = z.output<typeof debugConfigSchema>;

const LOG_LEVEL_VERBOSITY: Readonly<Record<string, Verbosity>> = {
  debug: "detailed",
  info: "normal",
  warn: "basic",
  error: "basic",
};

/**
 * The deprecated `logging` exporter's config schema: `loglevel` (`debug` → detailed, `info` →
 * normal, `warn`/`error` → basic) or `verbosity` (default `normal`), not both; sampling thereafter
 * defaults to 500 as it did in the Collector. It yields a {@linkcode DebugConfig}.
 */
export const loggingConfigSchema = z
  .strictObject({
    /** Deprecated: use `verbosity`. */
    loglevel: z.enum(["debug", "info", "warn", "error"]).optional(),
    verbosity: z.enum(VERBOSITIES).optional(),
    sampling_initial: z.number().int().nonnegative().default(2),
    sampling_thereafter: z.number().int().nonnegative().default(500),
  })
  .superRefine((c, ctx) => {
    if (c.loglevel !== undefined && c.verbosity !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["loglevel"],
        message: "loglevel and verbosity are incompatible: use only verbosity",
      });
    }
  })
  .transform((c): DebugConfig => ({
    verbosity: c.verbosity ?? LOG_LEVEL_VERBOSITY[c.loglevel ?? "info"]!,
    sampling_initial: c.sampling_initial,
    sampling_thereafter: c.sampling_thereafter,
    use_internal_logger: true,
  }));
