/**
 * OTLP/JSON codecs, as the OTLP specification defines them: lowerCamelCase keys, trace and span IDs
 * as hex, other bytes as base64, 64-bit integers as decimal strings, enums as integers, doubles as
 * numbers (NaN and the infinities as the strings `"NaN"`, `"Infinity"`, `"-Infinity"`; -0 as
 * `"-0"` so it survives). Fields holding their default value are left out.
 *
 * Decoding is lenient where the protobuf JSON mapping allows: original snake_case field names,
 * enum names (`"SPAN_KIND_SERVER"`), 64-bit integers as numbers, doubles as strings, `null` for a
 * default. Unknown keys are ignored. Invalid JSON or a value of the wrong shape throws
 * {@linkcode OtlpDecodeError} naming the path of the offending value.
 *
 * @module
 */
import type {
  AnyValue,
  Exemplar,
  ExponentialBuckets,
  ExponentialHistogramDataPoint,
  HistogramDataPoint,
  InstrumentationScope,
  KeyValue,
  LogRecord,
  LogsData,
  Metric,
  MetricData,
  MetricsData,
  NumberDataPoint,
  Resource,
  Span,
  SummaryDataPoint,
  TracesData,
} from "../pdata/types.ts";
import { fromBase64, fromHex, toBase64, toHex } from "./_encoding.ts";
import type { ExportPartialSuccess } from "./common_proto.ts";
import { MAX_DEPTH } from "./common_proto.ts";
import { OtlpDecodeError } from "./errors.ts";

// deno-lint-ignore no-explicit-any
type Json = any;
type Obj = Record<string, unknown>;

const EMPTY: Uint8Array = new Uint8Array(0);
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

// ---------------------------------------------------------------------------------------------
// Encoding

function dbl(v: number): number | string {
  if (Number.isFinite(v)) return v === 0 && 1 / v < 0 ? "-0" : v;
  return Number.isNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity";
}

function anyValueJson(v: AnyValue): Obj {
  switch (typeof v) {
    case "string":
      return { stringValue: v };
    case "boolean":
      return { boolValue: v };
    case "bigint":
      return { intValue: v.toString() };
    case "number":
      return { doubleValue: dbl(v) };
    case "undefined":
      return {};
  }
  if (v instanceof Uint8Array) return { bytesValue: toBase64(v) };
  if (Array.isArray(v)) return { arrayValue: { values: v.map(anyValueJson) } };
  return { kvlistValue: { values: attrsJson(v.kvlist) } };
}

function attrsJson(attrs: readonly KeyValue[]): Obj[] {
  const out = new Array<Obj>(attrs.length);
  for (let i = 0; i < attrs.length; i++) {
    const kv = attrs[i]!;
    out[i] = kv.value === undefined
      ? { key: kv.key }
      : { key: kv.key, value: anyValueJson(kv.value) };
  }
  return out;
}

/** Sets `o[k]` unless `v` is a default (0, "", 0n, false, empty array or bytes). */
function put(o: Obj, k: string, v: unknown): void {
  switch (typeof v) {
    case "string":
      if (v !== "") o[k] = v;
      return;
    case "number":
      if (v !== 0 || 1 / v < 0) o[k] = dbl(v);
      return;
    case "bigint":
      if (v !== 0n) o[k] = v.toString();
      return;
    case "boolean":
      if (v) o[k] = v;
      return;
  }
  if (v instanceof Uint8Array) {
    if (v.length !== 0) o[k] = toBase64(v);
  } else if (Array.isArray(v)) {
    if (v.length !== 0) o[k] = v;
  } else if (v !== undefined) o[k] = v;
}

function putId(o: Obj, k: string, v: Uint8Array): void {
  if (v.length !== 0) o[k] = toHex(v);
}

function putAttrs(o: Obj, k: string, attrs: readonly KeyValue[]): void {
  if (attrs.length !== 0) o[k] = attrsJson(attrs);
}

function resourceJson(r: Resource): Obj {
  const o: Obj = {};
  putAttrs(o, "attributes", r.attributes);
  put(o, "droppedAttributesCount", r.droppedAttributesCount);
  return o;
}

function scopeJson(s: InstrumentationScope): Obj {
  const o: Obj = {};
  put(o, "name", s.name);
  put(o, "version", s.version);
  putAttrs(o, "attributes", s.attributes);
  put(o, "droppedAttributesCount", s.droppedAttributesCount);
  return o;
}

