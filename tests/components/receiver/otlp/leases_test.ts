/**
 * The otlp receiver's gRPC requests cut from pooled slabs are reused only once nothing downstream
 * can read them: not while a batch processor, a queue or a retrying exporter holds them, and not
 * while a handler still runs after its call ended. Each test sends distinct spans through a strict
 * pool of small slabs that keeps one free (so a slab given back too early is poisoned and cut
 * again at once), checks that slabs were reused, that every span arrived exactly once with exactly
 * its bytes, and that every slab came back without a misuse.
 */
import assert from "node:assert/strict";
import { createBatchProcessor } from "../../../../components/processor/batch/factory.ts";
import { batchConfigSchema } from "../../../../components/processor/batch/config.ts";
import { type Consumer, retryableError } from "../../../../lib/consumer/consumer.ts";
import {
  createExporterHelper,
  type PushFunc,
  retryOnFailureSchema,
  sendingQueueSchema,
} from "../../../../lib/exporterhelper/exporter_helper.ts";
import { GrpcClient } from "../../../../lib/net/grpc_client.ts";
import { type GrpcCall, serveGrpc } from "../../../../lib/net/grpc_server.ts";
import { decodeTracesRequest } from "../../../../lib/otlp/mod.ts";
import type { Payload } from "../../../../lib/pdata/payload.ts";
import { SlabPool } from "../../../../lib/pdata/slab_pool.ts";
import { NOOP_LOGGER } from "../../../../lib/telemetry/logger.ts";
import { MetricRegistry } from "../../../../lib/telemetry/metrics.ts";
import { makeReceiver, testHost, tracesProto } from "./_helpers.ts";
import { assertExactlyOnce, joinedEncodedParts } from "../../../fixtures/leases.ts";

const TRACES = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/** Distinct span names of ~200 bytes whose every byte depends on the span's number. */
function spanName(request: number, span: number): string {
  const n = request * 10 + span;
  return `span ${String(n).padStart(6, "0")} ${String.fromCharCode(97 + (n % 26)).repeat(180)}`;
}

/** The span names of a payload's encoded bytes as they are now (joined, decoded from a copy). */
function encodedNames(payload: Payload<"traces">): string[] {
  return decodeTracesRequest(joinedEncodedParts(payload)).resourceSpans.flatMap((rs) =>
    rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => s.name))
  );
}

/** Asserts that `got` holds each of `expected` exactly once. */
function exactlyOnce(got: readonly string[], expected: readonly string[], what: string): void {
  assertExactlyOnce(got, expected, what, { plural: "spans", one: "a span", shown: 12 });
}

/** A strict pool of 8 KiB slabs keeping one free: a slab given back is soon cut again. */
function strictSlabs(): SlabPool {
  return new SlabPool({
    slabBytes: 8 * 1024,
    maxPooledBytes: 4 * 1024,
    maxFreeSlabs: 1,
    strict: true,
  });
}

function assertSlabsClean(slabs: SlabPool, reused = true): void {
  slabs.trim(0); // the writer lets go of the slab it was cutting
  const stats = slabs.stats;
  if (reused) assert.ok(stats.reused > 0, `slabs were reused (${JSON.stringify(stats)})`);
  assert.equal(stats.misuses, 0);
  assert.equal(stats.outstanding, 0, `every slab came back (${JSON.stringify(stats)})`);
}

