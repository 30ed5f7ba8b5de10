/**
 * The `prometheus` exporter: keeps the last value of every series it receives and serves them on
 * `/metrics` of its own HTTP listener, for a Prometheus server to scrape, as the OpenTelemetry
 * Collector's `prometheus` exporter does (see `_accumulator.ts` for how deltas become cumulative
 * series and `_exposition.ts` for names and labels).
 *
 * Content negotiation on `Accept`, as the Prometheus client library does it: the delimited
 * protobuf exposition when asked for (Prometheus asks with native histograms enabled; it is the
 * only format carrying exponential histograms, as native histograms), OpenMetrics 1.0
 * (`application/openmetrics-text`) when `enable_open_metrics` is on and the scraper accepts it,
 * else the text format 0.0.4. Exemplars appear in OpenMetrics and protobuf. In the text formats
 * exponential histograms go out as count, sum and a `+Inf` bucket (the Collector's output too);
 * every such series exposed is counted in `tfo_exporter_prometheus_degraded_native_histograms`.
 *
 * Consuming only updates the in-memory state (no queue, no retries: nothing can fail
 * downstream), and never changes the data. The state is bounded by the series seen within
 * `metric_expiration`; a sweep every `metric_expiration` (at most every minute) drops the rest.
 * It runs as a single instance (the scrape endpoint is one port).
 *
 * @module
 */
import type { CreateSettings, Exporter, ExporterFactory } from "../../component.ts";
import type { Consumer, SignalConsumers } from "../../../lib/consumer/consumer.ts";
import type { MetricsData, Signal } from "../../../lib/pdata/types.ts";
import { type HttpServer, startHttpServer } from "../../../lib/net/http_server.ts";
import { writeOpenMetrics, writeText } from "../../../lib/prometheus/write.ts";
import { writeProtobuf } from "../../../lib/prometheus/write_proto.ts";
import { cloneAttributes } from "../../../lib/pdata/clone.ts";
import { Accumulator, type DropReason } from "./_accumulator.ts";
import { Exposition } from "./_exposition.ts";
import {
  type PrometheusExporterConfig,
  prometheusExporterConfigSchema,
  translation,
} from "./config.ts";

const TEXT_TYPE = "text/plain; version=0.0.4; charset=utf-8; escaping=underscores";
const PROTOBUF_TYPE = "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; " +
  "encoding=delimited; escaping=underscores";

/** The exposition format chosen for a request. */
export type Negotiated =
  | { format: "text" }
  | { format: "openmetrics"; version: string }
  | { format: "protobuf" };

/**
 * Picks the format for an `Accept` header, as the Prometheus client library does: the entries
 * by descending `q` (ties in order); the first that is delimited protobuf, OpenMetrics 1.0.0 /
 * 0.0.1 (only when enabled) or text wins; anything else gets the text format.
 */
export function negotiate(accept: string | null, openMetrics: boolean): Negotiated {
  if (accept === null) return { format: "text" };
  const entries = accept.split(",").map((part, index) => {
    const [type = "", ...params] = part.split(";").map((s) => s.trim());
    let q = 1;
    let version = "";
    let proto = "";
    let encoding = "";
    for (const p of params) {
      const eq = p.indexOf("=");
      const key = p.slice(0, eq).trim().toLowerCase();
      const value = p.slice(eq + 1).trim();
      if (key === "q") q = Number(value);
      if (key === "version") version = value;
      if (key === "proto") proto = value;
      if (key === "encoding") encoding = value;
    }
    return {
      type: type.toLowerCase(),
      q: Number.isNaN(q) ? 0 : q,
      version,
      proto,
      encoding,
      index,
    };
  });
  entries.sort((a, b) => b.q - a.q || a.index - b.index);
  for (const e of entries) {
    if (e.q <= 0) continue;
    if (
      e.type === "application/vnd.google.protobuf" &&
      e.proto === "io.prometheus.client.MetricFamily" && e.encoding === "delimited"
    ) {
      return { format: "protobuf" };
    }
    if (openMetrics && e.type === "application/openmetrics-text") {
      if (e.version === "" || e.version === "1.0.0") {
        return { format: "openmetrics", version: "1.0.0" };
      }
      if (e.version === "0.0.1") return { format: "openmetrics", version: "0.0.1" };
    }
    if (e.type === "text/plain" || e.type === "*/*") return { format: "text" };
  }
  return { format: "text" };
}

