/**
 * Overload with `memory_limiter`: a tfo agent (otlp → memory_limiter → batch → otlphttp with an
 * in-memory sending queue) in front of a slow backend (each request answered after 1 s, two at a
 * time: about 2 MB/s drained) while 8 senders push ~1 MB requests as fast as it answers them —
 * tens of MB/s offered, many times what it can pass on. The queue fills memory until the limiter
 * refuses.
 *
 * `memory_limiter` bounds the runtime's live memory (V8 heap in use plus external buffers), as the
 * Collector's bounds the Go heap: `limit_mib` 96, `spike_limit_mib` 32 (soft limit 64),
 * `check_interval` 100ms. tfo's idle RSS is measured first, on a run of the same config with a
 * limit it cannot reach: it is the runtime's own footprint (code, native buffers, the idle heap),
 * which comes on top of what the limiter bounds.
 *
 * What must hold (the documented sizing rule: RSS ≤ `limit_mib` + idle RSS + margin):
 * - RSS (`VmRSS` from /proc, sampled every 25 ms) stays under `limit_mib` + idle RSS +
 *   {@linkcode MARGIN_MIB}. The margin covers what is not the limiter's to stop: up to 8 request
 *   bodies in flight being read (~8 × 1 MB) and garbage V8 has not collected yet (refused bodies,
 *   freed pages not yet returned to the OS) — about 30 MiB, doubled for a shared 2-core machine.
 * - Every refusal is retryable: 503 (or 429 with Retry-After); no request fails otherwise.
 * - The process never dies: it still answers `/metrics` and `health_check` at the end, and, once
 *   the backend is fast again and the queue drained, it accepts data again by itself.
 */
import assert from "node:assert/strict";
import { freePort, waitFor } from "../fixtures/interop/services.ts";
import { agentConfig } from "../fixtures/chaos/configs.ts";
import { startIdLoad, tracesRequest } from "../fixtures/chaos/id_load.ts";
import { startRecordingSink } from "../fixtures/chaos/otlp_sink.ts";
import { metricValue, rssOf, scrape, startTfo } from "../fixtures/chaos/tfo_process.ts";

const MIB = 1024 * 1024;
/** How far over `limit_mib` RSS may go (see the module documentation). */
const MARGIN_MIB = 64;
const LOAD_MS = 12_000;
/** Three of the limiter's forced collections at soft limit (`min_gc_interval_when_soft_limited`). */
const RECOVERY_MS = 30_000;
const QUEUE = { exporter: "otlphttp", data_type: "traces" };

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

