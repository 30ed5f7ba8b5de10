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

Deno.test("process metrics show up under the Collector's default names with plausible values", async () => {
  const registry = new MetricRegistry({ targetInfo: { "service.name": "tfo" } });
  const metrics = registerProcessMetrics(registry.meter());
  const server = await startMetricsServer(registry, "127.0.0.1:0");
  try {
    const scrape = async () =>
      await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
    const first = await scrape();
    assert.match(first, /^# TYPE otelcol_process_uptime counter$/m);
    assert.match(first, /^# TYPE otelcol_process_cpu_seconds counter$/m);
    assert.match(first, /^# TYPE otelcol_process_memory_rss gauge$/m);
    assert.match(first, /^# TYPE otelcol_process_runtime_heap_alloc_bytes gauge$/m);
    assert.match(first, /^# TYPE otelcol_process_runtime_total_alloc_bytes counter$/m);
    assert.match(first, /^# TYPE otelcol_process_runtime_total_sys_memory_bytes gauge$/m);
    assert.ok(sample(first, "otelcol_process_memory_rss") > 1_000_000);
    assert.ok(sample(first, "otelcol_process_runtime_heap_alloc_bytes") > 0);
    assert.ok(sample(first, "otelcol_process_runtime_total_sys_memory_bytes") > 0);
    const cpu = sample(first, "otelcol_process_cpu_seconds");
    assert.ok(cpu > 0 && cpu < 3600);
    const uptime = sample(first, "otelcol_process_uptime");
    assert.ok(uptime > 0);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.ok(sample(await scrape(), "otelcol_process_uptime") > uptime);
  } finally {
    metrics.close();
    await server.shutdown();
  }
});

Deno.test("process metrics get unit and type suffixes when the reader keeps them", () => {
  const registry = new MetricRegistry();
  registerProcessMetrics(registry.meter(), { sampleIntervalMs: 0 }).close();
  const text = registry.render({ withoutTypeSuffix: false, withoutUnits: false });
  assert.match(text, /^# TYPE otelcol_process_uptime_seconds_total counter$/m);
  assert.match(text, /^# TYPE otelcol_process_cpu_seconds_total counter$/m);
  assert.match(text, /^# TYPE otelcol_process_memory_rss_bytes gauge$/m);
  assert.match(text, /^# TYPE otelcol_process_runtime_heap_alloc_bytes gauge$/m);
  assert.match(text, /^# TYPE otelcol_process_runtime_total_alloc_bytes_total counter$/m);
  const unitsOnly = registry.render({ withoutUnits: false });
  assert.match(unitsOnly, /^# TYPE otelcol_process_uptime_seconds counter$/m);
});

Deno.test("process uptime follows the clock it is given", () => {
  const registry = new MetricRegistry();
  let now = 1500;
  registerProcessMetrics(registry.meter(), {
    now: () => now,
    cpuSeconds: () => 2.5,
    sampleIntervalMs: 0,
  });
  assert.equal(registry.value("otelcol_process_uptime"), 1.5);
  now = 61_000;
  assert.equal(registry.value("otelcol_process_uptime"), 61);
  assert.equal(registry.value("otelcol_process_cpu_seconds"), 2.5);
});

Deno.test("total allocated bytes add up every rise of live memory and never fall", () => {
  const registry = new MetricRegistry();
  let live = 1000;
  registerProcessMetrics(registry.meter(), { liveMemory: () => live, sampleIntervalMs: 0 });
  assert.equal(registry.value("otelcol_process_runtime_heap_alloc_bytes"), 1000);
  live = 1500;
  assert.equal(registry.value("otelcol_process_runtime_total_alloc_bytes"), 500);
  live = 200; // a garbage collection
  assert.equal(registry.value("otelcol_process_runtime_total_alloc_bytes"), 500);
  live = 900;
  assert.equal(registry.value("otelcol_process_runtime_total_alloc_bytes"), 1200);
  assert.equal(registry.value("otelcol_process_runtime_heap_alloc_bytes"), 900);
});

Deno.test("total allocated bytes are sampled between scrapes too", async () => {
  const registry = new MetricRegistry();
  let live = 0;
  const metrics = registerProcessMetrics(registry.meter(), {
    liveMemory: () => live,
    sampleIntervalMs: 5,
  });
  try {
    live = 10_000;
    for (let i = 0; i < 400; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (i > 0 && live === 10_000) {
        live = 0; // freed again before any scrape saw it
        break;
      }
    }
    // Only the timer can have seen the rise to 10 000.
    assert.equal(registry.value("otelcol_process_runtime_total_alloc_bytes"), 10_000);
  } finally {
    metrics.close();
  }
});

Deno.test("process CPU time is left out when the platform cannot tell it", () => {
  const registry = new MetricRegistry();
  registerProcessMetrics(registry.meter(), { cpuSeconds: () => undefined, sampleIntervalMs: 0 });
  assert.doesNotMatch(registry.render(), /otelcol_process_cpu_seconds/);
  assert.match(registry.render(), /otelcol_process_memory_rss/);
});

Deno.test("process CPU seconds parse from /proc/self/stat, spaces in the name included", () => {
  const stat = "4321 (my (odd) prog) S 1 4321 4321 0 -1 4194304 3492 0 0 0 250 75 0 0 20 0 6 0";
  assert.equal(parseProcStatCpuSeconds(stat), 3.25);
  assert.equal(parseProcStatCpuSeconds("garbage"), undefined);
  const cpu = readCpuSeconds();
  assert.ok(cpu !== undefined && cpu > 0);
});

Deno.test("observed counters read at scrape time, with _total only when the reader asks", () => {
  const registry = new MetricRegistry();
  let n = 1;
  registry.meter({ a: "b" }).observeCounter("things", "Things", {}, () => n);
  n = 7;
  assert.match(registry.render(), /^# TYPE things counter\nthings\{a="b"\} 7$/m);
  assert.match(
    registry.render({ withoutTypeSuffix: false }),
    /^# TYPE things_total counter\nthings_total\{a="b"\} 7$/m,
  );
});
