/**
 * End to end through `tfo run`: `filelog` (pooled request buffers) → `batch` (handed to the
 * sending queue) → `otlphttp`, with a backend that fails, then recovers. Every line of the file
 * arrives exactly once with exactly its bytes, whether the queue is in memory or persistent, and
 * tfo logs no misuse of the pooled buffers.
 */
import assert from "node:assert/strict";
import { decodeLogsRequest, encodeLogsResponse } from "../../lib/otlp/mod.ts";
import { freePort, waitFor } from "../fixtures/interop/services.ts";
import { startTfo } from "../fixtures/chaos/tfo_process.ts";

/** Distinct lines of ~110 bytes whose every byte depends on the line number. */
function lines(n: number): string[] {
  return Array.from({ length: n }, (_, i) => {
    const fill = String.fromCharCode(97 + (i % 26)).repeat(90 + (i % 11));
    return `line ${String(i).padStart(7, "0")} ${fill}`;
  });
}

/** An OTLP/HTTP logs backend answering 503 to its first `failures` requests. */
function flakyLogsBackend(port: number, failures: number) {
  const received = new Map<string, number>();
  let requests = 0;
  const ok = encodeLogsResponse(undefined) as Uint8Array<ArrayBuffer>;
  const server = Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, async (request) => {
    const body = await request.bytes();
    if (requests++ < failures) return new Response("try later", { status: 503 });
    for (const rl of decodeLogsRequest(body).resourceLogs) {
      for (const sl of rl.scopeLogs) {
        for (const r of sl.logRecords) {
          const line = String(r.body);
          received.set(line, (received.get(line) ?? 0) + 1);
        }
      }
    }
    return new Response(ok, { headers: { "content-type": "application/x-protobuf" } });
  });
  return { received, requests: () => requests, close: () => server.shutdown() };
}

function config(
  input: string,
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
  filelog:
    include: [${JSON.stringify(input)}]
    start_at: beginning
processors:
  batch:
    send_batch_size: 4096
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
      queue_size: 50${storageDir === undefined ? "" : "\n      storage: file_storage"}
service:
  ${storageDir === undefined ? "" : "extensions: [file_storage]\n  "}telemetry:
    logs: { level: info }
    metrics: { address: 127.0.0.1:${metricsPort} }
  pipelines:
    logs:
      receivers: [filelog]
      processors: [batch]
      exporters: [otlphttp]
`;
}

for (const persistent of [false, true]) {
  const queue = persistent ? "a persistent queue" : "a memory queue";
  Deno.test(`filelog lines reach a failing, then recovering backend exactly once through ${queue}`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "tfo_leases_" });
    const port = freePort();
    const backend = flakyLogsBackend(port, 6);
    const expected = lines(200_000);
    const input = `${dir}/app.log`;
    await Deno.writeTextFile(input, expected.join("\n") + "\n");
    const storage = persistent ? `${dir}/storage` : undefined;
    if (storage !== undefined) await Deno.mkdir(storage);
    const tfo = await startTfo("leases", dir, config(input, port, freePort(), storage));
    try {
      const total = () => [...backend.received.values()].reduce((a, b) => a + b, 0);
      await waitFor(
        `${expected.length} lines at the backend`,
        () => total() >= expected.length,
        90_000,
      );
      assert.ok(backend.requests() > 6, "the backend failed, then recovered");
      assert.equal(await tfo.stop(10_000), 0, tfo.tail());
      assert.equal(total(), expected.length, "no line twice");
      for (const line of expected) {
        if (backend.received.get(line) !== 1) {
          assert.fail(`line ${line.slice(0, 12)} arrived ${backend.received.get(line) ?? 0} times`);
        }
      }
      assert.doesNotMatch(tfo.tail(), /misused/, "no lease misuse was logged");
    } finally {
      if (!tfo.dead) await tfo.killHard();
      await backend.close();
      await Deno.remove(dir, { recursive: true });
    }
  });
}
