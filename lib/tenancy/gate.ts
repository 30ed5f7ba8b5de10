/**
 * The tenant gate of a receiver: it names the tenant of each request (`from_context`), refuses
 * requests of a tenant over its `rate_limit` before they reach the pipeline, and counts items per
 * tenant. Refusals are {@linkcode RateLimitError}s: retryable, with the wait until the tenant's
 * bucket holds enough, which receivers answer as 429 + `Retry-After` / `RESOURCE_EXHAUSTED` with
 * a retry delay. A refusal costs a map lookup and no pipeline work, so a tenant far over its limit
 * takes nothing from the others.
 *
 * Self-metrics (tfo's own; the Collector has none per tenant), labelled `tenant` and `transport`,
 * `<unit>` being `spans`, `metric_points` or `log_records`:
 *
 * - `tfo_receiver_rate_limited_<unit>` and `tfo_receiver_rate_limited_requests`: always, with
 *   `rate_limit`;
 * - `tfo_receiver_tenant_accepted_<unit>` and `tfo_receiver_tenant_refused_<unit>` (rate-limited
 *   items included): with `tenant_metrics.enabled`.
 *
 * At most `tenant_metrics.max_tenants` distinct tenant labels are used (also when only
 * `rate_limit` is set); later tenants are counted as `_other`, a request without a tenant as
 * `_none`.
 *
 * @module
 */
import { type Clock, SYSTEM_CLOCK } from "../clock.ts";
import { type Consumer, ConsumerError } from "../consumer/consumer.ts";
import { ITEM_UNIT } from "../pdata/count.ts";
import type { ClientInfo, Payload } from "../pdata/payload.ts";
import type { Signal } from "../pdata/types.ts";
import type { Counter, Meter } from "../telemetry/metrics.ts";
import { DEFAULT_MAX_TENANTS, type RateLimitConfig, type TenantMetricsConfig } from "./config.ts";
import { tenantLabeler, tenantOf } from "./labels.ts";
import { type Admission, createRateLimiter, type RateLimiter } from "./rate_limiter.ts";

/** A request refused because its tenant is over its rate limit. Retryable. */
export class RateLimitError extends ConsumerError {
  /** The tenant over its limit (`""` when the request named none). */
  readonly tenant: string;

  constructor(message: string, tenant: string, retryAfterMs: number) {
    super(message, false, { retryAfterMs });
    this.name = "RateLimitError";
    this.tenant = tenant;
  }
}

/** Passes requests on to the pipeline per tenant. */
export interface TenantGate {
  /**
   * A refusal for a request from `client` of `bytes` declared bytes (0 when unknown), asked before
   * its body is read, when its tenant could not send even one item of that size now; undefined
   * otherwise. Such a request counts in `tfo_receiver_rate_limited_requests` only: its items are
   * never read, so never counted.
   */
  precheck(client: ClientInfo, bytes: number, transport: string): RateLimitError | undefined;
  /**
   * Consumes `payload` with `next` unless its tenant is over its limit (then rejects with a
   * {@linkcode RateLimitError}); `bytes` is the request's size after decompression.
   */
  consume<S extends Signal>(
    next: Consumer<S>,
    payload: Payload<S>,
    bytes: number,
    transport: string,
  ): Promise<void>;
}

/** Options of {@linkcode createTenantGate}. */
export interface TenantGateOptions {
  readonly rateLimit?: RateLimitConfig | undefined;
  readonly tenantMetrics?: TenantMetricsConfig | undefined;
  /** The receiver's meter. */
  readonly meter: Meter;
  /** @default SYSTEM_CLOCK */
  readonly clock?: Clock;
  /**
   * The receiver's ID: its buckets are then shared with the same receiver in the other workers
   * when the process has a bucket board (`shared_buckets.ts`). @default buckets of its own
   */
  readonly scope?: string | undefined;
}

/** The gate the config asks for; undefined when it asks for neither limits nor metrics. */
export function createTenantGate(options: TenantGateOptions): TenantGate | undefined {
  const { rateLimit, meter } = options;
  const metrics = options.tenantMetrics?.enabled ? options.tenantMetrics : undefined;
  if (rateLimit === undefined && metrics === undefined) return undefined;
  const limiter: RateLimiter | undefined = rateLimit === undefined
    ? undefined
    : createRateLimiter(rateLimit, options.clock ?? SYSTEM_CLOCK, { scope: options.scope });
  // The default without a parse: a running process need not have loaded zod (issue 18).
  const maxLabels = options.tenantMetrics?.max_tenants ?? DEFAULT_MAX_TENANTS;
  const label = tenantLabeler(maxLabels);
  const counters = new Map<string, Counter>();

  function counter(name: string, help: string, tenant: string, transport: string): Counter {
    const key = `${name}\u0000${tenant}\u0000${transport}`;
    let c = counters.get(key);
    if (c === undefined) {
      c = meter.counter(name, help, { tenant, transport });
      counters.set(key, c);
    }
    return c;
  }

  /** Counts a refused request and makes its error. */
  function refusal(
    tenant: string,
    answer: Admission & { admitted: false },
    transport: string,
  ): RateLimitError {
    counter(
      "tfo_receiver_rate_limited_requests",
      "Requests refused because their tenant was over its rate_limit.",
      label(tenant),
      transport,
    ).add(1);
    return new RateLimitError(
      `Too many ${answer.limit} for tenant ${JSON.stringify(tenant)}: over its rate limit, ` +
        `retry in ${Math.max(1, Math.ceil(answer.retryAfterMs / 1000))} s`,
      tenant,
      answer.retryAfterMs,
    );
  }

  return {
    precheck(client, bytes, transport) {
      if (limiter === undefined) return undefined;
      const tenant = tenantOf(client, rateLimit!.from_context);
      const answer = limiter.check(tenant, 1, bytes);
      return answer.admitted ? undefined : refusal(tenant, answer, transport);
    },
    async consume(next, payload, bytes, transport) {
      const unit = ITEM_UNIT[payload.signal];
      const items = payload.itemCount;
      if (limiter !== undefined) {
        const tenant = tenantOf(payload.client, rateLimit!.from_context);
        const answer = limiter.admit(tenant, items, bytes);
        if (!answer.admitted) {
          counter(
            `tfo_receiver_rate_limited_${unit}`,
            `Number of ${unit.replace("_", " ")} refused because their tenant was over its ` +
              "rate_limit.",
            label(tenant),
            transport,
          ).add(items);
          if (metrics !== undefined) refusedOf(payload.client, unit, transport).add(items);
          throw refusal(tenant, answer, transport);
        }
      }
      if (metrics === undefined) return next.consume(payload);
      try {
        await next.consume(payload);
      } catch (error) {
        refusedOf(payload.client, unit, transport).add(items);
        throw error;
      }
      counter(
        `tfo_receiver_tenant_accepted_${unit}`,
        `Number of ${unit.replace("_", " ")} of a tenant pushed into the pipeline.`,
        label(tenantOf(payload.client, metrics.from_context)),
        transport,
      ).add(items);
    },
  };

  function refusedOf(client: ClientInfo, unit: string, transport: string): Counter {
    return counter(
      `tfo_receiver_tenant_refused_${unit}`,
      `Number of ${unit.replace("_", " ")} of a tenant that could not be pushed into the pipeline.`,
      label(tenantOf(client, metrics!.from_context)),
      transport,
    );
  }
}
