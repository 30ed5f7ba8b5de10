/**
 * The in-memory telemetry model. It mirrors the OTLP protobuf messages field by field so that a
 * decode/encode round trip is exact, and uses native JavaScript values where they are unambiguous:
 *
 * - IDs and bytes are `Uint8Array` (an empty array means "not set").
 * - 64-bit integers (timestamps, counts, int values) are `bigint`, so 1700000000123456789 stays exact.
 * - An {@linkcode AnyValue} is a string, boolean, bigint (int), number (double), Uint8Array (bytes),
 *   array, {@linkcode KeyValueList} or `undefined` (an empty value).
 *
 * @module
 */

/** The three telemetry signals. */
export type Signal = "traces" | "metrics" | "logs";

/** Every signal, in the order the CLI and the validator list them. */
export const SIGNALS: readonly Signal[] = ["traces", "metrics", "logs"];

/** A list of key/value pairs used as an {@linkcode AnyValue} (OTLP `kvlist_value`). */
export interface KeyValueList {
  kvlist: KeyValue[];
}

/**
 * An OTLP `AnyValue`: string, boolean, int (`bigint`), double (`number`), bytes (`Uint8Array`),
 * array, key/value list, or `undefined` for a value with nothing set.
 */
export type AnyValue =
  | string
  | boolean
  | bigint
  | number
  | Uint8Array
  | AnyValue[]
  | KeyValueList
  | undefined;

/** One attribute. */
export interface KeyValue {
  key: string;
  value: AnyValue;
}

/** The entity that produced the telemetry. */
export interface Resource {
  attributes: KeyValue[];
  droppedAttributesCount: number;
}

/** The library or component that produced the telemetry. */
export interface InstrumentationScope {
  name: string;
  version: string;
  attributes: KeyValue[];
  droppedAttributesCount: number;
}

// ---------------------------------------------------------------------------------------------
// Traces

/** OTLP `Span.SpanKind`. */
export const SpanKind = {
  UNSPECIFIED: 0,
  INTERNAL: 1,
  SERVER: 2,
  CLIENT: 3,
  PRODUCER: 4,
  CONSUMER: 5,
} as const;

/** OTLP `Status.StatusCode`. */
export const StatusCode = { UNSET: 0, OK: 1, ERROR: 2 } as const;

/** A span's status. */
export interface Status {
  message: string;
  code: number;
}

/** A time-stamped event inside a span. */
export interface SpanEvent {
  timeUnixNano: bigint;
  name: string;
  attributes: KeyValue[];
  droppedAttributesCount: number;
}

/** A pointer from a span to another span. */
export interface SpanLink {
  traceId: Uint8Array;
  spanId: Uint8Array;
  traceState: string;
  attributes: KeyValue[];
  droppedAttributesCount: number;
  flags: number;
}

/** One operation within a trace. */
export interface Span {
  traceId: Uint8Array;
  spanId: Uint8Array;
  traceState: string;
  parentSpanId: Uint8Array;
  flags: number;
  name: string;
  kind: number;
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  attributes: KeyValue[];
  droppedAttributesCount: number;
  events: SpanEvent[];
  droppedEventsCount: number;
  links: SpanLink[];
  droppedLinksCount: number;
  status: Status;
}

/** Spans of one instrumentation scope. */
export interface ScopeSpans {
  scope: InstrumentationScope;
  spans: Span[];
  schemaUrl: string;
}

/** Spans of one resource. */
export interface ResourceSpans {
  resource: Resource;
  scopeSpans: ScopeSpans[];
  schemaUrl: string;
}

/** OTLP `TracesData` (the body of an `ExportTraceServiceRequest`). */
export interface TracesData {
  resourceSpans: ResourceSpans[];
}

// ---------------------------------------------------------------------------------------------
// Metrics

/** OTLP `AggregationTemporality`. */
export const AggregationTemporality = { UNSPECIFIED: 0, DELTA: 1, CUMULATIVE: 2 } as const;

/** A measurement sampled from the raw data behind a data point. */
export interface Exemplar {
  filteredAttributes: KeyValue[];
  timeUnixNano: bigint;
  /** `number` for `as_double`, `bigint` for `as_int`, `undefined` when neither is set. */
  value: number | bigint | undefined;
  spanId: Uint8Array;
  traceId: Uint8Array;
}

