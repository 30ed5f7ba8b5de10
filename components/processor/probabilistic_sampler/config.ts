/**
 * The probabilistic sampler's config, as the contrib Collector's (v0.161): `sampling_percentage`
 * (a float32, 0 by default: nothing sampled), `hash_seed`, `mode` (`hash_seed`, `proportional`,
 * `equalizing`; unset means `hash_seed`), `sampling_precision` (4 hex digits, 1–14),
 * `fail_closed` (true), and for logs `attribute_source` (`traceID` or `record`),
 * `from_attribute` and `sampling_priority`.
 *
 * @module
 */
import { z } from "../../../lib/config/z.js";
import { MIN_SAMPLING_PROBABILITY, NUM_HEX_DIGITS } from "../../../lib/sampling/threshold.ts";

/** The probabilistic sampler's config schema. */
export const probabilisticSamplerConfigSchema = z
  .strictObject({
    /** Percentage of items kept; values over 100 keep everything. Read as a float32. */
    sampling_percentage: z.number().default(0).transform((v) => Math.fround(v)),
    /** Seed of the FNV hash in `hash_seed` mode; layers with the same seed keep the same items. */
    hash_seed: z.number().int().min(0).max(0xffffffff).default(0),
    /** How thresholds are chosen; unset is `hash_seed`. */
    mode: z.enum(["", "hash_seed", "proportional", "equalizing"], {
      message: 'unsupported sampler mode: must be "hash_seed", "proportional" or "equalizing"',
    }).default(""),
    /** On a sampling error (no randomness, a bad tracestate), drop the item. */
    fail_closed: z.boolean().default(true),
    /** Hex digits of the threshold written to `th`. */
    sampling_precision: z.number().int().default(4),
    /** Logs: where randomness comes from, the trace ID or a record attribute. */
    attribute_source: z.enum(["traceID", "record"], {
      message: 'invalid attribute source: must be "traceID" or "record"',
    }).default("traceID"),
    /** Logs: the attribute hashed when the trace ID is not the source (or is empty). */
    from_attribute: z.string().default(""),
    /** Logs: an attribute holding a minimum sampling percentage for its record. */
    sampling_priority: z.string().default(""),
  })
  .superRefine((c, ctx) => {
    const pct = c.sampling_percentage;
    if (!Number.isFinite(pct)) {
      ctx.addIssue({
        code: "custom",
        path: ["sampling_percentage"],
        message: "sampling rate is invalid",
      });
    } else if (pct < 0) {
      ctx.addIssue({
        code: "custom",
        path: ["sampling_percentage"],
        message: "sampling rate is negative",
      });
    } else if (pct > 0 && pct / 100 < MIN_SAMPLING_PROBABILITY) {
      ctx.addIssue({
        code: "custom",
        path: ["sampling_percentage"],
        message: "sampling rate is too small",
      });
    }
    if (c.sampling_precision === 0) {
      ctx.addIssue({
        code: "custom",
        path: ["sampling_precision"],
        message: "invalid sampling precision: 0",
      });
    } else if (c.sampling_precision > NUM_HEX_DIGITS || c.sampling_precision < 0) {
      ctx.addIssue({
        code: "custom",
        path: ["sampling_precision"],
        message: `sampling precision must be between 1 and ${NUM_HEX_DIGITS}`,
      });
    }
  });

/** The validated config. */
export type ProbabilisticSamplerConfig = z.output<typeof probabilisticSamplerConfigSchema>;
