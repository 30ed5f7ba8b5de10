import assert from "node:assert/strict";
import { MetricRegistry } from "../../../lib/telemetry/metrics.ts";
import { PROMETHEUS_CONTENT_TYPE, startMetricsServer } from "../../../lib/telemetry/server.ts";

Deno.test("metrics server renders the registry at GET /metrics, service attributes in target_info", async () => {
  const registry = new MetricRegistry({
    targetInfo: { "service.name": "tfo", "service.version": "1.2.3" },
  });
  registry.meter({ receiver: "otlp" }).counter("otelcol_receiver_accepted_spans", "Spans", {
    transport: "grpc",
  }).add(3);
  const server = await startMetricsServer(registry, "127.0.0.1:0");
  try {
    const response = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), PROMETHEUS_CONTENT_TYPE);
    const text = await response.text();
    assert.match(text, /^# TYPE otelcol_receiver_accepted_spans counter$/m);
    assert.match(
      text,
      /^# HELP otelcol_receiver_accepted_spans Number of spans successfully pushed into the pipeline\. \[Alpha\]$/m,
    );
    assert.match(text, /^otelcol_receiver_accepted_spans\{receiver="otlp",transport="grpc"\} 3$/m);
    assert.match(text, /^# TYPE target_info gauge$/m);
    assert.match(text, /^target_info\{service_name="tfo",service_version="1\.2\.3"\} 1$/m);
    const withService = text.split("\n").filter((l) => l.includes("service_name"));
    assert.deepEqual(withService.map((l) => l.split("{")[0]), ["target_info"]);
  } finally {
    await server.shutdown();
  }
});

Deno.test("metrics server follows the reader's suffix and scope switches", async () => {
  const registry = new MetricRegistry();
  registry.meter({ receiver: "otlp" }).counter("otelcol_receiver_accepted_spans", "Spans").add(1);
  registry.meter().observe("otelcol_process_memory_rss", "RSS", {}, () => 5);
  registry.meter().counter("tfo_config_reloads", "Reloads", { result: "success" }).add(1);
  const server = await startMetricsServer(registry, "127.0.0.1:0", {
    render: { withoutTypeSuffix: false, withoutUnits: false, withoutScopeInfo: false },
  });
  try {
    const text = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
    assert.match(
      text,
      /^otelcol_receiver_accepted_spans_total\{otel_scope_name="go\.opentelemetry\.io\/collector\/receiver\/receiverhelper",otel_scope_schema_url="",otel_scope_version="",receiver="otlp"\} 1$/m,
    );
    assert.match(
      text,
      /^otelcol_process_memory_rss_bytes\{otel_scope_name="go\.opentelemetry\.io\/collector\/service"/m,
    );
    assert.match(text, /^tfo_config_reloads_total\{otel_scope_name="tfo"/m);
  } finally {
    await server.shutdown();
  }
});

Deno.test("metrics server answers 404 elsewhere and 405 to other methods", async () => {
  const server = await startMetricsServer(new MetricRegistry(), "127.0.0.1:0");
  try {
    const base = `http://127.0.0.1:${server.port}`;
    for (const path of ["/", "/metric", "/metrics/x"]) {
      const response = await fetch(base + path);
      assert.equal(response.status, 404, path);
      await response.body?.cancel();
    }
    const post = await fetch(`${base}/metrics`, { method: "POST", body: "x" });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get("allow"), "GET, HEAD");
    await post.body?.cancel();
  } finally {
    await server.shutdown();
  }
});
