import assert from "node:assert/strict";
import { createBatchProcessor } from "../../../components/processor/batch/factory.ts";
import { batchConfigSchema } from "../../../components/processor/batch/config.ts";
import { type Consumer, permanentError } from "../../../lib/consumer/consumer.ts";
import { createLogger } from "../../../lib/telemetry/logger.ts";
import { type ClientInfo, Payload, type ProtoDecoder } from "../../../lib/pdata/payload.ts";
import type { TracesData } from "../../../lib/pdata/types.ts";
import { spanNamesOf, tracesOf, tracesPayload } from "../../fixtures/graph_kit.ts";
import { FakeClock } from "../../fixtures/fake_clock.ts";
import { MetricRegistry } from "../../../lib/telemetry/metrics.ts";
import { loadConfigLibs } from "../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

function recordingConsumer(fail?: () => Error) {
  const batches: Payload<"traces">[] = [];
  const consumer: Consumer<"traces"> = {
    mutatesData: false,
    consume(payload) {
      if (fail !== undefined) return Promise.reject(fail());
      batches.push(payload);
      return Promise.resolve();
    },
  };
  return { batches, consumer, names: () => batches.map((b) => spanNamesOf(b.read())) };
}

function config(input: Record<string, unknown>) {
  return batchConfigSchema.parse(input);
}

Deno.test("batch processor sends everything pending once send_batch_size is reached", async () => {
  const sink = recordingConsumer();
  const p = createBatchProcessor(
    config({ send_batch_size: 3, timeout: "1h" }),
    "traces",
    sink.consumer,
  );
  const first = p.consume(tracesPayload("a", "b"));
  assert.equal(sink.batches.length, 0);
  await Promise.all([first, p.consume(tracesPayload("c", "d"))]);
  assert.deepEqual(sink.names(), [["a", "b", "c", "d"]]);
  await p.shutdown();
});

Deno.test("batch processor splits batches over send_batch_max_size", async () => {
  const sink = recordingConsumer();
  const p = createBatchProcessor(
    config({ send_batch_size: 2, send_batch_max_size: 2, timeout: "1h" }),
    "traces",
    sink.consumer,
  );
  const input = tracesPayload("a", "b", "c", "d", "e");
  await p.consume(input);
  assert.deepEqual(sink.names(), [["a", "b"], ["c", "d"]]);
  await p.shutdown();
  assert.deepEqual(sink.names(), [["a", "b"], ["c", "d"], ["e"]]);
  assert.deepEqual(spanNamesOf(input.read()), ["a", "b", "c", "d", "e"], "input untouched");
});

Deno.test("batch processor acknowledges data once it holds it, not after the timeout", async () => {
  const sink = recordingConsumer();
  const p = createBatchProcessor(config({ timeout: "1h" }), "traces", sink.consumer);
  await p.consume(tracesPayload("held"));
  assert.equal(sink.batches.length, 0, "answered while the batch still waits");
  await p.shutdown();
  assert.deepEqual(sink.names(), [["held"]]);
});

Deno.test("batch processor makes callers wait while maxInFlight batches are being delivered", async () => {
  const pending: (() => void)[] = [];
  const consumer: Consumer<"traces"> = {
    mutatesData: false,
    consume: () => new Promise<void>((resolve) => pending.push(resolve)),
  };
  const p = createBatchProcessor(config({ timeout: 0 }), "traces", consumer, { maxInFlight: 2 });
  await p.consume(tracesPayload("a"));
  await p.consume(tracesPayload("b"));
  let third = false;
  const waiting = p.consume(tracesPayload("c")).then(() => (third = true));
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(third, false, "two batches in flight: the third caller waits");
  pending.shift()!();
  await waiting;
  assert.equal(third, true);
  for (const r of pending.splice(0)) r();
  const stopping = p.shutdown();
  await new Promise((resolve) => setTimeout(resolve, 0));
  for (const r of pending.splice(0)) r();
  await stopping;
});

