/**
 * Merging and splitting by item count, for batching. {@linkcode appendData} copies the containers
 * (resource/scope entries and their item arrays) of what it appends, never the items, so the source
 * stays untouched; {@linkcode takeItems} then cuts those private containers freely.
 *
 * @module
 */
import { cloneResource, cloneScope } from "./clone.ts";
import { countMetricDataPoints } from "./count.ts";
import type {
  LogsData,
  Metric,
  MetricsData,
  ResourceLogs,
  ResourceMetrics,
  ResourceSpans,
  Signal,
  SignalData,
  TracesData,
} from "./types.ts";

/** An empty value of a signal's data. */
export function emptyData<S extends Signal>(signal: S): SignalData[S] {
  switch (signal) {
    case "traces":
      return { resourceSpans: [] } as TracesData as SignalData[S];
    case "metrics":
      return { resourceMetrics: [] } as MetricsData as SignalData[S];
    default:
      return { resourceLogs: [] } as LogsData as SignalData[S];
  }
}

function shallowMetric(m: Metric): Metric {
  if (m.data === undefined) return { ...m };
  return { ...m, data: { ...m.data, dataPoints: m.data.dataPoints.slice() } as Metric["data"] };
}

/** Appends `source` to `target`, copying containers so `source` is never changed later. */
export function appendData<S extends Signal>(
  signal: S,
  target: SignalData[S],
  source: SignalData[S],
): void {
  switch (signal) {
    case "traces":
      for (const rs of (source as TracesData).resourceSpans) {
        (target as TracesData).resourceSpans.push({
          resource: rs.resource,
          schemaUrl: rs.schemaUrl,
          scopeSpans: rs.scopeSpans.map((ss) => ({
            scope: ss.scope,
            schemaUrl: ss.schemaUrl,
            spans: ss.spans.slice(),
          })),
        });
      }
      return;
    case "metrics":
      for (const rm of (source as MetricsData).resourceMetrics) {
        (target as MetricsData).resourceMetrics.push({
          resource: rm.resource,
          schemaUrl: rm.schemaUrl,
          scopeMetrics: rm.scopeMetrics.map((sm) => ({
            scope: sm.scope,
            schemaUrl: sm.schemaUrl,
            metrics: sm.metrics.map(shallowMetric),
          })),
        });
      }
      return;
    default:
      for (const rl of (source as LogsData).resourceLogs) {
        (target as LogsData).resourceLogs.push({
          resource: rl.resource,
          schemaUrl: rl.schemaUrl,
          scopeLogs: rl.scopeLogs.map((sl) => ({
            scope: sl.scope,
            schemaUrl: sl.schemaUrl,
            logRecords: sl.logRecords.slice(),
          })),
        });
      }
  }
}

/**
 * Removes the first `n` items from `data` (whose containers must be private, see
 * {@linkcode appendData}) and returns them. A resource or scope cut in two is copied, so the two
 * halves never share an object that a later processor might change.
 */
export function takeItems<S extends Signal>(
  signal: S,
  data: SignalData[S],
  n: number,
): SignalData[S] {
  switch (signal) {
    case "traces":
      return { resourceSpans: takeSpans(data as TracesData, n) } as SignalData[S];
    case "metrics":
      return { resourceMetrics: takeDataPoints(data as MetricsData, n) } as SignalData[S];
    default:
      return { resourceLogs: takeLogRecords(data as LogsData, n) } as SignalData[S];
  }
}

function takeSpans(data: TracesData, n: number): ResourceSpans[] {
  const out: ResourceSpans[] = [];
  const all = data.resourceSpans;
  while (n > 0 && all.length > 0) {
    const rs = all[0]!;
    const taken: ResourceSpans = { resource: rs.resource, schemaUrl: rs.schemaUrl, scopeSpans: [] };
    while (n > 0 && rs.scopeSpans.length > 0) {
      const ss = rs.scopeSpans[0]!;
      if (ss.spans.length <= n) {
        n -= ss.spans.length;
        taken.scopeSpans.push(rs.scopeSpans.shift()!);
      } else {
        taken.scopeSpans.push({
          scope: ss.scope,
          schemaUrl: ss.schemaUrl,
          spans: ss.spans.splice(0, n),
        });
        ss.scope = cloneScope(ss.scope);
        n = 0;
      }
    }
    if (rs.scopeSpans.length === 0) all.shift();
    else rs.resource = cloneResource(rs.resource);
    out.push(taken);
  }
  return out;
}

function takeLogRecords(data: LogsData, n: number): ResourceLogs[] {
  const out: ResourceLogs[] = [];
  const all = data.resourceLogs;
  while (n > 0 && all.length > 0) {
    const rl = all[0]!;
    const taken: ResourceLogs = { resource: rl.resource, schemaUrl: rl.schemaUrl, scopeLogs: [] };
    while (n > 0 && rl.scopeLogs.length > 0) {
      const sl = rl.scopeLogs[0]!;
      if (sl.logRecords.length <= n) {
        n -= sl.logRecords.length;
        taken.scopeLogs.push(rl.scopeLogs.shift()!);
      } else {
        taken.scopeLogs.push({
          scope: sl.scope,
          schemaUrl: sl.schemaUrl,
          logRecords: sl.logRecords.splice(0, n),
        });
        sl.scope = cloneScope(sl.scope);
        n = 0;
      }
    }
    if (rl.scopeLogs.length === 0) all.shift();
    else rl.resource = cloneResource(rl.resource);
    out.push(taken);
  }
  return out;
}

function takeDataPoints(data: MetricsData, n: number): ResourceMetrics[] {
  const out: ResourceMetrics[] = [];
  const all = data.resourceMetrics;
  while (n > 0 && all.length > 0) {
    const rm = all[0]!;
    const taken: ResourceMetrics = {
      resource: rm.resource,
      schemaUrl: rm.schemaUrl,
      scopeMetrics: [],
    };
    while (n > 0 && rm.scopeMetrics.length > 0) {
      const sm = rm.scopeMetrics[0]!;
      const metrics: Metric[] = [];
      while (n > 0 && sm.metrics.length > 0) {
        const m = sm.metrics[0]!;
        const points = countMetricDataPoints(m);
        if (points <= n) {
          n -= points;
          metrics.push(sm.metrics.shift()!);
          // A metric without points still travels, but costs nothing.
        } else {
          const head = { ...m.data!, dataPoints: m.data!.dataPoints.splice(0, n) };
          metrics.push({ ...m, data: head as Metric["data"] });
          n = 0;
        }
      }
      // Metrics with no points left at the front of the scope go along with this part.
      while (sm.metrics.length > 0 && countMetricDataPoints(sm.metrics[0]!) === 0 && n > 0) {
        metrics.push(sm.metrics.shift()!);
      }
      if (sm.metrics.length === 0) {
        rm.scopeMetrics.shift();
        taken.scopeMetrics.push({ scope: sm.scope, schemaUrl: sm.schemaUrl, metrics });
      } else {
        taken.scopeMetrics.push({ scope: sm.scope, schemaUrl: sm.schemaUrl, metrics });
        sm.scope = cloneScope(sm.scope);
      }
    }
    if (rm.scopeMetrics.length === 0) all.shift();
    else rm.resource = cloneResource(rm.resource);
    out.push(taken);
  }
  return out;
}
