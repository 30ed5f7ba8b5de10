/**
 * Documents in the Simple Schema for Observability (ss4o), field for field as the contrib
 * `opensearch` exporter writes them (its `ssoLog` and `ssoSpan`), as JSON text:
 *
 * - Log: `attributes` (the record's, plus `data_stream: {dataset, namespace, type: "record"}`),
 *   `body` (as a string), `instrumentationScope` (`attributes`, `name`, `schemaUrl`, `version`),
 *   `observedTimestamp`, `resource` (values as strings), `schemaUrl`, `severity` (`text`,
 *   `number`), `spanId`, `@timestamp`, `traceId`.
 * - Span: `attributes` (with `data_stream.type` `span`), the dropped counts, `endTime`, `events`,
 *   `instrumentationScope`, `kind` (`Server`, …), `links`, `name`, `parentSpanId`, `resource`,
 *   `spanId`, `startTime`, `status` (`code` `Unset`|`Ok`|`Error`, `message`), `@timestamp` (the
 *   start), `traceId`, `traceState`.
 *
 * Times are RFC 3339 with nanoseconds. A log record without a time takes its observed time as
 * `@timestamp` (the contrib writes 1970-01-01 there); a record without an observed time gets the
 * export time, as the contrib gives every record.
 *
 * @module
 */
import { anyValueToString } from "../../../lib/pdata/attributes.ts";
import {
  anyValueJson,
  attributesJson,
  idHex,
  jsonString,
  rfc3339Nano,
  sortedUnique,
} from "../../../lib/pdata/go_json.ts";
import type { InstrumentationScope, KeyValue, LogRecord, Span } from "../../../lib/pdata/types.ts";

/** The `data_stream` of a document. */
export interface DataStream {
  readonly dataset: string;
  readonly namespace: string;
}

/** An attribute map as JSON with sorted keys, `data_stream` (raw JSON) merged in when given. */
function objectJson(attributes: readonly KeyValue[], dataStream?: string): string {
  if (dataStream === undefined) return attributesJson(attributes);
  const sorted = sortedUnique(attributes);
  let out = "{";
  let placed = false;
  for (const kv of sorted) {
    if (kv.key === "data_stream") continue; // replaced, as the contrib's map assignment does
    if (!placed && kv.key > "data_stream") {
      out += `${out.length > 1 ? "," : ""}"data_stream":${dataStream}`;
      placed = true;
    }
    out += `${out.length > 1 ? "," : ""}${jsonString(kv.key)}:${anyValueJson(kv.value)}`;
  }
  if (!placed) out += `${out.length > 1 ? "," : ""}"data_stream":${dataStream}`;
  return out + "}";
}

/** Resource attributes as a string map (`AsString` values), sorted. */
export function resourceJson(resource: readonly KeyValue[]): string {
  const byKey = new Map<string, string>();
  for (const kv of resource) byKey.set(kv.key, anyValueToString(kv.value));
  const keys = [...byKey.keys()].sort();
  return `{${keys.map((k) => `${jsonString(k)}:${jsonString(byKey.get(k)!)}`).join(",")}}`;
}

function dataStreamJson(ds: DataStream, type: string): string {
  return `{"dataset":${jsonString(ds.dataset)},"namespace":${jsonString(ds.namespace)},` +
    `"type":"${type}"}`;
}

function scopeJson(scope: InstrumentationScope, schemaUrl: string, dropped: boolean): string {
  const parts: string[] = [];
  if (scope.attributes.length > 0) parts.push(`"attributes":${objectJson(scope.attributes)}`);
  if (dropped) parts.push(`"droppedAttributesCount":${scope.droppedAttributesCount}`);
  if (dropped || scope.name !== "") parts.push(`"name":${jsonString(scope.name)}`);
  if (dropped || schemaUrl !== "") parts.push(`"schemaUrl":${jsonString(schemaUrl)}`);
  if (dropped || scope.version !== "") parts.push(`"version":${jsonString(scope.version)}`);
  return `{${parts.join(",")}}`;
}

/** The precomputed parts of one resource and scope, shared by their items. */
export interface DocumentContext {
  /** `"resource":{…},` or "" for no attributes. */
  readonly resource: string;
  readonly scope: InstrumentationScope;
  readonly scopeSchemaUrl: string;
  /** The scope object of logs (`omitempty` members). */
  readonly logScope: string;
  /** The scope object of spans (every member). */
  readonly spanScope: string;
}

