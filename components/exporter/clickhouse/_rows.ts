/**
 * pdata → RowBinary rows of the `clickhouse` exporter's tables, with the Collector's values: IDs
 * in lower-case hex ("" when unset), attribute values as `AsString` renders them, span kinds and
 * status codes by name (`Server`, `Error`), a span's `Duration` in nanoseconds, a log record
 * without a time filed at its observed time, unset histogram sums, minimums and maximums as 0.
 * Columns are written in `_ddl.ts`'s `INSERT_COLUMNS` order.
 *
 * @module
 */
import { anyValueToString } from "../../../lib/pdata/attributes.ts";
import { idHex } from "../../../lib/pdata/go_json.ts";
import type {
  Exemplar,
  InstrumentationScope,
  KeyValue,
  LogsData,
  MetricsData,
  Resource,
  TracesData,
} from "../../../lib/pdata/types.ts";
import type { TableKind } from "./_ddl.ts";
import { RowBinaryWriter } from "./_rowbinary.ts";

/** The rows of one table: RowBinary bytes and how many rows. */
export interface TableRows {
  readonly writer: RowBinaryWriter;
  rows: number;
}

/** Rows by table kind, only for tables that get any. */
export type Rows = Partial<Record<TableKind, TableRows>>;

const SPAN_KINDS = ["Unspecified", "Internal", "Server", "Client", "Producer", "Consumer"];
const STATUS_CODES = ["Unset", "Ok", "Error"];

function attributes(w: RowBinaryWriter, attrs: readonly KeyValue[]): void {
  w.varint(attrs.length);
  for (let i = 0; i < attrs.length; i++) {
    const kv = attrs[i]!;
    w.string(kv.key);
    w.string(anyValueToString(kv.value));
  }
}

function serviceName(attrs: readonly KeyValue[]): string {
  for (let i = attrs.length - 1; i >= 0; i--) {
    const kv = attrs[i]!;
    if (kv.key === "service.name") return anyValueToString(kv.value);
  }
  return "";
}

/** Spans → rows of the traces table. */
export function traceRows(data: TracesData): Rows {
  const w = new RowBinaryWriter();
  let rows = 0;
  for (const rs of data.resourceSpans) {
    const resource = rs.resource.attributes;
    const service = serviceName(resource);
    for (const ss of rs.scopeSpans) {
      for (const s of ss.spans) {
        w.time(s.startTimeUnixNano);
        w.string(idHex(s.traceId));
        w.string(idHex(s.spanId));
        w.string(idHex(s.parentSpanId));
        w.string(s.traceState);
        w.string(s.name);
        w.string(SPAN_KINDS[s.kind] ?? "Unspecified");
        w.string(service);
        attributes(w, resource);
        w.string(ss.scope.name);
        w.string(ss.scope.version);
        attributes(w, s.attributes);
        const duration = s.endTimeUnixNano - s.startTimeUnixNano;
        w.u64(duration < 0n ? 0n : duration);
        w.string(STATUS_CODES[s.status.code] ?? "Unset");
        w.string(s.status.message);
        w.varint(s.events.length);
        for (const e of s.events) w.time(e.timeUnixNano);
        w.varint(s.events.length);
        for (const e of s.events) w.string(e.name);
        w.varint(s.events.length);
        for (const e of s.events) attributes(w, e.attributes);
        w.varint(s.links.length);
        for (const l of s.links) w.string(idHex(l.traceId));
        w.varint(s.links.length);
        for (const l of s.links) w.string(idHex(l.spanId));
        w.varint(s.links.length);
        for (const l of s.links) w.string(l.traceState);
        w.varint(s.links.length);
        for (const l of s.links) attributes(w, l.attributes);
        rows++;
      }
    }
  }
  return rows === 0 ? {} : { traces: { writer: w, rows } };
}

/** Log records → rows of the logs table. */
export function logRows(data: LogsData): Rows {
  const w = new RowBinaryWriter();
  let rows = 0;
  for (const rl of data.resourceLogs) {
    const resource = rl.resource.attributes;
    const service = serviceName(resource);
    for (const sl of rl.scopeLogs) {
      for (const r of sl.logRecords) {
        w.time(r.timeUnixNano !== 0n ? r.timeUnixNano : r.observedTimeUnixNano);
        w.string(idHex(r.traceId));
        w.string(idHex(r.spanId));
        w.u8(r.flags & 0xff);
        w.string(r.severityText);
        w.u8(r.severityNumber);
        w.string(service);
        w.string(anyValueToString(r.body));
        w.string(rl.schemaUrl);
        attributes(w, resource);
        w.string(sl.schemaUrl);
        w.string(sl.scope.name);
        w.string(sl.scope.version);
        attributes(w, sl.scope.attributes);
        attributes(w, r.attributes);
        w.string(r.eventName);
        rows++;
      }
    }
  }
  return rows === 0 ? {} : { logs: { writer: w, rows } };
}