Deno.test("batch processor bounds the bytes it holds: over maxBytes callers wait, and what waits is sent at once", async () => {
  const pending: (() => void)[] = [];
  const batches: Payload<"traces">[] = [];
  const consumer: Consumer<"traces"> = {
    mutatesData: false,
    consume: (payload) => {
      batches.push(payload);
      return new Promise<void>((resolve) => pending.push(resolve));
    },
  };
  // Unencoded payloads count 256 bytes an item: two of three spans fit 1600 bytes, not a third.
  const p = createBatchProcessor(
    config({ send_batch_size: 1000, timeout: "1h" }),
    "traces",
    consumer,
    { maxBytes: 1600 },
  );
  await p.consume(tracesPayload("a", "b", "c"));
  await p.consume(tracesPayload("d", "e", "f"));
  assert.equal(batches.length, 0, "both held, waiting for the size or the timeout");
  let third = false;
  const waiting = p.consume(tracesPayload("g", "h", "i")).then(() => (third = true));
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(third, false, "over the byte bound: the caller waits");
  assert.deepEqual(batches.map((b) => spanNamesOf(b.read())), [["a", "b", "c", "d", "e", "f"]]);
  pending.shift()!();
  await waiting;
  assert.equal(third, true, "delivered: room again");
  // One payload larger than the bound passes when nothing else is held.
  const stopping = p.shutdown();
  await new Promise((resolve) => setTimeout(resolve, 0));
  for (const r of pending.splice(0)) r();
  await stopping;
  const big = createBatchProcessor(config({ timeout: "1h" }), "traces", consumer, {
    maxBytes: 100,
  });
  await big.consume(tracesPayload("j", "k"));
  const bigStop = big.shutdown();
  await new Promise((resolve) => setTimeout(resolve, 0));
  for (const r of pending.splice(0)) r();
  await bigStop;
  assert.deepEqual(spanNamesOf(batches.at(-1)!.read()), ["j", "k"]);
});

Deno.test("batch processor sends a partial batch when the timeout expires, not before", async () => {
  const sink = recordingConsumer();
  const clock = new FakeClock();
  const p = createBatchProcessor(
    config({ send_batch_size: 100, timeout: "10ms" }),
    "traces",
    sink.consumer,
    { clock },
  );
  await p.consume(tracesPayload("only"));
  await clock.advance(9);
  assert.equal(sink.batches.length, 0, "still within the timeout");
  await clock.advance(1);
  assert.deepEqual(sink.names(), [["only"]]);
  assert.deepEqual(clock.requested, [10]);
  await p.shutdown();
});

Deno.test("batch processor records the Collector's batch metrics", async () => {
  const sink = recordingConsumer();
  const clock = new FakeClock();
  const registry = new MetricRegistry();
  const p = createBatchProcessor(
    config({ send_batch_size: 2, timeout: "1s" }),
    "traces",
    sink.consumer,
    { clock, meter: registry.meter({ processor: "batch" }) },
  );
  await p.consume(tracesPayload("a", "b")); // reaches send_batch_size
  await p.consume(tracesPayload("c")); // waits for the timeout
  await clock.advance(1000);
  assert.deepEqual(sink.names(), [["a", "b"], ["c"]]);
  const text = registry.render();
  assert.match(text, /^otelcol_processor_batch_batch_size_trigger_send\{processor="batch"\} 1$/m);
  assert.match(text, /^otelcol_processor_batch_timeout_trigger_send\{processor="batch"\} 1$/m);
  assert.match(text, /^otelcol_processor_batch_batch_send_size_count\{processor="batch"\} 2$/m);
  assert.match(text, /^otelcol_processor_batch_batch_send_size_sum\{processor="batch"\} 3$/m);
  assert.match(
    text,
    /^otelcol_processor_batch_batch_send_size_bucket\{le="10",processor="batch"\} 2$/m,
  );
  assert.match(text, /^otelcol_processor_batch_metadata_cardinality\{processor="batch"\} 1$/m);
  assert.match(
    text,
    /^# HELP otelcol_processor_batch_batch_send_size Number of units in the batch \[Development\]$/m,
  );
  assert.match(text, /^# TYPE otelcol_processor_batch_batch_send_size histogram$/m);
  await p.shutdown();
});

Deno.test("batch processor flushes a partial batch on shutdown", async () => {
  const sink = recordingConsumer();
  const p = createBatchProcessor(config({ timeout: "1h" }), "traces", sink.consumer);
  const pending = p.consume(tracesPayload("x", "y"));
  assert.equal(sink.batches.length, 0);
  await p.shutdown();
  await pending;
  assert.deepEqual(sink.names(), [["x", "y"]]);
  await assert.rejects(p.consume(tracesPayload("late")), /shut down/);
});

Deno.test("batch processor logs a downstream refusal of a batch it already acknowledged", async () => {
  const sink = recordingConsumer(() => permanentError("bad data"));
  const lines: string[] = [];
  const logger = createLogger({ level: "debug", write: (l) => lines.push(l) });
  const p = createBatchProcessor(
    config({ send_batch_size: 2, timeout: "1h" }),
    "traces",
    sink.consumer,
    { logger },
  );
  await p.consume(tracesPayload("a"));
  await p.consume(tracesPayload("b"));
  await p.shutdown();
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /could not deliver a batch.*bad data/);
});