/** A matcher of resource attribute keys for the resource-to-label settings, or none. */
function resourceLabelMatcher(
  config: PrometheusExporterConfig,
): ((key: string) => boolean) | undefined {
  const { included, excluded } = config.resource_constant_labels;
  if (included.length > 0 || excluded.length > 0) {
    const glob = (p: string) =>
      new RegExp(
        "^" + p.replace(/[.+^${}()|[\]\\]/g, "\\$&").replaceAll("*", ".*").replaceAll("?", ".") +
          "$",
        "s",
      );
    const inc = included.map(glob);
    const exc = excluded.map(glob);
    return (key) => {
      if (exc.some((r) => r.test(key))) return false;
      if (inc.length === 0) return true;
      return inc.some((r) => r.test(key));
    };
  }
  const legacy = config.resource_to_telemetry_conversion;
  if (!legacy.enabled) return undefined;
  if (!legacy.exclude_service_attributes) return () => true;
  return (key) =>
    key !== "service.name" && key !== "service.namespace" && key !== "service.instance.id";
}

/** The exporter's state and scrape handler, without the listener (for tests). */
export interface PrometheusState {
  /** Takes one batch. */
  consume(data: MetricsData): void;
  /** The scrape answer for an `Accept` header. */
  scrape(accept: string | null): { body: string | Uint8Array; contentType: string };
  /** Drops expired series. */
  sweep(): void;
  /** Series held. */
  readonly size: number;
}

/** Builds the exporter's state from its config. */
export function createPrometheusState(
  config: PrometheusExporterConfig,
  hooks: {
    now?: () => number;
    onDrop?: (reason: DropReason, points: number) => void;
    onConflict?: (
      reason: "type_conflict" | "invalid_name" | "duplicate_series" | "invalid_histogram",
      name: string,
    ) => void;
    onDegraded?: (series: number) => void;
  } = {},
): PrometheusState {
  const now = hooks.now ?? Date.now;
  const { withSuffixes, utf8Allowed } = translation(config);
  const accumulator = new Accumulator({
    expirationMs: config.metric_expiration,
    resourceLabels: resourceLabelMatcher(config),
    now,
    ...(hooks.onDrop === undefined ? {} : { onDrop: hooks.onDrop }),
  });
  const exposition = new Exposition({
    naming: { namespace: config.namespace, withSuffixes, utf8Allowed },
    constLabels: config.const_labels,
    withoutScopeInfo: config.without_scope_info,
    sendTimestamps: config.send_timestamps,
    expirationMs: config.metric_expiration,
    ...(hooks.onConflict === undefined ? {} : { onConflict: hooks.onConflict }),
  }, now);
  return {
    consume(data) {
      for (const rm of data.resourceMetrics) {
        // Copies, once per resource and scope: decoded bytes values are views into the request,
        // which a stored series must not keep alive.
        const resource = cloneAttributes(rm.resource.attributes);
        for (const sm of rm.scopeMetrics) {
          const scope = {
            name: sm.scope.name,
            version: sm.scope.version,
            schemaUrl: sm.schemaUrl,
            attributes: cloneAttributes(sm.scope.attributes),
          };
          for (const metric of sm.metrics) accumulator.add(metric, scope, resource);
        }
      }
    },
    scrape(accept) {
      const series = accumulator.collect();
      const families = exposition.families(series);
      const chosen = negotiate(accept, config.enable_open_metrics);
      if (chosen.format === "protobuf") {
        return { body: writeProtobuf(families), contentType: PROTOBUF_TYPE };
      }
      if (hooks.onDegraded !== undefined) {
        let degraded = 0;
        for (const s of series) if (s.kind === "exponentialHistogram") degraded++;
        if (degraded > 0) hooks.onDegraded(degraded);
      }
      if (chosen.format === "openmetrics") {
        return {
          body: writeOpenMetrics(families),
          contentType: `application/openmetrics-text; version=${chosen.version}; ` +
            "charset=utf-8; escaping=underscores",
        };
      }
      return { body: writeText(families), contentType: TEXT_TYPE };
    },
    sweep() {
      accumulator.sweep();
    },
    get size() {
      return accumulator.size;
    },
  };
}

