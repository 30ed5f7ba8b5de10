/**
 * {@linkcode warmUpSample}: a small request of one signal, as a client would send it, for the
 * warm-ups that run a code path once at start (the otlp receiver's, the persistent queue's) so
 * that the first real request does not pay for V8 compiling it.
 *
 * @module
 */
import {
  cumulativeSumOf,
  newLogRecord,
  newLogsData,
  newMetric,
  newNumberDataPoint,
  newResource,
  newScope,
  newSpan,
} from "./new.ts";
import type { Signal, SignalData } from "./types.ts";

/** One item of `signal` (a span, a sum data point, a log record) with an attribute. */
export function warmUpSample<S extends Signal>(signal: S): SignalData[S] {
  const attributes = [{ key: "warm.up", value: "tfo" }];
  const resource = newResource({ attributes });
  const data: { [K in Signal]: () => SignalData[K] } = {
    traces: () => ({
      resourceSpans: [{
        resource,
        schemaUrl: "",
        scopeSpans: [{
          scope: newScope({ name: "tfo.warm_up" }),
          schemaUrl: "",
          spans: [newSpan({ name: "warm-up", attributes })],
        }],
      }],
    }),
    metrics: () => ({
      resourceMetrics: [{
        resource,
        schemaUrl: "",
        scopeMetrics: [{
          scope: newScope({ name: "tfo.warm_up" }),
          schemaUrl: "",
          metrics: [
            newMetric({
              name: "warm_up",
              data: cumulativeSumOf([newNumberDataPoint({ attributes, value: 1 })], true),
            }),
          ],
        }],
      }],
    }),
    logs: () => newLogsData([newLogRecord({ body: "warm-up", attributes })]),
  };
  return data[signal]();
}
