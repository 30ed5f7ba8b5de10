/**
 * The `prometheus` exporter's config: the OpenTelemetry Collector's keys and defaults (contrib
 * v0.161.0). `endpoint` has no default and is required, as in the Collector. Unknown keys are
 * rejected; of the Collector's HTTP server settings only `tls.cert_file` / `tls.key_file` are
 * implemented, so the others (`cors`, `auth`, client CAs) are refused rather than ignored.
 *
 * `translation_strategy`, when set, decides suffixes and escaping; otherwise the deprecated
 * `add_metric_suffixes` decides suffixes (names are always escaped then), as in the Collector.
 *
 * @module
 */
import { z } from "../../../lib/config/z.js";
import { duration, hostPort } from "../../../lib/config/schema.ts";

/** The Collector's translation strategies. */
export const TRANSLATION_STRATEGIES = [
  "UnderscoreEscapingWithSuffixes",
  "UnderscoreEscapingWithoutSuffixes",
  "NoUTF8EscapingWithSuffixes",
  "NoTranslation",
] as const;

const resourceToTelemetrySchema = z.strictObject({
  /** Copy every resource attribute onto every data point as a label. */
  enabled: z.boolean().default(false),
  /** With `enabled`, leave out `service.name`, `service.namespace`, `service.instance.id`. */
  exclude_service_attributes: z.boolean().default(false),
});

const resourceConstantLabelsSchema = z.strictObject({
  /** Glob patterns (`*`, `?`) of resource attribute keys copied onto data points. */
  included: z.array(z.string()).default([]),
  /** Glob patterns of keys left out, overriding `included`. */
  excluded: z.array(z.string()).default([]),
});

const tlsSchema = z.strictObject({
  /** The server certificate (PEM). */
  cert_file: z.string().min(1),
  /** The server private key (PEM). */
  key_file: z.string().min(1),
});

/** The `prometheus` exporter's config schema. */
export const prometheusExporterConfigSchema = z
  .strictObject({
    /** Where `/metrics` is served, `host:port`. */
    endpoint: hostPort(),
    /** Serve HTTPS with this certificate and key. */
    tls: tlsSchema.optional(),
    /** Prefix of every metric name. */
    namespace: z.string().default(""),
    /** Labels added to every series. */
    const_labels: z.record(z.string(), z.string()).default({}),
    /** Expose each sample's timestamp. */
    send_timestamps: z.boolean().default(false),
    /** How long a series stays exposed without updates. */
    metric_expiration: duration("5m"),
    /** Deprecated in the Collector for `resource_constant_labels`; still honoured. */
    resource_to_telemetry_conversion: resourceToTelemetrySchema.prefault({}),
    /** Which resource attributes become labels; takes precedence over the above. */
    resource_constant_labels: resourceConstantLabelsSchema.prefault({}),
    /** Serve OpenMetrics to scrapers that accept it (exemplars are only exposed there). */
    enable_open_metrics: z.boolean().default(false),
    /** Leave out the `otel_scope_*` labels. */
    without_scope_info: z.boolean().default(false),
    /** Deprecated: append unit and type suffixes; ignored when `translation_strategy` is set. */
    add_metric_suffixes: z.boolean().default(true),
    /** How names are translated (see the Collector's README). */
    translation_strategy: z.enum(TRANSLATION_STRATEGIES).optional(),
  })
  .superRefine((c, ctx) => {
    const legacy = c.resource_to_telemetry_conversion;
    const patterns = c.resource_constant_labels;
    if (
      (legacy.enabled || legacy.exclude_service_attributes) &&
      (patterns.included.length > 0 || patterns.excluded.length > 0)
    ) {
      ctx.addIssue({
        code: "custom",
        path: ["resource_constant_labels"],
        message: "cannot be combined with resource_to_telemetry_conversion (deprecated); use one",
      });
    }
    if (c.metric_expiration <= 0) {
      // With 0 the Collector expires every series at once and exposes nothing.
      ctx.addIssue({
        code: "custom",
        path: ["metric_expiration"],
        message: "must be positive (with 0 every series would expire at once)",
      });
    }
  });

/** The `prometheus` exporter's validated config. */
export type PrometheusExporterConfig = z.output<typeof prometheusExporterConfigSchema>;

/** Whether names get suffixes and whether they stay UTF-8, from the two naming keys. */
export function translation(
  config: PrometheusExporterConfig,
): { withSuffixes: boolean; utf8Allowed: boolean } {
  switch (config.translation_strategy) {
    case "UnderscoreEscapingWithSuffixes":
      return { withSuffixes: true, utf8Allowed: false };
    case "UnderscoreEscapingWithoutSuffixes":
      return { withSuffixes: false, utf8Allowed: false };
    case "NoUTF8EscapingWithSuffixes":
      return { withSuffixes: true, utf8Allowed: true };
    case "NoTranslation":
      return { withSuffixes: false, utf8Allowed: true };
    default:
      return { withSuffixes: config.add_metric_suffixes, utf8Allowed: false };
  }
}
