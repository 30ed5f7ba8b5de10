import assert from "node:assert/strict";
import { ConsumerError } from "../../../lib/consumer/consumer.ts";
import {
  createMemoryQueue,
  ESTIMATED_BYTES_PER_ITEM,
} from "../../../lib/exporterhelper/memory_queue.ts";
import { MetricRegistry } from "../../../lib/telemetry/metrics.ts";
import { tracesPayload } from "../../fixtures/graph_kit.ts";
import { encodedPayload, spanName, tracesBytes } from "../../fixtures/queue/kit.ts";

function isRetryable(error: unknown): boolean {
  return error instanceof ConsumerError && !error.permanent;
}

Deno.test("memory queue hands entries out in order and counts them until acknowledged", async () => {
  const queue = createMemoryQueue<"traces">({ capacity: 10 });
  const bytes = [tracesBytes(0, 10), tracesBytes(1, 20)];
  for (const b of bytes) await queue.offer(encodedPayload(b));
  await queue.offer(tracesPayload("a", "b"));
  assert.equal(queue.size, 3);
  assert.equal(queue.capacity, 10);
  assert.equal(queue.bytes, bytes[0]!.length + bytes[1]!.length + 2 * ESTIMATED_BYTES_PER_ITEM);
  const a = (await queue.take())!;
  const b = (await queue.take())!;
  assert.deepEqual([spanName(a.payload), spanName(b.payload)], ["item-0", "item-1"]);
  assert.equal(queue.size, 3);
  await a.ack();
  await a.ack(); // twice is once
  assert.equal(queue.size, 2);
  assert.equal(queue.bytes, bytes[1]!.length + 2 * ESTIMATED_BYTES_PER_ITEM);
  await b.ack();
  await (await queue.take())!.ack();
  assert.equal(queue.size, 0);
  assert.equal(queue.bytes, 0);
  await queue.close();
});

Deno.test("memory queue refuses when full with a retryable error", async () => {
  const queue = createMemoryQueue<"traces">({ capacity: 1 });
  await queue.offer(tracesPayload("a"));
  const taken = (await queue.take())!; // taken entries still count
  await assert.rejects(queue.offer(tracesPayload("b")), isRetryable);
  await taken.ack();
  await queue.offer(tracesPayload("c"));
  await queue.close();
});

Deno.test("memory queue with when_full block waits for an acknowledgement", async () => {
  const queue = createMemoryQueue<"traces">({ capacity: 1, whenFull: "block" });
  await queue.offer(encodedPayload(tracesBytes(0, 1)));
  let done = false;
  const blocked = queue.offer(encodedPayload(tracesBytes(1, 1))).then(() => done = true);
  const first = (await queue.take())!;
  await Promise.resolve();
  assert.equal(done, false);
  await first.ack();
  await blocked;
  assert.equal(spanName((await queue.take())!.payload), "item-1");
  const waiting = queue.offer(encodedPayload(tracesBytes(2, 1)));
  await queue.close();
  await assert.rejects(waiting, isRetryable);
});

Deno.test("memory queue with when_full drop_oldest drops and counts untaken items", async () => {
  const registry = new MetricRegistry();
  const queue = createMemoryQueue<"traces">({
    capacity: 2,
    whenFull: "drop_oldest",
    meter: registry.meter({ exporter: "x" }),
  });
  await queue.offer(tracesPayload("a"));
  const taken = (await queue.take())!;
  await queue.offer(tracesPayload("b", "b2"));
  await queue.offer(tracesPayload("c"));
  assert.equal(queue.size, 2);
  assert.equal(
    registry.value("tfo_exporter_queue_dropped_items", {
      exporter: "x",
      data_type: "traces",
    }),
    2,
  );
  const next = (await queue.take())!;
  assert.equal(next.payload.read().resourceSpans[0]!.scopeSpans[0]!.spans[0]!.name, "c");
  await assert.rejects(queue.offer(tracesPayload("d")), isRetryable); // all in flight
  await taken.ack();
  await next.ack();
  await queue.close();
});

Deno.test("memory queue drains after close, then ends pending takes", async () => {
  const queue = createMemoryQueue<"traces">({ capacity: 5 });
  await queue.offer(tracesPayload("a"));
  await queue.offer(tracesPayload("b"));
  await queue.close();
  await assert.rejects(queue.offer(tracesPayload("c")), isRetryable);
  assert.ok(await queue.take());
  assert.ok(await queue.take());
  assert.equal(await queue.take(), undefined);

  const other = createMemoryQueue<"traces">({ capacity: 5 });
  const pending = other.take();
  await other.close();
  assert.equal(await pending, undefined);
});
