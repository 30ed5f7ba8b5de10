/**
 * pdata → COPY text rows of the `postgresql` exporter's tables (see `_schema.ts` for the columns,
 * in the same order here). One pass over a payload yields one COPY body per table it touches and
 * the partitions (start times) its rows fall in.
 *
 * @module
 */
import type { ClientInfo } from "../../../lib/pdata/payload.ts";
import type {
  Exemplar,
  InstrumentationScope,
  KeyValue,
  LogsData,
  MetricsData,
  Resource,
  TracesData,
} from "../../../lib/pdata/types.ts";
import {
  anyValueJsonb,
  attributesJsonb,
  copyArray,
  copyBytea,
  copyDouble,
  copyText,
  jsonText,
  NULL,
} from "./_copy_text.ts";
import type { TableKind } from "./_schema.ts";
import { tenancyOf } from "./_tenant.ts";

/** The rows of one table. */
export interface TableRows {
  /** COPY text in UTF-8, one line a row. */
  readonly bytes: Uint8Array;
  /** How many rows (items) it holds. */
  rows: number;
  /** The start (ms) of each partition its rows fall in. */
  partitions: Set<number>;
}

/** Rows by table kind, only for tables that get any. */
export type Rows = Partial<Record<TableKind, TableRows>>;

let lastSecond = Number.NaN;
let lastPrefix = "";

