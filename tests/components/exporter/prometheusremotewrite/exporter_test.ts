/**
 * The prometheus_remote_write exporter against a capturing sink on 127.0.0.1: the series it
 * writes for each metric type (1.0 and 2.0), its headers, splitting by `max_batch_size_bytes`,
 * what it drops, and how it answers the server's faults (429 + Retry-After, 5xx, 400).
 */
import assert from "node:assert/strict";
import { prwConfigSchema } from "../../../../components/exporter/prometheusremotewrite/config.ts";
import { prwExporterFactory } from "../../../../components/exporter/prometheusremotewrite/factory.ts";
import { type Consumer, ConsumerError } from "../../../../lib/consumer/consumer.ts";
import { Payload } from "../../../../lib/pdata/payload.ts";
import type { Metric, MetricsData } from "../../../../lib/pdata/types.ts";
import { settingsFor } from "../otlp/_kit.ts";
import { Sink } from "./_rw.ts";

const T = 1700000000123456789n; // → 1700000000123 ms
const T_MS = 1700000000123;

const FAST_RETRY = {
  initial_interval: "50ms",
  randomization_factor: 0,
  multiplier: 1,
  max_interval: "50ms",
  max_elapsed_time: "5s",
};

function point(value: number | bigint, attrs: Record<string, string> = {}, time = T) {
  return {
    attributes: Object.entries(attrs).map(([key, value]) => ({ key, value })),
    startTimeUnixNano: T - 10_000_000_000n,
    timeUnixNano: time,
    value,
    exemplars: [],
    flags: 0,
  };
}

function metrics(list: Metric[], resource: Record<string, string> = {}): MetricsData {
  return {
    resourceMetrics: [{
      resource: {
        attributes: Object.entries({
          "service.name": "shop",
          "service.instance.id": "i-1",
          ...resource,
        }).map(([key, value]) => ({ key, value })),
        droppedAttributesCount: 0,
      },
      schemaUrl: "",
      scopeMetrics: [{
        scope: { name: "lib", version: "1.2", attributes: [], droppedAttributesCount: 0 },
        schemaUrl: "",
        metrics: list,
      }],
    }],
  };
}

function metric(name: string, unit: string, data: Metric["data"], description = ""): Metric {
  return { name, description, unit, metadata: [], data };
}

const ALL_TYPES: Metric[] = [
  metric("queue.depth", "{item}", { type: "gauge", dataPoints: [point(7, { queue: "a" })] }),
  metric("http.requests", "1", {
    type: "sum",
    isMonotonic: true,
    aggregationTemporality: 2,
    dataPoints: [point(42n, { "http.method": "GET" })],
  }, "Requests served"),
  metric("active", "", {
    type: "sum",
    isMonotonic: false,
    aggregationTemporality: 2,
    dataPoints: [point(-3)],
  }),
  metric("latency", "ms", {
    type: "histogram",
    aggregationTemporality: 2,
    dataPoints: [{
      ...point(0),
      count: 6n,
      sum: 123.5,
      bucketCounts: [1n, 2n, 3n],
      explicitBounds: [10, 100],
    }],
  }),
  metric("rpc.duration", "s", {
    type: "summary",
    dataPoints: [{
      ...point(0),
      count: 4n,
      sum: 2,
      quantileValues: [{ quantile: 0.5, value: 0.4 }, { quantile: 0.99, value: 0.9 }],
    }],
  }),
  metric("delta.count", "", {
    type: "sum",
    isMonotonic: true,
    aggregationTemporality: 1,
    dataPoints: [point(1), point(2)],
  }),
];

async function exporterFor(input: Record<string, unknown>) {
  const config = prwConfigSchema.parse({
    retry_on_failure: FAST_RETRY,
    remote_write_queue: { enabled: false },
    ...input,
  });
  const kit = settingsFor("prometheusremotewrite", config);
  const exporter = prwExporterFactory.create(kit.settings, ["metrics"]);
  await exporter.start({ getExtension: () => undefined, status: () => "running" });
  const consumer = exporter.consumers.metrics as Consumer<"metrics">;
  const value = (name: string, labels: Record<string, string> = {}) =>
    kit.registry.value(name, { exporter: "prometheusremotewrite", ...labels });
  return { exporter, consumer, value, kit };
}

const SCOPE_LABELS = {
  instance: "i-1",
  job: "shop",
  otel_scope_name: "lib",
  otel_scope_version: "1.2",
};

/** A series as the sink prints it: labels sorted by name. */
function series(name: string, labels: Record<string, string>): string {
  const all = Object.entries({ __name__: name, ...labels }).sort((a, b) => a[0] < b[0] ? -1 : 1);
  return `{${all.map(([k, v]) => `${k}="${v}"`).join(",")}}`;
}

Deno.test("prometheus_remote_write writes every metric type as the Collector names it (1.0)", async () => {
  const sink = new Sink(1);
  const { exporter, consumer, value } = await exporterFor({
    endpoint: sink.url,
    external_labels: { cluster: "c1", job: "ignored" },
  });
  try {
    await consumer.consume(Payload.of("metrics", metrics(ALL_TYPES, { "host.name": "h1" })));
    assert.equal(sink.received.length, 1);
    const h = sink.received[0]!.headers;
    assert.equal(h.get("content-encoding"), "snappy");
    assert.equal(h.get("content-type"), "application/x-protobuf");
    assert.equal(h.get("x-prometheus-remote-write-version"), "0.1.0");
    assert.match(h.get("user-agent")!, /^tfo\//);
    assert.deepEqual(sink.samples(), expected());
    assert.equal(value("tfo_exporter_prometheusremotewrite_dropped_points"), 2);
    assert.equal(
      value("otelcol_exporter_prometheusremotewrite_failed_translations", {
        endpoint: sink.url,
      }),
      1,
    );
    assert.equal(value("otelcol_exporter_sent_metric_points"), 7);
  } finally {
    await exporter.shutdown();
    await sink.close();
  }

  function expected(): string[] {
    const s = (name: string, extra: Record<string, string>, v: number) =>
      series(name, { cluster: "c1", ...SCOPE_LABELS, ...extra }) + ` ${v} @${T_MS}`;
    return [
      s("active", {}, -3),
      s("http_requests_total", { http_method: "GET" }, 42),
      s("latency_milliseconds_bucket", { le: "10" }, 1),
      s("latency_milliseconds_bucket", { le: "100" }, 3),
      s("latency_milliseconds_bucket", { le: "+Inf" }, 6),
      s("latency_milliseconds_count", {}, 6),
      s("latency_milliseconds_sum", {}, 123.5),
      s("queue_depth", { queue: "a" }, 7),
      s("rpc_duration_seconds", { quantile: "0.5" }, 0.4),
      s("rpc_duration_seconds", { quantile: "0.99" }, 0.9),
      s("rpc_duration_seconds_count", {}, 4),
      s("rpc_duration_seconds_sum", {}, 2),
      series("target_info", { cluster: "c1", host_name: "h1", instance: "i-1", job: "shop" }) +
      ` 1 @${T_MS}`,
    ].sort();
  }
});