/** A gauge or sum data point. */
export interface NumberDataPoint {
  attributes: KeyValue[];
  startTimeUnixNano: bigint;
  timeUnixNano: bigint;
  /** `number` for `as_double`, `bigint` for `as_int`, `undefined` when neither is set. */
  value: number | bigint | undefined;
  exemplars: Exemplar[];
  flags: number;
}

/** An explicit-bucket histogram data point. */
export interface HistogramDataPoint {
  attributes: KeyValue[];
  startTimeUnixNano: bigint;
  timeUnixNano: bigint;
  count: bigint;
  sum?: number;
  bucketCounts: bigint[];
  explicitBounds: number[];
  exemplars: Exemplar[];
  flags: number;
  min?: number;
  max?: number;
}

/** One side (positive or negative) of an exponential histogram. */
export interface ExponentialBuckets {
  offset: number;
  bucketCounts: bigint[];
}

/** An exponential histogram data point. */
export interface ExponentialHistogramDataPoint {
  attributes: KeyValue[];
  startTimeUnixNano: bigint;
  timeUnixNano: bigint;
  count: bigint;
  sum?: number;
  scale: number;
  zeroCount: bigint;
  positive: ExponentialBuckets;
  negative: ExponentialBuckets;
  flags: number;
  exemplars: Exemplar[];
  min?: number;
  max?: number;
  zeroThreshold: number;
}

/** One quantile of a summary. */
export interface ValueAtQuantile {
  quantile: number;
  value: number;
}

/** A summary data point. */
export interface SummaryDataPoint {
  attributes: KeyValue[];
  startTimeUnixNano: bigint;
  timeUnixNano: bigint;
  count: bigint;
  sum: number;
  quantileValues: ValueAtQuantile[];
  flags: number;
}

/** A gauge. */
export interface Gauge {
  type: "gauge";
  dataPoints: NumberDataPoint[];
}

/** A sum (counter or up-down counter). */
export interface Sum {
  type: "sum";
  dataPoints: NumberDataPoint[];
  aggregationTemporality: number;
  isMonotonic: boolean;
}

/** An explicit-bucket histogram. */
export interface Histogram {
  type: "histogram";
  dataPoints: HistogramDataPoint[];
  aggregationTemporality: number;
}

/** An exponential histogram. */
export interface ExponentialHistogram {
  type: "exponentialHistogram";
  dataPoints: ExponentialHistogramDataPoint[];
  aggregationTemporality: number;
}

/** A summary. */
export interface Summary {
  type: "summary";
  dataPoints: SummaryDataPoint[];
}

/** The data of a metric, or `undefined` for a metric with no data set. */
export type MetricData = Gauge | Sum | Histogram | ExponentialHistogram | Summary | undefined;

/** One metric. */
export interface Metric {
  name: string;
  description: string;
  unit: string;
  metadata: KeyValue[];
  data: MetricData;
}

/** Metrics of one instrumentation scope. */
export interface ScopeMetrics {
  scope: InstrumentationScope;
  metrics: Metric[];
  schemaUrl: string;
}

/** Metrics of one resource. */
export interface ResourceMetrics {
  resource: Resource;
  scopeMetrics: ScopeMetrics[];
  schemaUrl: string;
}

/** OTLP `MetricsData` (the body of an `ExportMetricsServiceRequest`). */
export interface MetricsData {
  resourceMetrics: ResourceMetrics[];
}

// ---------------------------------------------------------------------------------------------
// Logs

/** One log record. */
export interface LogRecord {
  timeUnixNano: bigint;
  observedTimeUnixNano: bigint;
  severityNumber: number;
  severityText: string;
  body: AnyValue;
  attributes: KeyValue[];
  droppedAttributesCount: number;
  flags: number;
  traceId: Uint8Array;
  spanId: Uint8Array;
  eventName: string;
}

/** Log records of one instrumentation scope. */
export interface ScopeLogs {
  scope: InstrumentationScope;
  logRecords: LogRecord[];
  schemaUrl: string;
}

/** Log records of one resource. */
export interface ResourceLogs {
  resource: Resource;
  scopeLogs: ScopeLogs[];
  schemaUrl: string;
}

/** OTLP `LogsData` (the body of an `ExportLogsServiceRequest`). */
export interface LogsData {
  resourceLogs: ResourceLogs[];
}

/** The decoded data type of each signal. */
export interface SignalData {
  traces: TracesData;
  metrics: MetricsData;
  logs: LogsData;
}
