import assert from "node:assert/strict";
import { MetricRegistry } from "../../../lib/telemetry/metrics.ts";

function worker(spans: number, queue: number): MetricRegistry {
  const r = new MetricRegistry();
  const m = r.meter({ receiver: "otlp" });
  m.counter("otelcol_receiver_accepted_spans", "Accepted.", { transport: "http" }).add(spans);
  m.gauge("otelcol_exporter_queue_size", "Queue.").set(queue);
  m.histogram("tfo_test_latency", "Latency.", [1, 10]).record(5);
  return r;
}

Deno.test("metric registry sums other workers' snapshots into its own series by name and labels", () => {
  const primary = worker(10, 3);
  primary.setRemote("worker-1", worker(5, 2).snapshot());
  assert.equal(primary.value("otelcol_receiver_accepted_spans", { transport: "http" }), 15);
  assert.equal(primary.value("otelcol_exporter_queue_size"), 5);
  const text = primary.render();
  assert.match(text, /otelcol_receiver_accepted_spans\{receiver="otlp",transport="http"\} 15\n/);
  assert.match(text, /tfo_test_latency_bucket\{le="10",receiver="otlp"\} 2\n/);
  assert.match(text, /tfo_test_latency_sum\{receiver="otlp"\} 10\n/);
  // A newer snapshot of the same worker replaces the older one.
  primary.setRemote("worker-1", worker(7, 1).snapshot());
  assert.equal(primary.value("otelcol_receiver_accepted_spans", { transport: "http" }), 17);
});

Deno.test("metric registry keeps a retired worker's counters in the sums but not its gauges", () => {
  const primary = worker(10, 3);
  primary.setRemote("worker-1", worker(5, 2).snapshot());
  primary.retireRemote("worker-1");
  // The restarted worker starts from 0: the sum never goes down.
  primary.setRemote("worker-1", worker(1, 4).snapshot());
  assert.equal(primary.value("otelcol_receiver_accepted_spans", { transport: "http" }), 16);
  assert.equal(primary.value("otelcol_exporter_queue_size"), 7);
});

Deno.test("metric registry snapshots keep only the series asked for", () => {
  const r = worker(5, 2);
  const snap = r.snapshot((name) => name !== "otelcol_exporter_queue_size");
  assert.deepEqual(snap.families.map((f) => f.name).sort(), [
    "otelcol_receiver_accepted_spans",
    "tfo_test_latency",
  ]);
  // Plain data: survives a structured clone.
  assert.deepEqual(structuredClone(snap), snap);
});
