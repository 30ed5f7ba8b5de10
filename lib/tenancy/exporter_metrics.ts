/**
 * An exporter's per-tenant self-metrics (tfo's own, with `tenant_metrics.enabled` in the
 * exporter's config): `tfo_exporter_tenant_sent_<unit>` and `tfo_exporter_tenant_send_failed_<unit>`
 * labelled `tenant`, counted where the Collector's `otelcol_exporter_sent_<unit>` is (once per
 * request, after retries). The tenant is read from the request context the exporter sends with:
 * behind a batch processor or a batching queue only the partition's metadata keys are left, so
 * `from_context` should name one of them (`x-tenant-id`), not an `auth.` attribute.
 *
 * @module
 */
import { ITEM_UNIT } from "../pdata/count.ts";
import type { Payload } from "../pdata/payload.ts";
import type { Counter, Meter } from "../telemetry/metrics.ts";
import type { TenantMetricsConfig } from "./config.ts";
import { tenantLabeler, tenantOf } from "./labels.ts";

/** Counts one request's items as sent or failed, by tenant. */
export interface TenantSendCounters {
  sent(payload: Payload): void;
  failed(payload: Payload): void;
}

/** The counters `config` asks for on `meter`; undefined when disabled. */
export function tenantSendCounters(
  meter: Meter,
  config: TenantMetricsConfig | undefined,
): TenantSendCounters | undefined {
  if (config === undefined || !config.enabled) return undefined;
  const label = tenantLabeler(config.max_tenants);
  const counters = new Map<string, Counter>();
  function count(kind: "sent" | "send_failed", payload: Payload): void {
    const unit = ITEM_UNIT[payload.signal];
    const tenant = label(tenantOf(payload.client, config!.from_context));
    const key = `${kind}\u0000${unit}\u0000${tenant}`;
    let c = counters.get(key);
    if (c === undefined) {
      const items = unit.replace("_", " ");
      c = meter.counter(
        `tfo_exporter_tenant_${kind}_${unit}`,
        kind === "sent"
          ? `Number of ${items} of a tenant successfully sent to destination.`
          : `Number of ${items} of a tenant in failed attempts to send to destination.`,
        { tenant },
      );
      counters.set(key, c);
    }
    c.add(payload.itemCount);
  }
  return {
    sent: (payload) => count("sent", payload),
    failed: (payload) => count("send_failed", payload),
  };
}
