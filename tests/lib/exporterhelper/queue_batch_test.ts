import assert from "node:assert/strict";
import type { Host } from "../../../components/component.ts";
import type { Consumer } from "../../../lib/consumer/consumer.ts";
import {
  createExporterHelper,
  type ExporterHelperConfig,
  type ExporterHelperOptions,
  type PushFunc,
  retryOnFailureSchema,
  sendingQueueSchema,
} from "../../../lib/exporterhelper/exporter_helper.ts";
import { createOfferCoalescer } from "../../../lib/exporterhelper/_offer_coalescer.ts";
import { encodeTracesRequest, TRACES_PROTO } from "../../../lib/otlp/mod.ts";
import { Payload } from "../../../lib/pdata/payload.ts";
import { spanNamesOf, tracesOf } from "../../fixtures/graph_kit.ts";
import { FakeClock, settle } from "./_fake_clock.ts";
import { observed, probe } from "./_kit.ts";
import { kvStorageHost } from "../../fixtures/queue/kit.ts";
import { loadConfigLibs } from "../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

function config(queue: Record<string, unknown>): ExporterHelperConfig {
  return {
    timeout: 0,
    retry_on_failure: retryOnFailureSchema.parse({}),
    sending_queue: sendingQueueSchema.parse(queue),
  };
}

/** An encoded traces payload of spans named `<prefix>-<i>`. */
function encoded(prefix: string, n: number, metadata?: Record<string, string>): Payload<"traces"> {
  const names = Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
  const client = {
    metadata: new Map(Object.entries(metadata ?? {}).map(([k, v]) => [k, [v]])),
    auth: new Map<string, string>(),
  };
  return Payload.fromProto("traces", encodeTracesRequest(tracesOf(...names)), TRACES_PROTO, client);
}

interface Sent {
  names: string[];
  parts: number | undefined;
  tenant: readonly string[] | undefined;
}

function recorder() {
  const sent: Sent[] = [];
  const gate = { hold: false, waiting: [] as (() => void)[] };
  const push: PushFunc<"traces"> = async (payload) => {
    if (gate.hold) await new Promise<void>((resolve) => gate.waiting.push(resolve));
    sent.push({
      parts: payload.encodedParts?.length,
      tenant: payload.client.metadata.get("tenant"),
      names: spanNamesOf(payload.read()),
    });
  };
  return { sent, push, gate };
}

function helperWith(cfg: ExporterHelperConfig, push: PushFunc<"traces">, o: ExporterHelperOptions) {
  const obs = observed("otlp");
  const helper = createExporterHelper(
    { id: "otlp", logger: obs.logger, meter: obs.meter },
    cfg,
    { traces: push },
    o,
  );
  return { helper, traces: helper.consumers.traces as Consumer<"traces">, ...obs };
}

const HOST: Host = { getExtension: () => undefined, status: () => "running" };

Deno.test("queue batching answers each request at once and merges encoded entries without decoding", async () => {
  const clock = new FakeClock();
  const { sent, push } = recorder();
  const { helper, traces } = helperWith(
    config({ batch: { flush_timeout: "10s", min_size: 30 } }),
    push,
    { clock },
  );
  await helper.start(HOST);
  for (let i = 0; i < 5; i++) {
    const accepted = probe(traces.consume(encoded(`r${i}`, 10)));
    await settle();
    assert.equal(accepted.settled, true, "the request is answered once queued");
  }
  await settle();
  assert.equal(sent.length, 1, "min_size reached: one batch sent before the timeout");
  assert.equal(sent[0]!.names.length, 30);
  assert.equal(sent[0]!.parts, 3, "the batch is the three encoded requests, concatenated");
  await clock.advance(10_000);
  await settle();
  assert.equal(sent.length, 2, "the rest went at flush_timeout");
  assert.equal(sent[1]!.names.length, 20);
  await helper.shutdown();
});

Deno.test("queue batching splits over max_size and acknowledges an entry after all its parts", async () => {
  const clock = new FakeClock();
  const { sent, push } = recorder();
  const { helper, traces } = helperWith(
    config({ sizer: "items", batch: { flush_timeout: "1s", min_size: 10, max_size: 10 } }),
    push,
    { clock },
  );
  await helper.start(HOST);
  await traces.consume(encoded("big", 25));
  await settle();
  await clock.advance(1000);
  await settle();
  assert.deepEqual(sent.map((s) => s.names.length), [10, 10, 5]);
  assert.deepEqual(sent.flatMap((s) => s.names), Array.from({ length: 25 }, (_, i) => `big-${i}`));
  await helper.shutdown();
});

Deno.test("queue batching keeps the batches of different metadata values apart", async () => {
  const clock = new FakeClock();
  const { sent, push } = recorder();
  const { helper, traces } = helperWith(
    config({ batch: { flush_timeout: "1s", partition: { metadata_keys: ["Tenant"] } } }),
    push,
    { clock },
  );
  await helper.start(HOST);
  await traces.consume(encoded("a", 2, { tenant: "a" }));
  await traces.consume(encoded("b", 2, { tenant: "b" }));
  await traces.consume(encoded("a2", 2, { tenant: "a" }));
  await clock.advance(1000);
  await settle();
  const byTenant = new Map(sent.map((s) => [s.tenant?.[0], s.names]));
  assert.equal(sent.length, 2);
  assert.deepEqual(byTenant.get("a"), ["a-0", "a-1", "a2-0", "a2-1"]);
  assert.deepEqual(byTenant.get("b"), ["b-0", "b-1"]);
  await helper.shutdown();
});

