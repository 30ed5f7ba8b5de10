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
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

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

Deno.test("prometheus_remote_write 2.0 sends a symbol table, metadata per series and its headers", async () => {
  const sink = new Sink(2);
  const { exporter, consumer } = await exporterFor({
    endpoint: sink.url,
    protobuf_message: "io.prometheus.write.v2.Request",
  });
  try {
    await consumer.consume(Payload.of("metrics", metrics(ALL_TYPES.slice(0, 4))));
    assert.equal(sink.received.length, 1);
    const h = sink.received[0]!.headers;
    assert.equal(
      h.get("content-type"),
      "application/x-protobuf;proto=io.prometheus.write.v2.Request",
    );
    assert.equal(h.get("x-prometheus-remote-write-version"), "2.0.0");
    const got = sink.received[0]!.decoded.series;
    const counter = got.find((s) => s.labels.__name__ === "http_requests_total")!;
    assert.deepEqual(counter.metadata, { type: 1, help: "Requests served", unit: "" });
    // 2.0 carries the start time of cumulative series.
    assert.deepEqual(counter.samples, [{ value: 42, timestamp: T_MS, start: T_MS - 10_000 }]);
    const bucket = got.find((s) => s.labels.__name__ === "latency_milliseconds_bucket")!;
    assert.deepEqual(bucket.metadata, { type: 3, help: "", unit: "milliseconds" });
    assert.equal(got.find((s) => s.labels.__name__ === "queue_depth")!.metadata!.type, 2);
    // No resource attribute besides service.*: no target_info.
    assert.equal(got.some((s) => s.labels.__name__ === "target_info"), false);
  } finally {
    await exporter.shutdown();
    await sink.close();
  }
});

/** One gauge with `n` series (attribute `i`). */
function wide(n: number, time = T): MetricsData {
  return metrics([
    metric("wide", "", {
      type: "gauge",
      dataPoints: Array.from({ length: n }, (_, i) => point(i, { i: String(i) }, time)),
    }),
  ]);
}

for (const version of [1, 2] as const) {
  Deno.test(`prometheus_remote_write ${version}.0 splits requests under max_batch_size_bytes`, async () => {
    const sink = new Sink(version);
    const { exporter, consumer } = await exporterFor({
      endpoint: sink.url,
      max_batch_size_bytes: 2000,
      ...(version === 2 ? { protobuf_message: "io.prometheus.write.v2.Request" } : {}),
    });
    try {
      await consumer.consume(Payload.of("metrics", wide(200)));
      assert.ok(sink.received.length > 5, `${sink.received.length} requests`);
      for (const r of sink.received) assert.ok(r.body.length < 2000, `${r.body.length} bytes`);
      const values = sink.samples().map((s) => Number(s.split(" ")[1])).sort((a, b) => a - b);
      assert.deepEqual(values, Array.from({ length: 200 }, (_, i) => i));
    } finally {
      await exporter.shutdown();
      await sink.close();
    }
  });
}

Deno.test("prometheus_remote_write retries 429 after its Retry-After and 5xx, and resends only what failed", async () => {
  const sink = new Sink(1);
  const arrivals: number[] = [];
  sink.answer = (n) => {
    arrivals.push(performance.now());
    if (n === 1) return { status: 429, headers: { "retry-after": "1" } };
    if (n === 3) return { status: 503 };
    return { status: 204 };
  };
  const { exporter, consumer, value } = await exporterFor({
    endpoint: sink.url,
    max_batch_size_bytes: 2000,
    max_batch_request_parallelism: 1,
  });
  try {
    await consumer.consume(Payload.of("metrics", wide(40)));
    const requests = sink.received.length;
    assert.ok(requests >= 3, `${requests} requests`);
    // Each of the 40 samples arrived once, though two attempts failed.
    assert.equal(sink.samples().length, 40);
    assert.equal(sink.answered.length, requests + 2);
    const waited = arrivals[2]! - arrivals[1]!;
    assert.ok(waited >= 950, `the retry after 429 came ${waited} ms later, not after 1 s`);
    assert.equal(value("otelcol_exporter_sent_metric_points"), 40);
  } finally {
    await exporter.shutdown();
    await sink.close();
  }
});

Deno.test("prometheus_remote_write drops and counts a batch refused with 400, without retrying", async () => {
  const sink = new Sink(1);
  sink.answer = () => ({ status: 400, body: "out of order sample" });
  const { exporter, consumer, value } = await exporterFor({ endpoint: sink.url });
  try {
    const error = await consumer.consume(Payload.of("metrics", wide(3))).then(
      () => undefined,
      (e) => e,
    );
    assert.ok(error instanceof ConsumerError && error.permanent, `permanent: ${error}`);
    assert.match(error.message, /HTTP 400: out of order sample/);
    assert.equal(sink.answered.length, 1);
    assert.equal(value("otelcol_exporter_send_failed_metric_points"), 3);
    assert.equal(value("tfo_exporter_prometheusremotewrite_rejected_requests"), 1);
  } finally {
    await exporter.shutdown();
    await sink.close();
  }
});

