/**
 * The reference codec: protobufjs loaded with the OTLP schema in tests/fixtures/otlp/otlp.proto,
 * plus converters between the tfo model and protobufjs plain objects.
 *
 * @module
 */
// deno-lint-ignore no-import-prefix
import protobuf from "npm:protobufjs@8.8.1";
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
  Resource,
  Span,
  TracesData,
} from "../../lib/pdata/types.ts";

const schema = await Deno.readTextFile(
  new URL("../fixtures/otlp/otlp.proto", import.meta.url),
);
/** The protobufjs root holding the OTLP messages (package `otlp`). */
export const root: protobuf.Root = protobuf.parse(schema, { keepCase: false }).root;

/** protobufjs types of the three requests and responses. */
export const PB = {
  traces: root.lookupType("otlp.ExportTraceServiceRequest"),
  metrics: root.lookupType("otlp.ExportMetricsServiceRequest"),
  logs: root.lookupType("otlp.ExportLogsServiceRequest"),
  tracesResponse: root.lookupType("otlp.ExportTraceServiceResponse"),
  metricsResponse: root.lookupType("otlp.ExportMetricsServiceResponse"),
  logsResponse: root.lookupType("otlp.ExportLogsServiceResponse"),
};

// deno-lint-ignore no-explicit-any
type O = any;

const TO_OBJECT = { longs: String, defaults: true, arrays: true, oneofs: false };