function exemplars(w: RowBinaryWriter, list: readonly Exemplar[]): void {
  w.varint(list.length);
  for (const e of list) attributes(w, e.filteredAttributes);
  w.varint(list.length);
  for (const e of list) w.time(e.timeUnixNano);
  w.varint(list.length);
  for (const e of list) w.f64(e.value === undefined ? 0 : Number(e.value));
  w.varint(list.length);
  for (const e of list) w.string(idHex(e.spanId));
  w.varint(list.length);
  for (const e of list) w.string(idHex(e.traceId));
}

function head(
  w: RowBinaryWriter,
  resource: Resource,
  resourceSchemaUrl: string,
  scope: InstrumentationScope,
  scopeSchemaUrl: string,
  service: string,
  metric: { name: string; description: string; unit: string },
  point: { attributes: readonly KeyValue[]; startTimeUnixNano: bigint; timeUnixNano: bigint },
): void {
  attributes(w, resource.attributes);
  w.string(resourceSchemaUrl);
  w.string(scope.name);
  w.string(scope.version);
  attributes(w, scope.attributes);
  w.u32(scope.droppedAttributesCount);
  w.string(scopeSchemaUrl);
  w.string(service);
  w.string(metric.name);
  w.string(metric.description);
  w.string(metric.unit);
  attributes(w, point.attributes);
  w.time(point.startTimeUnixNano);
  w.time(point.timeUnixNano);
}

function u64s(w: RowBinaryWriter, values: readonly bigint[]): void {
  w.varint(values.length);
  for (const v of values) w.u64(v);
}

function f64s(w: RowBinaryWriter, values: readonly number[]): void {
  w.varint(values.length);
  for (const v of values) w.f64(v);
}

/** Data points → rows of the metric tables, by type. */
export function metricRows(data: MetricsData): Rows {
  const out: Rows = {};
  const table = (
    kind: TableKind,
  ): TableRows => (out[kind] ??= { writer: new RowBinaryWriter(), rows: 0 });
  for (const rm of data.resourceMetrics) {
    const service = serviceName(rm.resource.attributes);
    for (const sm of rm.scopeMetrics) {
      for (const m of sm.metrics) {
        const d = m.data;
        if (d === undefined) continue;
        const start = (t: TableRows, p: Parameters<typeof head>[7]) => {
          head(t.writer, rm.resource, rm.schemaUrl, sm.scope, sm.schemaUrl, service, m, p);
          t.rows++;
          return t.writer;
        };
        switch (d.type) {
          case "gauge":
          case "sum": {
            const t = table(d.type);
            for (const p of d.dataPoints) {
              const w = start(t, p);
              w.f64(p.value === undefined ? 0 : Number(p.value));
              w.u32(p.flags);
              exemplars(w, p.exemplars);
              if (d.type === "sum") {
                w.i32(d.aggregationTemporality);
                w.u8(d.isMonotonic ? 1 : 0);
              }
            }
            break;
          }
          case "histogram": {
            const t = table("histogram");
            for (const p of d.dataPoints) {
              const w = start(t, p);
              w.u64(p.count);
              w.f64(p.sum ?? 0);
              u64s(w, p.bucketCounts);
              f64s(w, p.explicitBounds);
              exemplars(w, p.exemplars);
              w.u32(p.flags);
              w.f64(p.min ?? 0);
              w.f64(p.max ?? 0);
              w.i32(d.aggregationTemporality);
            }
            break;
          }
          case "exponentialHistogram": {
            const t = table("exponential_histogram");
            for (const p of d.dataPoints) {
              const w = start(t, p);
              w.u64(p.count);
              w.f64(p.sum ?? 0);
              w.i32(p.scale);
              w.u64(p.zeroCount);
              w.i32(p.positive.offset);
              u64s(w, p.positive.bucketCounts);
              w.i32(p.negative.offset);
              u64s(w, p.negative.bucketCounts);
              exemplars(w, p.exemplars);
              w.u32(p.flags);
              w.f64(p.min ?? 0);
              w.f64(p.max ?? 0);
              w.i32(d.aggregationTemporality);
            }
            break;
          }
          case "summary": {
            const t = table("summary");
            for (const p of d.dataPoints) {
              const w = start(t, p);
              w.u64(p.count);
              w.f64(p.sum);
              f64s(w, p.quantileValues.map((q) => q.quantile));
              f64s(w, p.quantileValues.map((q) => q.value));
              w.u32(p.flags);
            }
            break;
          }
        }
      }
    }
  }
  return out;
}
