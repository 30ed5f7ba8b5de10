/**
 * The `servicegraph` connector's config: the keys and defaults of the Collector contrib v0.16x
 * `servicegraph` connector (latency in seconds, the virtual-node behaviour always on, as its
 * feature gates have settled). `metrics_exporter` is deprecated there and a no-op; it is refused
 * here, since the metrics go to the pipelines that receive from the connector.
 *
 * @module
 */
import { z } from "../../../lib/config/z.js";
import { duration, parseDuration } from "../../../lib/config/schema.ts";

/** The default latency buckets, in seconds. */
export const DEFAULT_LATENCY_BUCKETS_S: readonly number[] = [
  0.002,
  0.004,
  0.006,
  0.008,
  0.01,
  0.05,
  0.1,
  0.2,
  0.4,
  0.8,
  1,
  1.4,
  2,
  5,
  10,
  15,
];

/** The default `virtual_node_peer_attributes`. */
export const DEFAULT_PEER_ATTRIBUTES: readonly string[] = ["peer.service", "db.name", "db.system"];

const seconds = z.string().transform((value, ctx) => {
  const ms = parseDuration(value);
  if (ms === undefined) {
    ctx.addIssue({ code: "custom", message: `must be a duration such as "10ms", got "${value}"` });
    return z.NEVER;
  }
  return Math.round(ms * 1e6) / 1e9;
});

/** The `servicegraph` connector's config schema. */
export const servicegraphConfigSchema = z
  .strictObject({
    latency_histogram_buckets: z.array(seconds).optional(),
    exponential_histogram_max_size: z.number().int().default(0),
    dimensions: z.array(z.string()).default([]),
    store: z.strictObject({
      ttl: duration("2s"),
      max_items: z.number().int().min(0).default(1000),
    }).prefault({}),
    cache_loop: duration("1m"),
    store_expiration_loop: duration("2s"),
    virtual_node_peer_attributes: z.array(z.string()).default([...DEFAULT_PEER_ATTRIBUTES]),
    virtual_node_extra_label: z.boolean().default(false),
    metrics_flush_interval: duration("60s"),
    database_name_attributes: z.array(z.string()).default([]),
    metrics_timestamp_offset: duration("0s"),
  })
  .superRefine((c, ctx) => {
    if (c.latency_histogram_buckets === undefined && c.exponential_histogram_max_size < 0) {
      ctx.addIssue({
        code: "custom",
        path: ["exponential_histogram_max_size"],
        message: "`exponential_histogram_max_size` can not be negative",
      });
    }
    if (c.latency_histogram_buckets !== undefined && c.exponential_histogram_max_size > 0) {
      ctx.addIssue({
        code: "custom",
        path: ["latency_histogram_buckets"],
        message: "use either `latency_histogram_buckets` or `exponential_histogram_max_size`",
      });
    }
  });

/** The `servicegraph` connector's validated config. */
export type ServicegraphConfig = z.output<typeof servicegraphConfigSchema>;
