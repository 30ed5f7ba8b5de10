/**
 * The `span_metrics` connector (also `spanmetrics`): traces in, R.E.D. metrics out, as the
 * Collector contrib v0.161 connector computes them. Per resource (keyed by its attributes, or by
 * `resource_metrics_key_attributes`) and per combination of dimensions it counts spans
 * (`traces.span.metrics.calls`), records their durations (`….duration`, explicit or exponential
 * histogram, in `ms` or `s`) and, with `events.enabled`, counts span events (`….events`). Every
 * `metrics_flush_interval` it sends what it holds; delta temporality starts afresh after each
 * flush, cumulative keeps the series (their first point is 0, as the Collector's).
 *
 * Memory is bounded: at most `resource_metrics_cache_size` resources (least recently used ones
 * are evicted, and at most as many evicted ones wait for the next flush); per resource and metric
 * at most `aggregation_cardinality_limit` series plus one overflow series — and when that limit is
 * 0 (the Collector's unlimited default) at most {@linkcode UNLIMITED_SERIES_CEILING}, with a
 * warning. `metrics_expiration` drops resources and `series_expiration` single series that saw no
 * span for that long.
 *
 * Without glob dimensions or events, an encoded payload is read pruned and streamed span by span
 * (`_scan.ts`) instead of being decoded.
 *
 * @module
 */
import type { Connector, ConnectorFactory } from "../../component.ts";
import { type Clock, SYSTEM_CLOCK } from "../../../lib/clock.ts";
import { type Consumer, permanentError } from "../../../lib/consumer/consumer.ts";
import { RateLimitedLog } from "../../../lib/log_throttle.ts";
import { anyValueToString } from "../../../lib/pdata/attributes.ts";
import { cloneAnyValue, cloneAttributes } from "../../../lib/pdata/clone.ts";
import { Payload } from "../../../lib/pdata/payload.ts";
import type {
  AnyValue,
  InstrumentationScope,
  KeyValue,
  MetricsData,
  Span,
  TracesData,
} from "../../../lib/pdata/types.ts";
import { type Logger, NOOP_LOGGER } from "../../../lib/telemetry/logger.ts";
import {
  compileDimensions,
  type Dimensions,
  dimensionsKey,
  forEachDimension,
  NO_DIMENSIONS,
  spanKindName,
  statusCodeName,
} from "../_dimensions.ts";
import { attributesKey } from "../_attributes_key.ts";
import { adjustedCount } from "./_adjusted_count.ts";
import { ExpoHistogram } from "./_expo_histogram.ts";
import { scanTraces, wantedKeys } from "./_scan.ts";
import { addExemplar, LruMap, type SeriesBase, SeriesTable, type SumSeries } from "./_series.ts";
import { DEFAULT_BUCKETS_MS, type SpanmetricsConfig, spanmetricsConfigSchema } from "./config.ts";
import { buildMetrics, type HistogramSeries, type ResourceEntry } from "./_build.ts";

/** The most series per metric and resource when `aggregation_cardinality_limit` is 0. */
export const UNLIMITED_SERIES_CEILING = 100_000;

/** Options of {@linkcode createSpanmetricsConnector}. */
export interface SpanmetricsOptions {
  /** Runs the flush interval and stamps the points. @default SYSTEM_CLOCK */
  readonly clock?: Clock;
  /** Rounds adjusted counts of sampled spans. @default Math.random */
  readonly random?: () => number;
  /** The `collector.instance.id` dimension. @default a random UUID per instance */
  readonly instanceId?: string;
  /** @default no logging */
  readonly logger?: Logger;
}

/** The Collector's explicit bounds in `unit`. */
function explicitBounds(config: SpanmetricsConfig): number[] {
  const divider = config.histogram.unit === "s" ? 1e9 : 1e6;
  const explicit = config.histogram.explicit;
  if (explicit !== undefined) {
    // As the Collector: an `explicit` block without buckets has no bounds (one bucket).
    return explicit === null || explicit.buckets === undefined
      ? []
      : explicit.buckets.map((ns) => ns / divider);
  }
  return config.histogram.unit === "s"
    ? DEFAULT_BUCKETS_MS.map((ms) => ms / 1000)
    : [...DEFAULT_BUCKETS_MS];
}

