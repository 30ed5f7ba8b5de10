/**
 * The span metrics' export: one resource entry per resource (its attributes, a `calls`, a
 * `duration` and an `events` table) becomes one `ResourceMetrics` with the Collector's metric
 * names, scope, temporality and start times.
 *
 * @module
 */
import { cloneAttributes } from "../../../lib/pdata/clone.ts";
import {
  AggregationTemporality,
  type KeyValue,
  type Metric,
  type MetricsData,
  type ResourceMetrics,
} from "../../../lib/pdata/types.ts";
import type {
  ExplicitSeries,
  ExpoSeries,
  LruMap,
  SeriesBase,
  SeriesTable,
  SumSeries,
} from "./_series.ts";

/** The scope name of the metrics, as the Collector's. */
export const SCOPE_NAME = "spanmetricsconnector";

/** A `duration` series of either kind. */
export type HistogramSeries = ExplicitSeries | ExpoSeries;

/** The series of one resource. */
export interface ResourceEntry {
  attributes: KeyValue[];
  sums: SeriesTable<SumSeries>;
  histograms: SeriesTable<HistogramSeries> | undefined;
  events: SeriesTable<SumSeries>;
  lastSeen: number;
}

/** How to build one export. */
export interface BuildOptions {
  /** The points' time, in Unix nanoseconds. */
  timestamp: bigint;
  delta: boolean;
  /** The metric name prefix ("" for none). */
  namespace: string;
  /** The `duration` unit. */
  unit: string;
  exponential: boolean;
  /** Explicit bucket bounds. */
  bounds: readonly number[];
  /** Whether the `events` metric is on. */
  events: boolean;
  /**
   * Delta only: the last export time of each series key, the next start time (updated here).
   */
  deltaStarts: LruMap<string, bigint>;
}

/**
 * The metrics of every resource entry. Marks cumulative sums as exported (their first point is
 * 0, as the Collector's) and records delta start times.
 */
export function buildMetrics(
  entries: Iterable<[string, ResourceEntry]>,
  o: BuildOptions,
): MetricsData {
  const { timestamp, delta } = o;
  const temporality = delta ? AggregationTemporality.DELTA : AggregationTemporality.CUMULATIVE;
  const metricName = (n: string) => o.namespace === "" ? n : `${o.namespace}.${n}`;
  const touched = new Set<string>();
  const startOf = (key: string, start: bigint): bigint => {
    if (!delta) return start;
    touched.add(key);
    return o.deltaStarts.get(key) ?? start;
  };
  const exemplarsAt = (s: SeriesBase) =>
    s.exemplars.map((e) => ({ ...e, timeUnixNano: timestamp }));
  const sumMetric = (name: string, table: SeriesTable<SumSeries>): Metric => ({
    name: metricName(name),
    description: "",
    unit: "",
    metadata: [],
    data: {
      type: "sum",
      aggregationTemporality: temporality,
      isMonotonic: true,
      dataPoints: [...table.series].map(([key, s]) => {
        const value = !delta && s.first ? 0n : BigInt(s.count);
        s.first = false;
        return {
          attributes: cloneAttributes(s.attributes),
          startTimeUnixNano: startOf(key, s.start),
          timeUnixNano: timestamp,
          value,
          exemplars: exemplarsAt(s),
          flags: 0,
        };
      }),
    },
  });
  const histogramMetric = (table: SeriesTable<HistogramSeries>): Metric => {
    const points = [...table.series].map(([key, s]) => {
      const base = {
        attributes: cloneAttributes(s.attributes),
        startTimeUnixNano: startOf(key, s.start),
        timeUnixNano: timestamp,
        exemplars: exemplarsAt(s),
        flags: 0,
      };
      if ("histogram" in s) {
        const dp = {
          ...base,
          count: 0n,
          scale: 0,
          zeroCount: 0n,
          positive: { offset: 0, bucketCounts: [] as bigint[] },
          negative: { offset: 0, bucketCounts: [] as bigint[] },
          zeroThreshold: 0,
        };
        s.histogram.fill(dp);
        return dp;
      }
      return {
        ...base,
        count: BigInt(s.count),
        sum: s.sum,
        bucketCounts: s.buckets.map(BigInt),
        explicitBounds: o.bounds.slice(),
      };
    });
    return {
      name: metricName("duration"),
      description: "",
      unit: o.unit,
      metadata: [],
      data: o.exponential
        ? {
          type: "exponentialHistogram",
          aggregationTemporality: temporality,
          dataPoints: points as never,
        }
        : { type: "histogram", aggregationTemporality: temporality, dataPoints: points as never },
    };
  };
  const out: ResourceMetrics[] = [];
  for (const [, entry] of entries) {
    // Unlike the Collector, a resource whose series all expired sends no empty metrics.
    if (entry.sums.series.size === 0 && entry.events.series.size === 0) continue;
    const metrics: Metric[] = [sumMetric("calls", entry.sums)];
    if (entry.histograms !== undefined) metrics.push(histogramMetric(entry.histograms));
    if (o.events) metrics.push(sumMetric("events", entry.events));
    out.push({
      resource: { attributes: cloneAttributes(entry.attributes), droppedAttributesCount: 0 },
      scopeMetrics: [{
        scope: { name: SCOPE_NAME, version: "", attributes: [], droppedAttributesCount: 0 },
        metrics,
        schemaUrl: "",
      }],
      schemaUrl: "",
    });
  }
  for (const key of touched) o.deltaStarts.set(key, timestamp);
  o.deltaStarts.clearEvicted();
  return { resourceMetrics: out };
}
