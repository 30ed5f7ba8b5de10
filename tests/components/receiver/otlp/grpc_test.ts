import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import * as grpc from "@grpc/grpc-js";
import { permanentError, retryableError } from "../../../../lib/consumer/consumer.ts";
import { GrpcCode } from "../../../../lib/net/rpc_status.ts";
import { logsProto, metricsProto, spanNames, startHarness, tracesProto } from "./_helpers.ts";

const METHODS = {
  traces: "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
  metrics: "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
  logs: "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
} as const;

const raw = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

interface CallResult {
  error: grpc.ServiceError | null;
  response: Buffer | undefined;
}

/** A raw-bytes gRPC client for the OTLP services. */
function rawClient(address: string, options: grpc.ChannelOptions = {}) {
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), options);
  return {
    call(
      method: string,
      body: Uint8Array,
      metadata = new grpc.Metadata(),
    ): Promise<CallResult> {
      return new Promise((resolve) => {
        client.makeUnaryRequest(
          method,
          raw,
          (b: Buffer) => b,
          body,
          metadata,
          (error, response) => resolve({ error, response }),
        );
      });
    },
    close: () => client.close(),
  };
}

Deno.test("otlp grpc receiver delivers traces, metrics and logs still encoded", async () => {
  await using h = await startHarness({ grpc: null });
  const c = rawClient(h.grpcAddress);
  try {
    const t = await c.call(METHODS.traces, tracesProto("g1", "g2"));
    assert.equal(t.error, null);
    assert.equal(t.response?.length, 0);
    assert.equal((await c.call(METHODS.metrics, metricsProto("cpu", 1, 2))).error, null);
    assert.equal((await c.call(METHODS.logs, logsProto("hello"))).error, null);
  } finally {
    c.close();
  }
  const traces = h.sinks.traces.payloads[0]!;
  assert.ok(traces.encodedProto !== undefined);
  assert.deepEqual(spanNames(h.sinks.traces), ["g1", "g2"]);
  assert.match(traces.client.address ?? "", /^127\.0\.0\.1:\d+$/);
  assert.equal(traces.client.metadata.size, 0);
  assert.equal(h.sinks.metrics.payloads[0]!.itemCount, 2);
  assert.equal(
    h.sinks.logs.payloads[0]!.read().resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!.body,
    "hello",
  );
});

Deno.test("otlp grpc receiver accepts gzip-compressed messages", async () => {
  await using h = await startHarness({ grpc: null });
  const c = rawClient(h.grpcAddress, { "grpc.default_compression_algorithm": 2 });
  try {
    assert.equal((await c.call(METHODS.traces, tracesProto("zipped"))).error, null);
  } finally {
    c.close();
  }
  assert.deepEqual(spanNames(h.sinks.traces), ["zipped"]);
});

Deno.test("otlp grpc receiver copies metadata into the client info with include_metadata", async () => {
  await using h = await startHarness({ grpc: { include_metadata: true } });
  const c = rawClient(h.grpcAddress);
  const md = new grpc.Metadata();
  md.set("X-Tenant-ID", "acme");
  md.set("trace-bin", Buffer.from([1, 2, 3]));
  try {
    assert.equal((await c.call(METHODS.traces, tracesProto("m"), md)).error, null);
  } finally {
    c.close();
  }
  const client = h.sinks.traces.payloads[0]!.client;
  assert.deepEqual(client.metadata.get("x-tenant-id"), ["acme"]);
  assert.deepEqual(client.metadata.get("trace-bin"), ["AQID"]);
});

Deno.test("otlp grpc receiver answers RESOURCE_EXHAUSTED over max_recv_msg_size_mib, also for gzip bombs", async () => {
  await using h = await startHarness({ grpc: { max_recv_msg_size_mib: 1 } });
  const plain = rawClient(h.grpcAddress);
  const zipped = rawClient(h.grpcAddress, { "grpc.default_compression_algorithm": 2 });
  try {
    const big = await plain.call(METHODS.traces, new Uint8Array(2 * 1024 * 1024));
    assert.equal(big.error?.code, GrpcCode.RESOURCE_EXHAUSTED);
    const bomb = await zipped.call(METHODS.traces, new Uint8Array(10 * 1024 * 1024));
    assert.equal(bomb.error?.code, GrpcCode.RESOURCE_EXHAUSTED);
    assert.equal((await plain.call(METHODS.traces, tracesProto("after"))).error, null);
  } finally {
    plain.close();
    zipped.close();
  }
  assert.deepEqual(spanNames(h.sinks.traces), ["after"]);
});

Deno.test("otlp grpc receiver answers INVALID_ARGUMENT to malformed messages", async () => {
  await using h = await startHarness({ grpc: null });
  const c = rawClient(h.grpcAddress);
  try {
    const good = tracesProto("a", "b");
    const truncated = await c.call(METHODS.traces, good.subarray(0, good.length - 5));
    assert.equal(truncated.error?.code, GrpcCode.INVALID_ARGUMENT);
    const garbage = await c.call(METHODS.logs, new Uint8Array([0xff, 0xff, 0xff, 0xff]));
    assert.equal(garbage.error?.code, GrpcCode.INVALID_ARGUMENT);
  } finally {
    c.close();
  }
  assert.equal(h.sinks.traces.payloads.length, 0);
});

Deno.test("otlp grpc receiver maps refusals: retryable UNAVAILABLE with RetryInfo, permanent INVALID_ARGUMENT", async () => {
  await using h = await startHarness({ grpc: null });
  const c = rawClient(h.grpcAddress);
  try {
    h.sinks.traces.fail = () => retryableError("full", { retryAfterMs: 1500 });
    const busy = await c.call(METHODS.traces, tracesProto("a"));
    assert.equal(busy.error?.code, GrpcCode.UNAVAILABLE);
    const details = busy.error?.metadata.get("grpc-status-details-bin")[0];
    assert.ok(details instanceof Buffer, "status details are sent");
    const text = details.toString("latin1");
    assert.ok(text.includes("type.googleapis.com/google.rpc.RetryInfo"));
    // RetryInfo{retry_delay: Duration{seconds: 1, nanos: 500000000}}
    assert.ok(details.includes(Buffer.from([0x08, 0x01, 0x10, 0x80, 0xca, 0xb5, 0xee, 0x01])));

    h.sinks.traces.fail = () => permanentError("bad");
    const bad = await c.call(METHODS.traces, tracesProto("a"));
    assert.equal(bad.error?.code, GrpcCode.INVALID_ARGUMENT);
  } finally {
    c.close();
  }
});

Deno.test("otlp grpc receiver answers UNIMPLEMENTED for signals without a consumer", async () => {
  await using h = await startHarness({ grpc: null }, ["traces"]);
  const c = rawClient(h.grpcAddress);
  try {
    const res = await c.call(METHODS.logs, logsProto("x"));
    assert.equal(res.error?.code, GrpcCode.UNIMPLEMENTED);
  } finally {
    c.close();
  }
});
