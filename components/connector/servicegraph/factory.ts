/**
 * The `servicegraph` connector: traces in, the edges between services out, as the Collector
 * contrib's. A client (or producer) span and the server (or consumer) span whose parent it is
 * make one edge, paired in a store keyed by trace and span ID; a client span naming a database
 * (`database_name_attributes`) is a whole edge by itself. An edge that finds no pair within
 * `store.ttl` becomes a virtual-node edge when `virtual_node_peer_attributes` is set: a root
 * server span gets the client `user`, a client span the server named by its first peer attribute
 * (else `unknown`); otherwise it is dropped. Completed edges count into
 * `traces_service_graph_request_total`, `…_request_failed_total` and the latency histograms
 * `…_request_server` and `…_request_client` (seconds; explicit or exponential), cumulative, sent
 * every `metrics_flush_interval` (0: after every batch).
 *
 * Bounded: the store holds at most `store.max_items` unpaired edges (more spans are dropped and
 * counted), a series not updated for 15 minutes is removed (checked every `cache_loop`), and at
 * most {@linkcode MAX_SERIES} series exist — past that, new edges count into one overflow series
 * (`otel.metric.overflow: true`), which the Collector does not bound.
 *
 * @module
 */
import type { Connector, ConnectorFactory } from "../../component.ts";
import { type Clock, SYSTEM_CLOCK } from "../../../lib/clock.ts";
import type { Consumer } from "../../../lib/consumer/consumer.ts";
import { RateLimitedLog } from "../../../lib/log_throttle.ts";
import { anyValueToString } from "../../../lib/pdata/attributes.ts";
import { Payload } from "../../../lib/pdata/payload.ts";
import {
  AggregationTemporality,
  type KeyValue,
  type Metric,
  type MetricsData,
  type Span,
  SpanKind,
  StatusCode,
  type TracesData,
} from "../../../lib/pdata/types.ts";
import { type Logger, NOOP_LOGGER } from "../../../lib/telemetry/logger.ts";
import type { Counter, Meter } from "../../../lib/telemetry/metrics.ts";
import { ExpoHistogram } from "../spanmetrics/_expo_histogram.ts";
import {
  DEFAULT_LATENCY_BUCKETS_S,
  type ServicegraphConfig,
  servicegraphConfigSchema,
} from "./config.ts";

/** The most series; new edges past it count into the overflow series. */
export const MAX_SERIES = 100_000;

/** How long a series may go without an update before it is removed, as the Collector's. */
export const STALE_SERIES_MS = 15 * 60_000;

/** The connection types of an edge. */
type ConnectionType = "" | "messaging_system" | "database" | "virtual_node";

interface Edge {
  readonly spanIdEmpty: boolean;
  connectionType: ConnectionType;
  client: string;
  server: string;
  clientLatency: number;
  serverLatency: number;
  failed: boolean;
  dimensions: Map<string, string>;
  peer: Map<string, string>;
  virtualNode: "" | "client" | "server";
  expiresAt: number;
}

interface Series {
  attributes: KeyValue[];
  lastUpdated: number;
  total: number;
  failed: number;
  server: LatencyHistogram;
  client: LatencyHistogram;
}

/** One latency histogram: explicit bounds or exponential. */
type LatencyHistogram =
  | { kind: "explicit"; counts: number[]; count: number; sum: number }
  | { kind: "exponential"; histogram: ExpoHistogram };

const OVERFLOW = "otel.metric.overflow";

function find(list: readonly KeyValue[], key: string): KeyValue | undefined {
  for (let i = 0; i < list.length; i++) if (list[i]!.key === key) return list[i];
  return undefined;
}

/** The first of `keys` found in `lists` (each key tried in each list in order), as a string. */
function firstValue(
  keys: readonly string[],
  ...lists: (readonly KeyValue[])[]
): string | undefined {
  for (const key of keys) {
    for (const list of lists) {
      const kv = find(list, key);
      if (kv !== undefined) return anyValueToString(kv.value);
    }
  }
  return undefined;
}