function spanJson(s: Span): Obj {
  const o: Obj = {};
  putId(o, "traceId", s.traceId);
  putId(o, "spanId", s.spanId);
  put(o, "traceState", s.traceState);
  putId(o, "parentSpanId", s.parentSpanId);
  put(o, "flags", s.flags);
  put(o, "name", s.name);
  put(o, "kind", s.kind);
  put(o, "startTimeUnixNano", s.startTimeUnixNano);
  put(o, "endTimeUnixNano", s.endTimeUnixNano);
  putAttrs(o, "attributes", s.attributes);
  put(o, "droppedAttributesCount", s.droppedAttributesCount);
  if (s.events.length !== 0) {
    o.events = s.events.map((e) => {
      const eo: Obj = {};
      put(eo, "timeUnixNano", e.timeUnixNano);
      put(eo, "name", e.name);
      putAttrs(eo, "attributes", e.attributes);
      put(eo, "droppedAttributesCount", e.droppedAttributesCount);
      return eo;
    });
  }
  put(o, "droppedEventsCount", s.droppedEventsCount);
  if (s.links.length !== 0) {
    o.links = s.links.map((l) => {
      const lo: Obj = {};
      putId(lo, "traceId", l.traceId);
      putId(lo, "spanId", l.spanId);
      put(lo, "traceState", l.traceState);
      putAttrs(lo, "attributes", l.attributes);
      put(lo, "droppedAttributesCount", l.droppedAttributesCount);
      put(lo, "flags", l.flags);
      return lo;
    });
  }
  put(o, "droppedLinksCount", s.droppedLinksCount);
  if (s.status.code !== 0 || s.status.message !== "") {
    const so: Obj = {};
    put(so, "message", s.status.message);
    put(so, "code", s.status.code);
    o.status = so;
  }
  return o;
}

/** Encodes `TracesData` (an `ExportTraceServiceRequest`) as OTLP/JSON. */
export function encodeTracesJson(data: TracesData): string {
  return JSON.stringify({
    resourceSpans: data.resourceSpans.map((rs) => {
      const o: Obj = { resource: resourceJson(rs.resource) };
      o.scopeSpans = rs.scopeSpans.map((ss) => {
        const so: Obj = { scope: scopeJson(ss.scope), spans: ss.spans.map(spanJson) };
        put(so, "schemaUrl", ss.schemaUrl);
        return so;
      });
      put(o, "schemaUrl", rs.schemaUrl);
      return o;
    }),
  });
}

function exemplarsJson(o: Obj, exemplars: readonly Exemplar[]): void {
  if (exemplars.length === 0) return;
  o.exemplars = exemplars.map((e) => {
    const eo: Obj = {};
    putAttrs(eo, "filteredAttributes", e.filteredAttributes);
    put(eo, "timeUnixNano", e.timeUnixNano);
    if (typeof e.value === "number") eo.asDouble = dbl(e.value);
    else if (typeof e.value === "bigint") eo.asInt = e.value.toString();
    putId(eo, "spanId", e.spanId);
    putId(eo, "traceId", e.traceId);
    return eo;
  });
}

function pointBase(
  p: { attributes: KeyValue[]; startTimeUnixNano: bigint; timeUnixNano: bigint },
): Obj {
  const o: Obj = {};
  putAttrs(o, "attributes", p.attributes);
  put(o, "startTimeUnixNano", p.startTimeUnixNano);
  put(o, "timeUnixNano", p.timeUnixNano);
  return o;
}

function numberPointJson(p: NumberDataPoint): Obj {
  const o = pointBase(p);
  if (typeof p.value === "number") o.asDouble = dbl(p.value);
  else if (typeof p.value === "bigint") o.asInt = p.value.toString();
  exemplarsJson(o, p.exemplars);
  put(o, "flags", p.flags);
  return o;
}

function histogramPointJson(p: HistogramDataPoint): Obj {
  const o = pointBase(p);
  put(o, "count", p.count);
  if (p.sum !== undefined) o.sum = dbl(p.sum);
  if (p.bucketCounts.length !== 0) o.bucketCounts = p.bucketCounts.map(String);
  if (p.explicitBounds.length !== 0) o.explicitBounds = p.explicitBounds.map(dbl);
  exemplarsJson(o, p.exemplars);
  put(o, "flags", p.flags);
  if (p.min !== undefined) o.min = dbl(p.min);
  if (p.max !== undefined) o.max = dbl(p.max);
  return o;
}

function bucketsJson(b: ExponentialBuckets): Obj {
  const o: Obj = {};
  put(o, "offset", b.offset);
  if (b.bucketCounts.length !== 0) o.bucketCounts = b.bucketCounts.map(String);
  return o;
}

function expPointJson(p: ExponentialHistogramDataPoint): Obj {
  const o = pointBase(p);
  put(o, "count", p.count);
  if (p.sum !== undefined) o.sum = dbl(p.sum);
  put(o, "scale", p.scale);
  put(o, "zeroCount", p.zeroCount);
  o.positive = bucketsJson(p.positive);
  o.negative = bucketsJson(p.negative);
  put(o, "flags", p.flags);
  exemplarsJson(o, p.exemplars);
  if (p.min !== undefined) o.min = dbl(p.min);
  if (p.max !== undefined) o.max = dbl(p.max);
  put(o, "zeroThreshold", p.zeroThreshold);
  return o;
}

function summaryPointJson(p: SummaryDataPoint): Obj {
  const o = pointBase(p);
  put(o, "count", p.count);
  put(o, "sum", p.sum);
  if (p.quantileValues.length !== 0) {
    o.quantileValues = p.quantileValues.map((q) => {
      const qo: Obj = {};
      put(qo, "quantile", q.quantile);
      put(qo, "value", q.value);
      return qo;
    });
  }
  put(o, "flags", p.flags);
  return o;
}

