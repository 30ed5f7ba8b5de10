/**
 * A small, JSON-ready picture of a few items of a payload, for the pipeline page's live tap:
 * each item with its resource and scope, its identifying fields and its attributes, secret-named
 * attribute values masked by the same rule as config output. Only the first `limit` items are
 * turned into objects; the rest is only counted.
 *
 * @module
 */
import { isSecretKey, REDACTED } from "../telemetry/secrets.ts";
import type { AnyValue, KeyValue, SignalData } from "./types.ts";
import type { Signal } from "./types.ts";

/** One sampled item. */
export type SampledItem = Record<string, unknown>;

function hex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

function plain(value: AnyValue, depth = 0): unknown {
  if (depth > 8) return "…";
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Uint8Array) return `0x${hex(value.subarray(0, 64))}`;
  if (Array.isArray(value)) return value.slice(0, 32).map((v) => plain(v, depth + 1));
  if (value !== null && typeof value === "object") return attributes(value.kvlist, depth + 1);
  if (typeof value === "string" && value.length > 1024) return `${value.slice(0, 1024)}…`;
  return value;
}

function attributes(list: readonly KeyValue[], depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { key, value } of list.slice(0, 64)) {
    Object.defineProperty(out, key, {
      value: isSecretKey(key) ? REDACTED : plain(value, depth),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/** Up to `limit` items of `data` as plain objects. */
export function sampleItems<S extends Signal>(
  signal: S,
  data: SignalData[S],
  limit: number,
): SampledItem[] {
  const out: SampledItem[] = [];
  if (signal === "traces") {
    for (const rs of (data as SignalData["traces"]).resourceSpans) {
      for (const ss of rs.scopeSpans) {
        for (const span of ss.spans) {
          if (out.length >= limit) return out;
          out.push({
            resource: attributes(rs.resource.attributes),
            scope: ss.scope.name,
            name: span.name,
            traceId: hex(span.traceId),
            spanId: hex(span.spanId),
            kind: span.kind,
            status: span.status.code,
            durationMs: Number(span.endTimeUnixNano - span.startTimeUnixNano) / 1e6,
            attributes: attributes(span.attributes),
          });
        }
      }
    }
  } else if (signal === "metrics") {
    for (const rm of (data as SignalData["metrics"]).resourceMetrics) {
      for (const sm of rm.scopeMetrics) {
        for (const metric of sm.metrics) {
          if (out.length >= limit) return out;
          const points = metric.data === undefined ? [] : metric.data.dataPoints;
          out.push({
            resource: attributes(rm.resource.attributes),
            scope: sm.scope.name,
            name: metric.name,
            unit: metric.unit,
            type: metric.data?.type ?? "empty",
            points: points.length,
            firstPoint: points[0] === undefined ? undefined : {
              attributes: attributes(points[0].attributes),
              ...("value" in points[0] ? { value: plain(points[0].value as AnyValue) } : {}),
            },
          });
        }
      }
    }
  } else {
    for (const rl of (data as SignalData["logs"]).resourceLogs) {
      for (const sl of rl.scopeLogs) {
        for (const record of sl.logRecords) {
          if (out.length >= limit) return out;
          out.push({
            resource: attributes(rl.resource.attributes),
            scope: sl.scope.name,
            severity: record.severityText || record.severityNumber,
            body: plain(record.body),
            attributes: attributes(record.attributes),
          });
        }
      }
    }
  }
  return out;
}
