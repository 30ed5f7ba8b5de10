/**
 * Item counts: spans, metric data points and log records. Batching, limits and self-telemetry all
 * count in these units, as the OpenTelemetry Collector does.
 *
 * @module
 */
import type { LogsData, Metric, MetricsData, Signal, SignalData, TracesData } from "./types.ts";

/** The number of spans. */
export function countSpans(data: TracesData): number {
  let n = 0;
  for (const rs of data.resourceSpans) for (const ss of rs.scopeSpans) n += ss.spans.length;
  return n;
}

/** The number of data points of one metric (a metric with no data counts as none). */
export function countMetricDataPoints(metric: Metric): number {
  return metric.data === undefined ? 0 : metric.data.dataPoints.length;
}

/** The number of metric data points. */
export function countDataPoints(data: MetricsData): number {
  let n = 0;
  for (const rm of data.resourceMetrics) {
    for (const sm of rm.scopeMetrics) for (const m of sm.metrics) n += countMetricDataPoints(m);
  }
  return n;
}

/** The number of log records. */
export function countLogRecords(data: LogsData): number {
  let n = 0;
  for (const rl of data.resourceLogs) for (const sl of rl.scopeLogs) n += sl.logRecords.length;
  return n;
}

/** The item count of any signal's data. */
export function countItems<S extends Signal>(signal: S, data: SignalData[S]): number {
  switch (signal) {
    case "traces":
      return countSpans(data as TracesData);
    case "metrics":
      return countDataPoints(data as MetricsData);
    default:
      return countLogRecords(data as LogsData);
  }
}

/** The unit the OpenTelemetry Collector's metric names use for a signal's items. */
export const ITEM_UNIT: Readonly<Record<Signal, string>> = {
  traces: "spans",
  metrics: "metric_points",
  logs: "log_records",
};
