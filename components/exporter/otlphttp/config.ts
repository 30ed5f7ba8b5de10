/**
 * The `otlphttp` exporter's config: the OpenTelemetry Collector's keys and defaults, limited to
 * what tfo implements, with the exporter helper's `retry_on_failure` and `sending_queue`. Unknown
 * keys are rejected.
 *
 * Either `endpoint` (a base URL to which `/v1/traces`, `/v1/metrics` and `/v1/logs` are appended)
 * or all three of `traces_endpoint`, `metrics_endpoint` and `logs_endpoint` (full URLs) must be
 * set; a per-signal endpoint overrides the one derived from `endpoint`. Requiring the base URL
 * unless all three are given makes a missing endpoint a config error whatever the pipelines use.
 *
 * @module
 */
import { z } from "../../../lib/config/z.js";
import { duration, httpUrl } from "../../../lib/config/schema.ts";
import { exporterHelperShape } from "../../../lib/exporterhelper/exporter_helper.ts";
import {
  REQUEST_COMPRESSIONS,
  type RequestCompression,
} from "../../../lib/net/request_compression.ts";
import type { Signal } from "../../../lib/pdata/types.ts";
import { clientAuthSchema } from "../../../lib/net/client_auth.ts";

/** The `tls` block of tfo's HTTP exporters (the scheme of the URL decides whether TLS is used). */
export const httpTlsSchema = z
  .strictObject({
    /**
     * Accepted for compatibility and ignored: the URL's scheme decides (`http://` is plaintext,
     * `https://` is TLS), as in the Collector's HTTP client.
     */
    insecure: z.boolean().default(false),
    /** Must be false: Deno's HTTP client always verifies server certificates. */
    insecure_skip_verify: z.literal(false, {
      message: "is not supported by otlphttp (Deno's HTTP client always verifies the server " +
        "certificate); trust the server's CA with ca_file instead",
    }).default(false),
    /** PEM file of root certificates trusted in addition to the system's. */
    ca_file: z.string().min(1).optional(),
    /** PEM file of the client certificate, for mutual TLS (with `key_file`). */
    cert_file: z.string().min(1).optional(),
    /** PEM file of the client private key (with `cert_file`). */
    key_file: z.string().min(1).optional(),
  })
  .superRefine((t, ctx) => {
    if ((t.cert_file === undefined) !== (t.key_file === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: [t.cert_file === undefined ? "cert_file" : "key_file"],
        message: "cert_file and key_file must be set together",
      });
    }
  });

/** The `otlphttp` exporter's config schema. */
export const otlphttpConfigSchema = z
  .strictObject({
    /** The base URL; `/v1/<signal>` is appended for each signal. */
    endpoint: httpUrl().optional(),
    /** The full URL for traces, overriding `endpoint`. */
    traces_endpoint: httpUrl().optional(),
    /** The full URL for metrics, overriding `endpoint`. */
    metrics_endpoint: httpUrl().optional(),
    /** The full URL for logs, overriding `endpoint`. */
    logs_endpoint: httpUrl().optional(),
    /** The request body: binary protobuf (`proto`) or OTLP/JSON (`json`). */
    encoding: z.enum(["proto", "json"]).default("proto"),
    /**
     * Request body compression, the Collector's set: `gzip`, `zlib` / `deflate`, `zstd`,
     * `snappy` (block format), `x-snappy-framed`, or `none` / `""` for none. (`lz4` is refused:
     * tfo has no LZ4 frame encoder.)
     */
    compression: z.preprocess(
      (v) => v === "" ? "none" : v,
      z.enum(REQUEST_COMPRESSIONS as [RequestCompression, ...RequestCompression[]]),
    ).default("gzip"),
    /** Headers sent with every request. */
    headers: z.record(z.string(), z.string()).default({}),
    /** The deadline of one attempt (one request, response body included); 0 means none. */
    timeout: duration("30s"),
    ...exporterHelperShape,
    /** TLS for `https://` endpoints. */
    tls: httpTlsSchema.prefault({}),
    /** A client authenticator extension whose headers every request carries. */
    auth: clientAuthSchema.optional(),
  })
  .superRefine((c, ctx) => {
    if (c.endpoint !== undefined) return;
    const missing = (["traces", "metrics", "logs"] as const).filter((s) =>
      c[`${s}_endpoint`] === undefined
    );
    if (missing.length > 0) {
      ctx.addIssue({
        code: "custom",
        path: ["endpoint"],
        message: `must be set unless traces_endpoint, metrics_endpoint and logs_endpoint all are ` +
          `(missing: ${missing.map((s) => `${s}_endpoint`).join(", ")})`,
      });
    }
  });

/** The `otlphttp` exporter's validated config. */
export type OtlphttpConfig = z.output<typeof otlphttpConfigSchema>;

/**
 * The URL a signal is sent to: its `<signal>_endpoint`, else `endpoint` with `/v1/<signal>`
 * appended (without doubling a trailing `/`). Undefined when neither is set.
 */
export function signalUrl(config: OtlphttpConfig, signal: Signal): string | undefined {
  const override = config[`${signal}_endpoint`];
  if (override !== undefined) return override;
  if (config.endpoint === undefined) return undefined;
  const base = config.endpoint;
  return base.endsWith("/") ? `${base}v1/${signal}` : `${base}/v1/${signal}`;
}
