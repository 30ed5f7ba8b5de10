/**
 * Graceful stop of an in-process service while a client waits on data the batch processor holds:
 * the service must drain the batch downstream and answer the client, over HTTP and over gRPC,
 * well within its shutdown timeout. (process_test.ts proves the same of `tfo run` and SIGTERM.)
 */
import assert from "node:assert/strict";
import { tracesProto } from "../components/receiver/otlp/_helpers.ts";
import { recordedItems, startService, waitFor } from "../fixtures/interop/services.ts";
import { makeBatch, sdkExport } from "../fixtures/interop/sdk_data.ts";
import { countItems } from "../../lib/pdata/count.ts";

const CONFIG = `
receivers:
  otlp:
    protocols:
      grpc: { endpoint: 127.0.0.1:0 }
      http: { endpoint: 127.0.0.1:0 }
processors:
  batch:
    timeout: 1h
    send_batch_size: 1000000
exporters:
  recorder:
service:
  pipelines:
    traces: { receivers: [otlp], processors: [batch], exporters: [recorder] }
`;
const SHUTDOWN_TIMEOUT_MS = 3_000;

for (const protocol of ["http", "grpc"] as const) {
  Deno.test(`service shutdown drains a batch that holds an OTLP/${protocol} request and answers its client`, async () => {
    await using tfo = await startService(CONFIG, { shutdownTimeoutMs: SHUTDOWN_TIMEOUT_MS });
    const abort = new AbortController();
    let expected: number;
    let pending: Promise<void>;
    if (protocol === "http") {
      expected = 2;
      pending = fetch(`http://127.0.0.1:${tfo.port("otlp", "http")}/v1/traces`, {
        method: "POST",
        body: tracesProto("held-1", "held-2"),
        headers: { "content-type": "application/x-protobuf" },
        signal: abort.signal,
      }).then(async (res) => {
        await res.body?.cancel();
        assert.equal(res.status, 200, "the held HTTP request is answered with success");
      });
    } else {
      const batch = await makeBatch("traces");
      expected = countItems("traces", batch.expected);
      pending = sdkExport(batch, "grpc", {
        httpBase: "",
        grpcAddress: `127.0.0.1:${tfo.port("otlp", "grpc")}`,
      });
    }
    pending.catch(() => {});
    try {
      await waitFor(
        "the batch processor to hold the request",
        () =>
          tfo.service.registry.value("otelcol_processor_incoming_items", {
            processor: "batch",
            otel_signal: "traces",
          }) === expected,
        5_000,
      ).catch((e) => {
        throw new Error(`${e.message}\n${tfo.service.registry.render()}`);
      });
      assert.equal(recordedItems(tfo.kit, "recorder", "traces"), 0, "held, not yet delivered");

      const started = Date.now();
      await tfo.service.shutdown();
      const took = Date.now() - started;
      assert.equal(
        recordedItems(tfo.kit, "recorder", "traces"),
        expected,
        `the batch was drained to the exporter (shutdown took ${took} ms)`,
      );
      assert.ok(took < SHUTDOWN_TIMEOUT_MS, `shutdown did not wait for its timeout (${took} ms)`);
      await pending;
    } finally {
      abort.abort();
      await pending.catch(() => {});
    }
  });
}
