/**
 * The `loki` exporter's config: the keys of the Collector's contrib `loki` exporter (its last
 * release; the HTTP client settings squashed at the top level) that tfo implements, plus tfo's
 * `encoding`. Unknown keys are rejected.
 *
 * @module
 */
import { z } from "../../../lib/config/z.js";
import { duration, httpUrl } from "../../../lib/config/schema.ts";
import { exporterHelperShape } from "../../../lib/exporterhelper/exporter_helper.ts";
import { clientAuthSchema } from "../../../lib/net/client_auth.ts";
import { httpClientTlsSchema } from "../../../lib/net/http_client_tls.ts";

/** The labels the exporter adds unless `default_labels_enabled` turns them off. */
export const DEFAULT_LABELS = ["exporter", "job", "instance", "level"] as const;

/** One of {@linkcode DEFAULT_LABELS}. */
export type DefaultLabel = (typeof DEFAULT_LABELS)[number];

/** The `loki` exporter's config schema. */
export const lokiConfigSchema = z.strictObject({
  /** The push URL, e.g. `http://loki:3100/loki/api/v1/push`. */
  endpoint: httpUrl(),
  /** Headers sent with every request (a static `X-Scope-OrgID` among them, if wanted). */
  headers: z.record(z.string(), z.string()).default({}),
  /** The deadline of one attempt; 0 means none. */
  timeout: duration("30s"),
  /**
   * tfo: the push body: `proto` (a snappy-compressed `logproto.PushRequest`, what the Collector
   * sends) or `json` (Loki's JSON push format, uncompressed).
   */
  encoding: z.enum(["proto", "json"]).default("proto"),
  /** Turns default labels off one by one (`exporter`, `job`, `instance`, `level`); absent = on. */
  default_labels_enabled: z
    .strictObject({
      exporter: z.boolean().optional(),
      job: z.boolean().optional(),
      instance: z.boolean().optional(),
      level: z.boolean().optional(),
    })
    .default({}),
  ...exporterHelperShape,
  /** TLS for `https://` endpoints. */
  tls: httpClientTlsSchema.prefault({}),
  /** A client authenticator extension whose headers every request carries. */
  auth: clientAuthSchema.optional(),
});

/** The `loki` exporter's validated config. */
export type LokiConfig = z.output<typeof lokiConfigSchema>;

/** Whether default label `label` is on. */
export function defaultLabelEnabled(config: Pick<LokiConfig, "default_labels_enabled">) {
  return (label: DefaultLabel): boolean => config.default_labels_enabled[label] !== false;
}
