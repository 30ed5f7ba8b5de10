import assert from "node:assert/strict";
import { createMemoryQueue } from "../../../lib/exporterhelper/memory_queue.ts";
import { createPersistentQueue } from "../../../lib/exporterhelper/persistent_queue.ts";
import { HEADER_VERSION, headerProblem } from "../../../lib/exporterhelper/_queue_codec.ts";
import { queueAgeSeconds, startQueueSender } from "../../../lib/exporterhelper/queue_sender.ts";
import { NOOP_LOGGER } from "../../../lib/telemetry/logger.ts";
import { MetricRegistry } from "../../../lib/telemetry/metrics.ts";
import { tracesPayload } from "../../fixtures/graph_kit.ts";
import { openQueueStorage } from "../../fixtures/queue/kit.ts";
import { FakeClock } from "../../fixtures/fake_clock.ts";

Deno.test("memory queue reports when its oldest held entry was offered, taken ones included", async () => {
  const time = new FakeClock();
  const T0 = time.now();
  const queue = createMemoryQueue<"traces">({ capacity: 10, clock: time });
  assert.equal(queue.oldestOfferedAt, undefined);
  await queue.offer(tracesPayload("a"));
  await time.advance(1000);
  await queue.offer(tracesPayload("b"));
  await time.advance(1000);
  await queue.offer(tracesPayload("c"));
  assert.equal(queue.oldestOfferedAt, T0);
  const a = (await queue.take())!;
  const b = (await queue.take())!;
  // Taken but not acknowledged: still held, still the oldest.
  assert.equal(queue.oldestOfferedAt, T0);
  await b.ack();
  assert.equal(queue.oldestOfferedAt, T0);
  await a.ack();
  assert.equal(queue.oldestOfferedAt, T0 + 2000);
  await (await queue.take())!.ack();
  assert.equal(queue.oldestOfferedAt, undefined);
  await queue.close();
});

Deno.test("memory queue's oldest entry moves on when drop_oldest drops it", async () => {
  const time = new FakeClock();
  const T0 = time.now();
  const queue = createMemoryQueue<"traces">({ capacity: 2, whenFull: "drop_oldest", clock: time });
  await queue.offer(tracesPayload("a"));
  await time.advance(500);
  await queue.offer(tracesPayload("b"));
  await time.advance(500);
  await queue.offer(tracesPayload("c"));
  assert.equal(queue.oldestOfferedAt, T0 + 500);
  await queue.close();
});

for (const journal of [false, true]) {
  Deno.test(`persistent queue keeps enqueue times across a restart${journal ? " (journal)" : ""}`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "tfo_queue_age_" });
    let storage = await openQueueStorage(dir, { journal });
    try {
      const open = () =>
        createPersistentQueue<"traces">(storage.client, "traces", { capacity: 10 });
      const first = await open();
      const before = Date.now();
      await first.offer(tracesPayload("a"));
      const after = Date.now();
      await first.offer(tracesPayload("b"));
      const at = first.oldestOfferedAt!;
      assert.ok(at >= before && at <= after, `${at} within [${before}, ${after}]`);
      await first.close();
      await storage.close();
      storage = await openQueueStorage(dir, { journal });
      const second = await open();
      assert.equal(second.recovered, 2);
      assert.equal(second.oldestOfferedAt, at);
      await (await second.take())!.ack();
      const next = second.oldestOfferedAt!;
      assert.ok(next >= at, "the second item is not older than the first");
      await (await second.take())!.ack();
      assert.equal(second.oldestOfferedAt, undefined);
      await second.close();
    } finally {
      await storage.close();
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("a stored header's enqueue time is optional and checked when present", () => {
  const header = { v: HEADER_VERSION, bytes: 10, stored: 10, chunks: 1, items: 1 };
  assert.equal(headerProblem(header), undefined);
  assert.equal(headerProblem({ ...header, at: Date.now() }), undefined);
  assert.equal(
    headerProblem({ ...header, at: "yesterday" }),
    "the index entry has a bad enqueue time",
  );
  assert.equal(headerProblem({ ...header, at: -1 }), "the index entry has a bad enqueue time");
});

Deno.test("the queue sender exposes the oldest item's age in seconds, 0 when empty", async () => {
  const time = new FakeClock();
  const registry = new MetricRegistry();
  const queue = createMemoryQueue<"traces">({ capacity: 10, clock: time });
  const gate = Promise.withResolvers<void>();
  const sender = startQueueSender(queue, () => gate.promise, "traces", {
    numConsumers: 1,
    persistent: false,
    meter: registry.meter({ exporter: "otlp" }),
    logger: NOOP_LOGGER,
    clock: time,
  });
  const gauge = () =>
    registry.render().split("\n").find((l) => l.startsWith("tfo_exporter_queue_oldest_item_age{"));
  assert.match(gauge()!, / 0$/);
  await sender.send(tracesPayload("a"));
  await time.advance(2500);
  assert.match(gauge()!, /data_type="traces"/);
  assert.match(gauge()!, / 2\.5$/);
  gate.resolve();
  await sender.shutdown();
  assert.match(gauge()!, / 0$/);
  assert.equal(queueAgeSeconds(time.now() + 10, time.now()), 0);
});
