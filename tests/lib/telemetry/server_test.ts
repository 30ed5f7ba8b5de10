import assert from "node:assert/strict";
import { MetricRegistry } from "../../../lib/telemetry/metrics.ts";
import { PROMETHEUS_CONTENT_TYPE, startMetricsServer } from "../../../lib/telemetry/server.ts";

Deno.test("metrics server renders the registry at GET /metrics", async () => {
  const registry = new MetricRegistry({ service_name: "tfo" });
  registry.meter({ receiver: "otlp" }).counter("otelcol_receiver_accepted_spans", "Spans").add(3);
  const server = await startMetricsServer(registry, "127.0.0.1:0");
  try {
    const response = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), PROMETHEUS_CONTENT_TYPE);
    const text = await response.text();
    assert.match(text, /^# TYPE otelcol_receiver_accepted_spans_total counter$/m);
    assert.match(
      text,
      /^otelcol_receiver_accepted_spans_total\{receiver="otlp",service_name="tfo"\} 3$/m,
    );
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
