/**
 * tfo's own tenancy keys for receivers (the OpenTelemetry Collector has none): `rate_limit`, limits
 * per tenant, and `tenant_metrics`, self-metrics per tenant. Both name the tenant of a request with
 * `from_context`, read as the `attributes` processor reads it: `auth.<attr>` (what the server
 * authenticator established, e.g. `auth.tenant.id`), `metadata.<key>` or a bare key (a request
 * header, kept only with the protocol's `include_metadata: true`), or `client.address`.
 *
 * ```yaml
 * receivers:
 *   otlp:
 *     protocols: { http: { include_metadata: true, auth: { authenticator: apikeyauth } } }
 *     rate_limit:
 *       from_context: auth.tenant.id
 *       items_per_second: 20000
 *       bytes_per_second: 16777216
 *       overrides:
 *         big-tenant: { items_per_second: 200000 }
 *     tenant_metrics:
 *       enabled: true
 *       from_context: auth.tenant.id
 * ```
 *
 * @module
 */
import { z } from "../config/z.js";

/** The default `from_context`: the header the otlp receiver also sets from an API key's tenant. */
export const DEFAULT_TENANT_SOURCE = "x-tenant-id";

const source = z.string().min(1).default(DEFAULT_TENANT_SOURCE);
const rate = z.number().nonnegative();

/** Limits of one tenant; 0 means no limit of that kind. */
const limitsSchema = z.strictObject({
  /** Telemetry items (spans, data points, log records) per second. */
  items_per_second: rate.optional(),
  /** Request bytes (after decompression) per second. */
  bytes_per_second: rate.optional(),
});

/** `rate_limit`: a token bucket per tenant for items and one for bytes. */
export const rateLimitSchema = z
  .strictObject({
    /** What names the tenant of a request. */
    from_context: source,
    /** Items per second per tenant; 0 means no item limit. */
    items_per_second: rate.default(0),
    /** Request bytes per second per tenant; 0 means no byte limit. */
    bytes_per_second: rate.default(0),
    /** How many seconds of its rate a tenant may send at once (the bucket size). */
    burst_seconds: z.number().positive().default(1),
    /** Tenants tracked at once; the least recently seen is forgotten beyond it. */
    max_tenants: z.number().int().positive().default(10_000),
    /** Limits of named tenants, replacing the defaults above key by key. */
    overrides: z.record(z.string().min(1), limitsSchema).default({}),
  })
  .superRefine((c, ctx) => {
    const anyLimit = c.items_per_second > 0 || c.bytes_per_second > 0 ||
      Object.values(c.overrides).some((o) =>
        (o.items_per_second ?? 0) > 0 || (o.bytes_per_second ?? 0) > 0
      );
    if (!anyLimit) {
      ctx.addIssue({
        code: "custom",
        path: ["items_per_second"],
        message: "sets no limit: give items_per_second or bytes_per_second (or an override)",
      });
    }
  });

/** `tenant_metrics.max_tenants` when not given. */
export const DEFAULT_MAX_TENANTS = 1000;

/** `tenant_metrics`: accepted and refused items per tenant (off by default: cardinality). */
export const tenantMetricsSchema = z.strictObject({
  /** Count per tenant. */
  enabled: z.boolean().default(false),
  /** What names the tenant of a request. */
  from_context: source,
  /** Distinct tenant label values; tenants beyond them are counted as `_other`. */
  max_tenants: z.number().int().positive().default(DEFAULT_MAX_TENANTS),
});

/** A validated `rate_limit`. */
export type RateLimitConfig = z.output<typeof rateLimitSchema>;
/** A validated `tenant_metrics`. */
export type TenantMetricsConfig = z.output<typeof tenantMetricsSchema>;

/** True when `from_context` reads request metadata (which needs `include_metadata`). */
export function readsMetadata(from: string): boolean {
  return !from.startsWith("auth.") && from !== "client.address";
}