Deno.test("prometheus_remote_write refuses keys it does not implement and bad values", () => {
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ wal: { directory: "/tmp" } }, /wal/],
    [{ http: { endpoint: "http://x" } }, /http/],
    [{ compression: "gzip" }, /snappy/],
    [{ remote_write_queue: { queue_size: 0 } }, /0 size queue/],
    [{ remote_write_queue: {}, sending_queue: {} }, /remote_write_queue/],
    [{ translation_strategy: "NoTranslation" }, /Remote Write 2\.0/],
    [{ external_labels: { "": "x" } }, /empty key or value/],
    [{ headers: { "X-Prometheus-Remote-Write-Version": "9" } }, /remote write protocol/],
    [{ convert_explicit_histograms_to_nhcb: true }, /not supported/],
    [{ max_batch_request_parallelism: 0 }, /below 1/],
    [{ read_buffer_size: 10 }, /read_buffer_size/],
  ];
  for (const [input, message] of bad) {
    const r = prwConfigSchema.safeParse({
      endpoint: "http://127.0.0.1:9090/api/v1/write",
      ...input,
    });
    assert.equal(r.success, false, JSON.stringify(input));
    assert.match(JSON.stringify(r.error!.issues), message, JSON.stringify(input));
  }
  const c = prwConfigSchema.parse({ endpoint: "http://127.0.0.1:9090/api/v1/write" });
  assert.equal(c.timeout, 5000);
  assert.equal(c.retry_on_failure.initial_interval, 50);
  assert.equal(c.max_batch_size_bytes, 3_000_000);
  assert.equal(c.sending_queue.queue_size, 10000);
  assert.equal(c.sending_queue.num_consumers, 1);
  assert.equal(c.parallelism, 5);
  assert.equal(c.target_info.enabled, true);
});

Deno.test("prometheus_remote_write forwards include_metadata_keys from client metadata as headers", async () => {
  const sink = new Sink(1);
  const { exporter, consumer } = await exporterFor({
    endpoint: sink.url,
    include_metadata_keys: ["X-Scope-OrgID"],
    headers: { "X-Static": "s" },
  });
  try {
    const client = {
      metadata: new Map([["x-scope-orgid", ["tenant-7"]]]),
      auth: new Map<string, string>(),
    };
    await consumer.consume(Payload.of("metrics", wide(1), client));
    await consumer.consume(Payload.of("metrics", wide(1, T + 1_000_000n)));
    assert.equal(sink.received.length, 2);
    assert.equal(sink.received[0]!.headers.get("x-scope-orgid"), "tenant-7");
    assert.equal(sink.received[0]!.headers.get("x-static"), "s");
    assert.equal(sink.received[1]!.headers.get("x-scope-orgid"), null);
  } finally {
    await exporter.shutdown();
    await sink.close();
  }
});

Deno.test("prometheus_remote_write reports a server that is down as retryable, and gives up when told", async () => {
  const sink = new Sink(1);
  const url = sink.url;
  await sink.close(); // nothing listens there now
  const { exporter, consumer, value } = await exporterFor({
    endpoint: url,
    retry_on_failure: { ...FAST_RETRY, max_elapsed_time: "300ms" },
  });
  try {
    const error = await consumer.consume(Payload.of("metrics", wide(2))).then(
      () => undefined,
      (e) => e,
    );
    assert.ok(error instanceof ConsumerError, `a ConsumerError, got ${error}`);
    assert.equal(error.permanent, false);
    assert.match(error.message, /Cannot write to http:\/\/127\.0\.0\.1:\d+\/api\/v1\/write/);
    assert.equal(value("otelcol_exporter_send_failed_metric_points"), 2);
    assert.ok(
      (value("otelcol_exporter_prometheusremotewrite_sent_batches", { endpoint: url }) ?? 0) >= 2,
      "it retried",
    );
  } finally {
    await exporter.shutdown();
  }
});

Deno.test("prometheus_remote_write writes the same labels for series it remembers from earlier requests", async () => {
  const sink = new Sink(1);
  const { exporter, consumer } = await exporterFor({ endpoint: sink.url });
  const shifted = (n: bigint) => {
    const data = structuredClone(metrics(ALL_TYPES, { "host.name": "h1" }));
    for (const m of data.resourceMetrics[0]!.scopeMetrics[0]!.metrics) {
      for (const p of m.data!.dataPoints) p.timeUnixNano += n * 1_000_000n;
    }
    return data;
  };
  try {
    for (let i = 0n; i < 3n; i++) await consumer.consume(Payload.of("metrics", shifted(i)));
    assert.equal(sink.received.length, 3);
    const labelSets = sink.received.map((r) =>
      r.decoded.series.map((s) => JSON.stringify(s.labels)).sort()
    );
    assert.deepEqual(labelSets[1], labelSets[0]);
    assert.deepEqual(labelSets[2], labelSets[0]);
    const times = sink.received.map((r) => r.decoded.series[0]!.samples[0]!.timestamp);
    assert.deepEqual(times, [T_MS, T_MS + 1, T_MS + 2]);
  } finally {
    await exporter.shutdown();
    await sink.close();
  }
});