function metricJson(m: Metric): Obj {
  const o: Obj = {};
  put(o, "name", m.name);
  put(o, "description", m.description);
  put(o, "unit", m.unit);
  const d = m.data;
  if (d !== undefined) {
    switch (d.type) {
      case "gauge":
        o.gauge = { dataPoints: d.dataPoints.map(numberPointJson) };
        break;
      case "sum": {
        const so: Obj = { dataPoints: d.dataPoints.map(numberPointJson) };
        put(so, "aggregationTemporality", d.aggregationTemporality);
        put(so, "isMonotonic", d.isMonotonic);
        o.sum = so;
        break;
      }
      case "histogram": {
        const ho: Obj = { dataPoints: d.dataPoints.map(histogramPointJson) };
        put(ho, "aggregationTemporality", d.aggregationTemporality);
        o.histogram = ho;
        break;
      }
      case "exponentialHistogram": {
        const eo: Obj = { dataPoints: d.dataPoints.map(expPointJson) };
        put(eo, "aggregationTemporality", d.aggregationTemporality);
        o.exponentialHistogram = eo;
        break;
      }
      case "summary":
        o.summary = { dataPoints: d.dataPoints.map(summaryPointJson) };
        break;
    }
  }
  putAttrs(o, "metadata", m.metadata);
  return o;
}

/** Encodes `MetricsData` (an `ExportMetricsServiceRequest`) as OTLP/JSON. */
export function encodeMetricsJson(data: MetricsData): string {
  return JSON.stringify({
    resourceMetrics: data.resourceMetrics.map((rm) => {
      const o: Obj = { resource: resourceJson(rm.resource) };
      o.scopeMetrics = rm.scopeMetrics.map((sm) => {
        const so: Obj = { scope: scopeJson(sm.scope), metrics: sm.metrics.map(metricJson) };
        put(so, "schemaUrl", sm.schemaUrl);
        return so;
      });
      put(o, "schemaUrl", rm.schemaUrl);
      return o;
    }),
  });
}

function logRecordJson(l: LogRecord): Obj {
  const o: Obj = {};
  put(o, "timeUnixNano", l.timeUnixNano);
  put(o, "observedTimeUnixNano", l.observedTimeUnixNano);
  put(o, "severityNumber", l.severityNumber);
  put(o, "severityText", l.severityText);
  if (l.body !== undefined) o.body = anyValueJson(l.body);
  putAttrs(o, "attributes", l.attributes);
  put(o, "droppedAttributesCount", l.droppedAttributesCount);
  put(o, "flags", l.flags);
  putId(o, "traceId", l.traceId);
  putId(o, "spanId", l.spanId);
  put(o, "eventName", l.eventName);
  return o;
}

/** Encodes `LogsData` (an `ExportLogsServiceRequest`) as OTLP/JSON. */
export function encodeLogsJson(data: LogsData): string {
  return JSON.stringify({
    resourceLogs: data.resourceLogs.map((rl) => {
      const o: Obj = { resource: resourceJson(rl.resource) };
      o.scopeLogs = rl.scopeLogs.map((sl) => {
        const so: Obj = {
          scope: scopeJson(sl.scope),
          logRecords: sl.logRecords.map(logRecordJson),
        };
        put(so, "schemaUrl", sl.schemaUrl);
        return so;
      });
      put(o, "schemaUrl", rl.schemaUrl);
      return o;
    }),
  });
}

function responseJson(rejectedKey: string, p: ExportPartialSuccess | undefined): string {
  if (p === undefined) return "{}";
  const o: Obj = {};
  put(o, rejectedKey, p.rejectedItems);
  put(o, "errorMessage", p.errorMessage);
  return JSON.stringify({ partialSuccess: o });
}

/** Encodes an `ExportTraceServiceResponse` as OTLP/JSON (`{}` for full success). */
export function encodeTracesResponseJson(p: ExportPartialSuccess | undefined): string {
  return responseJson("rejectedSpans", p);
}

/** Encodes an `ExportMetricsServiceResponse` as OTLP/JSON (`{}` for full success). */
export function encodeMetricsResponseJson(p: ExportPartialSuccess | undefined): string {
  return responseJson("rejectedDataPoints", p);
}

/** Encodes an `ExportLogsServiceResponse` as OTLP/JSON (`{}` for full success). */
export function encodeLogsResponseJson(p: ExportPartialSuccess | undefined): string {
  return responseJson("rejectedLogRecords", p);
}

// ---------------------------------------------------------------------------------------------
// Decoding

function fail(path: string, what: string): never {
  throw new OtlpDecodeError(`Invalid OTLP/JSON at ${path}: ${what}`);
}