/** A `prometheus` exporter instance. */
export interface PrometheusExporter extends Exporter {
  /** The port `/metrics` is served on, once started. */
  readonly port: number | undefined;
}

/** Creates one `prometheus` exporter instance. */
export function createPrometheusExporter(
  settings: CreateSettings<PrometheusExporterConfig>,
  signals: readonly Signal[],
): PrometheusExporter {
  const { config, logger, meter } = settings;
  if (signals.some((s) => s !== "metrics")) {
    throw new Error(`The prometheus exporter "${settings.id}" exports metrics only`);
  }
  const dropped = new Map<DropReason, { add(n: number): void }>();
  const dropCounter = (reason: DropReason) => {
    let c = dropped.get(reason);
    if (c === undefined) {
      c = meter.counter(
        "tfo_exporter_prometheus_dropped_points",
        "Metric points the prometheus exporter could not turn into a series",
        { reason },
      );
      dropped.set(reason, c);
    }
    return c;
  };
  const conflicts = meter.counter(
    "tfo_exporter_prometheus_dropped_series",
    "Series left out of a scrape: another type has the name, no valid name, or a duplicate",
  );
  const degraded = meter.counter(
    "tfo_exporter_prometheus_degraded_native_histograms",
    "Exponential histogram series exposed as count, sum and +Inf bucket (text formats)",
  );
  const warned = new Set<string>();
  const state = createPrometheusState(config, {
    onDrop(reason, points) {
      dropCounter(reason).add(points);
      if (!warned.has(reason)) {
        warned.add(reason);
        logger.warn("Dropping metric points the prometheus exporter cannot expose", {
          reason,
          points,
        });
      }
    },
    onConflict(reason, name) {
      conflicts.add(1);
      const key = `${reason}:${name}`;
      if (!warned.has(key) && warned.size < 1000) {
        warned.add(key);
        logger.warn("Leaving a series out of the scrape", { reason, name });
      }
    },
    onDegraded(n) {
      degraded.add(n);
    },
  });

  let server: HttpServer | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;
  let stopped = false;

  const consumer: Consumer<"metrics"> = {
    mutatesData: false,
    consume(payload) {
      state.consume(payload.peek());
      return Promise.resolve();
    },
  };
  const consumers: SignalConsumers = { metrics: consumer };

  return {
    consumers,
    /** The port `/metrics` is served on, once started. */
    get port() {
      return server?.port;
    },
    async start() {
      if (stopped || server !== undefined) return;
      let tls: { cert: string; key: string } | undefined;
      if (config.tls !== undefined) {
        const read = async (path: string, what: string) => {
          try {
            return await Deno.readTextFile(path);
          } catch (error) {
            throw new Error(
              `Cannot start exporter "${settings.id}": cannot read the ${what} "${path}"`,
              { cause: error },
            );
          }
        };
        tls = {
          cert: await read(config.tls.cert_file, "certificate file"),
          key: await read(config.tls.key_file, "key file"),
        };
      }
      server = await startHttpServer(config.endpoint, (request) => {
        if (new URL(request.url).pathname !== "/metrics") {
          return new Response("404 page not found\n", { status: 404 });
        }
        const { body, contentType } = state.scrape(request.headers.get("accept"));
        return new Response(
          request.method === "HEAD" ? null : body as string | Uint8Array<ArrayBuffer>,
          {
            headers: { "Content-Type": contentType },
          },
        );
      }, { logger, tls });
      if (config.metric_expiration > 0) {
        const id = setInterval(() => state.sweep(), Math.min(config.metric_expiration, 60_000));
        Deno.unrefTimer(id as unknown as number);
        timer = id;
      }
      logger.info("Serving Prometheus metrics", { endpoint: server.address, path: "/metrics" });
    },
    async shutdown() {
      stopped = true;
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      await server?.shutdown();
      server = undefined;
    },
  };
}

/** The `prometheus` exporter factory. */
export const prometheusExporterFactory: ExporterFactory<PrometheusExporterConfig> = {
  kind: "exporter",
  type: "prometheus",
  configSchema: prometheusExporterConfigSchema,
  // One /metrics endpoint holding every series.
  placement: "single",
  signals: { metrics: "beta" },
  create: createPrometheusExporter,
};
