/**
 * Human-readable renderings of telemetry, for the debug exporter and for people reading test
 * failures. Two levels, after the OpenTelemetry Collector's debug exporter:
 *
 * - **normal**: a line per resource, per scope and per item (span, data point, log record);
 * - **detailed**: every field.
 *
 * IDs are lower-case hex (empty when unset), timestamps RFC 3339 with nanoseconds followed by the
 * raw value (`2023-11-14T22:13:20.123456789Z (1700000000123456789)`), and attribute values show
 * their kind as the Collector does: `Str(x)`, `Int(5)`, `Double(1.5)`, `Bool(true)`,
 * `Bytes(base64)`, `Slice([...])`, `Map({...})`, `Empty()`.
 *
 * @module
 */
import type {
  AnyValue,
  Exemplar,
  ExponentialHistogramDataPoint,
  HistogramDataPoint,
  InstrumentationScope,
  KeyValue,
  KeyValueList,
  LogRecord,
  LogsData,
  Metric,
  MetricsData,
  NumberDataPoint,
  Signal,
  SignalData,
  Span,
  SummaryDataPoint,
  TracesData,
} from "./types.ts";

/** How much a rendering shows. */
export type FormatLevel = "normal" | "detailed";

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** Lower-case hex of an ID; empty for an unset (empty) ID. */
export function hexId(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += HEX[b]!;
  return s;
}

