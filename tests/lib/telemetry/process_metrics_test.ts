import assert from "node:assert/strict";
import { MetricRegistry } from "../../../lib/telemetry/metrics.ts";
import {
  parseProcStatCpuSeconds,
  readCpuSeconds,
  registerProcessMetrics,
} from "../../../lib/telemetry/process_metrics.ts";
import { startMetricsServer } from "../../../lib/telemetry/server.ts";

function sample(text: string, name: string): number {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "m").exec(text);
  assert.ok(m, `${name} is missing from:\n${text}`);
  return Number(m[1]);
}

Deno.test("process metrics show up under the Collector's names with plausible values", async () => {
  const registry = new MetricRegistry({ service_name: "tfo" });
  registerProcessMetrics(registry.meter());
  const server = await startMetricsServer(registry, "127.0.0.1:0");
  try {
    const scrape = async () =>
      await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
    const first = await scrape();
    assert.match(first, /^# TYPE otelcol_process_uptime_seconds_total counter$/m);
    assert.match(first, /^# TYPE otelcol_process_cpu_seconds_total counter$/m);
    assert.match(first, /^# TYPE otelcol_process_memory_rss_bytes gauge$/m);
    assert.match(first, /^# TYPE otelcol_process_runtime_heap_alloc_bytes gauge$/m);
    assert.match(first, /^# TYPE otelcol_process_runtime_total_sys_memory_bytes gauge$/m);
    assert.ok(sample(first, "otelcol_process_memory_rss_bytes") > 1_000_000);
    assert.ok(sample(first, "otelcol_process_runtime_heap_alloc_bytes") > 0);
    const sys = sample(first, "otelcol_process_runtime_total_sys_memory_bytes");
    assert.ok(sys >= sample(first, "otelcol_process_runtime_heap_alloc_bytes"));
    const cpu = sample(first, "otelcol_process_cpu_seconds_total");
    assert.ok(cpu > 0 && cpu < 3600);
    const uptime = sample(first, "otelcol_process_uptime_seconds_total");
    assert.ok(uptime > 0);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.ok(sample(await scrape(), "otelcol_process_uptime_seconds_total") > uptime);
  } finally {
    await server.shutdown();
  }
});

Deno.test("process uptime follows the clock it is given", () => {
  const registry = new MetricRegistry();
  let now = 1500;
  registerProcessMetrics(registry.meter(), { now: () => now, cpuSeconds: () => 2.5 });
  assert.equal(registry.value("otelcol_process_uptime_seconds_total"), 1.5);
  now = 61_000;
  assert.equal(registry.value("otelcol_process_uptime_seconds_total"), 61);
  assert.equal(registry.value("otelcol_process_cpu_seconds_total"), 2.5);
});

Deno.test("process CPU time is left out when the platform cannot tell it", () => {
  const registry = new MetricRegistry();
  registerProcessMetrics(registry.meter(), { cpuSeconds: () => undefined });
  assert.doesNotMatch(registry.render(), /otelcol_process_cpu_seconds/);
  assert.match(registry.render(), /otelcol_process_memory_rss_bytes/);
});

Deno.test("process CPU seconds parse from /proc/self/stat, spaces in the name included", () => {
  const stat = "4321 (my (odd) prog) S 1 4321 4321 0 -1 4194304 3492 0 0 0 250 75 0 0 20 0 6 0";
  assert.equal(parseProcStatCpuSeconds(stat), 3.25);
  assert.equal(parseProcStatCpuSeconds("garbage"), undefined);
  const cpu = readCpuSeconds();
  assert.ok(cpu !== undefined && cpu > 0);
});

Deno.test("observed counters get the _total suffix and read at scrape time", () => {
  const registry = new MetricRegistry();
  let n = 1;
  registry.meter({ a: "b" }).observeCounter("things", "Things", {}, () => n);
  n = 7;
  assert.match(registry.render(), /^# TYPE things_total counter\nthings_total\{a="b"\} 7$/m);
});