/** Sends `requests` requests of 3 spans each, 8 at a time, and returns every span name sent. */
async function sendAll(address: string, requests: number): Promise<string[]> {
  const client = new GrpcClient({ target: address, tls: undefined });
  const sent: string[] = [];
  try {
    let next = 0;
    const worker = async () => {
      while (next < requests) {
        const r = next++;
        const names = [0, 1, 2].map((s) => spanName(r, s));
        sent.push(...names);
        await client.unary(TRACES, tracesProto(...names), { timeoutMs: 10_000 });
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
  } finally {
    client.close();
  }
  return sent;
}

/** Waits (on real time, bounded) until `cond()`. */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(cond(), what);
}

Deno.test("pooled gRPC requests are not reused while a batch processor and a retrying exporter hold them", async () => {
  const slabs = strictSlabs();
  const got: string[] = [];
  let calls = 0;
  const push: PushFunc<"traces"> = async (payload) => {
    calls++;
    // Sends take a little while, so that later requests are cut from slabs meanwhile.
    await new Promise((resolve) => setTimeout(resolve, 1));
    if (calls <= 5) throw retryableError("HTTP 503");
    got.push(...encodedNames(payload));
  };
  const helper = createExporterHelper(
    { id: "otlphttp", logger: NOOP_LOGGER, meter: new MetricRegistry().meter() },
    {
      timeout: 0,
      retry_on_failure: retryOnFailureSchema.parse({
        initial_interval: "5ms",
        max_interval: "10ms",
        randomization_factor: 0,
      }),
      // A small queue that waits for room (a batch processor drops what is refused), so
      // requests arrive while batches are retried.
      sending_queue: sendingQueueSchema.parse({
        num_consumers: 2,
        queue_size: 8,
        block_on_overflow: true,
        batch: { flush_timeout: "10ms", min_size: 60 },
      }),
    },
    { traces: push },
  );
  await helper.start(testHost());
  const batch = createBatchProcessor(
    batchConfigSchema.parse({ send_batch_size: 30, timeout: "20ms" }),
    "traces",
    helper.consumers.traces as Consumer<"traces">,
  );
  const receiver = makeReceiver(
    { protocols: { grpc: { endpoint: "127.0.0.1:0" } } },
    { traces: batch },
    [],
    "otlp",
    { requestSlabs: slabs },
  );
  await receiver.start(testHost());
  let sent: string[];
  try {
    sent = await sendAll(`127.0.0.1:${receiver.grpcPort}`, 400);
  } finally {
    await receiver.shutdown();
  }
  await batch.shutdown();
  await until(() => got.length >= sent.length, "every span was sent");
  await helper.shutdown();
  assert.ok(calls > 5, "the backend failed, then recovered");
  exactlyOnce(got, sent, "batch and retrying exporter");
  assertSlabsClean(slabs);
});

Deno.test("a pooled gRPC request stays leased while its handler runs past the call's deadline", async () => {
  // Every message takes a whole slab, so the next one's take lets go of it at once.
  const slabs = new SlabPool({ slabBytes: 64, maxPooledBytes: 64, maxFreeSlabs: 1, strict: true });
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => release = resolve);
  const seen: string[] = [];
  let first = true;
  const handler = async (call: GrpcCall) => {
    if (first) {
      first = false;
      await gate; // still reading the request after the deadline ended the call
    }
    seen.push(new TextDecoder().decode(call.request));
    return new Uint8Array(0);
  };
  const server = await serveGrpc(
    {
      hostname: "127.0.0.1",
      port: 0,
      maxRecvMsgBytes: 1024,
      pooledRequests: { slabs, methods: new Set([TRACES]) },
    },
    new Map([[TRACES, handler]]),
  );
  const client = new GrpcClient({ target: `127.0.0.1:${server.port}`, tls: undefined });
  try {
    const a = "a".repeat(64);
    const b = "b".repeat(64);
    const utf8 = new TextEncoder();
    await assert.rejects(client.unary(TRACES, utf8.encode(a), { timeoutMs: 50 }));
    // The second request is cut from a new slab; the first slab is held only by the handler.
    await client.unary(TRACES, utf8.encode(b), { timeoutMs: 10_000 });
    release();
    await until(() => seen.length === 2, "both handlers ran");
    assert.deepEqual(seen, [b, a], "the first request's bytes were intact when read late");
  } finally {
    client.close();
    await server.shutdown();
  }
  assertSlabsClean(slabs, false);
});
