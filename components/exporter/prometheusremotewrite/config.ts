/**
 * The `prometheus_remote_write` exporter's config: the keys and defaults of the contrib
 * exporter v0.161.0 (`timeout` 5s, `retry_on_failure.initial_interval` 50ms, `max_batch_size_bytes`
 * 3,000,000, `remote_write_queue` enabled with `queue_size` 10000 and `num_consumers` 5,
 * `target_info.enabled`, `add_metric_suffixes`), with these differences:
 *
 * - `endpoint` is required (the Collector's default is a placeholder URL);
 * - `protobuf_message: io.prometheus.write.v2.Request` needs no feature gate;
 * - the exporter helper's `sending_queue` may replace `remote_write_queue` (not both): with
 *   `storage` it is a persistent queue, which is what makes data survive an outage and a restart
 *   (the Collector's `wal` is refused; use `sending_queue.storage`). Its `num_consumers` defaults
 *   to 1 here, as the Collector's remote write queue sends in order: Prometheus refuses samples
 *   older than the newest of a series;
 * - the nested `http` client block, `convert_explicit_histograms_to_nhcb`,
 *   `keep_classic_histograms` and the HTTP client's tuning keys (`proxy_url`, buffer sizes,
 *   connection limits, `cookies`, `middlewares`) are not implemented and are refused;
 * - `compression` may only be `snappy` (or empty), as in the Collector: the body is always
 *   snappy-compressed.
 *
 * @module
 */
import { z } from "../../../lib/config/z.js";
import { duration, httpUrl } from "../../../lib/config/schema.ts";
import {
  retryOnFailureSchema,
  sendingQueueSchema,
} from "../../../lib/exporterhelper/exporter_helper.ts";
import { clientAuthSchema } from "../../../lib/net/client_auth.ts";
import { labelName } from "../../../lib/prometheus/naming.ts";
import { httpTlsSchema } from "../otlphttp/config.ts";

/** The 1.0 message. */
export const RW_V1 = "prometheus.WriteRequest";
/** The 2.0 message. */
export const RW_V2 = "io.prometheus.write.v2.Request";

const TRANSLATION_STRATEGIES = [
  "UnderscoreEscapingWithSuffixes",
  "UnderscoreEscapingWithoutSuffixes",
  "NoUTF8EscapingWithSuffixes",
  "NoTranslation",
] as const;

/** Headers the remote write protocol sets itself. */
const RESERVED_HEADERS = [
  "content-encoding",
  "content-type",
  "user-agent",
  "x-prometheus-remote-write-version",
];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Fills `key` with `value` in an object the user gave, before the schema's own defaults. */
function withDefault(key: string, value: unknown) {
  return (v: unknown) => isObject(v) && !(key in v) ? { ...v, [key]: value } : v;
}

/** A key that is always an error when present, with `message`. */
const refused = (message: string) => z.unknown().refine(() => false, { message }).optional();

const notSupported = (what: string) =>
  z.literal(false, { message: `is not supported by tfo's ${what}` }).default(false);