/** A `timestamptz` in COPY text (UTC, microseconds) from nanoseconds since the epoch. */
export function timestamptz(unixNano: bigint): string {
  let seconds = Number(unixNano / 1_000_000_000n);
  let nanos = Number(unixNano % 1_000_000_000n);
  if (nanos < 0) {
    nanos += 1_000_000_000;
    seconds -= 1;
  }
  if (seconds !== lastSecond) {
    lastSecond = seconds;
    const iso = new Date(seconds * 1000).toISOString();
    lastPrefix = `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
  }
  return `${lastPrefix}.${String(Math.floor(nanos / 1000)).padStart(6, "0")}+00`;
}

function nanoToMs(unixNano: bigint): number {
  return Number(unixNano / 1_000_000n);
}

const encoder = new TextEncoder();
const FLUSH_CHARS = 16 * 1024;

/**
 * Accumulates rows of one table as UTF-8 bytes: lines gather in a short string that is encoded
 * into one growing buffer every 16K characters (one long string built by `+=` costs more in
 * garbage collection than everything else).
 */
class Table implements TableRows {
  rows = 0;
  partitions = new Set<number>();
  #lastStart = Number.NaN;
  #pending = "";
  #buf = new Uint8Array(256 * 1024);
  #at = 0;
  constructor(readonly interval: number) {}

  get bytes(): Uint8Array {
    this.#flush();
    return this.#buf.subarray(0, this.#at);
  }

  #flush(): void {
    const s = this.#pending;
    if (s === "") return;
    this.#pending = "";
    const need = this.#at + s.length * 3;
    if (need > this.#buf.length) {
      let size = this.#buf.length * 2;
      while (size < need) size *= 2;
      const next = new Uint8Array(size);
      next.set(this.#buf.subarray(0, this.#at));
      this.#buf = next;
    }
    this.#at += encoder.encodeInto(s, this.#buf.subarray(this.#at)).written;
  }

  add(time: bigint, line: string): void {
    const ms = nanoToMs(time);
    const start = Math.floor(ms / this.interval) * this.interval;
    if (start !== this.#lastStart) {
      this.partitions.add(start);
      this.#lastStart = start;
    }
    this.#pending += line;
    if (this.#pending.length > FLUSH_CHARS) this.#flush();
    this.rows++;
  }
}

function str(value: string | undefined): string {
  return value === undefined ? NULL : copyText(value);
}

function serviceName(attributes: readonly KeyValue[]): string {
  for (let i = attributes.length - 1; i >= 0; i--) {
    const kv = attributes[i]!;
    if (kv.key === "service.name" && typeof kv.value === "string") return kv.value;
  }
  return "";
}

/** The leading columns (after `time`) shared by one resource's rows. */
function head(resource: Resource, client: ClientInfo): string {
  const tenancy = tenancyOf(resource.attributes, client);
  return `\t${str(tenancy.workspaceId)}\t${str(tenancy.tenantId)}\t${
    copyText(serviceName(resource.attributes))
  }`;
}

/** The trailing resource and scope columns. */
function resourceScope(
  resource: Resource,
  resourceSchemaUrl: string,
  scope: InstrumentationScope,
  scopeSchemaUrl: string,
): string {
  return `\t${
    copyText(attributesJsonb(resource.attributes))
  }\t${resource.droppedAttributesCount}\t${copyText(resourceSchemaUrl)}\t${copyText(scope.name)}\t${
    copyText(scope.version)
  }\t${copyText(attributesJsonb(scope.attributes))}\t${scope.droppedAttributesCount}\t${
    copyText(scopeSchemaUrl)
  }`;
}

function hex(id: Uint8Array): string {
  let out = "";
  for (let i = 0; i < id.length; i++) out += id[i]!.toString(16).padStart(2, "0");
  return out;
}

/** Spans → rows of the traces table. */
export function traceRows(data: TracesData, client: ClientInfo, interval: number): Rows {
  const t = new Table(interval);
  for (const rs of data.resourceSpans) {
    const h = head(rs.resource, client);
    for (const ss of rs.scopeSpans) {
      const tail = resourceScope(rs.resource, rs.schemaUrl, ss.scope, ss.schemaUrl);
      for (const s of ss.spans) {
        const duration = s.endTimeUnixNano - s.startTimeUnixNano;
        let events = "[";
        for (let i = 0; i < s.events.length; i++) {
          const e = s.events[i]!;
          if (i > 0) events += ",";
          events += `{"time_unix_nano":${e.timeUnixNano},"name":${jsonText(e.name)},` +
            `"attributes":${attributesJsonb(e.attributes)},` +
            `"dropped_attributes_count":${e.droppedAttributesCount}}`;
        }
        events += "]";
        let links = "[";
        for (let i = 0; i < s.links.length; i++) {
          const l = s.links[i]!;
          if (i > 0) links += ",";
          links += `{"trace_id":"${hex(l.traceId)}","span_id":"${hex(l.spanId)}",` +
            `"trace_state":${jsonText(l.traceState)},"attributes":${
              attributesJsonb(l.attributes)
            },"dropped_attributes_count":${l.droppedAttributesCount},"flags":${l.flags}}`;
        }
        links += "]";
        t.add(
          s.startTimeUnixNano,
          `${timestamptz(s.startTimeUnixNano)}${h}\t${copyBytea(s.traceId)}\t${
            copyBytea(s.spanId)
          }\t${copyBytea(s.parentSpanId)}\t${copyText(s.traceState)}\t${s.flags}\t${
            copyText(s.name)
          }\t${s.kind}\t${s.startTimeUnixNano}\t${s.endTimeUnixNano}\t${
            duration < 0n ? 0n : duration
          }\t${s.status.code}\t${copyText(s.status.message)}\t${
            copyText(attributesJsonb(s.attributes))
          }\t${s.droppedAttributesCount}\t${copyText(events)}\t${s.droppedEventsCount}\t${
            copyText(links)
          }\t${s.droppedLinksCount}${tail}\n`,
        );
      }
    }
  }
  return t.rows === 0 ? {} : { traces: t };
}

/** Log records → rows of the logs table (a record without a time is filed by its observed time). */
export function logRows(data: LogsData, client: ClientInfo, interval: number): Rows {
  const t = new Table(interval);
  for (const rl of data.resourceLogs) {
    const h = head(rl.resource, client);
    for (const sl of rl.scopeLogs) {
      const tail = resourceScope(rl.resource, rl.schemaUrl, sl.scope, sl.schemaUrl);
      for (const r of sl.logRecords) {
        const time = r.timeUnixNano !== 0n ? r.timeUnixNano : r.observedTimeUnixNano;
        t.add(
          time,
          `${
            timestamptz(time)
          }${h}\t${r.timeUnixNano}\t${r.observedTimeUnixNano}\t${r.severityNumber}\t${
            copyText(r.severityText)
          }\t${r.body === undefined ? NULL : copyText(anyValueJsonb(r.body))}\t${
            copyText(attributesJsonb(r.attributes))
          }\t${r.droppedAttributesCount}\t${r.flags}\t${copyBytea(r.traceId)}\t${
            copyBytea(r.spanId)
          }\t${copyText(r.eventName)}${tail}\n`,
        );
      }
    }
  }
  return t.rows === 0 ? {} : { logs: t };
}

function exemplarsJsonb(exemplars: readonly Exemplar[]): string {
  if (exemplars.length === 0) return "[]";
  let out = "[";
  for (let i = 0; i < exemplars.length; i++) {
    const e = exemplars[i]!;
    if (i > 0) out += ",";
    const value = e.value === undefined ? "null" : anyValueJsonb(e.value);
    out += `{"time_unix_nano":${e.timeUnixNano},"value":${value},"trace_id":"${
      hex(e.traceId)
    }","span_id":"${hex(e.spanId)}","filtered_attributes":${
      attributesJsonb(e.filteredAttributes)
    }}`;
  }
  return out + "]";
}

function optionalDouble(value: number | undefined): string {
  return value === undefined ? NULL : copyDouble(value);
}

/** Data points → rows of the metric tables, by type. */
export function metricRows(data: MetricsData, client: ClientInfo, interval: number): Rows {
  const tables: Partial<Record<TableKind, Table>> = {};
  const table = (kind: TableKind): Table => (tables[kind] ??= new Table(interval));
  for (const rm of data.resourceMetrics) {
    const h = head(rm.resource, client);
    for (const sm of rm.scopeMetrics) {
      const tail = resourceScope(rm.resource, rm.schemaUrl, sm.scope, sm.schemaUrl);
      for (const m of sm.metrics) {
        const d = m.data;
        if (d === undefined) continue;
        const names = `\t${copyText(m.name)}\t${copyText(m.description)}\t${copyText(m.unit)}`;
        const prefix = (time: bigint, attrs: readonly KeyValue[], start: bigint) =>
          `${timestamptz(time)}${h}${names}\t${
            copyText(attributesJsonb(attrs))
          }\t${start}\t${time}`;
        const suffix = (flags: number, exemplars: readonly Exemplar[]) =>
          `\t${flags}\t${copyText(exemplarsJsonb(exemplars))}${tail}\n`;
        switch (d.type) {
          case "gauge":
          case "sum": {
            const t = table(d.type);
            const extra = d.type === "sum"
              ? `\t${d.aggregationTemporality}\t${d.isMonotonic ? "t" : "f"}`
              : "";
            for (const p of d.dataPoints) {
              const v = p.value;
              const value = v === undefined
                ? `${NULL}\t${NULL}`
                : typeof v === "bigint"
                ? `${copyDouble(Number(v))}\t${v}`
                : `${copyDouble(v)}\t${NULL}`;
              t.add(
                p.timeUnixNano,
                `${prefix(p.timeUnixNano, p.attributes, p.startTimeUnixNano)}\t${value}${extra}${
                  suffix(p.flags, p.exemplars)
                }`,
              );
            }
            break;
          }
          case "histogram": {
            const t = table("histogram");
            for (const p of d.dataPoints) {
              t.add(
                p.timeUnixNano,
                `${prefix(p.timeUnixNano, p.attributes, p.startTimeUnixNano)}\t${p.count}\t${
                  optionalDouble(p.sum)
                }\t${copyArray(p.bucketCounts)}\t${copyArray(p.explicitBounds)}\t${
                  optionalDouble(p.min)
                }\t${optionalDouble(p.max)}\t${d.aggregationTemporality}${
                  suffix(p.flags, p.exemplars)
                }`,
              );
            }
            break;
          }
          case "exponentialHistogram": {
            const t = table("exponential_histogram");
            for (const p of d.dataPoints) {
              t.add(
                p.timeUnixNano,
                `${prefix(p.timeUnixNano, p.attributes, p.startTimeUnixNano)}\t${p.count}\t${
                  optionalDouble(p.sum)
                }\t${p.scale}\t${p.zeroCount}\t${
                  copyDouble(p.zeroThreshold)
                }\t${p.positive.offset}\t${
                  copyArray(p.positive.bucketCounts)
                }\t${p.negative.offset}\t${copyArray(p.negative.bucketCounts)}\t${
                  optionalDouble(p.min)
                }\t${optionalDouble(p.max)}\t${d.aggregationTemporality}${
                  suffix(p.flags, p.exemplars)
                }`,
              );
            }
            break;
          }
          case "summary": {
            const t = table("summary");
            for (const p of d.dataPoints) {
              t.add(
                p.timeUnixNano,
                `${prefix(p.timeUnixNano, p.attributes, p.startTimeUnixNano)}\t${p.count}\t${
                  copyDouble(p.sum)
                }\t${copyArray(p.quantileValues.map((q) => q.quantile))}\t${
                  copyArray(p.quantileValues.map((q) => q.value))
                }${suffix(p.flags, [])}`,
              );
            }
            break;
          }
        }
      }
    }
  }
  return tables;
}
