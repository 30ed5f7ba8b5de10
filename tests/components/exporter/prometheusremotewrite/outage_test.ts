/**
 * The remote write server down while tfo takes data, then tfo restarted, then the server up: with
 * `sending_queue.storage` every accepted sample arrives, and arrives once. Runs `tfo run` as a
 * child process against a capturing sink on a fixed free loopback port.
 */
import assert from "node:assert/strict";
import { freePort, waitFor, waitForPort } from "../../../fixtures/interop/services.ts";
import { encodeMetricsRequest } from "../../../../lib/otlp/mod.ts";
import type { MetricsData } from "../../../../lib/pdata/types.ts";
import { spawnTfo } from "../prometheus/_peers.ts";
import { Sink } from "./_rw.ts";

function gauge(i: number, timeNs: bigint): MetricsData {
  return {
    resourceMetrics: [{
      resource: { attributes: [{ key: "service.name", value: "svc" }], droppedAttributesCount: 0 },
      schemaUrl: "",
      scopeMetrics: [{
        scope: { name: "", version: "", attributes: [], droppedAttributesCount: 0 },
        schemaUrl: "",
        metrics: [{
          name: "outage.gauge",
          description: "",
          unit: "",
          metadata: [],
          data: {
            type: "gauge",
            dataPoints: [{
              attributes: [{ key: "i", value: String(i) }],
              startTimeUnixNano: 0n,
              timeUnixNano: timeNs,
              value: i,
              exemplars: [],
              flags: 0,
            }],
          },
        }],
      }],
    }],
  };
}

function config(storage: string, otlpPort: number, endpoint: string): string {
  return [
    "receivers:",
    "  otlp:",
    "    protocols:",
    `      http: { endpoint: 127.0.0.1:${otlpPort} }`,
    "extensions:",
    "  file_storage:",
    `    directory: ${storage}`,
    "exporters:",
    "  prometheus_remote_write:",
    `    endpoint: ${endpoint}`,
    "    retry_on_failure: { initial_interval: 100ms, max_interval: 200ms, max_elapsed_time: 0s }",
    "    sending_queue: { storage: file_storage }",
    "service:",
    "  extensions: [file_storage]",
    "  telemetry:",
    `    metrics: { address: 127.0.0.1:${freePort()} }`,
    "  pipelines:",
    "    metrics: { receivers: [otlp], exporters: [prometheus_remote_write] }",
  ].join("\n");
}

Deno.test("prometheus_remote_write keeps data on disk through an outage and a restart, and sends it once", async () => {
  const storage = await Deno.makeTempDir({ prefix: "tfo-prw-storage-" });
  const sinkPort = freePort();
  const endpoint = `http://127.0.0.1:${sinkPort}/api/v1/write`;
  const otlpPort = freePort();
  const now = BigInt(Date.now()) * 1_000_000n;
  const N = 5;
  try {
    {
      await using tfo = await spawnTfo(() => config(storage, otlpPort, endpoint));
      await waitForPort(otlpPort, 60_000).catch((e) => {
        throw new Error(`tfo did not start:\n${tfo.output()}`, { cause: e });
      });
      for (let i = 0; i < N; i++) {
        const r = await fetch(`http://127.0.0.1:${otlpPort}/v1/metrics`, {
          method: "POST",
          headers: { "content-type": "application/x-protobuf" },
          body: encodeMetricsRequest(gauge(i, now + BigInt(i) * 1_000_000n)) as Uint8Array<
            ArrayBuffer
          >,
        });
        await r.body?.cancel();
        assert.equal(r.status, 200, "accepted while the server is down (on disk)");
      }
      // Let a few retries fail against the closed port.
      await new Promise((r) => setTimeout(r, 700));
      tfo.child.kill("SIGTERM");
      const status = await tfo.child.status;
      assert.equal(status.code, 0, `tfo stopped cleanly:\n${tfo.output()}`);
    }
    const sink = new Sink(1, sinkPort);
    try {
      await using tfo = await spawnTfo(() => config(storage, otlpPort, endpoint));
      await waitFor(
        `all ${N} samples at the sink`,
        () => Promise.resolve(sink.samples().length >= N ? true : undefined),
        60_000,
      ).catch((e) => {
        throw new Error(`${sink.samples().length} samples:\n${tfo.output()}`, { cause: e });
      });
      // Nothing more comes: each sample arrived once.
      await new Promise((r) => setTimeout(r, 1000));
      const samples = sink.samples();
      assert.equal(samples.length, N, samples.join("\n"));
      const values = samples.map((s) => Number(s.split(" ")[1])).sort((a, b) => a - b);
      assert.deepEqual(values, [0, 1, 2, 3, 4]);
    } finally {
      await sink.close();
    }
  } finally {
    await Deno.remove(storage, { recursive: true }).catch(() => {});
  }
});
