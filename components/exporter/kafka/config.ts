/**
 * The `kafka` exporter's config: the keys of the Collector's contrib `kafka` exporter (v0.16x) that
 * tfo implements. Unknown keys, the encodings tfo lacks (Jaeger, Zipkin, `raw`), custom
 * partitioners and Kerberos/MSK/OAUTHBEARER auth are validation errors.
 *
 * @module
 */
import { z } from "../../../lib/config/z.js";
import { byteSize, duration } from "../../../lib/config/schema.ts";
import { exporterHelperShape } from "../../../lib/exporterhelper/exporter_helper.ts";
import { kafkaClientShape } from "../../../lib/kafka/client_config.ts";

/** `otlp_proto` (an `Export*ServiceRequest`) or `otlp_json` (its OTLP/JSON form). */
export const kafkaEncoding = z.enum(["otlp_proto", "otlp_json"]);

function signalShape(topic: string) {
  return z.strictObject({
    /** The topic this signal's messages go to. */
    topic: z.string().min(1).default(topic),
    encoding: kafkaEncoding.default("otlp_proto"),
  }).prefault({});
}

/** The `kafka` exporter's config schema. */
export const kafkaExporterConfigSchema = z.strictObject({
  ...kafkaClientShape,
  /** The client ID sent with every request. */
  client_id: z.string().min(1).default("otel-collector"),
  logs: signalShape("otlp_logs"),
  metrics: signalShape("otlp_metrics"),
  traces: signalShape("otlp_spans"),
  /** A resource attribute whose value, where present, is the topic of that resource's data. */
  topic_from_attribute: z.string().default(""),
  /** Request metadata keys (the receiver's `include_metadata`) copied into record headers. */
  include_metadata_keys: z.array(z.string().min(1)).default([]),
  /** Static headers on every record. */
  record_headers: z.record(z.string(), z.string()).default({}),
  /** One message per trace, keyed by the trace ID (hex), so a trace stays in one partition. */
  partition_traces_by_id: z.boolean().default(false),
  /** One message per resource, keyed by a hash of its sorted attributes. */
  partition_metrics_by_resource_attributes: z.boolean().default(false),
  /** One message per resource, keyed by a hash of its sorted attributes. */
  partition_logs_by_resource_attributes: z.boolean().default(false),
  /** One message per trace ID of the log records (records without one share a message). */
  partition_logs_by_trace_id: z.boolean().default(false),
  /** The deadline of one produce attempt. */
  timeout: duration("5s"),
  ...exporterHelperShape,
  producer: z.strictObject({
    /** The largest message, before compression; larger data is split into several messages. */
    max_message_bytes: byteSize().default(1_000_000),
    /** 0 (no answer), 1 (the leader wrote it) or -1 (every in-sync replica wrote it). */
    required_acks: z.union([z.literal(0), z.literal(1), z.literal(-1)]).default(1),
    compression: z.enum(["none", "gzip", "snappy", "lz4", "zstd"]).default("none"),
    /** Whether producing to a missing topic asks the broker to create it. */
    allow_auto_topic_creation: z.boolean().default(true),
  }).prefault({}),
}).superRefine((c, ctx) => {
  if (c.partition_logs_by_resource_attributes && c.partition_logs_by_trace_id) {
    ctx.addIssue({
      code: "custom",
      path: ["partition_logs_by_trace_id"],
      message: "partition_logs_by_resource_attributes and partition_logs_by_trace_id " +
        "are mutually exclusive",
    });
  }
});

/** The `kafka` exporter's validated config. */
export type KafkaExporterConfig = z.output<typeof kafkaExporterConfigSchema>;