function base64(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

const NANOS_PER_SECOND = 1_000_000_000n;

/** `2023-11-14T22:13:20.123456789Z (1700000000123456789)`: RFC 3339 with nanoseconds, then raw. */
export function formatTimestamp(unixNano: bigint): string {
  let seconds = unixNano / NANOS_PER_SECOND;
  let nanos = unixNano % NANOS_PER_SECOND;
  if (nanos < 0n) {
    seconds -= 1n;
    nanos += NANOS_PER_SECOND;
  }
  const ms = Number(seconds) * 1000;
  const date = new Date(ms);
  const iso = Number.isNaN(date.getTime())
    ? "out of range"
    : `${date.toISOString().slice(0, 19)}.${nanos.toString().padStart(9, "0")}Z`;
  return `${iso} (${unixNano})`;
}

function isKeyValueList(value: AnyValue): value is KeyValueList {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    !(value instanceof Uint8Array);
}

/** The value as JSON-like text, the way `Slice(...)` and `Map(...)` show their contents. */
function rawJson(value: AnyValue): string {
  if (value === undefined) return "null";
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : `"${value}"`;
  if (typeof value === "boolean") return String(value);
  if (value instanceof Uint8Array) return JSON.stringify(base64(value));
  if (Array.isArray(value)) return `[${value.map(rawJson).join(",")}]`;
  if (isKeyValueList(value)) {
    return `{${
      value.kvlist.map((kv) => `${JSON.stringify(kv.key)}:${rawJson(kv.value)}`).join(",")
    }}`;
  }
  return "null";
}

/** An attribute value with its kind: `Str(x)`, `Int(5)`, `Slice(["a",1])`, `Map({"k":"v"})`… */
export function formatAnyValue(value: AnyValue): string {
  if (value === undefined) return "Empty()";
  if (typeof value === "string") return `Str(${value})`;
  if (typeof value === "bigint") return `Int(${value})`;
  if (typeof value === "number") return `Double(${value})`;
  if (typeof value === "boolean") return `Bool(${value})`;
  if (value instanceof Uint8Array) return `Bytes(${base64(value)})`;
  if (Array.isArray(value)) return `Slice(${rawJson(value)})`;
  return `Map(${rawJson(value)})`;
}

/** An attribute value as plain text: strings as they are, the rest as JSON-like text. */
export function formatPlainValue(value: AnyValue): string {
  if (value === undefined) return "";
  if (typeof value === "string") return value;
  if (value instanceof Uint8Array) return base64(value);
  return rawJson(value);
}

function plainAttributes(attributes: readonly KeyValue[]): string {
  return attributes.map((kv) => `${kv.key}=${formatPlainValue(kv.value)}`).join(" ");
}

function joinNonEmpty(...parts: string[]): string {
  return parts.filter((p) => p !== "").join(" ");
}

const SPAN_KINDS = ["Unspecified", "Internal", "Server", "Client", "Producer", "Consumer"];
const STATUS_CODES = ["Unset", "Ok", "Error"];
const TEMPORALITIES = ["Unspecified", "Delta", "Cumulative"];
const SEVERITIES = ["Trace", "Debug", "Info", "Warn", "Error", "Fatal"];

function enumName(names: readonly string[], value: number): string {
  return names[value] ?? `Unknown(${value})`;
}

/** `Info(9)`, `Error2(18)`, `Unspecified(0)`. */
function severityName(n: number): string {
  if (n < 1 || n > 24) return `${n === 0 ? "Unspecified" : "Unknown"}(${n})`;
  const step = (n - 1) % 4;
  return `${SEVERITIES[Math.floor((n - 1) / 4)]}${step === 0 ? "" : step + 1}(${n})`;
}

// ---------------------------------------------------------------------------------------------
// Detailed

class Lines {
  readonly out: string[] = [];
  add(line: string): void {
    this.out.push(line);
  }
  attributes(title: string, attributes: readonly KeyValue[], indent = ""): void {
    if (attributes.length === 0) return;
    this.out.push(`${indent}${title}:`);
    for (const kv of attributes) {
      this.out.push(`${indent}     -> ${kv.key}: ${formatAnyValue(kv.value)}`);
    }
  }
  dropped(what: string, n: number, indent = ""): void {
    if (n > 0) this.out.push(`${indent}${what}: ${n}`);
  }
  scope(scope: InstrumentationScope): void {
    this.out.push(joinNonEmpty("InstrumentationScope", scope.name, scope.version));
    this.attributes("InstrumentationScope attributes", scope.attributes);
    this.dropped("InstrumentationScope DroppedAttributesCount", scope.droppedAttributesCount);
  }
  toString(): string {
    return this.out.join("\n");
  }
}

function detailedSpan(l: Lines, span: Span, index: number): void {
  l.add(`Span #${index}`);
  l.add(`    Trace ID       : ${hexId(span.traceId)}`);
  l.add(`    Parent ID      : ${hexId(span.parentSpanId)}`);
  l.add(`    ID             : ${hexId(span.spanId)}`);
  l.add(`    Name           : ${span.name}`);
  l.add(`    Kind           : ${enumName(SPAN_KINDS, span.kind)}`);
  if (span.traceState !== "") l.add(`    TraceState     : ${span.traceState}`);
  if (span.flags !== 0) l.add(`    Flags          : ${span.flags}`);
  l.add(`    Start time     : ${formatTimestamp(span.startTimeUnixNano)}`);
  l.add(`    End time       : ${formatTimestamp(span.endTimeUnixNano)}`);
  l.add(`    Status code    : ${enumName(STATUS_CODES, span.status.code)}`);
  l.add(`    Status message : ${span.status.message}`);
  l.dropped("    DroppedAttributesCount", span.droppedAttributesCount);
  l.dropped("    DroppedEventsCount", span.droppedEventsCount);
  l.dropped("    DroppedLinksCount", span.droppedLinksCount);
  l.attributes("Attributes", span.attributes);
  if (span.events.length > 0) {
    l.add("Events:");
    span.events.forEach((event, i) => {
      l.add(`SpanEvent #${i}`);
      l.add(`     -> Name: ${event.name}`);
      l.add(`     -> Timestamp: ${formatTimestamp(event.timeUnixNano)}`);
      l.add(`     -> DroppedAttributesCount: ${event.droppedAttributesCount}`);
      l.attributes("-> Attributes", event.attributes, "     ");
    });
  }
  if (span.links.length > 0) {
    l.add("Links:");
    span.links.forEach((link, i) => {
      l.add(`SpanLink #${i}`);
      l.add(`     -> Trace ID: ${hexId(link.traceId)}`);
      l.add(`     -> ID: ${hexId(link.spanId)}`);
      l.add(`     -> TraceState: ${link.traceState}`);
      if (link.flags !== 0) l.add(`     -> Flags: ${link.flags}`);
      l.add(`     -> DroppedAttributesCount: ${link.droppedAttributesCount}`);
      l.attributes("-> Attributes", link.attributes, "     ");
    });
  }
}

/** Every field of every span. */
export function formatTracesDetailed(data: TracesData): string {
  const l = new Lines();
  data.resourceSpans.forEach((rs, i) => {
    l.add(`ResourceSpans #${i}`);
    l.add(`Resource SchemaURL: ${rs.schemaUrl}`);
    l.attributes("Resource attributes", rs.resource.attributes);
    l.dropped("Resource DroppedAttributesCount", rs.resource.droppedAttributesCount);
    rs.scopeSpans.forEach((ss, j) => {
      l.add(`ScopeSpans #${j}`);
      l.add(`ScopeSpans SchemaURL: ${ss.schemaUrl}`);
      l.scope(ss.scope);
      ss.spans.forEach((span, k) => detailedSpan(l, span, k));
    });
  });
  return l.toString();
}

function numberValue(value: number | bigint | undefined): string {
  return value === undefined ? "(none)" : String(value);
}

function detailedExemplars(l: Lines, exemplars: readonly Exemplar[]): void {
  if (exemplars.length === 0) return;
  l.add("Exemplars:");
  exemplars.forEach((e, i) => {
    l.add(`Exemplar #${i}`);
    l.add(`     -> Trace ID: ${hexId(e.traceId)}`);
    l.add(`     -> Span ID: ${hexId(e.spanId)}`);
    l.add(`     -> Timestamp: ${formatTimestamp(e.timeUnixNano)}`);
    l.add(`     -> Value: ${numberValue(e.value)}`);
    l.attributes("-> FilteredAttributes", e.filteredAttributes, "     ");
  });
}

function pointHeader(
  l: Lines,
  title: string,
  index: number,
  p: { attributes: KeyValue[]; startTimeUnixNano: bigint; timeUnixNano: bigint; flags: number },
): void {
  l.add(`${title} #${index}`);
  l.attributes("Data point attributes", p.attributes);
  l.add(`StartTimestamp: ${formatTimestamp(p.startTimeUnixNano)}`);
  l.add(`Timestamp: ${formatTimestamp(p.timeUnixNano)}`);
  if (p.flags !== 0) l.add(`Flags: ${p.flags}`);
}

function detailedHistogramPoint(l: Lines, p: HistogramDataPoint, i: number): void {
  pointHeader(l, "HistogramDataPoints", i, p);
  l.add(`Count: ${p.count}`);
  if (p.sum !== undefined) l.add(`Sum: ${p.sum}`);
  if (p.min !== undefined) l.add(`Min: ${p.min}`);
  if (p.max !== undefined) l.add(`Max: ${p.max}`);
  p.explicitBounds.forEach((b, j) => l.add(`ExplicitBounds #${j}: ${b}`));
  p.bucketCounts.forEach((c, j) => l.add(`Buckets #${j}, Count: ${c}`));
  detailedExemplars(l, p.exemplars);
}

function detailedExponentialPoint(l: Lines, p: ExponentialHistogramDataPoint, i: number): void {
  pointHeader(l, "ExponentialHistogramDataPoints", i, p);
  l.add(`Count: ${p.count}`);
  if (p.sum !== undefined) l.add(`Sum: ${p.sum}`);
  if (p.min !== undefined) l.add(`Min: ${p.min}`);
  if (p.max !== undefined) l.add(`Max: ${p.max}`);
  l.add(`Scale: ${p.scale}`);
  l.add(`ZeroThreshold: ${p.zeroThreshold}`);
  const base = 2 ** (2 ** -p.scale);
  const negative = p.negative.bucketCounts;
  for (let j = negative.length - 1; j >= 0; j--) {
    const index = p.negative.offset + j;
    l.add(`Bucket (-${base ** (index + 1)}, -${base ** index}], Count: ${negative[j]}`);
  }
  l.add(`Bucket [0, 0], Count: ${p.zeroCount}`);
  p.positive.bucketCounts.forEach((c, j) => {
    const index = p.positive.offset + j;
    l.add(`Bucket [${base ** index}, ${base ** (index + 1)}), Count: ${c}`);
  });
  detailedExemplars(l, p.exemplars);
}

function detailedSummaryPoint(l: Lines, p: SummaryDataPoint, i: number): void {
  pointHeader(l, "SummaryDataPoints", i, p);
  l.add(`Count: ${p.count}`);
  l.add(`Sum: ${p.sum}`);
  p.quantileValues.forEach((q, j) => {
    l.add(`QuantileValue #${j}: Quantile ${q.quantile}, Value ${q.value}`);
  });
}

function detailedNumberPoint(l: Lines, p: NumberDataPoint, i: number): void {
  pointHeader(l, "NumberDataPoints", i, p);
  l.add(`Value: ${numberValue(p.value)}`);
  detailedExemplars(l, p.exemplars);
}

const DATA_TYPES = {
  gauge: "Gauge",
  sum: "Sum",
  histogram: "Histogram",
  exponentialHistogram: "ExponentialHistogram",
  summary: "Summary",
} as const;

function detailedMetric(l: Lines, metric: Metric, index: number): void {
  const data = metric.data;
  l.add(`Metric #${index}`);
  l.add("Descriptor:");
  l.add(`     -> Name: ${metric.name}`);
  l.add(`     -> Description: ${metric.description}`);
  l.add(`     -> Unit: ${metric.unit}`);
  l.add(`     -> DataType: ${data === undefined ? "Empty" : DATA_TYPES[data.type]}`);
  if (data !== undefined && data.type === "sum") l.add(`     -> IsMonotonic: ${data.isMonotonic}`);
  if (data !== undefined && "aggregationTemporality" in data) {
    l.add(
      `     -> AggregationTemporality: ${enumName(TEMPORALITIES, data.aggregationTemporality)}`,
    );
  }
  l.attributes("Metadata", metric.metadata);
  switch (data?.type) {
    case "gauge":
    case "sum":
      data.dataPoints.forEach((p, i) => detailedNumberPoint(l, p, i));
      break;
    case "histogram":
      data.dataPoints.forEach((p, i) => detailedHistogramPoint(l, p, i));
      break;
    case "exponentialHistogram":
      data.dataPoints.forEach((p, i) => detailedExponentialPoint(l, p, i));
      break;
    case "summary":
      data.dataPoints.forEach((p, i) => detailedSummaryPoint(l, p, i));
      break;
    case undefined:
      break;
  }
}

/** Every field of every metric and data point. */
export function formatMetricsDetailed(data: MetricsData): string {
  const l = new Lines();
  data.resourceMetrics.forEach((rm, i) => {
    l.add(`ResourceMetrics #${i}`);
    l.add(`Resource SchemaURL: ${rm.schemaUrl}`);
    l.attributes("Resource attributes", rm.resource.attributes);
    l.dropped("Resource DroppedAttributesCount", rm.resource.droppedAttributesCount);
    rm.scopeMetrics.forEach((sm, j) => {
      l.add(`ScopeMetrics #${j}`);
      l.add(`ScopeMetrics SchemaURL: ${sm.schemaUrl}`);
      l.scope(sm.scope);
      sm.metrics.forEach((m, k) => detailedMetric(l, m, k));
    });
  });
  return l.toString();
}

function detailedLogRecord(l: Lines, r: LogRecord, index: number): void {
  l.add(`LogRecord #${index}`);
  l.add(`ObservedTimestamp: ${formatTimestamp(r.observedTimeUnixNano)}`);
  l.add(`Timestamp: ${formatTimestamp(r.timeUnixNano)}`);
  l.add(`SeverityText: ${r.severityText}`);
  l.add(`SeverityNumber: ${severityName(r.severityNumber)}`);
  if (r.eventName !== "") l.add(`EventName: ${r.eventName}`);
  l.add(`Body: ${formatAnyValue(r.body)}`);
  l.attributes("Attributes", r.attributes);
  l.dropped("DroppedAttributesCount", r.droppedAttributesCount);
  l.add(`Trace ID: ${hexId(r.traceId)}`);
  l.add(`Span ID: ${hexId(r.spanId)}`);
  l.add(`Flags: ${r.flags}`);
}

/** Every field of every log record. */
export function formatLogsDetailed(data: LogsData): string {
  const l = new Lines();
  data.resourceLogs.forEach((rl, i) => {
    l.add(`ResourceLog #${i}`);
    l.add(`Resource SchemaURL: ${rl.schemaUrl}`);
    l.attributes("Resource attributes", rl.resource.attributes);
    l.dropped("Resource DroppedAttributesCount", rl.resource.droppedAttributesCount);
    rl.scopeLogs.forEach((sl, j) => {
      l.add(`ScopeLogs #${j}`);
      l.add(`ScopeLogs SchemaURL: ${sl.schemaUrl}`);
      l.scope(sl.scope);
      sl.logRecords.forEach((r, k) => detailedLogRecord(l, r, k));
    });
  });
  return l.toString();
}

// ---------------------------------------------------------------------------------------------
// Normal

function scopeLabel(scope: InstrumentationScope): string {
  return scope.version === "" ? scope.name : `${scope.name}@${scope.version}`;
}

/** A line per resource, per scope and per span: `name trace-id span-id key=value…`. */
export function formatTracesNormal(data: TracesData): string {
  const lines: string[] = [];
  data.resourceSpans.forEach((rs, i) => {
    lines.push(joinNonEmpty(`ResourceSpans #${i}`, plainAttributes(rs.resource.attributes)));
    rs.scopeSpans.forEach((ss, j) => {
      lines.push(joinNonEmpty(`ScopeSpans #${j}`, scopeLabel(ss.scope)));
      for (const span of ss.spans) {
        lines.push(
          joinNonEmpty(
            span.name,
            hexId(span.traceId),
            hexId(span.spanId),
            plainAttributes(span.attributes),
          ),
        );
      }
    });
  });
  return lines.join("\n");
}

function pointName(metric: Metric, attributes: readonly KeyValue[]): string {
  if (attributes.length === 0) return metric.name;
  const labels = attributes.map((kv) => `${kv.key}=${formatPlainValue(kv.value)}`).join(",");
  return `${metric.name}{${labels}}`;
}

function optional(name: string, value: number | undefined): string {
  return value === undefined ? "" : `${name}=${value}`;
}

function normalMetricLines(metric: Metric, lines: string[]): void {
  const data = metric.data;
  switch (data?.type) {
    case "gauge":
    case "sum":
      for (const p of data.dataPoints) {
        lines.push(`${pointName(metric, p.attributes)} ${numberValue(p.value)}`);
      }
      break;
    case "histogram":
      for (const p of data.dataPoints) {
        const buckets = p.bucketCounts.map((c, j) => {
          const bound = p.explicitBounds[j];
          return `le${bound === undefined ? "+Inf" : bound}=${c}`;
        });
        lines.push(
          joinNonEmpty(
            pointName(metric, p.attributes),
            `count=${p.count}`,
            optional("sum", p.sum),
            optional("min", p.min),
            optional("max", p.max),
            ...buckets,
          ),
        );
      }
      break;
    case "exponentialHistogram":
      for (const p of data.dataPoints) {
        lines.push(
          joinNonEmpty(
            pointName(metric, p.attributes),
            `count=${p.count}`,
            optional("sum", p.sum),
            optional("min", p.min),
            optional("max", p.max),
            `scale=${p.scale}`,
            `zero_count=${p.zeroCount}`,
          ),
        );
      }
      break;
    case "summary":
      for (const p of data.dataPoints) {
        lines.push(
          joinNonEmpty(
            pointName(metric, p.attributes),
            `count=${p.count}`,
            `sum=${p.sum}`,
            ...p.quantileValues.map((q) => `q${q.quantile}=${q.value}`),
          ),
        );
      }
      break;
    case undefined:
      break;
  }
}

/** A line per resource, per scope and per data point: `name{key=value,…} value`. */
export function formatMetricsNormal(data: MetricsData): string {
  const lines: string[] = [];
  data.resourceMetrics.forEach((rm, i) => {
    lines.push(joinNonEmpty(`ResourceMetrics #${i}`, plainAttributes(rm.resource.attributes)));
    rm.scopeMetrics.forEach((sm, j) => {
      lines.push(joinNonEmpty(`ScopeMetrics #${j}`, scopeLabel(sm.scope)));
      for (const m of sm.metrics) normalMetricLines(m, lines);
    });
  });
  return lines.join("\n");
}

/** A line per resource, per scope and per log record: `body key=value…`. */
export function formatLogsNormal(data: LogsData): string {
  const lines: string[] = [];
  data.resourceLogs.forEach((rl, i) => {
    lines.push(joinNonEmpty(`ResourceLog #${i}`, plainAttributes(rl.resource.attributes)));
    rl.scopeLogs.forEach((sl, j) => {
      lines.push(joinNonEmpty(`ScopeLog #${j}`, scopeLabel(sl.scope)));
      for (const r of sl.logRecords) {
        lines.push(joinNonEmpty(formatPlainValue(r.body), plainAttributes(r.attributes)));
      }
    });
  });
  return lines.join("\n");
}

/** Any signal's data at either level. */
export function formatData<S extends Signal>(
  signal: S,
  data: SignalData[S],
  level: FormatLevel,
): string {
  const detailed = level === "detailed";
  switch (signal) {
    case "traces":
      return detailed
        ? formatTracesDetailed(data as TracesData)
        : formatTracesNormal(data as TracesData);
    case "metrics":
      return detailed
        ? formatMetricsDetailed(data as MetricsData)
        : formatMetricsNormal(data as MetricsData);
    default:
      return detailed ? formatLogsDetailed(data as LogsData) : formatLogsNormal(data as LogsData);
  }
}