function parse(input: string | Uint8Array): Json {
  let text: string;
  if (typeof input === "string") text = input;
  else {
    try {
      text = utf8.decode(input);
    } catch (e) {
      throw new OtlpDecodeError("Invalid OTLP/JSON: not UTF-8", { cause: e });
    }
  }
  let json: Json;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new OtlpDecodeError(`Invalid OTLP/JSON: ${(e as Error).message}`, { cause: e });
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    fail("$", "expected an object");
  }
  return json;
}

/** The value under the lowerCamelCase key, else under the snake_case one. */
function get(o: Obj, camel: string, snake?: string): unknown {
  const v = o[camel];
  if (v !== undefined || snake === undefined) return v;
  return o[snake];
}

function obj(v: unknown, path: string): Obj | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "object" || Array.isArray(v)) fail(path, "expected an object");
  return v as Obj;
}

function arr(v: unknown, path: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) fail(path, "expected an array");
  return v;
}

function str(v: unknown, path: string): string {
  if (v === undefined || v === null) return "";
  if (typeof v !== "string") fail(path, "expected a string");
  return v;
}

function bool(v: unknown, path: string): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v !== "boolean") fail(path, "expected a boolean");
  return v;
}

const INT_RE = /^-?[0-9]+$/;

function int32(v: unknown, path: string, unsigned: boolean, names?: Record<string, number>) {
  if (v === undefined || v === null) return 0;
  let n: number;
  if (typeof v === "number") n = v;
  else if (typeof v === "string") {
    const named = names?.[v];
    if (named !== undefined) return named;
    if (!INT_RE.test(v)) fail(path, `expected an integer, got "${v}"`);
    n = Number(v);
  } else fail(path, "expected an integer");
  if (!Number.isInteger(n)) fail(path, `expected an integer, got ${n}`);
  if (unsigned ? n < 0 || n > 0xffffffff : n < -0x80000000 || n > 0x7fffffff) {
    fail(path, `${n} is out of range`);
  }
  return n;
}

const U64_MAX = 0xffffffffffffffffn;
const I64_MIN = -0x8000000000000000n;
const I64_MAX = 0x7fffffffffffffffn;

function int64(v: unknown, path: string, unsigned: boolean): bigint {
  if (v === undefined || v === null) return 0n;
  let n: bigint;
  if (typeof v === "string") {
    if (!INT_RE.test(v)) fail(path, `expected a 64-bit integer, got "${v.slice(0, 40)}"`);
    n = BigInt(v);
  } else if (typeof v === "number") {
    if (!Number.isInteger(v)) fail(path, `expected a 64-bit integer, got ${v}`);
    n = BigInt(v);
  } else fail(path, "expected a 64-bit integer");
  if (unsigned ? n < 0n || n > U64_MAX : n < I64_MIN || n > I64_MAX) {
    fail(path, `${n} is out of range`);
  }
  return n;
}

function double(v: unknown, path: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === "number") return v;
  if (typeof v === "string") {
    if (v === "NaN") return NaN;
    if (v === "Infinity") return Infinity;
    if (v === "-Infinity") return -Infinity;
    const n = Number(v);
    if (v.trim() !== "" && !Number.isNaN(n)) return n;
  }
  fail(path, "expected a number");
}

/** A trace ID (16 bytes) or span ID (8 bytes) in hex; empty means unset. */
function id(v: unknown, path: string, bytes: 8 | 16): Uint8Array {
  const s = str(v, path);
  if (s === "") return EMPTY;
  if (s.length !== bytes * 2) fail(path, `expected ${bytes * 2} hex digits, got ${s.length}`);
  return fromHex(s, path);
}

function b64(v: unknown, path: string): Uint8Array {
  const s = str(v, path);
  return s === "" ? EMPTY : fromBase64(s, path);
}

function anyValue(v: unknown, path: string, depth: number): AnyValue {
  const o = obj(v, path);
  if (o === undefined) return undefined;
  let x: unknown;
  if ((x = get(o, "stringValue", "string_value")) !== undefined && x !== null) {
    return str(x, path + ".stringValue");
  }
  if ((x = get(o, "boolValue", "bool_value")) !== undefined && x !== null) {
    return bool(x, path + ".boolValue");
  }
  if ((x = get(o, "intValue", "int_value")) !== undefined && x !== null) {
    return int64(x, path + ".intValue", false);
  }
  if ((x = get(o, "doubleValue", "double_value")) !== undefined && x !== null) {
    return double(x, path + ".doubleValue");
  }
  if ((x = get(o, "bytesValue", "bytes_value")) !== undefined && x !== null) {
    return b64(x, path + ".bytesValue");
  }
  if ((x = get(o, "arrayValue", "array_value")) !== undefined && x !== null) {
    if (depth >= MAX_DEPTH) fail(path, `nested deeper than ${MAX_DEPTH} levels`);
    const p = path + ".arrayValue";
    const a = obj(x, p)!;
    return arr(a.values, p + ".values").map((e, i) => anyValue(e, `${p}.values[${i}]`, depth + 1));
  }
  if ((x = get(o, "kvlistValue", "kvlist_value")) !== undefined && x !== null) {
    if (depth >= MAX_DEPTH) fail(path, `nested deeper than ${MAX_DEPTH} levels`);
    const p = path + ".kvlistValue";
    const l = obj(x, p)!;
    return { kvlist: attrs(l.values, p + ".values", depth + 1) };
  }
  return undefined;
}

