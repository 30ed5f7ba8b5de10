/**
 * The otlp receiver's config: the OpenTelemetry Collector's keys and defaults. Only the protocols
 * present in the YAML are enabled; a protocol given with no value (`http:`) gets its defaults.
 *
 * @module
 */
import { z } from "../../../lib/config/z.js";
import { byteSize, duration, hostPort } from "../../../lib/config/schema.ts";
import { OTLP_SIGNALS } from "../../../lib/otlp/signals.ts";
import {
  rateLimitSchema,
  readsMetadata,
  tenantMetricsSchema,
} from "../../../lib/tenancy/config.ts";

/** Server-side TLS files. */
const tlsSchema = z.strictObject({
  /** The server certificate (PEM). */
  cert_file: z.string().min(1),
  /** The server private key (PEM). */
  key_file: z.string().min(1),
  /** When set, clients must present a certificate signed by a CA in this file (mTLS). */
  client_ca_file: z.string().min(1).optional(),
});

/** Server authentication: the ID of an authenticator extension. */
/**
 * A protocol's TLS: the server certificate only. Client certificates (mTLS) are refused at
 * validation: Deno's TLS server cannot ask a client for a certificate, on HTTP or on gRPC.
 */
const serverTlsSchema = tlsSchema.refine((t) => t.client_ca_file === undefined, {
  path: ["client_ca_file"],
  message: "is not supported (Deno's TLS server cannot request client certificates); " +
    "terminate mTLS in front of tfo, or authenticate clients with an authenticator extension",
});

const authSchema = z.strictObject({
  authenticator: z.string().min(1),
});

/** The Collector's gRPC keepalive settings; durations become milliseconds. */
const keepaliveSchema = z.strictObject({
  server_parameters: z.strictObject({
    max_connection_idle: duration().optional(),
    max_connection_age: duration().optional(),
    max_connection_age_grace: duration().optional(),
    time: duration().optional(),
    timeout: duration().optional(),
  }).optional(),
  enforcement_policy: z.strictObject({
    /** Client pings closer together than this are strikes; the third ends the connection. */
    min_time: duration().optional(),
    permit_without_stream: z.boolean().optional(),
  }).optional(),
});

/** A YAML key given with no value (`grpc:`) means "enabled with defaults". */
function nullAsEmpty(value: unknown): unknown {
  return value === null ? {} : value;
}

const urlPath = (defaultValue: string) =>
  z.string().min(1).transform((p) => p.startsWith("/") ? p : `/${p}`).default(defaultValue);

/** The gRPC protocol's settings. */
export const grpcConfigSchema = z.strictObject({
  endpoint: hostPort().default("0.0.0.0:4317"),
  /** Only `tcp` is supported. */
  transport: z.literal("tcp").default("tcp"),
  /** The largest request message, in MiB (compressed or decompressed). */
  max_recv_msg_size_mib: z.number().positive().default(4),
  /** The most concurrent calls per connection; 0 means tfo's default, 100. */
  max_concurrent_streams: z.number().int().nonnegative().default(0),
  keepalive: keepaliveSchema.optional(),
  tls: serverTlsSchema.optional(),
  /** Copy request metadata into the client info of the data. */
  include_metadata: z.boolean().default(false),
  auth: authSchema.optional(),
});

/** The HTTP server's keep-alive settings (confighttp's `keepalive` section). */
const keepaliveHttpSchema = z.strictObject({
  /** `false` closes every connection after its first answer. */
  enabled: z.boolean().default(true),
  /** Time a connection may wait for its next request; 0 uses `read_timeout`. @default 1m */
  idle_timeout: duration().optional(),
});

/** CORS for browser clients of the HTTP protocol. */
const corsSchema = z.strictObject({
  /** Origins allowed, with `*` wildcards (`https://*.example.com`, or `*` for any). */
  allowed_origins: z.array(z.string().min(1)).default([]),
  /** Request headers allowed besides the always-allowed ones; `*` allows any. */
  allowed_headers: z.array(z.string().min(1)).default([]),
  /** Seconds a browser may cache a preflight answer; 0 leaves it to the browser. */
  max_age: z.number().int().nonnegative().default(0),
});

