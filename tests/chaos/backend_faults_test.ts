/**
 * Backend faults not covered by `tests/components/exporter/otlphttp/otlphttp_faults_test.ts`
 * (which has 429/503 with Retry-After, 400 and 500 as permanent, connection refused, a reset in the
 * middle of the response body, and a backend that never answers, over OTLP/HTTP):
 *
 * - OTLP/HTTP: the connection reset while the exporter is still sending the request body;
 * - OTLP/gRPC (`otlp` exporter), with the expected number of attempts: `UNAVAILABLE` with a
 *   `RetryInfo` delay (the gRPC counterpart of 503 with Retry-After), a server that never answers
 *   (per-attempt timeout, then a retry), a refused connection until the server comes up, and
 *   `INVALID_ARGUMENT` (the counterpart of 400: permanent, never retried).
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import * as grpc from "@grpc/grpc-js";
import { otlpConfigSchema } from "../../components/exporter/otlp/config.ts";
import { otlpExporterFactory } from "../../components/exporter/otlp/factory.ts";
import { otlphttpConfigSchema } from "../../components/exporter/otlphttp/config.ts";
import { otlphttpExporterFactory } from "../../components/exporter/otlphttp/factory.ts";
import { type Consumer, ConsumerError } from "../../lib/consumer/consumer.ts";
import { encodeRpcStatus, GrpcCode } from "../../lib/net/rpc_status.ts";
import { rawDeserialize, rawSerialize } from "../../lib/net/grpc_client.ts";
import { decodeTracesRequest } from "../../lib/otlp/mod.ts";
import { tracesPayload } from "../fixtures/graph_kit.ts";
import { freePort } from "../fixtures/interop/services.ts";
import { settingsFor } from "../components/exporter/otlp/_kit.ts";
import { tracesRequest } from "../fixtures/chaos/id_load.ts";
import { Payload } from "../../lib/pdata/payload.ts";
import { TRACES_PROTO } from "../../lib/otlp/mod.ts";
import { loadConfigLibs } from "../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

/** Retries 50 ms apart, without jitter, for at most 5 s. */
const FAST_RETRY = {
  initial_interval: "50ms",
  randomization_factor: 0,
  multiplier: 1,
  max_interval: "50ms",
  max_elapsed_time: "5s",
};
const TRACE_EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
const HOST = { getExtension: () => undefined, status: () => "running" as const };

type Answer = { code: number; details: string; retryDelayMs?: number } | "ok" | "hang";

/** A grpc-js TraceService on 127.0.0.1 answering the n-th call (from 0) with `answer(n)`. */
async function grpcBackend(answer: (n: number) => Answer, port = 0) {
  const arrivals: number[] = [];
  const spans: string[] = [];
  const hanging: (() => void)[] = [];
  const server = new grpc.Server();
  server.register<Uint8Array, Uint8Array>(
    TRACE_EXPORT,
    (
      call: grpc.ServerUnaryCall<Uint8Array, Uint8Array>,
      callback: grpc.sendUnaryData<Uint8Array>,
    ) => {
      const n = arrivals.length;
      arrivals.push(performance.now());
      const a = answer(n);
      if (a === "hang") {
        hanging.push(() => callback(null, new Uint8Array()));
        return;
      }
      if (a === "ok") {
        for (const rs of decodeTracesRequest(call.request).resourceSpans) {
          for (const ss of rs.scopeSpans) spans.push(...ss.spans.map((s) => s.name));
        }
        callback(null, new Uint8Array());
        return;
      }
      const metadata = new grpc.Metadata();
      if (a.retryDelayMs !== undefined) {
        const details = encodeRpcStatus({
          code: a.code,
          message: a.details,
          retryAfterMs: a.retryDelayMs,
        });
        metadata.set("grpc-status-details-bin", Buffer.from(details));
      }
      callback({ code: a.code, details: a.details, metadata });
    },
    rawSerialize,
    rawDeserialize,
    "unary",
  );
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      `127.0.0.1:${port}`,
      grpc.ServerCredentials.createInsecure(),
      (e, p) => (e ? reject(e) : resolve(p)),
    )
  );
  return {
    endpoint: `127.0.0.1:${bound}`,
    arrivals,
    spans,
    close() {
      for (const release of hanging) release();
      server.forceShutdown();
    },
  };
}

async function grpcExporter(input: Record<string, unknown>) {
  const config = otlpConfigSchema.parse({
    tls: { insecure: true },
    compression: "none",
    retry_on_failure: FAST_RETRY,
    sending_queue: { enabled: false },
    ...input,
  });
  const kit = settingsFor("otlp", config);
  const exporter = otlpExporterFactory.create(kit.settings, ["traces"]);
  await exporter.start(HOST);
  const metric = (name: string) => kit.registry.value(name, { exporter: "otlp" });
  return { exporter, traces: exporter.consumers.traces as Consumer<"traces">, metric };
}

Deno.test("otlp exporter waits for the RetryInfo delay of UNAVAILABLE, then delivers (2 attempts)", async () => {
  const backend = await grpcBackend((n) =>
    n === 0 ? { code: GrpcCode.UNAVAILABLE, details: "busy", retryDelayMs: 1000 } : "ok"
  );
  const { exporter, traces, metric } = await grpcExporter({ endpoint: backend.endpoint });
  try {
    await traces.consume(tracesPayload("a", "b"));
  } finally {
    await exporter.shutdown();
    backend.close();
  }
  assert.equal(backend.arrivals.length, 2);
  const gap = backend.arrivals[1]! - backend.arrivals[0]!;
  assert.ok(gap >= 950 && gap < 3000, `waited ${gap}ms, not the 50ms backoff`);
  assert.deepEqual(backend.spans, ["a", "b"]);
  assert.equal(metric("otelcol_exporter_sent_spans"), 2);
});

