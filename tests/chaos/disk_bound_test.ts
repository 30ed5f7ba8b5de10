/**
 * The disk bound of the persistent queue, through a real agent process: `sending_queue` with
 * `storage: file_storage` and `max_size_mib: 1`, the backend down. A client sends ~31 KiB requests
 * (20 spans with unique names, each ending in ~1.1 KiB of random base64: the queue compresses what
 * it stores and bounds the stored bytes, so the data must not shrink to nothing) one after another
 * until the agent refuses several in a row.
 *
 * - Refusals are retryable: HTTP 503 (and gRPC `UNAVAILABLE` for a gRPC client).
 * - The data on disk never exceeds the bound by more than one item, sampled after every accepted
 *   request, measured two ways: the queue's own `tfo_exporter_queue_bytes` gauge (payload bytes
 *   it holds), and independently by opening the agent's Deno KV database read-side from this test
 *   and summing the stored chunk values under the queue's prefix, read once they match the gauge
 *   or after 5 s (the queue acknowledges what its journal holds and folds it into the database,
 *   compressed, a second later; the gauge right after the answer, which counts the uncompressed
 *   size until then, is held to the bound too; a mismatch that lasts is judged by the bounds). The database files (`tfo.kv`,
 *   `-wal`, `-shm`) are reported but not held to the bound: SQLite's write-ahead log is only folded
 *   back every 1000 pages (4 MiB) and keeps its size after that, and freed pages stay in the file,
 *   so file sizes measure SQLite's bookkeeping, not the data the queue holds.
 * - Nothing accepted is lost: the backend comes up at the end and every accepted name arrives.
 */
import assert from "node:assert/strict";
import { GrpcCallError, GrpcClient } from "../../lib/net/grpc_client.ts";
import { freePort, waitFor } from "../fixtures/interop/services.ts";
import { agentConfig } from "../fixtures/chaos/configs.ts";
import { tracesRequest } from "../fixtures/chaos/id_load.ts";
import { startRecordingSink } from "../fixtures/chaos/otlp_sink.ts";
import { metricValue, scrape, startTfo } from "../fixtures/chaos/tfo_process.ts";

const MIB = 1024 * 1024;
const BOUND = 1 * MIB;
const QUEUE = { exporter: "otlphttp", data_type: "traces" };
const PREFIX = ["exporter", "otlphttp", "traces"];
/** A unique span name that compresses poorly (random base64 after a readable tag). */
function noisyName(tag: string): string {
  const noise = crypto.getRandomValues(new Uint8Array(1100));
  return `${tag}-${btoa(String.fromCharCode(...noise))}`;
}

const TRACE_EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

async function fileBytes(dir: string): Promise<number> {
  let total = 0;
  for await (const entry of Deno.readDir(dir)) {
    if (entry.name.startsWith("tfo.kv") && !entry.name.endsWith(".lock")) {
      total += (await Deno.stat(`${dir}/${entry.name}`)).size;
    }
  }
  return total;
}

async function chunkBytes(kv: Deno.Kv): Promise<number> {
  let total = 0;
  for await (const { value } of kv.list({ prefix: [...PREFIX, "c"] })) {
    if (value instanceof Uint8Array) total += value.length;
  }
  return total;
}

