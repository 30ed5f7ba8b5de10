/**
 * {@linkcode warmUpSample}: a small request of one signal, as a client would send it, for the
 * warm-ups that run a code path once at start (the otlp receiver's, the persistent queue's) so
 * that the first real request does not pay for V8 compiling it.
 *
 * It fills what the OpenTelemetry SDKs fill, so that decoding and encoding it runs the same
 * readers and writers: attributes of every value type; a span with a parent, status, an event and
 * a link; a data point of each metric type (gauge, sum, histogram with an exemplar, exponential
 * histogram, summary); log records with trace context and a structured body.
 *
 * @module
 */
import {
  cumulativeSumOf,
  gaugeOf,
  newHistogramDataPoint,
  newLogRecord,
  newMetric,
  newNumberDataPoint,
  newResource,
  newScope,
  newSpan,
  newSpanEvent,
  newSpanLink,
  newSummaryDataPoint,
} from "./new.ts";
import {
  AggregationTemporality,
  type KeyValue,
  type Signal,
  type SignalData,
  SpanKind,
  StatusCode,
} from "./types.ts";

/** The number of items in {@linkcode warmUpSample}'s request of each signal. */
export const WARM_UP_SAMPLE_ITEMS: { readonly [S in Signal]: number } = {
  traces: 1,
  metrics: 5,
  logs: 2,
};

const TRACE_ID = new Uint8Array(16).fill(7);
const SPAN_ID = new Uint8Array(8).fill(3);
const PARENT_ID = new Uint8Array(8).fill(5);
const T0 = 1_700_000_000_000_000_000n;
const T1 = T0 + 1_000_000n;

/** Attributes of every value type. */
function attributes(): KeyValue[] {
  return [
    { key: "warm.up", value: "tfo" },
    { key: "warm.flag", value: true },
    { key: "warm.int", value: 42n },
    { key: "warm.double", value: 0.5 },
    { key: "warm.bytes", value: new Uint8Array([1, 2, 3]) },
    { key: "warm.array", value: ["a", 1n] },
    { key: "warm.map", value: { kvlist: [{ key: "k", value: "v" }] } },
  ];
}

/** One request of `signal` (see the module notes); {@linkcode WARM_UP_SAMPLE_ITEMS} items. */
export function warmUpSample<S extends Signal>(signal: S): SignalData[S] {
  const resource = newResource({ attributes: [{ key: "service.name", value: "tfo-warm-up" }] });
  const scope = newScope({ name: "tfo.warm_up", version: "1" });
  const data: { [K in Signal]: () => SignalData[K] } = {
    traces: () => ({
      resourceSpans: [{
        resource,
        schemaUrl: "",
        scopeSpans: [{
          scope,
          schemaUrl: "",
          spans: [newSpan({
            traceId: TRACE_ID,
            spanId: SPAN_ID,
            parentSpanId: PARENT_ID,
            name: "warm-up",
            kind: SpanKind.SERVER,
            startTimeUnixNano: T0,
            endTimeUnixNano: T1,
            attributes: attributes(),
            events: [newSpanEvent({ timeUnixNano: T1, name: "event", attributes: attributes() })],
            links: [
              newSpanLink({ traceId: TRACE_ID, spanId: PARENT_ID, attributes: attributes() }),
            ],
            status: { code: StatusCode.ERROR, message: "warm-up" },
          })],
        }],
      }],
    }),
    metrics: () => {
      const base = { attributes: attributes(), startTimeUnixNano: T0, timeUnixNano: T1 };
      const exemplar = {
        filteredAttributes: [],
        timeUnixNano: T1,
        value: 1.5,
        spanId: SPAN_ID,
        traceId: TRACE_ID,
      };
      return {
        resourceMetrics: [{
          resource,
          schemaUrl: "",
          scopeMetrics: [{
            scope,
            schemaUrl: "",
            metrics: [
              newMetric({
                name: "warm_up.gauge",
                unit: "1",
                data: gaugeOf([newNumberDataPoint({ ...base, value: 0.25 })]),
              }),
              newMetric({
                name: "warm_up.sum",
                data: cumulativeSumOf([newNumberDataPoint({ ...base, value: 3n })], true),
              }),
              newMetric({
                name: "warm_up.histogram",
                data: {
                  type: "histogram",
                  aggregationTemporality: AggregationTemporality.DELTA,
                  dataPoints: [newHistogramDataPoint({
                    ...base,
                    count: 2n,
                    sum: 3,
                    min: 1,
                    max: 2,
                    bucketCounts: [1n, 1n, 0n],
                    explicitBounds: [1, 5],
                    exemplars: [exemplar],
                  })],
                },
              }),
              newMetric({
                name: "warm_up.exponential_histogram",
                data: {
                  type: "exponentialHistogram",
                  aggregationTemporality: AggregationTemporality.DELTA,
                  dataPoints: [{
                    ...base,
                    count: 3n,
                    sum: 4,
                    scale: 2,
                    zeroCount: 1n,
                    zeroThreshold: 0,
                    positive: { offset: 1, bucketCounts: [1n, 1n] },
                    negative: { offset: 0, bucketCounts: [] },
                    flags: 0,
                    exemplars: [],
                    min: 0,
                    max: 2,
                  }],
                },
              }),
              newMetric({
                name: "warm_up.summary",
                data: {
                  type: "summary",
                  dataPoints: [newSummaryDataPoint({
                    ...base,
                    count: 2n,
                    sum: 3,
                    quantileValues: [{ quantile: 0.5, value: 1 }, { quantile: 1, value: 2 }],
                  })],
                },
              }),
            ],
          }],
        }],
      };
    },
    logs: () => ({
      resourceLogs: [{
        resource,
        schemaUrl: "",
        scopeLogs: [{
          scope,
          schemaUrl: "",
          logRecords: [
            newLogRecord({
              timeUnixNano: T0,
              observedTimeUnixNano: T1,
              severityNumber: 9,
              severityText: "INFO",
              body: "warm-up",
              attributes: attributes(),
              traceId: TRACE_ID,
              spanId: SPAN_ID,
              flags: 1,
            }),
            newLogRecord({
              observedTimeUnixNano: T1,
              severityNumber: 17,
              body: { kvlist: [{ key: "event", value: "warm-up" }, { key: "n", value: 1n }] },
              eventName: "tfo.warm_up",
            }),
          ],
        }],
      }],
    }),
  };
  return data[signal]();
}