Deno.test("otlp exporter times out on a backend that never answers, then retries (2 attempts)", async () => {
  const backend = await grpcBackend((n) => n === 0 ? "hang" : "ok");
  const { exporter, traces, metric } = await grpcExporter({
    endpoint: backend.endpoint,
    timeout: "200ms",
  });
  try {
    await traces.consume(tracesPayload("a"));
  } finally {
    await exporter.shutdown();
    backend.close();
  }
  assert.equal(backend.arrivals.length, 2);
  const gap = backend.arrivals[1]! - backend.arrivals[0]!;
  // 200 ms timeout + 50 ms backoff between the attempts; the backend stamps arrivals only when it
  // gets to them, which a loaded machine delays by tens of milliseconds, so the bound has slack.
  // An immediate retry (no timeout) would arrive within a few milliseconds.
  assert.ok(gap >= 150, `the timeout (200ms) and the backoff (50ms) passed: ${gap}ms`);
  assert.equal(metric("otelcol_exporter_sent_spans"), 1);
});

Deno.test("otlp exporter retries a refused connection until the server comes up", async () => {
  const port = freePort();
  const { exporter, traces, metric } = await grpcExporter({
    endpoint: `127.0.0.1:${port}`,
    timeout: "1s",
    retry_on_failure: { ...FAST_RETRY, max_elapsed_time: "20s" },
  });
  let backend: Awaited<ReturnType<typeof grpcBackend>> | undefined;
  try {
    const began = performance.now();
    const delivered = traces.consume(tracesPayload("late"));
    await new Promise((resolve) => setTimeout(resolve, 300));
    backend = await grpcBackend(() => "ok", port);
    await delivered;
    assert.ok(performance.now() - began >= 300);
  } finally {
    await exporter.shutdown();
    backend?.close();
  }
  assert.deepEqual(backend.spans, ["late"], "delivered once, once the server was up");
  assert.equal(metric("otelcol_exporter_sent_spans"), 1);
});

Deno.test("otlp exporter never retries INVALID_ARGUMENT (permanent, 1 attempt)", async () => {
  const backend = await grpcBackend(() => ({ code: GrpcCode.INVALID_ARGUMENT, details: "bad" }));
  const { exporter, traces, metric } = await grpcExporter({ endpoint: backend.endpoint });
  let error: unknown;
  try {
    await traces.consume(tracesPayload("a")).catch((e) => error = e);
    await new Promise((resolve) => setTimeout(resolve, 150)); // three backoffs' worth
  } finally {
    await exporter.shutdown();
    backend.close();
  }
  assert.ok(error instanceof ConsumerError && error.permanent, `permanent: ${error}`);
  assert.equal(backend.arrivals.length, 1);
  assert.equal(metric("otelcol_exporter_send_failed_spans"), 1);
});

Deno.test("otlphttp exporter retries a connection reset while it sends the request body", async () => {
  // The first connection reads 1 KiB of a ~300 KiB request and closes; the second is answered.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let connections = 0;
  let delivered = 0;
  const served = (async () => {
    for await (const conn of listener) {
      const n = connections++;
      if (n === 0) {
        await conn.read(new Uint8Array(1024));
        conn.close();
        continue;
      }
      // Read the whole request (headers, then Content-Length bytes), then answer.
      const buffer = new Uint8Array(1 << 20);
      let have = 0;
      let need = Infinity;
      while (have < need) {
        const read = await conn.read(buffer.subarray(have));
        if (read === null) break;
        have += read;
        const text = new TextDecoder().decode(buffer.subarray(0, Math.min(have, 4096)));
        const end = text.indexOf("\r\n\r\n");
        const length = /content-length:\s*(\d+)/i.exec(text);
        if (end >= 0 && length !== null) need = end + 4 + Number(length[1]);
      }
      if (have >= need) delivered++;
      await conn.write(new TextEncoder().encode(
        "HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n" +
          "Connection: close\r\n\r\n",
      )).catch(() => 0);
      conn.close();
    }
  })();
  const config = otlphttpConfigSchema.parse({
    endpoint: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    compression: "none",
    retry_on_failure: FAST_RETRY,
    sending_queue: { enabled: false },
  });
  const kit = settingsFor("otlphttp", config);
  const exporter = otlphttpExporterFactory.create(kit.settings, ["traces"]);
  await exporter.start(HOST);
  const names = Array.from({ length: 100 }, (_, i) => `big-${i}`);
  const payload = Payload.fromProto("traces", tracesRequest(names, 3000), TRACES_PROTO);
  try {
    await (exporter.consumers.traces as Consumer<"traces">).consume(payload);
  } finally {
    await exporter.shutdown();
    listener.close();
    await served.catch(() => {});
  }
  assert.equal(connections, 2, "one retry after the reset");
  assert.equal(delivered, 1, "the second attempt delivered the whole body");
  assert.equal(
    kit.registry.value("otelcol_exporter_sent_spans", { exporter: "otlphttp" }),
    100,
  );
});
