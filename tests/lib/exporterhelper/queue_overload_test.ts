/**
 * Overload of a non-blocking sending queue with batching (the default when a batch processor hands
 * its settings to the exporter): refusals must leak no capacity, every accepted item must arrive,
 * and new data must be accepted again once the queue drained. No timing is asserted.
 */
import assert from "node:assert/strict";
import type { Host } from "../../../components/component.ts";
import { type Consumer, retryableError } from "../../../lib/consumer/consumer.ts";
import {
  createExporterHelper,
  type ExporterHelperConfig,
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
import { loadConfigLibs } from "../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

const HOST: Host = { getExtension: () => undefined, status: () => "running" };

function config(queue: Record<string, unknown>): ExporterHelperConfig {
  return {
    timeout: 0,
    retry_on_failure: retryOnFailureSchema.parse({}),
    sending_queue: sendingQueueSchema.parse(queue),
  };
}

function encoded(name: string, n: number): Payload<"traces"> {
  const names = Array.from({ length: n }, (_, i) => `${name}-${i}`);
  return Payload.fromProto("traces", encodeTracesRequest(tracesOf(...names)), TRACES_PROTO);
}

/**
 * Offers `workers` requests at once, `rounds` times, letting the clock move between rounds;
 * returns the names of the spans of the accepted requests and how many were refused.
 */
async function overload(
  traces: Consumer<"traces">,
  clock: FakeClock,
  o: { workers: number; rounds: number; items: number; stepMs: number },
) {
  const accepted: string[] = [];
  let refused = 0;
  for (let r = 0; r < o.rounds; r++) {
    await Promise.all(Array.from({ length: o.workers }, async (_, w) => {
      const name = `r${r}w${w}`;
      // Each request in its own task, as HTTP requests come: the offer coalescer merges only
      // what arrives while offers are in flight.
      await settle();
      try {
        await traces.consume(encoded(name, o.items));
        for (let i = 0; i < o.items; i++) accepted.push(`${name}-${i}`);
      } catch {
        refused++;
      }
    }));
    await clock.advance(o.stepMs);
  }
  return { accepted, refused };
}

for (const sizer of ["requests", "items"] as const) {
  Deno.test(`a full non-blocking batching queue (sizer ${sizer}) recovers after an overload`, async () => {
    const clock = new FakeClock();
    const sent: string[] = [];
    const push: PushFunc<"traces"> = async (payload) => {
      await settle();
      sent.push(...spanNamesOf(payload.read()));
    };
    const obs = observed("otlphttp");
    const helper = createExporterHelper(
      { id: "otlphttp", logger: obs.logger, meter: obs.meter },
      config({
        sizer,
        queue_size: sizer === "items" ? 100 : 10,
        batch: { flush_timeout: "200ms", min_size: 8192, sizer: "items" },
      }),
      { traces: push },
      { clock },
    );
    await helper.start(HOST);
    const traces = helper.consumers.traces as Consumer<"traces">;
    const { accepted, refused } = await overload(traces, clock, {
      workers: 256,
      rounds: 6,
      items: 5,
      stepMs: 100,
    });
    assert.ok(refused > 0, "the load overflowed the queue");
    await clock.runUntil("the queue drains", () => sent.length >= accepted.length);
    assert.deepEqual([...sent].sort(), [...accepted].sort(), "every accepted item arrived");
    await traces.consume(encoded("after", 3));
    await clock.runUntil("the new request is sent", () => sent.includes("after-2"));
    await helper.shutdown();
  });
}

Deno.test("the offer coalescer answers every caller when a group cannot be merged", async () => {
  const offered: { payload: Payload<"traces">; done: PromiseWithResolvers<void> }[] = [];
  const offer = createOfferCoalescer("traces", (payload: Payload<"traces">) => {
    const done = Promise.withResolvers<void>();
    offered.push({ payload, done });
    return done.promise;
  }, { metadataKeys: [], maxInFlight: 1 });
  const first = probe(offer(encoded("first", 1)));
  // Waiting while the first offer is in flight: a decoded payload and bytes that do not decode,
  // so merging them must decode the bytes and fails.
  const good = probe(offer(Payload.of("traces", tracesOf("good"))));
  const bad = probe(
    offer(Payload.fromProto("traces", new Uint8Array([0x0a, 0x05, 1, 2]), TRACES_PROTO)),
  );
  assert.equal(offered.length, 1);
  offered[0]!.done.resolve();
  await settle();
  assert.equal(first.settled, true);
  assert.equal(offered.length, 2, "the group's parts are offered one by one");
  assert.deepEqual(spanNamesOf(offered[1]!.payload.read()), ["good"]);
  offered[1]!.done.resolve();
  await settle();
  assert.equal(good.settled, true);
  assert.equal(good.error, undefined);
  assert.equal(offered.length, 3);
  offered[2]!.done.reject(new Error("refused"));
  await settle();
  assert.ok(bad.error instanceof Error, "the caller of the bad part gets its own answer");
  const after = probe(offer(encoded("after", 1)));
  assert.equal(offered.length, 4, "the coalescer takes new requests again at once");
  offered[3]!.done.resolve();
  await settle();
  assert.equal(after.settled, true);
});

Deno.test("a full non-blocking batching queue recovers once a backend that refused comes back", async () => {
  const clock = new FakeClock();
  const sent: string[] = [];
  let up = false;
  let refusedSends = 0;
  const push: PushFunc<"traces"> = async (payload) => {
    await settle();
    if (!up) {
      refusedSends++;
      throw retryableError("backend unavailable");
    }
    sent.push(...spanNamesOf(payload.read()));
  };
  const obs = observed("otlphttp");
  const helper = createExporterHelper(
    { id: "otlphttp", logger: obs.logger, meter: obs.meter },
    config({ queue_size: 10, batch: { flush_timeout: "200ms", min_size: 8192, sizer: "items" } }),
    { traces: push },
    { clock },
  );
  await helper.start(HOST);
  const traces = helper.consumers.traces as Consumer<"traces">;
  const outage = await overload(traces, clock, { workers: 64, rounds: 3, items: 5, stepMs: 100 });
  assert.ok(outage.refused > 0 && refusedSends > 0, "the queue filled while sends failed");
  up = true;
  await clock.runUntil("the queue drains", () => sent.length >= outage.accepted.length);
  const later = await overload(traces, clock, { workers: 64, rounds: 3, items: 5, stepMs: 300 });
  assert.ok(later.accepted.length > 0, "new data is accepted after the outage");
  const all = [...outage.accepted, ...later.accepted];
  await clock.runUntil("everything is sent", () => sent.length >= all.length);
  assert.deepEqual([...sent].sort(), all.sort(), "every accepted item arrived, once");
  await helper.shutdown();
});
