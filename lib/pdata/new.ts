/**
 * Constructors that fill every field of the model with its OTLP default, so code that builds data
 * (receivers, tests, generators) only names what it sets.
 *
 * @module
 */
import {
  AggregationTemporality,
  type Gauge,
  type HistogramDataPoint,
  type InstrumentationScope,
  type LogRecord,
  type LogsData,
  type Metric,
  type NumberDataPoint,
  type Resource,
  type Span,
  type SpanEvent,
  type SpanLink,
  type Sum,
  type SummaryDataPoint,
} from "./types.ts";

const EMPTY_BYTES = new Uint8Array(0);

/** A resource with the given fields and defaults for the rest. */
export function newResource(init: Partial<Resource> = {}): Resource {
  return { attributes: [], droppedAttributesCount: 0, ...init };
}

/** An instrumentation scope with the given fields and defaults for the rest. */
export function newScope(init: Partial<InstrumentationScope> = {}): InstrumentationScope {
  return { name: "", version: "", attributes: [], droppedAttributesCount: 0, ...init };
}

/** A span with the given fields and defaults for the rest. */
export function newSpan(init: Partial<Span> = {}): Span {
  return {
    traceId: EMPTY_BYTES,
    spanId: EMPTY_BYTES,
    traceState: "",
    parentSpanId: EMPTY_BYTES,
    flags: 0,
    name: "",
    kind: 0,
    startTimeUnixNano: 0n,
    endTimeUnixNano: 0n,
    attributes: [],
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    status: { message: "", code: 0 },
    ...init,
  };
}

/** A span event with the given fields and defaults for the rest. */
export function newSpanEvent(init: Partial<SpanEvent> = {}): SpanEvent {
  return { timeUnixNano: 0n, name: "", attributes: [], droppedAttributesCount: 0, ...init };
}

/** A span link with the given fields and defaults for the rest. */
export function newSpanLink(init: Partial<SpanLink> = {}): SpanLink {
  return {
    traceId: EMPTY_BYTES,
    spanId: EMPTY_BYTES,
    traceState: "",
    attributes: [],
    droppedAttributesCount: 0,
    flags: 0,
    ...init,
  };
}

/** A log record with the given fields and defaults for the rest. */
export function newLogRecord(init: Partial<LogRecord> = {}): LogRecord {
  return {
    timeUnixNano: 0n,
    observedTimeUnixNano: 0n,
    severityNumber: 0,
    severityText: "",
    body: undefined,
    attributes: [],
    droppedAttributesCount: 0,
    flags: 0,
    traceId: EMPTY_BYTES,
    spanId: EMPTY_BYTES,
    eventName: "",
    ...init,
  };
}

/**
 * A log record of a body, observed time and attributes, the rest default: the same fields in the
 * same order as {@linkcode newLogRecord}, built as one literal (no `init` object, no spread), for
 * receivers that make one per line.
 */
export function newBodyLogRecord(
  observedTimeUnixNano: bigint,
  body: LogRecord["body"],
  attributes: LogRecord["attributes"],
): LogRecord {
  return {
    timeUnixNano: 0n,
    observedTimeUnixNano,
    severityNumber: 0,
    severityText: "",
    body,
    attributes,
    droppedAttributesCount: 0,
    flags: 0,
    traceId: EMPTY_BYTES,
    spanId: EMPTY_BYTES,
    eventName: "",
  };
}

/** Log records as one resource (no attributes) and one scope (no name): what a log receiver sends. */
export function newLogsData(logRecords: LogRecord[]): LogsData {
  return {
    resourceLogs: [{
      resource: newResource(),
      scopeLogs: [{ scope: newScope(), logRecords, schemaUrl: "" }],
      schemaUrl: "",
    }],
  };
}

/** A gauge or sum data point with the given fields and defaults for the rest. */
export function newNumberDataPoint(init: Partial<NumberDataPoint> = {}): NumberDataPoint {
  return {
    attributes: [],
    startTimeUnixNano: 0n,
    timeUnixNano: 0n,
    value: undefined,
    exemplars: [],
    flags: 0,
    ...init,
  };
}

/** A histogram data point with the given fields and defaults for the rest. */
export function newHistogramDataPoint(init: Partial<HistogramDataPoint> = {}): HistogramDataPoint {
  return {
    attributes: [],
    startTimeUnixNano: 0n,
    timeUnixNano: 0n,
    count: 0n,
    bucketCounts: [],
    explicitBounds: [],
    exemplars: [],
    flags: 0,
    ...init,
  };
}

/** A summary data point with the given fields and defaults for the rest. */
export function newSummaryDataPoint(init: Partial<SummaryDataPoint> = {}): SummaryDataPoint {
  return {
    attributes: [],
    startTimeUnixNano: 0n,
    timeUnixNano: 0n,
    count: 0n,
    sum: 0,
    quantileValues: [],
    flags: 0,
    ...init,
  };
}

/** A metric with the given fields and defaults for the rest. */
export function newMetric(init: Partial<Metric> & Pick<Metric, "name">): Metric {
  return { description: "", unit: "", metadata: [], data: undefined, ...init };
}

/** A gauge over `dataPoints`. */
export function gaugeOf(dataPoints: NumberDataPoint[]): Gauge {
  return { type: "gauge", dataPoints };
}

/** A cumulative sum over `dataPoints`. @param monotonic true for a counter */
export function cumulativeSumOf(dataPoints: NumberDataPoint[], monotonic: boolean): Sum {
  return {
    type: "sum",
    dataPoints,
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    isMonotonic: monotonic,
  };
}

/** The current time in Unix nanoseconds (millisecond precision from the clock, as a bigint). */
export function nowUnixNano(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}