Deno.test("queue batching of a memory queue sends partial batches at shutdown", async () => {
  const clock = new FakeClock();
  const { sent, push } = recorder();
  const { helper, traces } = helperWith(
    config({ batch: { flush_timeout: "1h" } }),
    push,
    { clock },
  );
  await helper.start(HOST);
  await traces.consume(encoded("x", 3));
  await helper.shutdown();
  assert.deepEqual(sent.map((s) => s.names.length), [3]);
});

Deno.test("the items sizer bounds the queue by items and refuses past it", async () => {
  const clock = new FakeClock();
  const { push, gate } = recorder();
  gate.hold = true;
  const { helper, traces, registry } = helperWith(
    config({ sizer: "items", queue_size: 20, num_consumers: 1 }),
    push,
    { clock },
  );
  await helper.start(HOST);
  await traces.consume(encoded("a", 15));
  await assert.rejects(traces.consume(encoded("b", 10)), /full \(20 items\)/);
  assert.equal(
    registry.value("otelcol_exporter_queue_size", { exporter: "otlp", data_type: "traces" }),
    15,
  );
  gate.hold = false;
  for (const w of gate.waiting) w();
  await settle();
  await traces.consume(encoded("c", 10));
  await helper.shutdown();
});

Deno.test("wait_for_result answers a request only once its batch was sent", async () => {
  const clock = new FakeClock();
  const { sent, push } = recorder();
  const { helper, traces } = helperWith(
    config({ wait_for_result: true, batch: { flush_timeout: "1s" } }),
    push,
    { clock },
  );
  await helper.start(HOST);
  const answered = probe(traces.consume(encoded("w", 2)));
  await settle();
  assert.equal(answered.settled, false);
  await clock.advance(1000);
  await settle();
  assert.equal(answered.settled, true);
  assert.equal(answered.error, undefined);
  assert.equal(sent.length, 1);
  await helper.shutdown();
});

Deno.test("a graceful stop acknowledges a send that finishes during shutdown: nothing is sent twice", async () => {
  // The otlp (gRPC) exporter's push does not stop when asked: the queue must stay open until it
  // answered and its entries were deleted.
  const kv = await Deno.openKv(":memory:");
  try {
    const { host, clients } = kvStorageHost(kv);
    const { sent, push, gate } = recorder();
    const first = helperWith(
      config({ storage: "file_storage", batch: { flush_timeout: "1ms", min_size: 1 } }),
      (payload) => push(payload, new AbortController().signal),
      {},
    );
    await first.helper.start(host);
    gate.hold = true;
    for (let i = 0; i < 4; i++) await first.traces.consume(encoded(`g${i}`, 5));
    for (let i = 0; i < 50 && gate.waiting.length === 0; i++) await settle();
    assert.ok(gate.waiting.length > 0, "a send is in flight");
    const stopping = first.helper.shutdown();
    await settle();
    gate.hold = false;
    for (const w of gate.waiting) w();
    await stopping;
    assert.ok(clients.every((c) => c.closed), "the storage client was closed");
    const firstRun = sent.flatMap((s) => s.names);
    assert.ok(firstRun.length > 0);
    assert.equal(
      first.lines.filter((l) => String(l.msg ?? l.message).includes("Cannot")).length,
      0,
      JSON.stringify(first.lines),
    );

    const second = recorder();
    const again = helperWith(
      config({ storage: "file_storage", batch: { flush_timeout: "1ms", min_size: 1 } }),
      second.push,
      {},
    );
    await again.helper.start(host);
    for (let i = 0; i < 100; i++) await settle();
    await again.helper.shutdown();
    const secondRun = second.sent.flatMap((s) => s.names);
    const all = [...firstRun, ...secondRun].sort();
    const expected = Array.from(
      { length: 4 },
      (_, r) => Array.from({ length: 5 }, (_, i) => `g${r}-${i}`),
    ).flat().sort();
    assert.deepEqual(all, expected, "every span exactly once across the restart");
  } finally {
    kv.close();
  }
});

Deno.test("requests arriving while offers are committed are offered together, per partition", async () => {
  const offered: { payload: Payload<"traces">; done: PromiseWithResolvers<void> }[] = [];
  const offer = createOfferCoalescer("traces", (payload: Payload<"traces">) => {
    const done = Promise.withResolvers<void>();
    offered.push({ payload, done });
    return done.promise;
  }, { metadataKeys: ["tenant"], maxInFlight: 1 });
  const first = probe(offer(encoded("first", 1, { tenant: "a" })));
  const later = [
    probe(offer(encoded("a1", 2, { tenant: "a" }))),
    probe(offer(encoded("b1", 1, { tenant: "b" }))),
    probe(offer(encoded("a2", 3, { tenant: "a" }))),
  ];
  assert.equal(offered.length, 1, "one offer in flight; the rest wait for it");
  offered[0]!.done.resolve();
  await settle();
  assert.equal(first.settled, true);
  assert.equal(later.some((p) => p.settled), false, "the others resolve once their entry is held");
  assert.equal(offered.length, 2);
  assert.equal(offered[1]!.payload.encodedParts?.length, 2, "merged without decoding");
  assert.deepEqual(spanNamesOf(offered[1]!.payload.read()), [
    "a1-0",
    "a1-1",
    "a2-0",
    "a2-1",
    "a2-2",
  ]);
  offered[1]!.done.reject(new Error("queue full"));
  await settle();
  assert.ok(later[0]!.error instanceof Error && later[2]!.error instanceof Error);
  assert.equal(later[1]!.settled, false);
  assert.deepEqual(spanNamesOf(offered[2]!.payload.read()), ["b1-0"]);
  offered[2]!.done.resolve();
  await settle();
  assert.equal(later[1]!.settled, true);
  assert.equal(later[1]!.error, undefined);
});
