/**
 * Issue 9's graceful-stop story, once per exporter (`otlp` over gRPC, `otlphttp`): a tfo with the
 * exporter behind a persistent queue, batching behind it (a last `batch` processor handed off to
 * the queue), forwards to a sink that takes 300 ms to answer, so sends are in flight whenever tfo
 * stops. Three rounds: a load generator sends unique spans, stops, and tfo gets SIGTERM at once
 * (partial batches queued, sends in flight); tfo restarts. At the end everything acknowledged must
 * have arrived, and a graceful stop must not deliver anything twice: 0 duplicates. (Before the fix,
 * the `otlp` exporter's in-flight sends finished after the queue's storage was closed, their
 * entries could not be deleted, and each was sent again after restart.)
 *
 * Loopback only, bounded (about 15 s per exporter).
 */
import assert from "node:assert/strict";
import { freePort, recorded, startService, waitFor } from "../fixtures/interop/services.ts";
import { startIdLoad } from "../fixtures/chaos/id_load.ts";
import { startTfo, type TfoProcess } from "../fixtures/chaos/tfo_process.ts";
import { spanNamesOf } from "../fixtures/graph_kit.ts";

const SINK_YAML = `
receivers:
  otlp/grpc: { protocols: { grpc: { endpoint: 127.0.0.1:0 } } }
  otlp/http: { protocols: { http: { endpoint: 127.0.0.1:0 } } }
exporters:
  recorder: { delay_ms: 300 }
service:
  pipelines:
    traces: { receivers: [otlp/grpc, otlp/http], exporters: [recorder] }
`;

function tfoYaml(exporter: "otlp" | "otlphttp", endpoint: string, port: number, dir: string) {
  return `
extensions:
  file_storage: { directory: ${dir}/storage, create_directory: true }
receivers:
  otlp:
    protocols:
      http: { endpoint: 127.0.0.1:${port} }
processors:
  batch: { timeout: 200ms, send_batch_size: 100 }
exporters:
  ${exporter}:
    endpoint: ${endpoint}
    ${exporter === "otlp" ? "tls: { insecure: true }" : "compression: none"}
    retry_on_failure: { initial_interval: 100ms, max_interval: 500ms, max_elapsed_time: 0 }
    sending_queue: { storage: file_storage, num_consumers: 4 }
service:
  extensions: [file_storage]
  telemetry:
    logs: { level: info }
    metrics: { address: 127.0.0.1:${freePort()} }
  pipelines:
    traces: { receivers: [otlp], processors: [batch], exporters: [${exporter}] }
`;
}

for (const exporter of ["otlp", "otlphttp"] as const) {
  Deno.test({
    name:
      `a graceful stop and restart of tfo with ${exporter} behind a persistent queue sends nothing twice`,
    sanitizeOps: false,
    sanitizeResources: false,
  }, async () => {
    const dir = await Deno.makeTempDir({ prefix: "tfo-graceful-" });
    await using sink = await startService(SINK_YAML);
    const endpoint = exporter === "otlp"
      ? `127.0.0.1:${sink.port("otlp/grpc", "grpc")}`
      : `http://127.0.0.1:${sink.port("otlp/http", "http")}`;
    const port = freePort();
    const yaml = tfoYaml(exporter, endpoint, port, dir);
    const acked = new Set<string>();
    const logs: string[] = [];
    let tfo: TfoProcess | undefined;
    try {
      for (let round = 1; round <= 3; round++) {
        tfo = await startTfo(`${exporter}-${round}`, dir, yaml);
        const load = startIdLoad({
          url: `http://127.0.0.1:${port}`,
          prefix: `r${round}`,
          workers: 2,
          pauseMs: 10,
        });
        await new Promise((r) => setTimeout(r, 1500));
        await load.stop();
        for (const id of load.acked) acked.add(id);
        const code = await tfo.stop(20_000);
        logs.push(tfo.tail());
        assert.equal(code, 0, `round ${round}: tfo stopped cleanly:\n${tfo.tail()}`);
      }
      tfo = await startTfo(`${exporter}-last`, dir, yaml);
      const names = () => recorded(sink.kit, "recorder", "traces").flatMap(spanNamesOf);
      await waitFor(
        "every acknowledged span at the sink",
        () => {
          const got = new Set(names());
          return [...acked].every((id) => got.has(id));
        },
        30_000,
        100,
      ).catch(() => {});
      await new Promise((r) => setTimeout(r, 1000)); // a late duplicate would show up now
      const counts = new Map<string, number>();
      for (const n of names()) counts.set(n, (counts.get(n) ?? 0) + 1);
      const lost = [...acked].filter((id) => !counts.has(id));
      const duplicates = [...counts.values()].reduce((sum, c) => sum + c - 1, 0);
      const summary = `${exporter}: acknowledged ${acked.size}, arrived ${counts.size} distinct, ` +
        `lost ${lost.length}, duplicates ${duplicates}`;
      console.log(summary);
      assert.ok(acked.size > 300, summary);
      assert.equal(lost.length, 0, summary);
      assert.equal(duplicates, 0, `${summary}\n${logs.join("\n")}`);
      assert.doesNotMatch(logs.join("\n"), /Cannot delete a persistent queue entry/);
    } finally {
      if (tfo !== undefined && !tfo.dead) await tfo.stop();
      await Deno.remove(dir, { recursive: true });
    }
  });
}