/** The `prometheus_remote_write` exporter's config schema. */
export const prwConfigSchema = z
  .strictObject({
    /** The remote write URL, for example `http://prometheus:9090/api/v1/write`. */
    endpoint: httpUrl(),
    /** Headers sent with every request (not the protocol's own). */
    headers: z.record(z.string(), z.string()).default({}),
    /** TLS for `https://` endpoints. */
    tls: httpTlsSchema.prefault({}),
    /** A client authenticator extension whose headers every request carries. */
    auth: clientAuthSchema.optional(),
    /** Only `snappy` (the default, and what is always sent). */
    compression: z.enum(["", "snappy"], { message: "compression type must be snappy" })
      .default("snappy"),
    /** The deadline of one attempt (every request of one batch). */
    timeout: duration("5s"),
    /** Retries of 5xx and 429 answers and network failures. */
    retry_on_failure: z.preprocess(
      withDefault("initial_interval", "50ms"),
      retryOnFailureSchema,
    ).default(() => retryOnFailureSchema.parse({ initial_interval: "50ms" })),
    /** The Collector's queue in front of the exporter (in memory). */
    remote_write_queue: z
      .strictObject({
        /** Queue data and send it in the background. */
        enabled: z.boolean().default(true),
        /** The most queued requests. */
        queue_size: z.number().int().nonnegative().default(10000),
        /** How many remote write requests of one batch are sent at once. */
        num_consumers: z.number().int().nonnegative().default(5),
      })
      .optional(),
    /** tfo: the exporter helper's queue instead of `remote_write_queue` (`storage`: on disk). */
    sending_queue: z.preprocess(withDefault("num_consumers", 1), sendingQueueSchema).optional(),
    /** Prefix of every metric name. */
    namespace: z.string().default(""),
    /** Labels added to every series that has no label of that name. */
    external_labels: z.record(z.string(), z.string()).default({}),
    /** Requests are split to stay under this many (uncompressed) bytes; 0 means 3,000,000. */
    max_batch_size_bytes: z.number().int().nonnegative().default(3_000_000),
    /** How many requests of one batch are sent at once (default: `remote_write_queue.num_consumers`). */
    max_batch_request_parallelism: z.number().int().min(1, {
      message: "max_batch_request_parallelism can't be set to below 1",
    }).optional(),
    /** Copy resource attributes onto every series as labels (deprecated in the Collector). */
    resource_to_telemetry_conversion: z
      .strictObject({
        enabled: z.boolean().default(false),
        /** Leave out `service.name`, `service.namespace`, `service.instance.id`. */
        exclude_service_attributes: z.boolean().default(false),
      })
      .optional(),
    /** Resource attributes (glob patterns) copied onto every series as labels. */
    resource_constant_labels: z
      .strictObject({
        included: z.array(z.string()).default([]),
        excluded: z.array(z.string()).default([]),
      })
      .optional(),
    /** One `target_info` series per resource. */
    target_info: z.strictObject({ enabled: z.boolean().default(true) }).prefault({}),
    /** Leave out the `otel_scope_*` labels. */
    disable_scope_info: z.boolean().default(false),
    /** Unit and type suffixes on names (ignored when `translation_strategy` is set). */
    add_metric_suffixes: z.boolean().default(true),
    /** How names are translated. */
    translation_strategy: z.enum(TRANSLATION_STRATEGIES).optional(),
    /** 1.0: send metric metadata too (2.0 always carries it). */
    send_metadata: z.boolean().default(false),
    /** `prometheus.WriteRequest` (remote write 1.0) or `io.prometheus.write.v2.Request` (2.0). */
    protobuf_message: z.enum([RW_V1, RW_V2]).default(RW_V1),
    /** Client metadata keys whose values are sent as request headers. */
    include_metadata_keys: z.array(z.string().min(1)).default([]),
    /** The Collector's write-ahead log: refused; a persistent `sending_queue` does its job. */
    wal: refused(
      "is not supported by tfo: use sending_queue.storage (a file_storage extension) to keep " +
        "data on disk across outages and restarts",
    ),
    /** The Collector's nested HTTP client block: refused. */
    http: refused(
      "is not supported by tfo: set endpoint, headers, tls, auth and timeout at the top level",
    ),
    /** Not implemented. */
    convert_explicit_histograms_to_nhcb: notSupported("prometheus_remote_write exporter"),
    /** Not implemented. */
    keep_classic_histograms: notSupported("prometheus_remote_write exporter"),
  })
  .superRefine((c, ctx) => {
    const issue = (path: (string | number)[], message: string) =>
      ctx.addIssue({ code: "custom", path, message });
    if (c.remote_write_queue !== undefined && c.sending_queue !== undefined) {
      issue(["sending_queue"], "cannot be set together with remote_write_queue (use one queue)");
    }
    const q = c.remote_write_queue;
    if (q !== undefined && q.enabled && q.queue_size === 0) {
      issue(["remote_write_queue", "queue_size"], "a 0 size queue will drop all the data");
    }
    if (
      c.resource_to_telemetry_conversion !== undefined && c.resource_constant_labels !== undefined
    ) {
      issue(
        ["resource_constant_labels"],
        "cannot configure both resource_to_telemetry_conversion and resource_constant_labels",
      );
    }
    const utf8 = c.translation_strategy === "NoUTF8EscapingWithSuffixes" ||
      c.translation_strategy === "NoTranslation";
    if (utf8 && c.protobuf_message === RW_V1) {
      issue(
        ["translation_strategy"],
        `${c.translation_strategy} requires Prometheus Remote Write 2.0 (UTF-8 support)`,
      );
    }
    for (const [key, value] of Object.entries(c.external_labels)) {
      if (key === "" || value === "") {
        issue(["external_labels"], "contains an empty key or value");
      } else if (labelName(key, utf8) === undefined) {
        issue(["external_labels", key], "is not a valid label name");
      }
    }
    for (const name of Object.keys(c.headers)) {
      if (RESERVED_HEADERS.includes(name.toLowerCase())) {
        issue(["headers", name], "is set by the remote write protocol and cannot be configured");
      }
    }
    for (const [i, key] of c.include_metadata_keys.entries()) {
      if (RESERVED_HEADERS.includes(key.toLowerCase())) {
        issue(
          ["include_metadata_keys", i],
          `"${key}" collides with a reserved remote write header`,
        );
      }
    }
  })
  .transform((c) => {
    // One queue for the exporter helper (and for a batch processor handing it its batching):
    // `sending_queue` as given, or the remote write queue's settings with one sender, which
    // keeps samples in order.
    const q = c.remote_write_queue;
    const sending_queue = c.sending_queue ?? sendingQueueSchema.parse({
      enabled: q?.enabled ?? true,
      queue_size: q?.queue_size || 10000,
      num_consumers: 1,
    });
    const parallelism = c.max_batch_request_parallelism ?? Math.max(1, q?.num_consumers ?? 5);
    return {
      ...c,
      sending_queue,
      /** How many requests of one batch are sent at once. */
      parallelism,
      max_batch_size_bytes: c.max_batch_size_bytes === 0 ? 3_000_000 : c.max_batch_size_bytes,
    };
  });