function attrs(v: unknown, path: string, depth = 0): KeyValue[] {
  const a = arr(v, path);
  const out = new Array<KeyValue>(a.length);
  for (let i = 0; i < a.length; i++) {
    const p = `${path}[${i}]`;
    const o = obj(a[i], p) ?? {};
    out[i] = { key: str(o.key, p + ".key"), value: anyValue(o.value, p + ".value", depth) };
  }
  return out;
}

function resource(v: unknown, path: string): Resource {
  const o = obj(v, path) ?? {};
  return {
    attributes: attrs(o.attributes, path + ".attributes"),
    droppedAttributesCount: int32(
      get(o, "droppedAttributesCount", "dropped_attributes_count"),
      path + ".droppedAttributesCount",
      true,
    ),
  };
}

function scope(v: unknown, path: string): InstrumentationScope {
  const o = obj(v, path) ?? {};
  return {
    name: str(o.name, path + ".name"),
    version: str(o.version, path + ".version"),
    attributes: attrs(o.attributes, path + ".attributes"),
    droppedAttributesCount: int32(
      get(o, "droppedAttributesCount", "dropped_attributes_count"),
      path + ".droppedAttributesCount",
      true,
    ),
  };
}

/** Walks resource → scope → items, the layout every signal shares. */
function walk<T>(
  root: unknown,
  keys: [string, string, string, string, string, string],
  item: (v: unknown, path: string) => T,
): {
  resource: Resource;
  scopes: { scope: InstrumentationScope; items: T[]; schemaUrl: string }[];
  schemaUrl: string;
}[] {
  const [rCamel, rSnake, sCamel, sSnake, iCamel, iSnake] = keys;
  const top = obj(root, "$") ?? {};
  return arr(get(top, rCamel, rSnake), "$." + rCamel).map((rv, i) => {
    const rp = `$.${rCamel}[${i}]`;
    const ro = obj(rv, rp) ?? {};
    return {
      resource: resource(ro.resource, rp + ".resource"),
      scopes: arr(get(ro, sCamel, sSnake), `${rp}.${sCamel}`).map((sv, j) => {
        const sp = `${rp}.${sCamel}[${j}]`;
        const so = obj(sv, sp) ?? {};
        return {
          scope: scope(so.scope, sp + ".scope"),
          items: arr(get(so, iCamel, iSnake), `${sp}.${iCamel}`).map((x, k) =>
            item(x, `${sp}.${iCamel}[${k}]`)
          ),
          schemaUrl: str(get(so, "schemaUrl", "schema_url"), sp + ".schemaUrl"),
        };
      }),
      schemaUrl: str(get(ro, "schemaUrl", "schema_url"), rp + ".schemaUrl"),
    };
  });
}

const SPAN_KIND: Record<string, number> = {
  SPAN_KIND_UNSPECIFIED: 0,
  SPAN_KIND_INTERNAL: 1,
  SPAN_KIND_SERVER: 2,
  SPAN_KIND_CLIENT: 3,
  SPAN_KIND_PRODUCER: 4,
  SPAN_KIND_CONSUMER: 5,
};
const STATUS_CODE: Record<string, number> = {
  STATUS_CODE_UNSET: 0,
  STATUS_CODE_OK: 1,
  STATUS_CODE_ERROR: 2,
};
const TEMPORALITY: Record<string, number> = {
  AGGREGATION_TEMPORALITY_UNSPECIFIED: 0,
  AGGREGATION_TEMPORALITY_DELTA: 1,
  AGGREGATION_TEMPORALITY_CUMULATIVE: 2,
};
const SEVERITY: Record<string, number> = { SEVERITY_NUMBER_UNSPECIFIED: 0 };
["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"].forEach((name, i) => {
  SEVERITY[`SEVERITY_NUMBER_${name}`] = i * 4 + 1;
  for (let k = 2; k <= 4; k++) SEVERITY[`SEVERITY_NUMBER_${name}${k}`] = i * 4 + k;
});