Deno.test("persistent queue full at max_size_mib refuses retryably, stays in its bound, loses nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tfo-disk-" });
  const storage = `${dir}/storage`;
  const ports = { http: freePort(), grpc: freePort(), metrics: freePort(), backend: freePort() };
  const agent = await startTfo(
    "agent",
    dir,
    agentConfig({
      httpPort: ports.http,
      grpcPort: ports.grpc,
      metricsPort: ports.metrics,
      storageDir: storage,
      backendUrl: `http://127.0.0.1:${ports.backend}`,
      batch: false,
      queue: { num_consumers: 2, queue_size: 1000, max_size_mib: 1 },
    }),
  );
  const kv = await Deno.openKv(`${storage}/tfo.kv`);
  const grpc = new GrpcClient({
    target: `127.0.0.1:${ports.grpc}`,
    tls: undefined,
    compression: "none",
  });
  let sink: ReturnType<typeof startRecordingSink> | undefined;
  try {
    const baselineFiles = await fileBytes(storage);
    const accepted: string[] = [];
    const statuses = new Map<number, number>();
    const samples: { metric: number; chunks: number; files: number }[] = [];
    let itemBytes = 0;
    let refusedInARow = 0;
    for (let n = 0; refusedInARow < 5; n++) {
      assert.ok(
        n < 500,
        "the agent refused nothing after 500 requests of ~31 KiB with a 1 MiB bound",
      );
      const names = Array.from({ length: 20 }, (_, i) => noisyName(`disk-${n}-${i}`));
      const body = tracesRequest(names, 0, n * 20);
      itemBytes = Math.max(itemBytes, body.length);
      const response = await fetch(`http://127.0.0.1:${ports.http}/v1/traces`, {
        method: "POST",
        body,
        headers: { "content-type": "application/x-protobuf" },
      });
      await response.body?.cancel();
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      if (response.ok) {
        accepted.push(...names);
        refusedInARow = 0;
        const gauge = async () =>
          metricValue((await scrape(ports.metrics)) ?? "", "tfo_exporter_queue_bytes", QUEUE);
        const metric = await gauge();
        // The queue acknowledges once its journal holds a request (file_storage without fsync)
        // and folds what is still queued into the database, compressed, a second later (its
        // gauge counts the uncompressed size until then): read both once they agree.
        const folded = await waitFor(
          "the queue's journal to be folded into its database",
          async () => {
            const [bytes, now] = [await chunkBytes(kv), await gauge()];
            return bytes === now ? { bytes, metric: now } : false;
          },
          5000,
        ).catch(async () => ({ bytes: await chunkBytes(kv), metric: await gauge() }));
        assert.ok(
          (metric ?? NaN) <= BOUND + itemBytes,
          `queue bytes over the bound before the fold: ${metric}`,
        );
        samples.push({
          metric: folded.metric ?? NaN,
          chunks: folded.bytes,
          files: await fileBytes(storage) - baselineFiles,
        });
      } else {
        assert.equal(response.status, 503, `a refusal is retryable (503), got ${response.status}`);
        refusedInARow++;
      }
    }
    // A gRPC client sending a request of the same size gets UNAVAILABLE for the same reason.
    const grpcNames = Array.from({ length: 20 }, (_, i) => noisyName(`grpc-${i}`));
    const grpcError = await grpc.unary(TRACE_EXPORT, tracesRequest(grpcNames, 0), {
      timeoutMs: 10_000,
    })
      .then(() => undefined, (error: unknown) => error);
    assert.ok(grpcError instanceof GrpcCallError, `gRPC refused: ${grpcError}`);
    assert.equal(grpcError.code, 14, `UNAVAILABLE, got ${grpcError.code}: ${grpcError.details}`);

    const peak = (k: "metric" | "chunks" | "files") => Math.max(...samples.map((s) => s[k]));
    const report = `accepted ${accepted.length / 20} requests of ≤${itemBytes} bytes ` +
      `(${samples.length} samples), answers ${JSON.stringify(Object.fromEntries(statuses))}; ` +
      `peak queue bytes ${peak("metric")}, peak chunk bytes in KV ${peak("chunks")}, ` +
      `peak database files growth ${peak("files")} (baseline ${baselineFiles}); ` +
      `bound ${BOUND} + one item ${itemBytes}`;
    console.log(report);
    assert.ok(accepted.length > 0, report);
    for (const s of samples) {
      assert.ok(
        s.metric <= BOUND + itemBytes,
        `queue bytes over the bound: ${s.metric}; ${report}`,
      );
      assert.ok(s.chunks <= BOUND + itemBytes, `KV data over the bound: ${s.chunks}; ${report}`);
    }
    assert.ok(peak("chunks") > BOUND - itemBytes, `the queue filled up to its bound: ${report}`);
    const failed = metricValue(
      (await scrape(ports.metrics)) ?? "",
      "otelcol_exporter_enqueue_failed_spans",
      {
        exporter: "otlphttp",
      },
    );
    assert.ok((failed ?? 0) >= 5 * 20, `enqueue failures are counted: ${failed}`);

    // The backend comes up: everything accepted arrives.
    sink = startRecordingSink(ports.backend);
    const missing = () => accepted.filter((name) => !sink!.received.has(name));
    await waitFor("every accepted span to arrive", () => missing().length === 0, 30_000, 100).catch(
      () => {},
    );
    assert.deepEqual(missing(), [], `nothing accepted is lost; ${report}`);
    await waitFor("the queue to be empty", async () => (await chunkBytes(kv)) === 0, 10_000, 100);
  } finally {
    grpc.close();
    kv.close();
    const code = await agent.stop();
    if (code !== 0) console.error(`agent exited ${code}:\n${agent.tail()}`);
    await sink?.close();
    await Deno.remove(dir, { recursive: true });
  }
});