/** The HTTP protocol's settings. */
export const httpConfigSchema = z.strictObject({
  endpoint: hostPort().default("0.0.0.0:4318"),
  traces_url_path: urlPath(OTLP_SIGNALS.traces.httpPath),
  metrics_url_path: urlPath(OTLP_SIGNALS.metrics.httpPath),
  logs_url_path: urlPath(OTLP_SIGNALS.logs.httpPath),
  cors: corsSchema.optional(),
  tls: serverTlsSchema.optional(),
  include_metadata: z.boolean().default(false),
  /** The largest request body, compressed and decompressed. */
  max_request_body_size: byteSize().default(20 * 1024 * 1024),
  auth: authSchema.optional(),
  /** Time for a whole request, head and body; 0 means none. */
  read_timeout: duration("0"),
  /** Time for a request's head; 0 uses `read_timeout`. */
  read_header_timeout: duration("1m"),
  /** Time from a request's head to its answer written; 0 means none. */
  write_timeout: duration("30s"),
  /** Keep-alive between requests; a null section is no section, as in the Collector. */
  keepalive: z.preprocess((v) => v === null ? undefined : v, keepaliveHttpSchema.optional()),
  /** Deprecated in the Collector for `keepalive::idle_timeout`; still accepted. */
  idle_timeout: duration().optional(),
  /** Deprecated in the Collector for `keepalive::enabled`; still accepted. */
  keep_alives_enabled: z.boolean().optional(),
}).superRefine((c, ctx) => {
  const deprecated = (c.idle_timeout !== undefined && c.idle_timeout !== 0) ||
    c.keep_alives_enabled === false;
  if (c.keepalive !== undefined && deprecated) {
    ctx.addIssue({
      code: "custom",
      path: ["keepalive"],
      message: "cannot be used with the deprecated idle_timeout or keep_alives_enabled; " +
        "move them into the keepalive section",
    });
  }
});

/** The HTTP server's keep-alive and deadlines, resolved from the config's keys. */
export interface HttpServerTimeouts {
  readonly readTimeoutMs: number;
  readonly readHeaderTimeoutMs: number;
  readonly writeTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly keepAlive: boolean;
}

/**
 * The HTTP protocol's deadlines as the Collector's confighttp resolves them: the `keepalive`
 * section wins over the deprecated `idle_timeout` and `keep_alives_enabled`, the idle time
 * defaults to 1 minute.
 */
export function httpServerTimeouts(config: OtlpHttpConfig): HttpServerTimeouts {
  const section = config.keepalive;
  return {
    readTimeoutMs: config.read_timeout,
    readHeaderTimeoutMs: config.read_header_timeout,
    writeTimeoutMs: config.write_timeout,
    idleTimeoutMs: section?.idle_timeout ?? config.idle_timeout ?? 60_000,
    keepAlive: section !== undefined ? section.enabled : config.keep_alives_enabled ?? true,
  };
}

/** The otlp receiver's config schema. */
export const otlpConfigSchema = z
  .strictObject({
    protocols: z.strictObject({
      grpc: z.preprocess(nullAsEmpty, grpcConfigSchema).optional(),
      http: z.preprocess(nullAsEmpty, httpConfigSchema).optional(),
    }).default({}),
    /** tfo: limits per tenant over both protocols (see `lib/tenancy/config.ts`). */
    rate_limit: rateLimitSchema.optional(),
    /** tfo: accepted and refused items per tenant in self-metrics. */
    tenant_metrics: tenantMetricsSchema.optional(),
    /**
     * tfo: request metadata from resource attributes, `{<metadata key>: <resource attribute>}`,
     * for unauthenticated clients that name their tenant in their data (`_resource_metadata.ts`).
     */
    metadata_from_resource: z.record(z.string(), z.string().min(1)).optional(),
  })
  .superRefine((c, ctx) => {
    if (c.protocols.grpc === undefined && c.protocols.http === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["protocols"],
        message: 'must enable at least one protocol: "grpc" or "http"',
      });
    }
    const protocols = [c.protocols.grpc, c.protocols.http].filter((p) => p !== undefined);
    for (const key of Object.keys(c.metadata_from_resource ?? {})) {
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(key)) {
        ctx.addIssue({
          code: "custom",
          path: ["metadata_from_resource", key],
          message: "must be keyed by a metadata (header) name",
        });
      }
    }
    if (c.metadata_from_resource !== undefined && protocols.some((p) => p.auth !== undefined)) {
      ctx.addIssue({
        code: "custom",
        path: ["metadata_from_resource"],
        message: "cannot be used with an authenticator: the authenticated tenant must win over " +
          "what the data claims (read it with from_context: auth.tenant.id instead)",
      });
    }
    for (const key of ["rate_limit", "tenant_metrics"] as const) {
      const from = c[key]?.from_context;
      if (from === undefined || !readsMetadata(from)) continue;
      const metadataKey = (from.startsWith("metadata.") ? from.slice(9) : from).toLowerCase();
      const fromResource = Object.keys(c.metadata_from_resource ?? {}).map((k) => k.toLowerCase());
      if (fromResource.includes(metadataKey)) continue;
      if (protocols.some((p) => !p.include_metadata)) {
        ctx.addIssue({
          code: "custom",
          path: [key, "from_context"],
          message: `reads request metadata ("${from}"), which every protocol must keep: set ` +
            "include_metadata: true, or name an authenticator attribute (auth.tenant.id)",
        });
      }
    }
  });

/** The otlp receiver's validated config. */
export type OtlpConfig = z.output<typeof otlpConfigSchema>;
/** The gRPC protocol's validated settings. */
export type OtlpGrpcConfig = z.output<typeof grpcConfigSchema>;
/** The HTTP protocol's validated settings. */
export type OtlpHttpConfig = z.output<typeof httpConfigSchema>;