function span(v: unknown, path: string): Span {
  const o = obj(v, path) ?? {};
  const st = obj(o.status, path + ".status") ?? {};
  return {
    traceId: id(get(o, "traceId", "trace_id"), path + ".traceId", 16),
    spanId: id(get(o, "spanId", "span_id"), path + ".spanId", 8),
    traceState: str(get(o, "traceState", "trace_state"), path + ".traceState"),
    parentSpanId: id(get(o, "parentSpanId", "parent_span_id"), path + ".parentSpanId", 8),
    flags: int32(o.flags, path + ".flags", true),
    name: str(o.name, path + ".name"),
    kind: int32(o.kind, path + ".kind", false, SPAN_KIND),
    startTimeUnixNano: int64(
      get(o, "startTimeUnixNano", "start_time_unix_nano"),
      path + ".startTimeUnixNano",
      true,
    ),
    endTimeUnixNano: int64(
      get(o, "endTimeUnixNano", "end_time_unix_nano"),
      path + ".endTimeUnixNano",
      true,
    ),
    attributes: attrs(o.attributes, path + ".attributes"),
    droppedAttributesCount: int32(
      get(o, "droppedAttributesCount", "dropped_attributes_count"),
      path + ".droppedAttributesCount",
      true,
    ),
    events: arr(o.events, path + ".events").map((ev, i) => {
      const p = `${path}.events[${i}]`;
      const e = obj(ev, p) ?? {};
      return {
        timeUnixNano: int64(get(e, "timeUnixNano", "time_unix_nano"), p + ".timeUnixNano", true),
        name: str(e.name, p + ".name"),
        attributes: attrs(e.attributes, p + ".attributes"),
        droppedAttributesCount: int32(
          get(e, "droppedAttributesCount", "dropped_attributes_count"),
          p + ".droppedAttributesCount",
          true,
        ),
      };
    }),
    droppedEventsCount: int32(
      get(o, "droppedEventsCount", "dropped_events_count"),
      path + ".droppedEventsCount",
      true,
    ),
    links: arr(o.links, path + ".links").map((lv, i) => {
      const p = `${path}.links[${i}]`;
      const l = obj(lv, p) ?? {};
      return {
        traceId: id(get(l, "traceId", "trace_id"), p + ".traceId", 16),
        spanId: id(get(l, "spanId", "span_id"), p + ".spanId", 8),
        traceState: str(get(l, "traceState", "trace_state"), p + ".traceState"),
        attributes: attrs(l.attributes, p + ".attributes"),
        droppedAttributesCount: int32(
          get(l, "droppedAttributesCount", "dropped_attributes_count"),
          p + ".droppedAttributesCount",
          true,
        ),
        flags: int32(l.flags, p + ".flags", true),
      };
    }),
    droppedLinksCount: int32(
      get(o, "droppedLinksCount", "dropped_links_count"),
      path + ".droppedLinksCount",
      true,
    ),
    status: {
      message: str(st.message, path + ".status.message"),
      code: int32(st.code, path + ".status.code", false, STATUS_CODE),
    },
  };
}

/**
 * Decodes an OTLP/JSON `ExportTraceServiceRequest` (text or UTF-8 bytes).
 *
 * @throws {OtlpDecodeError} on invalid JSON or a value of the wrong shape.
 */
export function decodeTracesJson(input: string | Uint8Array): TracesData {
  const rs = walk(
    parse(input),
    ["resourceSpans", "resource_spans", "scopeSpans", "scope_spans", "spans", "spans"],
    span,
  );
  return {
    resourceSpans: rs.map((r) => ({
      resource: r.resource,
      scopeSpans: r.scopes.map((s) => ({ scope: s.scope, spans: s.items, schemaUrl: s.schemaUrl })),
      schemaUrl: r.schemaUrl,
    })),
  };
}

function exemplars(v: unknown, path: string): Exemplar[] {
  return arr(v, path).map((ev, i) => {
    const p = `${path}[${i}]`;
    const e = obj(ev, p) ?? {};
    return {
      filteredAttributes: attrs(
        get(e, "filteredAttributes", "filtered_attributes"),
        p + ".filteredAttributes",
      ),
      timeUnixNano: int64(get(e, "timeUnixNano", "time_unix_nano"), p + ".timeUnixNano", true),
      value: numberValue(e, p),
      spanId: id(get(e, "spanId", "span_id"), p + ".spanId", 8),
      traceId: id(get(e, "traceId", "trace_id"), p + ".traceId", 16),
    };
  });
}

function numberValue(o: Obj, path: string): number | bigint | undefined {
  const d = get(o, "asDouble", "as_double");
  if (d !== undefined && d !== null) return double(d, path + ".asDouble");
  const i = get(o, "asInt", "as_int");
  if (i !== undefined && i !== null) return int64(i, path + ".asInt", false);
  return undefined;
}

interface PointBase {
  attributes: KeyValue[];
  startTimeUnixNano: bigint;
  timeUnixNano: bigint;
}

function pointBaseOf(o: Obj, path: string): PointBase {
  return {
    attributes: attrs(o.attributes, path + ".attributes"),
    startTimeUnixNano: int64(
      get(o, "startTimeUnixNano", "start_time_unix_nano"),
      path + ".startTimeUnixNano",
      true,
    ),
    timeUnixNano: int64(get(o, "timeUnixNano", "time_unix_nano"), path + ".timeUnixNano", true),
  };
}

function optDouble(
  target: { sum?: number; min?: number; max?: number },
  key: "sum" | "min" | "max",
  v: unknown,
  path: string,
): void {
  if (v !== undefined && v !== null) target[key] = double(v, path);
}

function numberPoint(v: unknown, path: string): NumberDataPoint {
  const o = obj(v, path) ?? {};
  return {
    ...pointBaseOf(o, path),
    value: numberValue(o, path),
    exemplars: exemplars(o.exemplars, path + ".exemplars"),
    flags: int32(o.flags, path + ".flags", true),
  };
}