/** The shared parts of the documents of one resource and scope. */
export function documentContext(
  resource: readonly KeyValue[],
  scope: InstrumentationScope,
  scopeSchemaUrl: string,
): DocumentContext {
  return {
    resource: resource.length === 0 ? "" : `"resource":${resourceJson(resource)},`,
    scope,
    scopeSchemaUrl,
    logScope: scopeJson(scope, scopeSchemaUrl, false),
    spanScope: scopeJson(scope, scopeSchemaUrl, true),
  };
}

/** A log record's ss4o document. */
export function logDocument(
  record: LogRecord,
  ctx: DocumentContext,
  ds: DataStream,
  nowUnixNano: bigint,
): string {
  const attributes = objectJson(record.attributes, dataStreamJson(ds, "record"));
  const observed = record.observedTimeUnixNano !== 0n ? record.observedTimeUnixNano : nowUnixNano;
  const time = record.timeUnixNano !== 0n ? record.timeUnixNano : observed;
  const severity: string[] = [];
  if (record.severityText !== "") severity.push(`"text":${jsonString(record.severityText)}`);
  if (record.severityNumber !== 0) severity.push(`"number":${record.severityNumber}`);
  const spanId = idHex(record.spanId);
  const traceId = idHex(record.traceId);
  return `{"attributes":${attributes},"body":${jsonString(anyValueToString(record.body))},` +
    `"instrumentationScope":${ctx.logScope},"observedTimestamp":"${rfc3339Nano(observed)}",` +
    ctx.resource +
    (ctx.scopeSchemaUrl === "" ? "" : `"schemaUrl":${jsonString(ctx.scopeSchemaUrl)},`) +
    `"severity":{${severity.join(",")}},` +
    (spanId === "" ? "" : `"spanId":"${spanId}",`) +
    `"@timestamp":"${rfc3339Nano(time)}"` +
    (traceId === "" ? "" : `,"traceId":"${traceId}"`) + "}";
}

const KINDS = ["Unspecified", "Internal", "Server", "Client", "Producer", "Consumer"];
const STATUS = ["Unset", "Ok", "Error"];

/** A span's ss4o document. */
export function spanDocument(span: Span, ctx: DocumentContext, ds: DataStream): string {
  const attributes = objectJson(span.attributes, dataStreamJson(ds, "span"));
  const events = span.events.map((e) =>
    `{"attributes":${
      objectJson(e.attributes)
    },"droppedAttributesCount":${e.droppedAttributesCount},` +
    `"name":${jsonString(e.name)},"@timestamp":"${rfc3339Nano(e.timeUnixNano)}"}`
  );
  const links = span.links.map((l) => {
    const parts: string[] = [];
    if (l.attributes.length > 0) parts.push(`"attributes":${objectJson(l.attributes)}`);
    const spanId = idHex(l.spanId);
    if (spanId !== "") parts.push(`"spanId":"${spanId}"`);
    const traceId = idHex(l.traceId);
    if (traceId !== "") parts.push(`"traceId":"${traceId}"`);
    if (l.traceState !== "") parts.push(`"traceState":${jsonString(l.traceState)}`);
    if (l.droppedAttributesCount !== 0) {
      parts.push(`"droppedAttributesCount":${l.droppedAttributesCount}`);
    }
    return `{${parts.join(",")}}`;
  });
  const start = rfc3339Nano(span.startTimeUnixNano);
  return `{"attributes":${attributes},"droppedAttributesCount":${span.droppedAttributesCount},` +
    `"droppedEventsCount":${span.droppedEventsCount},` +
    `"droppedLinksCount":${span.droppedLinksCount},` +
    `"endTime":"${rfc3339Nano(span.endTimeUnixNano)}",` +
    (events.length === 0 ? "" : `"events":[${events.join(",")}],`) +
    `"instrumentationScope":${ctx.spanScope},"kind":"${KINDS[span.kind] ?? "Unspecified"}",` +
    (links.length === 0 ? "" : `"links":[${links.join(",")}],`) +
    `"name":${jsonString(span.name)},"parentSpanId":"${idHex(span.parentSpanId)}",` +
    ctx.resource +
    `"spanId":"${idHex(span.spanId)}","startTime":"${start}",` +
    `"status":{"code":"${STATUS[span.status.code] ?? "Unset"}",` +
    `"message":${jsonString(span.status.message)}},` +
    `"@timestamp":"${start}","traceId":"${idHex(span.traceId)}",` +
    `"traceState":${jsonString(span.traceState)}}`;
}