/** The `prometheus_remote_write` exporter's validated config. */
export type PrwConfig = z.output<typeof prwConfigSchema>;

/** Whether names are translated with suffixes and whether UTF-8 names are kept. */
export function translation(c: PrwConfig): { withSuffixes: boolean; utf8Allowed: boolean } {
  switch (c.translation_strategy) {
    case "UnderscoreEscapingWithSuffixes":
      return { withSuffixes: true, utf8Allowed: false };
    case "UnderscoreEscapingWithoutSuffixes":
      return { withSuffixes: false, utf8Allowed: false };
    case "NoUTF8EscapingWithSuffixes":
      return { withSuffixes: true, utf8Allowed: true };
    case "NoTranslation":
      return { withSuffixes: false, utf8Allowed: true };
    default:
      return { withSuffixes: c.add_metric_suffixes, utf8Allowed: false };
  }
}

/** A glob (`*`, `?`) as a whole-string matcher. */
function glob(pattern: string): RegExp {
  const escaped = pattern.replaceAll(/[.+^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`^${escaped.replaceAll("*", ".*").replaceAll("?", ".")}$`, "s");
}

const SERVICE_KEYS = new Set(["service.name", "service.namespace", "service.instance.id"]);

/** Which resource attributes become labels of every series; undefined: none. */
export function resourceLabelFilter(c: PrwConfig): ((key: string) => boolean) | undefined {
  const constant = c.resource_constant_labels;
  if (constant !== undefined && (constant.included.length > 0 || constant.excluded.length > 0)) {
    const inc = constant.included.map(glob);
    const exc = constant.excluded.map(glob);
    return (key) => {
      if (exc.some((re) => re.test(key))) return false;
      if (inc.length === 0) return exc.length > 0;
      return inc.some((re) => re.test(key));
    };
  }
  const r2t = c.resource_to_telemetry_conversion;
  if (r2t === undefined || !r2t.enabled) return undefined;
  return r2t.exclude_service_attributes ? (key) => !SERVICE_KEYS.has(key) : () => true;
}