Deno.test("memory_limiter keeps tfo under its limit with retryable refusals when overloaded", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tfo-overload-" });
  const sink = startRecordingSink();
  sink.countOnly = true;
  const ports = { http: freePort(), metrics: freePort(), health: freePort() };
  const config = (limitMib: number, spikeLimitMib: number) =>
    agentConfig({
      httpPort: ports.http,
      metricsPort: ports.metrics,
      healthPort: ports.health,
      backendUrl: `http://127.0.0.1:${sink.port}`,
      memoryLimiter: { limitMib, spikeLimitMib, checkInterval: "100ms" },
      queue: { num_consumers: 2, queue_size: 1000 },
      exporterTimeout: "30s",
    });
  const big = (n: number) => tracesRequest([`warm-${n}`], 4000);

  // Idle RSS: the same pipeline, a limit it cannot reach, a few requests to warm it up.
  const probe = await startTfo("probe", dir, config(100_000, 1000));
  let idle = 0;
  try {
    for (let n = 0; n < 5; n++) {
      const response = await fetch(`http://127.0.0.1:${ports.http}/v1/traces`, {
        method: "POST",
        body: big(n),
        headers: { "content-type": "application/x-protobuf" },
      });
      await response.body?.cancel();
    }
    await pause(500);
    idle = (await rssOf(probe.pid)) ?? 0;
  } finally {
    await probe.stop();
  }
  assert.ok(idle > 0, "idle RSS was read");
  const limitMib = 96;
  const spikeMib = 32;

  sink.delayMs = 1000;
  const tfo = await startTfo("tfo", dir, config(limitMib, spikeMib));
  let maxRss = 0;
  let samples = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling && !tfo.dead) {
      const rss = await rssOf(tfo.pid);
      if (rss !== undefined) {
        maxRss = Math.max(maxRss, rss);
        samples++;
      }
      await pause(25);
    }
  })();
  const load = startIdLoad({
    url: `http://127.0.0.1:${ports.http}`,
    prefix: "load",
    workers: 8,
    spansPerRequest: 250,
    padBytes: 4000,
    pauseMs: 0,
    timeoutMs: 30_000,
  });
  try {
    await pause(LOAD_MS);
    await load.stop();
    sampling = false;
    await sampler;
    // The kernel's own peak (VmHWM) is exact however slowly the sampler ran on a loaded machine.
    const status = await Deno.readTextFile(`/proc/${tfo.pid}/status`).catch(() => "");
    const hwmKb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
    maxRss = Math.max(maxRss, hwmKb * 1024);
    const outcomes = Object.fromEntries(load.outcomes);
    const metrics = (await scrape(ports.metrics)) ?? "";
    const refusedByLimiter =
      metricValue(metrics, "otelcol_processor_memory_limiter_refused_spans") ?? 0;
    const report = `idle RSS ${(idle / MIB).toFixed(0)} MiB, limit_mib ${limitMib} ` +
      `(soft ${limitMib - spikeMib}), max RSS ${(maxRss / MIB).toFixed(0)} MiB over ${samples} ` +
      `samples, answers ${JSON.stringify(outcomes)}, Retry-After seen ${load.retryAfter.length}, ` +
      `refused by memory_limiter ${refusedByLimiter} spans, sink got ${sink.requests()} requests`;
    console.log(report);

    assert.equal(tfo.dead, false, `tfo is alive: ${report}\n${tfo.tail()}`);
    assert.ok(samples > 0, `RSS was sampled: ${report}`);
    assert.ok(
      maxRss <= limitMib * MIB + idle + MARGIN_MIB * MIB,
      `RSS stays under limit_mib + idle RSS + ${MARGIN_MIB} MiB: ${report}`,
    );
    const refusals = Object.entries(outcomes).filter(([status]) => status !== "200");
    for (const [status, count] of refusals) {
      assert.ok(
        status === "503" || status === "429",
        `every refusal is retryable (503/429), got ${count} × ${status}: ${report}`,
      );
    }
    assert.ok((load.outcomes.get("429") ?? 0) <= load.retryAfter.length, "a 429 has Retry-After");
    assert.ok((load.outcomes.get("503") ?? 0) > 0, `tfo was overloaded and refused: ${report}`);
    assert.ok(refusedByLimiter > 0, `the memory_limiter refused data: ${report}`);

    // Still alive and answering.
    const health = await fetch(`http://127.0.0.1:${ports.health}/`);
    await health.body?.cancel();
    assert.equal(health.status, 200, "health_check answers 200");

    // Once the backend is fast again and the queue drained, it accepts data again by itself.
    sink.delayMs = 0;
    let last = "";
    const recovered = await waitFor(
      "tfo to accept data again",
      async () => {
        const m = (await scrape(ports.metrics)) ?? "";
        last = `RSS ${(((await rssOf(tfo.pid)) ?? 0) / MIB).toFixed(0)} MiB, queue ` +
          `${metricValue(m, "tfo_exporter_queue_bytes", QUEUE)} bytes`;
        const response = await fetch(`http://127.0.0.1:${ports.http}/v1/traces`, {
          method: "POST",
          body: big(99),
          headers: { "content-type": "application/x-protobuf" },
        });
        await response.body?.cancel();
        return response.ok;
      },
      RECOVERY_MS,
      250,
    ).then(() => true, () => false);
    assert.ok(
      recovered,
      `memory_limiter never let data through again within ${RECOVERY_MS} ms after the queue ` +
        `drained: ${last} against a soft limit of ${
          limitMib - spikeMib
        } MiB. It measures RSS, and ` +
        `RSS does not fall back below the soft limit after the spike (freed memory is not returned ` +
        `to the OS), so it refuses forever (${report})`,
    );
  } finally {
    sampling = false;
    await load.stop();
    await sampler;
    sink.delayMs = 0;
    const code = await tfo.stop(30_000);
    if (code !== 0) console.error(`tfo exited ${code}:\n${tfo.tail()}`);
    await sink.close();
    await Deno.remove(dir, { recursive: true });
  }
});
