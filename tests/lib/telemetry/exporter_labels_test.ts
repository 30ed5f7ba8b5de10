import assert from "node:assert/strict";
import {
  hostPortLabels,
  urlLabels,
  withEndpointLabels,
} from "../../../lib/telemetry/exporter_labels.ts";
import { MetricRegistry } from "../../../lib/telemetry/metrics.ts";

Deno.test("endpoint labels come from the URL or host:port, default ports included", () => {
  assert.deepEqual(urlLabels("http://127.0.0.1:4318/v1/traces"), {
    server_address: "127.0.0.1",
    server_port: "4318",
    url_path: "/v1/traces",
  });
  assert.deepEqual(urlLabels("https://[::1]/otlp/v1/logs"), {
    server_address: "::1",
    server_port: "443",
    url_path: "/otlp/v1/logs",
  });
  assert.deepEqual(hostPortLabels("[::1]:4317"), { server_address: "::1", server_port: "4317" });
  assert.deepEqual(hostPortLabels("collector:4317"), {
    server_address: "collector",
    server_port: "4317",
  });
});

Deno.test("only the sent and send-failed counters of a signal get its endpoint labels", () => {
  const registry = new MetricRegistry();
  const meter = withEndpointLabels(registry.meter({ exporter: "otlp_http" }), {
    traces: { server_address: "h", server_port: "1", url_path: "/v1/traces" },
  });
  meter.counter("otelcol_exporter_sent_spans", "x").add(2);
  meter.counter("otelcol_exporter_send_failed_spans", "x").add(1);
  meter.counter("otelcol_exporter_sent_log_records", "x").add(1);
  meter.gauge("otelcol_exporter_queue_size", "x", { data_type: "traces" }).set(4);
  const text = registry.render();
  assert.match(
    text,
    /^otelcol_exporter_sent_spans\{exporter="otlp_http",server_address="h",server_port="1",url_path="\/v1\/traces"\} 2$/m,
  );
  assert.match(text, /^otelcol_exporter_send_failed_spans\{[^}]*url_path="\/v1\/traces"\} 1$/m);
  assert.match(text, /^otelcol_exporter_sent_log_records\{exporter="otlp_http"\} 1$/m);
  assert.match(text, /^otelcol_exporter_queue_size\{data_type="traces",exporter="otlp_http"\} 4$/m);
  assert.equal(registry.value("otelcol_exporter_sent_spans", { exporter: "otlp_http" }), 2);
});