/** Encodes a plain object with protobufjs. */
export function pbEncode(type: protobuf.Type, obj: O): Uint8Array {
  const bytes = type.encode(type.fromObject(obj)).finish();
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Decodes with protobufjs into a plain object (longs as strings, defaults filled in). */
export function pbDecode(type: protobuf.Type, bytes: Uint8Array): O {
  return type.toObject(type.decode(bytes), TO_OBJECT);
}

// ---------------------------------------------------------------------------------------------
// model → protobufjs object

const s = (v: bigint) => v.toString();

function anyOut(v: AnyValue): O {
  switch (typeof v) {
    case "string":
      return { stringValue: v };
    case "boolean":
      return { boolValue: v };
    case "bigint":
      return { intValue: s(v) };
    case "number":
      return { doubleValue: v };
    case "undefined":
      return {};
  }
  if (v instanceof Uint8Array) return { bytesValue: v };
  if (Array.isArray(v)) return { arrayValue: { values: v.map(anyOut) } };
  return { kvlistValue: { values: attrsOut(v.kvlist) } };
}
function attrsOut(a: KeyValue[]): O[] {
  return a.map((kv) => (kv.value === undefined ? { key: kv.key } : {
    key: kv.key,
    value: anyOut(kv.value),
  }));
}
const resOut = (r: Resource) => ({
  attributes: attrsOut(r.attributes),
  droppedAttributesCount: r.droppedAttributesCount,
});
const scopeOut = (x: InstrumentationScope) => ({
  name: x.name,
  version: x.version,
  attributes: attrsOut(x.attributes),
  droppedAttributesCount: x.droppedAttributesCount,
});

function spanOut(x: Span): O {
  return {
    ...x,
    startTimeUnixNano: s(x.startTimeUnixNano),
    endTimeUnixNano: s(x.endTimeUnixNano),
    attributes: attrsOut(x.attributes),
    events: x.events.map((e) => ({
      ...e,
      timeUnixNano: s(e.timeUnixNano),
      attributes: attrsOut(e.attributes),
    })),
    links: x.links.map((l) => ({ ...l, attributes: attrsOut(l.attributes) })),
  };
}

/** The protobufjs object of `TracesData`. */
export function tracesOut(d: TracesData): O {
  return {
    resourceSpans: d.resourceSpans.map((rs) => ({
      resource: resOut(rs.resource),
      schemaUrl: rs.schemaUrl,
      scopeSpans: rs.scopeSpans.map((ss) => ({
        scope: scopeOut(ss.scope),
        schemaUrl: ss.schemaUrl,
        spans: ss.spans.map(spanOut),
      })),
    })),
  };
}

function valueOut(v: number | bigint | undefined): O {
  if (typeof v === "number") return { asDouble: v };
  if (typeof v === "bigint") return { asInt: s(v) };
  return {};
}
function exOut(e: Exemplar): O {
  return {
    filteredAttributes: attrsOut(e.filteredAttributes),
    timeUnixNano: s(e.timeUnixNano),
    spanId: e.spanId,
    traceId: e.traceId,
    ...valueOut(e.value),
  };
}
function optOut(p: { sum?: number; min?: number; max?: number }): O {
  const o: O = {};
  if (p.sum !== undefined) o.sum = p.sum;
  if (p.min !== undefined) o.min = p.min;
  if (p.max !== undefined) o.max = p.max;
  return o;
}
const bucketsOut = (b: ExponentialBuckets) => ({
  offset: b.offset,
  bucketCounts: b.bucketCounts.map(s),
});

function dataOut(d: MetricData): O {
  if (d === undefined) return {};
  switch (d.type) {
    case "gauge":
    case "sum": {
      const dataPoints = d.dataPoints.map((p) => ({
        attributes: attrsOut(p.attributes),
        startTimeUnixNano: s(p.startTimeUnixNano),
        timeUnixNano: s(p.timeUnixNano),
        exemplars: p.exemplars.map(exOut),
        flags: p.flags,
        ...valueOut(p.value),
      }));
      return d.type === "gauge" ? { gauge: { dataPoints } } : {
        sum: {
          dataPoints,
          aggregationTemporality: d.aggregationTemporality,
          isMonotonic: d.isMonotonic,
        },
      };
    }
    case "histogram":
      return {
        histogram: {
          aggregationTemporality: d.aggregationTemporality,
          dataPoints: d.dataPoints.map((p) => ({
            attributes: attrsOut(p.attributes),
            startTimeUnixNano: s(p.startTimeUnixNano),
            timeUnixNano: s(p.timeUnixNano),
            count: s(p.count),
            bucketCounts: p.bucketCounts.map(s),
            explicitBounds: p.explicitBounds,
            exemplars: p.exemplars.map(exOut),
            flags: p.flags,
            ...optOut(p),
          })),
        },
      };
    case "exponentialHistogram":
      return {
        exponentialHistogram: {
          aggregationTemporality: d.aggregationTemporality,
          dataPoints: d.dataPoints.map((p) => ({
            attributes: attrsOut(p.attributes),
            startTimeUnixNano: s(p.startTimeUnixNano),
            timeUnixNano: s(p.timeUnixNano),
            count: s(p.count),
            scale: p.scale,
            zeroCount: s(p.zeroCount),
            positive: bucketsOut(p.positive),
            negative: bucketsOut(p.negative),
            flags: p.flags,
            exemplars: p.exemplars.map(exOut),
            zeroThreshold: p.zeroThreshold,
            ...optOut(p),
          })),
        },
      };
    case "summary":
      return {
        summary: {
          dataPoints: d.dataPoints.map((p) => ({
            attributes: attrsOut(p.attributes),
            startTimeUnixNano: s(p.startTimeUnixNano),
            timeUnixNano: s(p.timeUnixNano),
            count: s(p.count),
            sum: p.sum,
            quantileValues: p.quantileValues,
            flags: p.flags,
          })),
        },
      };
  }
}

function metricOut(m: Metric): O {
  return {
    name: m.name,
    description: m.description,
    unit: m.unit,
    metadata: attrsOut(m.metadata),
    ...dataOut(m.data),
  };
}

/** The protobufjs object of `MetricsData`. */
export function metricsOut(d: MetricsData): O {
  return {
    resourceMetrics: d.resourceMetrics.map((rm) => ({
      resource: resOut(rm.resource),
      schemaUrl: rm.schemaUrl,
      scopeMetrics: rm.scopeMetrics.map((sm) => ({
        scope: scopeOut(sm.scope),
        schemaUrl: sm.schemaUrl,
        metrics: sm.metrics.map(metricOut),
      })),
    })),
  };
}

function logOut(l: LogRecord): O {
  const o: O = {
    ...l,
    timeUnixNano: s(l.timeUnixNano),
    observedTimeUnixNano: s(l.observedTimeUnixNano),
    attributes: attrsOut(l.attributes),
  };
  if (l.body === undefined) delete o.body;
  else o.body = anyOut(l.body);
  return o;
}

/** The protobufjs object of `LogsData`. */
export function logsOut(d: LogsData): O {
  return {
    resourceLogs: d.resourceLogs.map((rl) => ({
      resource: resOut(rl.resource),
      schemaUrl: rl.schemaUrl,
      scopeLogs: rl.scopeLogs.map((sl) => ({
        scope: scopeOut(sl.scope),
        schemaUrl: sl.schemaUrl,
        logRecords: sl.logRecords.map(logOut),
      })),
    })),
  };
}

// ---------------------------------------------------------------------------------------------
// protobufjs object → model

const b = (v: O): Uint8Array => new Uint8Array(v ?? []);
const big = (v: O): bigint => BigInt(v);

function anyIn(v: O): AnyValue {
  if (v === undefined || v === null) return undefined;
  if ("stringValue" in v) return v.stringValue;
  if ("boolValue" in v) return v.boolValue;
  if ("intValue" in v) return big(v.intValue);
  if ("doubleValue" in v) return v.doubleValue;
  if ("bytesValue" in v) return b(v.bytesValue);
  if ("arrayValue" in v) return v.arrayValue.values.map(anyIn);
  if ("kvlistValue" in v) return { kvlist: attrsIn(v.kvlistValue.values) };
  return undefined;
}
function attrsIn(a: O[]): KeyValue[] {
  return a.map((kv) => ({ key: kv.key, value: anyIn(kv.value) }));
}
function resIn(r: O): Resource {
  if (r === null || r === undefined) return { attributes: [], droppedAttributesCount: 0 };
  return { attributes: attrsIn(r.attributes), droppedAttributesCount: r.droppedAttributesCount };
}
function scopeIn(x: O): InstrumentationScope {
  if (x === null || x === undefined) {
    return { name: "", version: "", attributes: [], droppedAttributesCount: 0 };
  }
  return {
    name: x.name,
    version: x.version,
    attributes: attrsIn(x.attributes),
    droppedAttributesCount: x.droppedAttributesCount,
  };
}

function spanIn(x: O): Span {
  return {
    traceId: b(x.traceId),
    spanId: b(x.spanId),
    traceState: x.traceState,
    parentSpanId: b(x.parentSpanId),
    flags: x.flags,
    name: x.name,
    kind: x.kind,
    startTimeUnixNano: big(x.startTimeUnixNano),
    endTimeUnixNano: big(x.endTimeUnixNano),
    attributes: attrsIn(x.attributes),
    droppedAttributesCount: x.droppedAttributesCount,
    events: x.events.map((e: O) => ({
      timeUnixNano: big(e.timeUnixNano),
      name: e.name,
      attributes: attrsIn(e.attributes),
      droppedAttributesCount: e.droppedAttributesCount,
    })),
    droppedEventsCount: x.droppedEventsCount,
    links: x.links.map((l: O) => ({
      traceId: b(l.traceId),
      spanId: b(l.spanId),
      traceState: l.traceState,
      attributes: attrsIn(l.attributes),
      droppedAttributesCount: l.droppedAttributesCount,
      flags: l.flags,
    })),
    droppedLinksCount: x.droppedLinksCount,
    status: x.status
      ? { message: x.status.message, code: x.status.code }
      : { message: "", code: 0 },
  };
}

/** `TracesData` from a protobufjs object. */
export function tracesIn(o: O): TracesData {
  return {
    resourceSpans: o.resourceSpans.map((rs: O) => ({
      resource: resIn(rs.resource),
      scopeSpans: rs.scopeSpans.map((ss: O) => ({
        scope: scopeIn(ss.scope),
        spans: ss.spans.map(spanIn),
        schemaUrl: ss.schemaUrl,
      })),
      schemaUrl: rs.schemaUrl,
    })),
  };
}

function valueIn(p: O): number | bigint | undefined {
  if ("asDouble" in p) return p.asDouble;
  if ("asInt" in p) return big(p.asInt);
  return undefined;
}
function exIn(e: O): Exemplar {
  return {
    filteredAttributes: attrsIn(e.filteredAttributes),
    timeUnixNano: big(e.timeUnixNano),
    value: valueIn(e),
    spanId: b(e.spanId),
    traceId: b(e.traceId),
  };
}
function optIn<T extends { sum?: number; min?: number; max?: number }>(p: O, t: T): T {
  if ("sum" in p) t.sum = p.sum;
  if ("min" in p) t.min = p.min;
  if ("max" in p) t.max = p.max;
  return t;
}
const bucketsIn = (x: O): ExponentialBuckets =>
  x ? { offset: x.offset, bucketCounts: x.bucketCounts.map(big) } : { offset: 0, bucketCounts: [] };

function numberPointsIn(ps: O[]) {
  return ps.map((p) => ({
    attributes: attrsIn(p.attributes),
    startTimeUnixNano: big(p.startTimeUnixNano),
    timeUnixNano: big(p.timeUnixNano),
    value: valueIn(p),
    exemplars: p.exemplars.map(exIn),
    flags: p.flags,
  }));
}

function dataIn(m: O): MetricData {
  if (m.gauge) return { type: "gauge", dataPoints: numberPointsIn(m.gauge.dataPoints) };
  if (m.sum) {
    return {
      type: "sum",
      dataPoints: numberPointsIn(m.sum.dataPoints),
      aggregationTemporality: m.sum.aggregationTemporality,
      isMonotonic: m.sum.isMonotonic,
    };
  }
  if (m.histogram) {
    return {
      type: "histogram",
      aggregationTemporality: m.histogram.aggregationTemporality,
      dataPoints: m.histogram.dataPoints.map((p: O) =>
        optIn<HistogramDataPoint>(p, {
          attributes: attrsIn(p.attributes),
          startTimeUnixNano: big(p.startTimeUnixNano),
          timeUnixNano: big(p.timeUnixNano),
          count: big(p.count),
          bucketCounts: p.bucketCounts.map(big),
          explicitBounds: p.explicitBounds,
          exemplars: p.exemplars.map(exIn),
          flags: p.flags,
        })
      ),
    };
  }
  if (m.exponentialHistogram) {
    return {
      type: "exponentialHistogram",
      aggregationTemporality: m.exponentialHistogram.aggregationTemporality,
      dataPoints: m.exponentialHistogram.dataPoints.map((p: O) =>
        optIn<ExponentialHistogramDataPoint>(p, {
          attributes: attrsIn(p.attributes),
          startTimeUnixNano: big(p.startTimeUnixNano),
          timeUnixNano: big(p.timeUnixNano),
          count: big(p.count),
          scale: p.scale,
          zeroCount: big(p.zeroCount),
          positive: bucketsIn(p.positive),
          negative: bucketsIn(p.negative),
          flags: p.flags,
          exemplars: p.exemplars.map(exIn),
          zeroThreshold: p.zeroThreshold,
        })
      ),
    };
  }
  if (m.summary) {
    return {
      type: "summary",
      dataPoints: m.summary.dataPoints.map((p: O) => ({
        attributes: attrsIn(p.attributes),
        startTimeUnixNano: big(p.startTimeUnixNano),
        timeUnixNano: big(p.timeUnixNano),
        count: big(p.count),
        sum: p.sum,
        quantileValues: p.quantileValues.map((q: O) => ({ quantile: q.quantile, value: q.value })),
        flags: p.flags,
      })),
    };
  }
  return undefined;
}

/** `MetricsData` from a protobufjs object. */
export function metricsIn(o: O): MetricsData {
  return {
    resourceMetrics: o.resourceMetrics.map((rm: O) => ({
      resource: resIn(rm.resource),
      scopeMetrics: rm.scopeMetrics.map((sm: O) => ({
        scope: scopeIn(sm.scope),
        metrics: sm.metrics.map((m: O): Metric => ({
          name: m.name,
          description: m.description,
          unit: m.unit,
          metadata: attrsIn(m.metadata),
          data: dataIn(m),
        })),
        schemaUrl: sm.schemaUrl,
      })),
      schemaUrl: rm.schemaUrl,
    })),
  };
}

/** `LogsData` from a protobufjs object. */
export function logsIn(o: O): LogsData {
  return {
    resourceLogs: o.resourceLogs.map((rl: O) => ({
      resource: resIn(rl.resource),
      scopeLogs: rl.scopeLogs.map((sl: O) => ({
        scope: scopeIn(sl.scope),
        logRecords: sl.logRecords.map((l: O): LogRecord => ({
          timeUnixNano: big(l.timeUnixNano),
          observedTimeUnixNano: big(l.observedTimeUnixNano),
          severityNumber: l.severityNumber,
          severityText: l.severityText,
          body: anyIn(l.body),
          attributes: attrsIn(l.attributes),
          droppedAttributesCount: l.droppedAttributesCount,
          flags: l.flags,
          traceId: b(l.traceId),
          spanId: b(l.spanId),
          eventName: l.eventName,
        })),
        schemaUrl: sl.schemaUrl,
      })),
      schemaUrl: rl.schemaUrl,
    })),
  };
}