function histogramPoint(v: unknown, path: string): HistogramDataPoint {
  const o = obj(v, path) ?? {};
  const p: HistogramDataPoint = {
    ...pointBaseOf(o, path),
    count: int64(o.count, path + ".count", true),
    bucketCounts: arr(get(o, "bucketCounts", "bucket_counts"), path + ".bucketCounts").map((
      c,
      i,
    ) => int64(c, `${path}.bucketCounts[${i}]`, true)),
    explicitBounds: arr(get(o, "explicitBounds", "explicit_bounds"), path + ".explicitBounds")
      .map((b, i) => double(b, `${path}.explicitBounds[${i}]`)),
    exemplars: exemplars(o.exemplars, path + ".exemplars"),
    flags: int32(o.flags, path + ".flags", true),
  };
  optDouble(p, "sum", o.sum, path + ".sum");
  optDouble(p, "min", o.min, path + ".min");
  optDouble(p, "max", o.max, path + ".max");
  return p;
}

function buckets(v: unknown, path: string): ExponentialBuckets {
  const o = obj(v, path) ?? {};
  return {
    offset: int32(o.offset, path + ".offset", false),
    bucketCounts: arr(get(o, "bucketCounts", "bucket_counts"), path + ".bucketCounts").map((
      c,
      i,
    ) => int64(c, `${path}.bucketCounts[${i}]`, true)),
  };
}

function expPoint(v: unknown, path: string): ExponentialHistogramDataPoint {
  const o = obj(v, path) ?? {};
  const p: ExponentialHistogramDataPoint = {
    ...pointBaseOf(o, path),
    count: int64(o.count, path + ".count", true),
    scale: int32(o.scale, path + ".scale", false),
    zeroCount: int64(get(o, "zeroCount", "zero_count"), path + ".zeroCount", true),
    positive: buckets(o.positive, path + ".positive"),
    negative: buckets(o.negative, path + ".negative"),
    flags: int32(o.flags, path + ".flags", true),
    exemplars: exemplars(o.exemplars, path + ".exemplars"),
    zeroThreshold: double(get(o, "zeroThreshold", "zero_threshold"), path + ".zeroThreshold"),
  };
  optDouble(p, "sum", o.sum, path + ".sum");
  optDouble(p, "min", o.min, path + ".min");
  optDouble(p, "max", o.max, path + ".max");
  return p;
}

function summaryPoint(v: unknown, path: string): SummaryDataPoint {
  const o = obj(v, path) ?? {};
  return {
    ...pointBaseOf(o, path),
    count: int64(o.count, path + ".count", true),
    sum: double(o.sum, path + ".sum"),
    quantileValues: arr(get(o, "quantileValues", "quantile_values"), path + ".quantileValues")
      .map((qv, i) => {
        const p = `${path}.quantileValues[${i}]`;
        const q = obj(qv, p) ?? {};
        return {
          quantile: double(q.quantile, p + ".quantile"),
          value: double(q.value, p + ".value"),
        };
      }),
    flags: int32(o.flags, path + ".flags", true),
  };
}

function dataPoints<T>(o: Obj, path: string, f: (v: unknown, path: string) => T): T[] {
  return arr(get(o, "dataPoints", "data_points"), path + ".dataPoints").map((p, i) =>
    f(p, `${path}.dataPoints[${i}]`)
  );
}

function temporality(o: Obj, path: string): number {
  return int32(
    get(o, "aggregationTemporality", "aggregation_temporality"),
    path + ".aggregationTemporality",
    false,
    TEMPORALITY,
  );
}

function metric(v: unknown, path: string): Metric {
  const o = obj(v, path) ?? {};
  let data: MetricData = undefined;
  let d: Obj | undefined;
  if ((d = obj(o.gauge, path + ".gauge")) !== undefined) {
    data = { type: "gauge", dataPoints: dataPoints(d, path + ".gauge", numberPoint) };
  } else if ((d = obj(o.sum, path + ".sum")) !== undefined) {
    data = {
      type: "sum",
      dataPoints: dataPoints(d, path + ".sum", numberPoint),
      aggregationTemporality: temporality(d, path + ".sum"),
      isMonotonic: bool(get(d, "isMonotonic", "is_monotonic"), path + ".sum.isMonotonic"),
    };
  } else if ((d = obj(o.histogram, path + ".histogram")) !== undefined) {
    data = {
      type: "histogram",
      dataPoints: dataPoints(d, path + ".histogram", histogramPoint),
      aggregationTemporality: temporality(d, path + ".histogram"),
    };
  } else if (
    (d = obj(
      get(o, "exponentialHistogram", "exponential_histogram"),
      path + ".exponentialHistogram",
    )) !== undefined
  ) {
    data = {
      type: "exponentialHistogram",
      dataPoints: dataPoints(d, path + ".exponentialHistogram", expPoint),
      aggregationTemporality: temporality(d, path + ".exponentialHistogram"),
    };
  } else if ((d = obj(o.summary, path + ".summary")) !== undefined) {
    data = { type: "summary", dataPoints: dataPoints(d, path + ".summary", summaryPoint) };
  }
  return {
    name: str(o.name, path + ".name"),
    description: str(o.description, path + ".description"),
    unit: str(o.unit, path + ".unit"),
    metadata: attrs(o.metadata, path + ".metadata"),
    data,
  };
}

