/**
 * The `spanmetrics` connector's config: the keys and defaults of the Collector contrib v0.161
 * `spanmetrics` connector. Durations are Go durations; histogram buckets are durations converted to
 * the histogram's `unit` (`ms` by default, or `s`).
 *
 * @module
 */
import { z } from "../../../lib/config/z.js";
import { duration, parseDuration } from "../../../lib/config/schema.ts";
import { checkDimensions, dimensionSchema } from "../_dimensions.ts";

/** The default explicit bucket bounds, in milliseconds. */
export const DEFAULT_BUCKETS_MS: readonly number[] = [
  2,
  4,
  6,
  8,
  10,
  50,
  100,
  200,
  400,
  800,
  1000,
  1400,
  2000,
  5000,
  10_000,
  15_000,
];

/** The default metric namespace. */
export const DEFAULT_NAMESPACE = "traces.span.metrics";

/** The dimensions every series has unless excluded, in the Collector's order. */
export const RESERVED_DIMENSIONS: readonly string[] = [
  "service.name",
  "span.name",
  "span.kind",
  "status.code",
  "collector.instance.id",
];

const dimensions = z.array(dimensionSchema).default([]);
const count = (d: number) => z.number().int().default(d);

/** A Go duration as exact nanoseconds (bucket bounds keep sub-millisecond precision). */
const bucketDuration = z.string().transform((value, ctx) => {
  const ms = parseDuration(value);
  if (ms === undefined) {
    ctx.addIssue({ code: "custom", message: `must be a duration such as "10ms", got "${value}"` });
    return z.NEVER;
  }
  return Math.round(ms * 1e6);
});

/** The `spanmetrics` connector's config schema. */
export const spanmetricsConfigSchema = z
  .strictObject({
    dimensions,
    calls_dimensions: dimensions,
    exclude_dimensions: z.array(z.string()).default([]),
    /** Deprecated in the Collector (v0.130) and without effect there; accepted with a warning. */
    dimensions_cache_size: count(0),
    resource_metrics_cache_size: z.number().int().positive().default(1000),
    resource_metrics_key_attributes: z.array(z.string()).default([]),
    aggregation_temporality: z.enum(
      ["AGGREGATION_TEMPORALITY_CUMULATIVE", "AGGREGATION_TEMPORALITY_DELTA"],
      { message: "must be AGGREGATION_TEMPORALITY_CUMULATIVE or AGGREGATION_TEMPORALITY_DELTA" },
    ).default("AGGREGATION_TEMPORALITY_CUMULATIVE"),
    histogram: z.strictObject({
      disable: z.boolean().default(false),
      unit: z.enum(["ms", "s"], { message: 'must be "ms" or "s"' }).default("ms"),
      exponential: z.strictObject({ max_size: z.number().int().min(0).default(160) }).nullish(),
      explicit: z.strictObject({ buckets: z.array(bucketDuration).optional() }).nullish(),
      dimensions,
    }).prefault({}),
    metrics_flush_interval: duration("60s"),
    metrics_expiration: duration("0s"),
    series_expiration: duration("0s"),
    metric_timestamp_cache_size: count(1000),
    namespace: z.string().default(DEFAULT_NAMESPACE),
    exemplars: z.strictObject({
      enabled: z.boolean().default(false),
      max_per_data_point: count(5),
    }).prefault({}),
    events: z.strictObject({
      enabled: z.boolean().default(false),
      dimensions,
    }).prefault({}),
    include_instrumentation_scope: z.array(z.string()).default([]),
    aggregation_cardinality_limit: count(0),
    add_resource_attributes: z.boolean().default(false),
    enable_metrics_sampling_method: z.boolean().default(false),
  })
  .superRefine((c, ctx) => {
    const lists: [(string | number)[], z.output<typeof dimensions>][] = [
      [["dimensions"], c.dimensions],
      [["calls_dimensions"], c.calls_dimensions],
      [["histogram", "dimensions"], c.histogram.dimensions],
    ];
    if (c.events.enabled) {
      if (c.events.dimensions.length === 0) {
        ctx.addIssue({
          code: "custom",
          path: ["events", "dimensions"],
          message: "no dimensions configured for events",
        });
      }
      lists.push([["events", "dimensions"], c.events.dimensions]);
    }
    for (const [path, list] of lists) {
      for (const issue of checkDimensions(list, RESERVED_DIMENSIONS)) {
        ctx.addIssue({ code: "custom", path: [...path, issue.index], message: issue.message });
      }
    }
    if (c.histogram.explicit != null && c.histogram.exponential != null) {
      ctx.addIssue({
        code: "custom",
        path: ["histogram"],
        message: "use either `explicit` or `exponential` buckets histogram",
      });
    }
    if (c.metrics_flush_interval <= 0) {
      ctx.addIssue({
        code: "custom",
        path: ["metrics_flush_interval"],
        message: "must be a positive duration",
      });
    }
    const positive: [string, number][] = [
      ["aggregation_cardinality_limit", c.aggregation_cardinality_limit],
      ["exemplars.max_per_data_point", c.exemplars.max_per_data_point],
      ["dimensions_cache_size", c.dimensions_cache_size],
    ];
    for (const [key, value] of positive) {
      if (value < 0) {
        ctx.addIssue({ code: "custom", path: key.split("."), message: "must not be negative" });
      }
    }
    if (
      c.aggregation_temporality === "AGGREGATION_TEMPORALITY_DELTA" &&
      c.metric_timestamp_cache_size <= 0
    ) {
      ctx.addIssue({
        code: "custom",
        path: ["metric_timestamp_cache_size"],
        message: "must be positive with delta temporality",
      });
    }
    const max = c.histogram.exponential?.max_size;
    if (max !== undefined && max !== 0 && max < 2) {
      ctx.addIssue({
        code: "custom",
        path: ["histogram", "exponential", "max_size"],
        message: "must be at least 2 (or 0 for the default, 160)",
      });
    }
  });

/** The `spanmetrics` connector's validated config. */
export type SpanmetricsConfig = z.output<typeof spanmetricsConfigSchema>;