function idKey(traceId: Uint8Array, spanId: Uint8Array): string {
  let s = "";
  for (let i = 0; i < traceId.length; i++) s += String.fromCharCode(traceId[i]!);
  s += "/";
  for (let i = 0; i < spanId.length; i++) s += String.fromCharCode(spanId[i]!);
  return s;
}

function isEmptyId(id: Uint8Array): boolean {
  for (let i = 0; i < id.length; i++) if (id[i] !== 0) return false;
  return true;
}

function latencySeconds(span: Span): number {
  return span.endTimeUnixNano > span.startTimeUnixNano
    ? Number(span.endTimeUnixNano - span.startTimeUnixNano) / 1e9
    : 0;
}

/** Options of {@linkcode createServicegraphConnector}. */
export interface ServicegraphOptions {
  /** @default SYSTEM_CLOCK */
  readonly clock?: Clock;
  /** @default no logging */
  readonly logger?: Logger;
  /** Where `otelcol_connector_servicegraph_*` are counted. @default none */
  readonly meter?: Meter;
}

/** Creates one `servicegraph` connector feeding `next`. */
export function createServicegraphConnector(
  config: ServicegraphConfig,
  next: Consumer<"metrics">,
  options: ServicegraphOptions = {},
): Connector {
  const clock = options.clock ?? SYSTEM_CLOCK;
  const logger = options.logger ?? NOOP_LOGGER;
  const counter = (name: string, help: string): Counter | undefined =>
    options.meter?.counter(`otelcol_connector_servicegraph_${name}`, help);
  const droppedSpans = counter("dropped_spans", "Number of spans dropped when trying to add edges");
  const totalEdges = counter("total_edges", "Total number of unique edges");
  const expiredEdges = counter(
    "expired_edges",
    "Number of edges that expired before finding its matching span",
  );
  const exponential = config.latency_histogram_buckets === undefined &&
    config.exponential_histogram_max_size > 0;
  const bounds = exponential
    ? []
    : config.latency_histogram_buckets ?? [...DEFAULT_LATENCY_BUCKETS_S];
  const dbAttributes = config.database_name_attributes.length > 0
    ? config.database_name_attributes
    : ["db.name"];
  const peerAttributes = config.virtual_node_peer_attributes;
  const cacheLoop = config.cache_loop > 0 ? config.cache_loop : 60_000;
  const expirationLoop = config.store_expiration_loop > 0 ? config.store_expiration_loop : 2000;
  const flushFailures = new RateLimitedLog(
    logger,
    "error",
    "The servicegraph connector could not deliver its metrics",
    clock,
  );

  const store = new Map<string, Edge>();
  const series = new Map<string, Series>();
  let startTime = BigInt(Math.round(clock.now())) * 1_000_000n;
  let overflowWarned = false;

  const newHistogram = (): LatencyHistogram =>
    exponential
      ? { kind: "exponential", histogram: new ExpoHistogram(config.exponential_histogram_max_size) }
      : {
        kind: "explicit",
        counts: new Array<number>(bounds.length + 1).fill(0),
        count: 0,
        sum: 0,
      };

  function observe(h: LatencyHistogram, value: number): void {
    if (h.kind === "exponential") {
      h.histogram.observe(value, 1);
      return;
    }
    let lo = 0;
    let hi = bounds.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (bounds[mid]! < value) lo = mid + 1;
      else hi = mid;
    }
    h.counts[lo]!++;
    h.count++;
    h.sum += value;
  }

  function complete(e: Edge): void {
    const failed = e.failed ? "true" : "false";
    let key = `${e.client}\u0000${e.server}\u0000${e.connectionType}\u0000${failed}`;
    for (const dim of config.dimensions) {
      for (const kind of ["client", "server"]) {
        const v = e.dimensions.get(`${kind}_${dim}`);
        if (v !== undefined) key += `\u0000${kind}_${dim}_${v}`;
      }
    }
    const attributes: KeyValue[] = [
      { key: "client", value: e.client },
      { key: "server", value: e.server },
      { key: "connection_type", value: e.connectionType },
      { key: "failed", value: e.failed },
    ];
    for (const [k, v] of e.dimensions) attributes.push({ key: k, value: v });
    if (config.virtual_node_extra_label) {
      attributes.push({ key: "virtual_node", value: e.virtualNode });
    }
    let s = series.get(key);
    if (s === undefined && series.size >= MAX_SERIES) {
      key = OVERFLOW;
      s = series.get(key);
      if (s === undefined && !overflowWarned) {
        overflowWarned = true;
        logger.warn(
          `The service graph reached ${MAX_SERIES} series; new edges count into the overflow series`,
        );
      }
      attributes.splice(0, attributes.length, { key: OVERFLOW, value: true });
    }
    if (s === undefined) {
      s = {
        attributes,
        lastUpdated: clock.now(),
        total: 0,
        failed: 0,
        server: newHistogram(),
        client: newHistogram(),
      };
      series.set(key, s);
    } else if (key !== OVERFLOW) {
      // As the Collector: the latest edge's dimensions describe the series.
      s.attributes = attributes;
    }
    s.lastUpdated = clock.now();
    s.total++;
    if (e.failed) s.failed++;
    observe(s.server, e.serverLatency);
    observe(s.client, e.clientLatency);
  }

  /** Updates or adds the edge of `key`; false when the store is full. */
  function upsert(key: string, spanIdEmpty: boolean, update: (e: Edge) => void): boolean {
    const stored = store.get(key);
    if (stored !== undefined) {
      update(stored);
      if (stored.client !== "" && stored.server !== "") {
        store.delete(key);
        complete(stored);
      }
      return true;
    }
    const e: Edge = {
      spanIdEmpty,
      connectionType: "",
      client: "",
      server: "",
      clientLatency: 0,
      serverLatency: 0,
      failed: false,
      dimensions: new Map(),
      peer: new Map(),
      virtualNode: "",
      expiresAt: clock.now() + config.store.ttl,
    };
    update(e);
    if (e.client !== "" && e.server !== "") {
      totalEdges?.add(1);
      complete(e);
      return true;
    }
    if (store.size >= config.store.max_items) return false;
    store.set(key, e);
    totalEdges?.add(1);
    return true;
  }

  function dimensionsOf(
    kind: string,
    into: Map<string, string>,
    resource: readonly KeyValue[],
    span: readonly KeyValue[],
  ): void {
    for (const dim of config.dimensions) {
      const v = firstValue([dim], resource, span);
      if (v !== undefined) into.set(`${kind}_${dim}`, v);
    }
  }

  function aggregate(data: TracesData): void {
    for (const rs of data.resourceSpans) {
      const resource = rs.resource.attributes;
      const serviceKv = find(resource, "service.name");
      if (serviceKv === undefined) continue;
      const service = anyValueToString(serviceKv.value);
      for (const ss of rs.scopeSpans) {
        for (const span of ss.spans) {
          let kept = true;
          const kind = span.kind;
          const failed = span.status.code === StatusCode.ERROR;
          if (kind === SpanKind.CLIENT || kind === SpanKind.PRODUCER) {
            const type: ConnectionType = kind === SpanKind.PRODUCER ? "messaging_system" : "";
            kept = upsert(idKey(span.traceId, span.spanId), isEmptyId(span.spanId), (e) => {
              e.connectionType = type;
              e.client = service;
              e.clientLatency = latencySeconds(span);
              e.failed ||= failed;
              dimensionsOf("client", e.dimensions, resource, span.attributes);
              for (const attr of peerAttributes) {
                const kv = find(span.attributes, attr);
                if (kv !== undefined) {
                  e.peer.set(attr, anyValueToString(kv.value));
                  break;
                }
              }
              const db = firstValue(dbAttributes, resource, span.attributes);
              if (db !== undefined) {
                e.connectionType = "database";
                e.server = db;
                e.serverLatency = latencySeconds(span);
              }
            });
          } else if (kind === SpanKind.SERVER || kind === SpanKind.CONSUMER) {
            const type: ConnectionType = kind === SpanKind.CONSUMER ? "messaging_system" : "";
            kept = upsert(
              idKey(span.traceId, span.parentSpanId),
              span.parentSpanId.length === 0 || isEmptyId(span.parentSpanId),
              (e) => {
                e.connectionType = type;
                e.server = service;
                e.serverLatency = latencySeconds(span);
                e.failed ||= failed;
                dimensionsOf("server", e.dimensions, resource, span.attributes);
              },
            );
          } else continue;
          if (!kept) droppedSpans?.add(1);
        }
      }
    }
  }

  /** Removes expired edges, oldest first, turning them into virtual-node edges where it can. */
  function expire(): void {
    const now = clock.now();
    for (const [key, e] of store) {
      if (e.expiresAt >= now) break;
      store.delete(key);
      expiredEdges?.add(1);
      if (peerAttributes.length === 0) continue;
      e.connectionType = "virtual_node";
      if (e.client === "" && e.spanIdEmpty) {
        e.client = "user";
        if (config.virtual_node_extra_label) e.virtualNode = "client";
        complete(e);
      }
      if (e.server === "") {
        let peer = "unknown";
        for (const attr of peerAttributes) {
          const v = e.peer.get(attr);
          if (v !== undefined) {
            peer = v;
            break;
          }
        }
        e.server = peer;
        if (config.virtual_node_extra_label) e.virtualNode = "server";
        complete(e);
      }
    }
  }

  function cleanSeries(): void {
    const now = clock.now();
    for (const [key, s] of series) if (s.lastUpdated + STALE_SERIES_MS < now) series.delete(key);
  }

  function build(): MetricsData | undefined {
    if (series.size === 0) return undefined;
    const now = BigInt(Math.round(clock.now() - config.metrics_timestamp_offset)) * 1_000_000n;
    const all = [...series.values()];
    const sum = (name: string, value: (s: Series) => number, only: (s: Series) => boolean) => ({
      name,
      description: "",
      unit: "",
      metadata: [],
      data: {
        type: "sum" as const,
        isMonotonic: true,
        aggregationTemporality: AggregationTemporality.CUMULATIVE,
        dataPoints: all.filter(only).map((s) => ({
          attributes: s.attributes.map((kv) => ({ ...kv })),
          startTimeUnixNano: startTime,
          timeUnixNano: now,
          value: BigInt(value(s)),
          exemplars: [],
          flags: 0,
        })),
      },
    });
    const histogram = (name: string, pick: (s: Series) => LatencyHistogram): Metric => {
      const base = (s: Series) => ({
        attributes: s.attributes.map((kv) => ({ ...kv })),
        startTimeUnixNano: startTime,
        timeUnixNano: now,
        exemplars: [],
        flags: 0,
      });
      if (exponential) {
        return {
          name,
          description: "",
          unit: "s",
          metadata: [],
          data: {
            type: "exponentialHistogram",
            aggregationTemporality: AggregationTemporality.CUMULATIVE,
            dataPoints: all.map((s) => {
              const dp = {
                ...base(s),
                count: 0n,
                scale: 0,
                zeroCount: 0n,
                positive: { offset: 0, bucketCounts: [] as bigint[] },
                negative: { offset: 0, bucketCounts: [] as bigint[] },
                zeroThreshold: 0,
              };
              (pick(s) as { histogram: ExpoHistogram }).histogram.fill(dp);
              return dp;
            }),
          },
        };
      }
      return {
        name,
        description: "",
        unit: "s",
        metadata: [],
        data: {
          type: "histogram",
          aggregationTemporality: AggregationTemporality.CUMULATIVE,
          dataPoints: all.map((s) => {
            const h = pick(s) as { counts: number[]; count: number; sum: number };
            return {
              ...base(s),
              count: BigInt(h.count),
              sum: h.sum,
              bucketCounts: h.counts.map(BigInt),
              explicitBounds: bounds.slice(),
            };
          }),
        },
      };
    };
    const metrics: Metric[] = [
      sum("traces_service_graph_request_total", (s) => s.total, () => true),
    ];
    if (all.some((s) => s.failed > 0)) {
      metrics.push(
        sum("traces_service_graph_request_failed_total", (s) => s.failed, (s) => s.failed > 0),
      );
    }
    metrics.push(histogram("traces_service_graph_request_server", (s) => s.server));
    metrics.push(histogram("traces_service_graph_request_client", (s) => s.client));
    return {
      resourceMetrics: [{
        resource: { attributes: [], droppedAttributesCount: 0 },
        scopeMetrics: [{
          scope: {
            name: "traces_service_graph",
            version: "",
            attributes: [],
            droppedAttributesCount: 0,
          },
          metrics,
          schemaUrl: "",
        }],
        schemaUrl: "",
      }],
    };
  }

  async function flush(): Promise<void> {
    const data = build();
    if (data === undefined) return;
    try {
      await next.consume(Payload.of("metrics", data));
    } catch (error) {
      flushFailures.log({ error: error instanceof Error ? error.message : String(error) });
    }
  }

  /** The pending timer of each loop. */
  const timers = new Map<string, unknown>();
  let stopped = true;
  let flushing: Promise<void> = Promise.resolve();
  const every = (name: string, ms: number, run: () => void | Promise<void>) => {
    const tick = () => {
      if (stopped) return;
      Promise.resolve(run()).finally(() => {
        if (!stopped) timers.set(name, clock.setTimer(tick, ms));
      });
    };
    timers.set(name, clock.setTimer(tick, ms));
  };

  return {
    consumers: {
      traces: {
        mutatesData: false,
        async consume(payload) {
          aggregate(payload.read());
          if (config.metrics_flush_interval <= 0 && !stopped) {
            flushing = flushing.then(flush);
            await flushing;
          }
        },
      },
    },
    start() {
      stopped = false;
      startTime = BigInt(Math.round(clock.now())) * 1_000_000n;
      if (config.metrics_flush_interval > 0) {
        every("flush", config.metrics_flush_interval, () => flushing = flushing.then(flush));
      }
      every("expire", expirationLoop, expire);
      every("clean", cacheLoop, cleanSeries);
      return Promise.resolve();
    },
    async shutdown() {
      if (stopped) return;
      stopped = true;
      for (const t of timers.values()) clock.clearTimer(t);
      await flushing;
      // Unlike the Collector, send the last counts before stopping.
      await flush();
    },
  };
}

/** The `servicegraph` connector factory. */
export const servicegraphFactory: ConnectorFactory<ServicegraphConfig> = {
  kind: "connector",
  type: "servicegraph",
  configSchema: servicegraphConfigSchema,
  // Pairing needs a trace's client and server spans in one instance (trace ID), but an edge's
  // cumulative series would then come from every instance, each with a part of the count. One
  // instance keeps each series whole; see the "Shard split (issue 19)" section of
  // bench/RESULTS.md for the cost and the way out (trace-ID shards with merged edge series).
  placement: "single",
  routes: { traces: { metrics: "alpha" } },
  create(settings, _inputs, next): Connector {
    const out = next.metrics;
    if (out === undefined) throw new Error("No metrics pipeline receives from this connector");
    return createServicegraphConnector(settings.config, out, {
      logger: settings.logger,
      meter: settings.meter,
    });
  },
};