/**
 * Decodes an OTLP/JSON `ExportMetricsServiceRequest` (text or UTF-8 bytes).
 *
 * @throws {OtlpDecodeError} on invalid JSON or a value of the wrong shape.
 */
export function decodeMetricsJson(input: string | Uint8Array): MetricsData {
  const rs = walk(
    parse(input),
    ["resourceMetrics", "resource_metrics", "scopeMetrics", "scope_metrics", "metrics", "metrics"],
    metric,
  );
  return {
    resourceMetrics: rs.map((r) => ({
      resource: r.resource,
      scopeMetrics: r.scopes.map((s) => ({
        scope: s.scope,
        metrics: s.items,
        schemaUrl: s.schemaUrl,
      })),
      schemaUrl: r.schemaUrl,
    })),
  };
}

function logRecord(v: unknown, path: string): LogRecord {
  const o = obj(v, path) ?? {};
  return {
    timeUnixNano: int64(get(o, "timeUnixNano", "time_unix_nano"), path + ".timeUnixNano", true),
    observedTimeUnixNano: int64(
      get(o, "observedTimeUnixNano", "observed_time_unix_nano"),
      path + ".observedTimeUnixNano",
      true,
    ),
    severityNumber: int32(
      get(o, "severityNumber", "severity_number"),
      path + ".severityNumber",
      false,
      SEVERITY,
    ),
    severityText: str(get(o, "severityText", "severity_text"), path + ".severityText"),
    body: anyValue(o.body, path + ".body", 0),
    attributes: attrs(o.attributes, path + ".attributes"),
    droppedAttributesCount: int32(
      get(o, "droppedAttributesCount", "dropped_attributes_count"),
      path + ".droppedAttributesCount",
      true,
    ),
    flags: int32(o.flags, path + ".flags", true),
    traceId: id(get(o, "traceId", "trace_id"), path + ".traceId", 16),
    spanId: id(get(o, "spanId", "span_id"), path + ".spanId", 8),
    eventName: str(get(o, "eventName", "event_name"), path + ".eventName"),
  };
}

/**
 * Decodes an OTLP/JSON `ExportLogsServiceRequest` (text or UTF-8 bytes).
 *
 * @throws {OtlpDecodeError} on invalid JSON or a value of the wrong shape.
 */
export function decodeLogsJson(input: string | Uint8Array): LogsData {
  const rs = walk(
    parse(input),
    ["resourceLogs", "resource_logs", "scopeLogs", "scope_logs", "logRecords", "log_records"],
    logRecord,
  );
  return {
    resourceLogs: rs.map((r) => ({
      resource: r.resource,
      scopeLogs: r.scopes.map((s) => ({
        scope: s.scope,
        logRecords: s.items,
        schemaUrl: s.schemaUrl,
      })),
      schemaUrl: r.schemaUrl,
    })),
  };
}

function responseOf(
  input: string | Uint8Array,
  camel: string,
  snake: string,
): ExportPartialSuccess | undefined {
  const top = obj(parse(input), "$") ?? {};
  const p = obj(get(top, "partialSuccess", "partial_success"), "$.partialSuccess");
  if (p === undefined) return undefined;
  return {
    rejectedItems: int64(get(p, camel, snake), "$.partialSuccess." + camel, false),
    errorMessage: str(get(p, "errorMessage", "error_message"), "$.partialSuccess.errorMessage"),
  };
}

/**
 * Decodes an OTLP/JSON `ExportTraceServiceResponse`: its partial success, or `undefined`.
 *
 * @throws {OtlpDecodeError} on invalid JSON or a value of the wrong shape.
 */
export function decodeTracesResponseJson(
  input: string | Uint8Array,
): ExportPartialSuccess | undefined {
  return responseOf(input, "rejectedSpans", "rejected_spans");
}

/**
 * Decodes an OTLP/JSON `ExportMetricsServiceResponse`: its partial success, or `undefined`.
 *
 * @throws {OtlpDecodeError} on invalid JSON or a value of the wrong shape.
 */
export function decodeMetricsResponseJson(
  input: string | Uint8Array,
): ExportPartialSuccess | undefined {
  return responseOf(input, "rejectedDataPoints", "rejected_data_points");
}

/**
 * Decodes an OTLP/JSON `ExportLogsServiceResponse`: its partial success, or `undefined`.
 *
 * @throws {OtlpDecodeError} on invalid JSON or a value of the wrong shape.
 */
export function decodeLogsResponseJson(
  input: string | Uint8Array,
): ExportPartialSuccess | undefined {
  return responseOf(input, "rejectedLogRecords", "rejected_log_records");
}
