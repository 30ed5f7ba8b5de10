/**
 * End to end through `tfo run`: the `otlp` receiver over gRPC (requests cut from pooled slabs) →
 * `batch` (handed to the sending queue) → `otlphttp`, with a backend that fails, then recovers.
 * Every span sent arrives exactly once with exactly its bytes, whether the queue is in memory or
 * persistent, and tfo logs no misuse of the pooled buffers.
 */
import assert from "node:assert/strict";
import { GrpcClient } from "../../lib/net/grpc_client.ts";
import { tracesProto } from "../components/receiver/otlp/_helpers.ts";
import { freePort, waitFor } from "../fixtures/interop/services.ts";
import { startTfo } from "../fixtures/chaos/tfo_process.ts";
import { startRecordingSink } from "../fixtures/chaos/otlp_sink.ts";

const TRACES = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
const REQUESTS = 3000;
const SPANS_PER_REQUEST = 20;

/** A distinct span name of ~120 bytes whose every byte depends on the span's number. */
function spanName(n: number): string {
  return `span ${String(n).padStart(7, "0")} ${
    String.fromCharCode(97 + (n % 26)).repeat(100 + (n % 13))
  }`;
}

function request(r: number): Uint8Array {
  const names: string[] = [];
  for (let s = 0; s < SPANS_PER_REQUEST; s++) names.push(spanName(r * SPANS_PER_REQUEST + s));
  return tracesProto(...names);
}

function config(
  grpcPort: number,
  port: number,
  metricsPort: number,
  storageDir: string | undefined,
): string {
  const storage = storageDir === undefined ? "" : `
extensions:
  file_storage:
    directory: ${JSON.stringify(storageDir)}
`;
  return `${storage}
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:${grpcPort}
processors:
  batch:
    send_batch_size: 2000
    timeout: 50ms
exporters:
  otlphttp:
    endpoint: http://127.0.0.1:${port}
    compression: none
    retry_on_failure:
      initial_interval: 20ms
      max_interval: 50ms
      randomization_factor: 0
      max_elapsed_time: 0
    sending_queue:
      sizer: items
      queue_size: 10000
      block_on_overflow: true${storageDir === undefined ? "" : "\n      storage: file_storage"}
service:
  ${storageDir === undefined ? "" : "extensions: [file_storage]\n  "}telemetry:
    logs: { level: info }
    metrics: { address: 127.0.0.1:${metricsPort} }
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [otlphttp]
`;
}

for (const persistent of [false, true]) {
  const queue = persistent ? "a persistent queue" : "a memory queue";
  Deno.test(`gRPC spans reach a failing, then recovering backend exactly once through ${queue}`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "tfo_grpc_leases_" });
    const port = freePort();
    const grpcPort = freePort();
    const backend = startRecordingSink(port, { failFirst: 6 });
    const storage = persistent ? `${dir}/storage` : undefined;
    if (storage !== undefined) await Deno.mkdir(storage);
    const tfo = await startTfo("grpc-leases", dir, config(grpcPort, port, freePort(), storage));
    const client = new GrpcClient({ target: `127.0.0.1:${grpcPort}`, tls: undefined });
    try {
      let next = 0;
      const worker = async () => {
        while (next < REQUESTS) {
          const r = next++;
          await client.unary(TRACES, request(r), { timeoutMs: 30_000 });
        }
      };
      await Promise.all(Array.from({ length: 16 }, worker));
      const expected = REQUESTS * SPANS_PER_REQUEST;
      const total = () => [...backend.received.values()].reduce((a, b) => a + b, 0);
      await waitFor(`${expected} spans at the backend`, () => total() >= expected, 90_000);
      assert.ok(backend.requests() > 6, "the backend failed, then recovered");
      assert.equal(await tfo.stop(10_000), 0, tfo.tail());
      assert.equal(total(), expected, "no span twice");
      for (let n = 0; n < expected; n++) {
        const name = spanName(n);
        if (backend.received.get(name) !== 1) {
          assert.fail(`span ${n} arrived ${backend.received.get(name) ?? 0} times`);
        }
      }
      assert.doesNotMatch(tfo.tail(), /misused/, `no lease misuse was logged: ${tfo.tail()}`);
    } finally {
      client.close();
      if (!tfo.dead) await tfo.killHard();
      await backend.close();
      await Deno.remove(dir, { recursive: true });
    }
  });
}