/** The index of the first bound ≥ value (Go's `sort.SearchFloat64s`). */
function bucketIndex(bounds: readonly number[], value: number): number {
  let lo = 0;
  let hi = bounds.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (bounds[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Creates one `spanmetrics` connector feeding `next`. */
export function createSpanmetricsConnector(
  config: SpanmetricsConfig,
  next: Consumer<"metrics">,
  options: SpanmetricsOptions = {},
): Connector {
  const clock = options.clock ?? SYSTEM_CLOCK;
  const random = options.random ?? Math.random;
  const logger = options.logger ?? NOOP_LOGGER;
  const instanceId = options.instanceId ?? crypto.randomUUID();
  const delta = config.aggregation_temporality === "AGGREGATION_TEMPORALITY_DELTA";
  const exclude = new Set(config.exclude_dimensions);
  const withService = !exclude.has("service.name");
  const withName = !exclude.has("span.name");
  const withKind = !exclude.has("span.kind");
  const withStatus = !exclude.has("status.code");
  const withInstance = !exclude.has("collector.instance.id");
  const scopes = new Set(config.include_instrumentation_scope);
  const dims = compileDimensions(config.dimensions);
  const callsDims = compileDimensions(config.calls_dimensions);
  const durationDims = compileDimensions(config.histogram.dimensions);
  const eventDims = compileDimensions(config.events.dimensions);
  // Without calls or histogram dimensions both metrics share one key per span.
  const sameKeys = callsDims === NO_DIMENSIONS && durationDims === NO_DIMENSIONS;
  const keyAttributes = new Set(config.resource_metrics_key_attributes);
  const divider = config.histogram.unit === "s" ? 1e9 : 1e6;
  const histogramOn = !config.histogram.disable;
  const exponential = config.histogram.exponential !== undefined;
  const maxSize = config.histogram.exponential?.max_size || 160;
  const bounds = explicitBounds(config);
  const exemplarsOn = config.exemplars.enabled;
  const maxExemplars = config.exemplars.max_per_data_point;
  const limit = config.aggregation_cardinality_limit > 0
    ? config.aggregation_cardinality_limit
    : UNLIMITED_SERIES_CEILING;
  const namespace = config.namespace;

  const resources = new LruMap<string, ResourceEntry>(config.resource_metrics_cache_size);
  const deltaStarts = new LruMap<string, bigint>(config.metric_timestamp_cache_size);
  const flushFailures = new RateLimitedLog(
    logger,
    "error",
    "The spanmetrics connector could not deliver its metrics",
    clock,
  );
  let ceilingWarned = false;
  const onOverflow = () => {
    if (config.aggregation_cardinality_limit === 0 && !ceilingWarned) {
      ceilingWarned = true;
      logger.warn(
        `A metric of one resource reached ${UNLIMITED_SERIES_CEILING} series; new dimension ` +
          `values go to the overflow series (set aggregation_cardinality_limit to choose the limit)`,
      );
    }
  };
  if (config.dimensions_cache_size !== 0) {
    logger.warn(
      "dimensions_cache_size is deprecated and has no effect: use aggregation_cardinality_limit",
    );
  }

  const makeSum = (attributes: KeyValue[], start: bigint, now: number): SumSeries => ({
    attributes,
    exemplars: [],
    start,
    lastSeen: now,
    count: 0,
    first: true,
  });
  const makeHistogram = (attributes: KeyValue[], start: bigint, now: number): HistogramSeries =>
    exponential
      ? { attributes, exemplars: [], start, lastSeen: now, histogram: new ExpoHistogram(maxSize) }
      : {
        attributes,
        exemplars: [],
        start,
        lastSeen: now,
        buckets: new Array<number>(bounds.length + 1).fill(0),
        count: 0,
        sum: 0,
      };

  function resourceFor(attributes: KeyValue[], now: number): ResourceEntry {
    const key = attributesKey(
      keyAttributes.size === 0 ? attributes : attributes.filter((kv) => keyAttributes.has(kv.key)),
    );
    let entry = resources.get(key);
    if (entry === undefined) {
      entry = {
        attributes: cloneAttributes(attributes),
        sums: new SeriesTable(limit, makeSum, onOverflow),
        histograms: histogramOn ? new SeriesTable(limit, makeHistogram, onOverflow) : undefined,
        events: new SeriesTable(limit, makeSum, onOverflow),
        lastSeen: now,
      };
      resources.set(key, entry);
    }
    if (config.metrics_expiration > 0) entry.lastSeen = now;
    return entry;
  }

  /** The series key: the fixed dimensions' values, then `name:value` of the configured ones. */
  function seriesKey(
    service: string,
    span: Span,
    extra: Dimensions,
    other: readonly KeyValue[],
    adjusted: boolean,
  ): string {
    let key = withService ? service : "";
    if (withName) key += `\u0000${span.name}`;
    if (withKind) key += `\u0000${spanKindName(span.kind)}`;
    if (withStatus) key += `\u0000${statusCodeName(span.status.code)}`;
    key += dimensionsKey(dims, span.attributes, other, anyValueToString);
    if (extra !== NO_DIMENSIONS) {
      key += dimensionsKey(extra, span.attributes, other, anyValueToString);
    }
    if (config.enable_metrics_sampling_method) {
      key += adjusted ? "\u0000extrapolated" : "\u0000counted";
    }
    return key;
  }

  function seriesAttributes(
    service: string,
    span: Span,
    extra: Dimensions,
    other: readonly KeyValue[],
    scope: InstrumentationScope,
    adjusted: boolean,
  ): KeyValue[] {
    const out: KeyValue[] = [];
    const put = (key: string, value: AnyValue) => {
      const at = out.findIndex((kv) => kv.key === key);
      if (at < 0) out.push({ key, value: cloneAnyValue(value) });
      else out[at]!.value = cloneAnyValue(value);
    };
    if (withService) put("service.name", service);
    if (withName) put("span.name", span.name);
    if (withKind) put("span.kind", spanKindName(span.kind));
    if (withStatus) put("status.code", statusCodeName(span.status.code));
    if (withInstance) put("collector.instance.id", instanceId);
    if (scope.name !== "" && scopes.has(scope.name)) {
      put("span.instrumentation.scope.name", scope.name);
      if (scope.version !== "") put("span.instrumentation.scope.version", scope.version);
    }
    if (config.enable_metrics_sampling_method) {
      put("sampling.method", adjusted ? "extrapolated" : "counted");
    }
    forEachDimension(dims, span.attributes, other, put);
    forEachDimension(extra, span.attributes, other, put);
    return out;
  }

  function observe(h: HistogramSeries, value: number, n: number): void {
    if ("histogram" in h) {
      h.histogram.observe(value, n);
      return;
    }
    h.sum += value * n;
    h.count += n;
    h.buckets[bucketIndex(bounds, value)]! += n;
  }

  /** What one `consume` shares: its time and the last trace state's adjusted count. */
  interface Batch {
    now: number;
    start: bigint;
    lastState: string | undefined;
    lastCount: { count: number; adjusted: boolean };
  }

  /** The state of one resource's spans, or undefined when it has no `service.name`. */
  interface ResourceState {
    entry: ResourceEntry;
    service: string;
    attributes: readonly KeyValue[];
  }

  function newBatch(): Batch {
    const now = clock.now();
    return {
      now,
      start: BigInt(Math.round(now)) * 1_000_000n,
      lastState: undefined,
      lastCount: { count: 1, adjusted: false },
    };
  }

  function resourceState(attributes: KeyValue[], batch: Batch): ResourceState | undefined {
    const serviceKv = attributes.find((kv) => kv.key === "service.name");
    if (serviceKv === undefined) return undefined;
    const service = typeof serviceKv.value === "string" ? serviceKv.value : "";
    return { entry: resourceFor(attributes, batch.now), service, attributes };
  }

  function aggregate(data: TracesData): void {
    const batch = newBatch();
    for (const rs of data.resourceSpans) {
      const r = resourceState(rs.resource.attributes, batch);
      if (r === undefined) continue;
      for (const ss of rs.scopeSpans) {
        for (const span of ss.spans) aggregateSpan(batch, r, ss.scope, span);
      }
    }
  }

  /** Counts one span. It reads the span and keeps nothing of it (IDs are copied). */
  function aggregateSpan(
    batch: Batch,
    r: ResourceState,
    scope: InstrumentationScope,
    span: Span,
  ): void {
    const { now, start } = batch;
    const { entry, service, attributes: resourceAttributes } = r;
    const histograms = entry.histograms;
    const duration = span.endTimeUnixNano > span.startTimeUnixNano
      ? Number(span.endTimeUnixNano - span.startTimeUnixNano) / divider
      : 0;
    if (span.traceState !== batch.lastState) {
      batch.lastState = span.traceState;
      batch.lastCount = adjustedCount(span.traceState, random);
    }
    const { count, adjusted } = batch.lastCount;
    const exemplar = exemplarsOn && span.traceId.length > 0 && !isZero(span.traceId);
    const key = seriesKey(service, span, callsDims, resourceAttributes, adjusted);
    let calls = entry.sums.find(key, now);
    if (calls === undefined) {
      const found = entry.sums.insert(
        key,
        () => seriesAttributes(service, span, callsDims, resourceAttributes, scope, adjusted),
        start,
        now,
      );
      calls = found.series;
      if (!found.overflow && exemplar) {
        addExemplar(calls, maxExemplars, span.traceId, span.spanId, duration);
      }
    } else if (exemplar) {
      addExemplar(calls, maxExemplars, span.traceId, span.spanId, duration);
    }
    calls.count += count;
    if (histograms !== undefined) {
      const hKey = sameKeys
        ? key
        : seriesKey(service, span, durationDims, resourceAttributes, adjusted);
      let h = histograms.find(hKey, now);
      if (h === undefined) {
        const found = histograms.insert(
          hKey,
          () => seriesAttributes(service, span, durationDims, resourceAttributes, scope, adjusted),
          start,
          now,
        );
        h = found.series;
        if (!found.overflow && exemplar) {
          addExemplar(h, maxExemplars, span.traceId, span.spanId, duration);
        }
      } else if (exemplar) {
        addExemplar(h, maxExemplars, span.traceId, span.spanId, duration);
      }
      observe(h, duration, count);
    }
    if (config.events.enabled && span.events.length > 0) {
      countEvents(entry, resourceAttributes, service, span, scope, adjusted, exemplar, {
        duration,
        count,
        start,
        now,
      });
    }
  }

  function countEvents(
    entry: ResourceEntry,
    resourceAttributes: readonly KeyValue[],
    service: string,
    span: Span,
    scope: InstrumentationScope,
    adjusted: boolean,
    exemplar: boolean,
    at: { duration: number; count: number; start: bigint; now: number },
  ): void {
    const { duration, count, start, now } = at;
    for (const event of span.events) {
      const merged = resourceAttributes.slice();
      for (const kv of event.attributes) {
        const at = merged.findIndex((m) => m.key === kv.key);
        if (at < 0) merged.push(kv);
        else merged[at] = kv;
      }
      const eKey = seriesKey(service, span, eventDims, merged, adjusted);
      let e = entry.events.find(eKey, now);
      if (e === undefined) {
        const found = entry.events.insert(
          eKey,
          () => seriesAttributes(service, span, eventDims, merged, scope, adjusted),
          start,
          now,
        );
        e = found.series;
        if (!found.overflow && exemplar) {
          addExemplar(e, maxExemplars, span.traceId, span.spanId, duration);
        }
      } else if (exemplar) addExemplar(e, maxExemplars, span.traceId, span.spanId, duration);
      e.count += count;
    }
  }

  function build(): MetricsData {
    return buildMetrics(resources.entries(), {
      timestamp: BigInt(Math.round(clock.now())) * 1_000_000n,
      delta,
      namespace,
      unit: config.histogram.unit,
      exponential,
      bounds,
      events: config.events.enabled,
      deltaStarts,
    });
  }

  function reset(): void {
    if (delta) {
      resources.clear();
      return;
    }
    resources.clearEvicted();
    const now = clock.now();
    for (const [key, entry] of resources.entries()) {
      const tables = [entry.sums, entry.events, ...(entry.histograms ? [entry.histograms] : [])];
      for (const t of tables as SeriesTable<SeriesBase>[]) {
        if (exemplarsOn) t.clearExemplars();
        if (config.series_expiration > 0) t.expire(config.series_expiration, now);
      }
      if (config.metrics_expiration > 0 && now - entry.lastSeen >= config.metrics_expiration) {
        resources.delete(key);
      }
    }
  }

  let timer: unknown;
  let stopped = false;
  let flushing: Promise<void> = Promise.resolve();

  async function flush(): Promise<void> {
    const data = build();
    reset();
    if (data.resourceMetrics.length === 0) return;
    try {
      await next.consume(Payload.of("metrics", data));
    } catch (error) {
      flushFailures.log({ error: error instanceof Error ? error.message : String(error) });
    }
  }

  function schedule(): void {
    timer = clock.setTimer(() => {
      if (stopped) return;
      flushing = flushing.then(flush).finally(() => {
        if (!stopped) schedule();
      });
    }, config.metrics_flush_interval);
  }

  // Without glob dimensions and events, an encoded payload is read pruned to what the series
  // need (see _scan.ts): most of a span's bytes are never decoded.
  const prunable = config.dimensions.every((d) => d.glob === undefined || d.glob === "") &&
    config.calls_dimensions.every((d) => d.glob === undefined || d.glob === "") &&
    config.histogram.dimensions.every((d) => d.glob === undefined || d.glob === "") &&
    !config.events.enabled;
  const wanted = wantedKeys(
    [...dims.named, ...callsDims.named, ...durationDims.named].map((d) => d.name),
  );
  const consumer: Consumer<"traces"> = {
    mutatesData: false,
    consume(payload) {
      if (stopped) return Promise.resolve();
      const bytes = prunable ? payload.encodedProto : undefined;
      try {
        if (bytes === undefined) aggregate(payload.read());
        else {
          const batch = newBatch();
          scanTraces(bytes, wanted, {
            resource: (attributes) => resourceState(attributes, batch),
            span: (r, scope, span) => aggregateSpan(batch, r, scope, span),
          });
        }
      } catch (error) {
        return Promise.reject(
          permanentError(
            `The span_metrics connector could not read the spans: ${
              error instanceof Error ? error.message : String(error)
            }`,
            { cause: error },
          ),
        );
      }
      return Promise.resolve();
    },
  };

  return {
    consumers: { traces: consumer },
    start() {
      stopped = false;
      schedule();
      return Promise.resolve();
    },
    async shutdown() {
      if (stopped) return;
      stopped = true;
      clock.clearTimer(timer);
      await flushing;
      // Unlike the Collector, send what was aggregated since the last flush before stopping.
      await flush();
    },
  };
}

function isZero(id: Uint8Array): boolean {
  for (let i = 0; i < id.length; i++) if (id[i] !== 0) return false;
  return true;
}

/** The `span_metrics` connector factory (`spanmetrics` is its older name, as in the Collector). */
export const spanmetricsFactory: ConnectorFactory<SpanmetricsConfig> = {
  kind: "connector",
  type: "span_metrics",
  aliases: ["spanmetrics"],
  configSchema: spanmetricsConfigSchema,
  // A series is summed in one instance.
  placement: { sharded: "service" },
  routes: { traces: { metrics: "alpha" } },
  create(settings, _inputs, next): Connector {
    const out = next.metrics;
    if (out === undefined) {
      throw new Error("No metrics pipeline receives from this connector");
    }
    return createSpanmetricsConnector(settings.config, out, { logger: settings.logger });
  },
};
