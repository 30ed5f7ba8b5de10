/**
 * The `service.telemetry` section, shaped as the OpenTelemetry Collector's: `metrics.level`,
 * `metrics.readers` (pull Prometheus readers:
 * `- pull: {exporter: {prometheus: {host, port, without_type_suffix, without_units, without_scope_info}}}`)
 * or the older `metrics.address`, `logs.level` / `logs.encoding`, and `resource`.
 *
 * Push (`periodic`) readers are refused with their position: tfo serves its metrics to be
 * scraped and does not push them. Without a reader and an address, one pull reader serves
 * `127.0.0.1:8888`.
 *
 * @module
 */
import { z } from "../lib/config/z.js";
import { hostPort } from "../lib/config/schema.ts";
import type { PrometheusReaderConfig, TelemetryConfig } from "./config.ts";

/** Where `/metrics` is served when no reader and no address is configured. */
export const DEFAULT_METRICS_ENDPOINT = "127.0.0.1:8888";

const lowerCase = (v: unknown) => typeof v === "string" ? v.toLowerCase() : v;

const prometheusSchema = z.strictObject({
  host: z.string().default("localhost"),
  port: z.number().int().min(0).max(65535).default(8888),
  without_type_suffix: z.boolean().default(true),
  without_units: z.boolean().default(true),
  without_scope_info: z.boolean().default(true),
});

const readerSchema = z.strictObject({
  pull: z.strictObject({
    exporter: z.strictObject({ prometheus: prometheusSchema }),
  }).optional(),
  periodic: z.unknown().refine(() => false, {
    message: "periodic (push) readers are not supported: tfo's metrics are scraped; use a " +
      "pull reader (pull.exporter.prometheus) and scrape it",
  }).optional(),
}).refine((r) => r.pull !== undefined || r.periodic !== undefined, {
  message: "must have a pull reader (pull.exporter.prometheus)",
});

/** The zod schema of `service.telemetry`. */
export const telemetrySchema = z.strictObject({
  metrics: z.strictObject({
    level: z.preprocess(lowerCase, z.enum(["none", "basic", "normal", "detailed"])).default(
      "normal",
    ),
    address: hostPort().optional(),
    readers: z.array(readerSchema).optional(),
  }).refine((m) => m.address === undefined || m.readers === undefined, {
    message: "set either address (the older form) or readers, not both",
  }).prefault({}),
  logs: z.strictObject({
    level: z.preprocess(lowerCase, z.enum(["debug", "info", "warn", "error"])).default("info"),
    encoding: z.enum(["json", "console"]).default("json"),
  }).prefault({}),
  resource: z.record(z.string(), z.string()).optional(),
});

/** The schema's output. */
export type TelemetryValue = z.output<typeof telemetrySchema>;

function joinHostPort(host: string, port: number): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The resolved `service.telemetry`: one entry per pull reader, the address form included. */
export function resolveTelemetry(t: TelemetryValue): TelemetryConfig {
  const readers: PrometheusReaderConfig[] = [];
  if (t.metrics.readers !== undefined) {
    for (const r of t.metrics.readers) {
      const p = r.pull?.exporter.prometheus;
      if (p === undefined) continue;
      readers.push({
        endpoint: joinHostPort(p.host, p.port),
        withoutTypeSuffix: p.without_type_suffix,
        withoutUnits: p.without_units,
        withoutScopeInfo: p.without_scope_info,
      });
    }
  } else {
    readers.push({
      endpoint: t.metrics.address ?? DEFAULT_METRICS_ENDPOINT,
      withoutTypeSuffix: true,
      withoutUnits: true,
      withoutScopeInfo: true,
    });
  }
  const telemetry: TelemetryConfig = {
    metrics: { level: t.metrics.level, readers },
    logs: { level: t.logs.level, encoding: t.logs.encoding },
  };
  if (t.resource !== undefined) telemetry.resource = { ...t.resource };
  return telemetry;
}
