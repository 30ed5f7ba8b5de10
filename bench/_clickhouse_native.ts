/**
 * A Native-format encoder of the `clickhouse` exporter's logs rows, for the benchmark only: the
 * measurement that chose RowBinary for the exporter (`sql_backends_bench.ts --formats`). Native
 * is columnar: one block of (name, type, column data) per column, each column written in one pass
 * over the records into its own buffer. `LowCardinality(String)` columns are sent as `String` and
 * the maps as `Map(String, String)`; ClickHouse converts them on insert.
 *
 * @module
 */
import { anyValueToString } from "../lib/pdata/attributes.ts";
import { idHex } from "../lib/pdata/go_json.ts";
import type { KeyValue, LogRecord, LogsData } from "../lib/pdata/types.ts";
import { RowBinaryWriter } from "../components/exporter/clickhouse/_rowbinary.ts";

interface Row {
  r: LogRecord;
  service: string;
  resource: readonly KeyValue[];
  resourceSchemaUrl: string;
  scopeName: string;
  scopeVersion: string;
  scopeSchemaUrl: string;
  scope: readonly KeyValue[];
}

function service(attrs: readonly KeyValue[]): string {
  const kv = attrs.find((a) => a.key === "service.name");
  return kv === undefined ? "" : anyValueToString(kv.value);
}

/** The logs rows of `data` in Native format, the exporter's insert column order. */
export function nativeLogs(data: LogsData): Uint8Array {
  const rows: Row[] = [];
  for (const rl of data.resourceLogs) {
    const s = service(rl.resource.attributes);
    for (const sl of rl.scopeLogs) {
      for (const r of sl.logRecords) {
        rows.push({
          r,
          service: s,
          resource: rl.resource.attributes,
          resourceSchemaUrl: rl.schemaUrl,
          scopeName: sl.scope.name,
          scopeVersion: sl.scope.version,
          scopeSchemaUrl: sl.schemaUrl,
          scope: sl.scope.attributes,
        });
      }
    }
  }
  const w = new RowBinaryWriter(1 << 20);
  w.varint(16);
  w.varint(rows.length);
  const column = (name: string, type: string, write: (row: Row) => void) => {
    w.string(name);
    w.string(type);
    for (const row of rows) write(row);
  };
  const map = (name: string, get: (row: Row) => readonly KeyValue[]) => {
    w.string(name);
    w.string("Map(String, String)");
    let offset = 0n;
    for (const row of rows) {
      offset += BigInt(get(row).length);
      w.u64(offset);
    }
    for (const row of rows) for (const kv of get(row)) w.string(kv.key);
    for (const row of rows) for (const kv of get(row)) w.string(anyValueToString(kv.value));
  };
  column(
    "Timestamp",
    "DateTime64(9)",
    ({ r }) => w.time(r.timeUnixNano !== 0n ? r.timeUnixNano : r.observedTimeUnixNano),
  );
  column("TraceId", "String", ({ r }) => w.string(idHex(r.traceId)));
  column("SpanId", "String", ({ r }) => w.string(idHex(r.spanId)));
  column("TraceFlags", "UInt8", ({ r }) => w.u8(r.flags));
  column("SeverityText", "String", ({ r }) => w.string(r.severityText));
  column("SeverityNumber", "UInt8", ({ r }) => w.u8(r.severityNumber));
  column("ServiceName", "String", (row) => w.string(row.service));
  column("Body", "String", ({ r }) => w.string(anyValueToString(r.body)));
  column("ResourceSchemaUrl", "String", (row) => w.string(row.resourceSchemaUrl));
  map("ResourceAttributes", (row) => row.resource);
  column("ScopeSchemaUrl", "String", (row) => w.string(row.scopeSchemaUrl));
  column("ScopeName", "String", (row) => w.string(row.scopeName));
  column("ScopeVersion", "String", (row) => w.string(row.scopeVersion));
  map("ScopeAttributes", (row) => row.scope);
  map("LogAttributes", (row) => row.r.attributes);
  column("EventName", "String", ({ r }) => w.string(r.eventName));
  return w.bytes();
}
