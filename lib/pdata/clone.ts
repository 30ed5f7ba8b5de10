/**
 * Deep copies of the model, for fan-out to consumers that mutate data. Byte arrays are copied too:
 * a mutating consumer may write into an ID in place.
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
  LogsData,
  Metric,
  MetricData,
  MetricsData,
  NumberDataPoint,
  Resource,
  Signal,
  SignalData,
  Span,
  SummaryDataPoint,
  TracesData,
} from "./types.ts";

/** A deep copy of a value. */
export function cloneAnyValue(value: AnyValue): AnyValue {
  if (value === undefined || typeof value !== "object") return value;
  if (value instanceof Uint8Array) return value.slice();
  if (Array.isArray(value)) return value.map(cloneAnyValue);
  return { kvlist: cloneAttributes(value.kvlist) };
}

/** A deep copy of an attribute list. */
export function cloneAttributes(attributes: readonly KeyValue[]): KeyValue[] {
  const out = new Array<KeyValue>(attributes.length);
  for (let i = 0; i < attributes.length; i++) {
    const kv = attributes[i]!;
    out[i] = { key: kv.key, value: cloneAnyValue(kv.value) };
  }
  return out;
}

/** A deep copy of a resource. */
export function cloneResource(r: Resource): Resource {
  return {
    attributes: cloneAttributes(r.attributes),
    droppedAttributesCount: r.droppedAttributesCount,
  };
}

/** A deep copy of an instrumentation scope. */
export function cloneScope(s: InstrumentationScope): InstrumentationScope {
  return {
    name: s.name,
    version: s.version,
    attributes: cloneAttributes(s.attributes),
    droppedAttributesCount: s.droppedAttributesCount,
  };
}

/** A deep copy of a span. */
export function cloneSpan(s: Span): Span {
  return {
    ...s,
    traceId: s.traceId.slice(),
    spanId: s.spanId.slice(),
    parentSpanId: s.parentSpanId.slice(),
    attributes: cloneAttributes(s.attributes),
    events: s.events.map((e) => ({ ...e, attributes: cloneAttributes(e.attributes) })),
    links: s.links.map((l) => ({
      ...l,
      traceId: l.traceId.slice(),
      spanId: l.spanId.slice(),
      attributes: cloneAttributes(l.attributes),
    })),
    status: { ...s.status },
  };
}

/** A deep copy of traces. */
export function cloneTraces(data: TracesData): TracesData {
  return {
    resourceSpans: data.resourceSpans.map((rs) => ({
      resource: cloneResource(rs.resource),
      schemaUrl: rs.schemaUrl,
      scopeSpans: rs.scopeSpans.map((ss) => ({
        scope: cloneScope(ss.scope),
        schemaUrl: ss.schemaUrl,
        spans: ss.spans.map(cloneSpan),
      })),
    })),
  };
}

function cloneExemplars(exemplars: readonly Exemplar[]): Exemplar[] {
  return exemplars.map((e) => ({
    ...e,
    filteredAttributes: cloneAttributes(e.filteredAttributes),
    spanId: e.spanId.slice(),
    traceId: e.traceId.slice(),
  }));
}

function cloneNumberPoint(p: NumberDataPoint): NumberDataPoint {
  return {
    ...p,
    attributes: cloneAttributes(p.attributes),
    exemplars: cloneExemplars(p.exemplars),
  };
}

function cloneHistogramPoint(p: HistogramDataPoint): HistogramDataPoint {
  return {
    ...p,
    attributes: cloneAttributes(p.attributes),
    bucketCounts: p.bucketCounts.slice(),
    explicitBounds: p.explicitBounds.slice(),
    exemplars: cloneExemplars(p.exemplars),
  };
}

function cloneExponentialPoint(p: ExponentialHistogramDataPoint): ExponentialHistogramDataPoint {
  return {
    ...p,
    attributes: cloneAttributes(p.attributes),
    positive: { offset: p.positive.offset, bucketCounts: p.positive.bucketCounts.slice() },
    negative: { offset: p.negative.offset, bucketCounts: p.negative.bucketCounts.slice() },
    exemplars: cloneExemplars(p.exemplars),
  };
}

function cloneSummaryPoint(p: SummaryDataPoint): SummaryDataPoint {
  return {
    ...p,
    attributes: cloneAttributes(p.attributes),
    quantileValues: p.quantileValues.map((q) => ({ ...q })),
  };
}

function cloneMetricData(d: MetricData): MetricData {
  switch (d?.type) {
    case undefined:
      return undefined;
    case "gauge":
      return { type: "gauge", dataPoints: d.dataPoints.map(cloneNumberPoint) };
    case "sum":
      return { ...d, dataPoints: d.dataPoints.map(cloneNumberPoint) };
    case "histogram":
      return { ...d, dataPoints: d.dataPoints.map(cloneHistogramPoint) };
    case "exponentialHistogram":
      return { ...d, dataPoints: d.dataPoints.map(cloneExponentialPoint) };
    case "summary":
      return { type: "summary", dataPoints: d.dataPoints.map(cloneSummaryPoint) };
  }
}

/** A deep copy of a metric. */
export function cloneMetric(m: Metric): Metric {
  return {
    name: m.name,
    description: m.description,
    unit: m.unit,
    metadata: cloneAttributes(m.metadata),
    data: cloneMetricData(m.data),
  };
}

/** A deep copy of metrics. */
export function cloneMetrics(data: MetricsData): MetricsData {
  return {
    resourceMetrics: data.resourceMetrics.map((rm) => ({
      resource: cloneResource(rm.resource),
      schemaUrl: rm.schemaUrl,
      scopeMetrics: rm.scopeMetrics.map((sm) => ({
        scope: cloneScope(sm.scope),
        schemaUrl: sm.schemaUrl,
        metrics: sm.metrics.map(cloneMetric),
      })),
    })),
  };
}

/** A deep copy of logs. */
export function cloneLogs(data: LogsData): LogsData {
  return {
    resourceLogs: data.resourceLogs.map((rl) => ({
      resource: cloneResource(rl.resource),
      schemaUrl: rl.schemaUrl,
      scopeLogs: rl.scopeLogs.map((sl) => ({
        scope: cloneScope(sl.scope),
        schemaUrl: sl.schemaUrl,
        logRecords: sl.logRecords.map((r) => ({
          ...r,
          body: cloneAnyValue(r.body),
          attributes: cloneAttributes(r.attributes),
          traceId: r.traceId.slice(),
          spanId: r.spanId.slice(),
        })),
      })),
    })),
  };
}

/** A deep copy of any signal's data. */
export function cloneData<S extends Signal>(signal: S, data: SignalData[S]): SignalData[S] {
  switch (signal) {
    case "traces":
      return cloneTraces(data as TracesData) as SignalData[S];
    case "metrics":
      return cloneMetrics(data as MetricsData) as SignalData[S];
    default:
      return cloneLogs(data as LogsData) as SignalData[S];
  }
}