Deno.test("batch processor concatenates encoded payloads without decoding them", async () => {
  let decodes = 0;
  // A stand-in encoding: one byte per span, the byte being the span's name as a char code.
  const decoder: ProtoDecoder<"traces"> = {
    decode(bytes) {
      decodes++;
      return tracesOf(...[...bytes].map((b) => String.fromCharCode(b)));
    },
    countItems: (bytes) => bytes.length,
  };
  const encoded = (text: string) =>
    Payload.fromProto("traces", new TextEncoder().encode(text), decoder);
  const sink = recordingConsumer();
  const p = createBatchProcessor(
    config({ send_batch_size: 4, timeout: "1h" }),
    "traces",
    sink.consumer,
  );
  await Promise.all([p.consume(encoded("ab")), p.consume(encoded("cd"))]);
  assert.equal(decodes, 0);
  assert.equal(sink.batches.length, 1);
  assert.equal(new TextDecoder().decode(sink.batches[0]!.encodedProto), "abcd");
  assert.equal(sink.batches[0]!.itemCount, 4);
  await p.shutdown();
});

Deno.test("batch processor keeps one batch per combination of metadata_keys values", async () => {
  const sink = recordingConsumer();
  const p = createBatchProcessor(
    config({ send_batch_size: 2, timeout: "1h", metadata_keys: ["X-Tenant-Id"] }),
    "traces",
    sink.consumer,
  );
  const client = (tenant: string): ClientInfo => ({
    metadata: new Map([["x-tenant-id", [tenant]]]),
    auth: new Map(),
  });
  const data = (name: string): TracesData => tracesOf(name);
  await Promise.all([
    p.consume(Payload.of("traces", data("a1"), client("a"))),
    p.consume(Payload.of("traces", data("b1"), client("b"))),
    p.consume(Payload.of("traces", data("a2"), client("a"))),
    p.consume(Payload.of("traces", data("b2"), client("b"))),
  ]);
  const byTenant = sink.batches.map((
    b,
  ) => [b.client.metadata.get("x-tenant-id")?.[0], spanNamesOf(b.read())]);
  assert.deepEqual(byTenant, [["a", ["a1", "a2"]], ["b", ["b1", "b2"]]]);
  await p.shutdown();
});

Deno.test("batch config rejects send_batch_max_size below send_batch_size", () => {
  const result = batchConfigSchema.safeParse({ send_batch_size: 100, send_batch_max_size: 10 });
  assert.equal(result.success, false);
  assert.deepEqual(result.error?.issues[0]?.path, ["send_batch_max_size"]);
});
