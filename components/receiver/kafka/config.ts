/**
 * The `kafka` receiver's config: the keys of the Collector's contrib `kafka` receiver (v0.16x) that
 * tfo implements. Per signal, `topics` (a list) or the older `topic` (one name). Unknown keys, the
 * encodings tfo lacks, rebalance strategies other than the default, regex topics and
 * Kerberos/MSK/OAUTHBEARER auth are validation errors.
 *
 * @module
 */
import { z } from "../../../lib/config/z.js";
import { byteSize, duration } from "../../../lib/config/schema.ts";
import { kafkaClientShape } from "../../../lib/kafka/client_config.ts";

const topicName = z.string().min(1).regex(/^[^^]/, {
  message: "regex topics (^...) are not supported",
});

function signalShape(topic: string) {
  return z.strictObject({
    /** The topics this signal is read from. */
    topics: z.array(topicName).min(1).optional(),
    /** Older key: one topic. */
    topic: topicName.optional(),
    encoding: z.enum(["otlp_proto", "otlp_json"]).default("otlp_proto"),
  }).prefault({}).transform((s, ctx) => {
    if (s.topic !== undefined && s.topics !== undefined) {
      ctx.addIssue({ code: "custom", message: "set topics or topic, not both" });
      return z.NEVER;
    }
    return { topics: s.topics ?? [s.topic ?? topic], encoding: s.encoding };
  });
}

/** The `kafka` receiver's config schema. */
export const kafkaReceiverConfigSchema = z.strictObject({
  ...kafkaClientShape,
  /** The client ID sent with every request. */
  client_id: z.string().min(1).default("otel-collector"),
  /** The consumer group. */
  group_id: z.string().min(1).default("otel-collector"),
  logs: signalShape("otlp_logs"),
  metrics: signalShape("otlp_metrics"),
  traces: signalShape("otlp_spans"),
  /** Where a partition without a committed offset starts. */
  initial_offset: z.enum(["latest", "earliest"]).default("latest"),
  /** How long the group waits for a silent member before giving its partitions to others. */
  session_timeout: duration("10s"),
  heartbeat_interval: duration("3s"),
  /** A static member ID: the member keeps its partitions across restarts. */
  group_instance_id: z.string().min(1).optional(),
  min_fetch_size: z.number().int().positive().default(1),
  max_fetch_size: byteSize().default(1_048_576),
  max_partition_fetch_size: byteSize().default(1_048_576),
  max_fetch_wait: duration("250ms"),
  autocommit: z.strictObject({
    /** Commit marked offsets every `interval`; off: commit each one before reading on. */
    enable: z.boolean().default(true),
    interval: duration("1s"),
  }).prefault({}),
  message_marking: z.strictObject({
    /** Mark a message once the pipeline accepted it (at least once) instead of before. */
    after: z.boolean().default(false),
    /** With `after`: mark messages the pipeline refused with a retryable error too. */
    on_error: z.boolean().default(false),
    /** With `after`: mark messages the pipeline refused permanently. @default on_error */
    on_permanent_error: z.boolean().optional(),
  }).prefault({}),
  header_extraction: z.strictObject({
    /** Copy the named record headers to resource attributes `kafka.header.<name>`. */
    extract_headers: z.boolean().default(false),
    headers: z.array(z.string().min(1)).default([]),
  }).prefault({}),
  /** Waits between attempts at a message the pipeline refused and that is not marked. */
  error_backoff: z.strictObject({
    enabled: z.boolean().default(false),
    initial_interval: duration("1s"),
    randomization_factor: z.number().min(0).max(1).default(0.5),
    multiplier: z.number().positive().default(1.5),
    max_interval: duration("30s"),
    /** Give up (and mark the message) after this long; 0 never gives up. */
    max_elapsed_time: duration("0s"),
  }).prefault({}),
}).superRefine((c, ctx) => {
  const seen = new Map<string, string>();
  for (const signal of ["traces", "metrics", "logs"] as const) {
    for (const topic of c[signal].topics) {
      const other = seen.get(topic);
      if (other !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: [signal, "topics"],
          message: `topic "${topic}" is already read for ${other}`,
        });
      }
      seen.set(topic, signal);
    }
  }
  if (c.max_fetch_size < c.min_fetch_size) {
    ctx.addIssue({
      code: "custom",
      path: ["max_fetch_size"],
      message: "must be at least min_fetch_size",
    });
  }
});

/** The `kafka` receiver's validated config. */
export type KafkaReceiverConfig = z.output<typeof kafkaReceiverConfigSchema>;
