/**
 * The persistent queue's warm-up (`_queue_warm_up.ts`): a throwaway queue, with and without a
 * journal, takes a send of each form through batching to a sender and back, once per isolate,
 * and the real store never sees it.
 */
import assert from "node:assert/strict";
import { warmUpPersistentQueue } from "../../../lib/exporterhelper/_queue_warm_up.ts";

Deno.test("persistent queue warm-up takes its items all the way through, with and without a journal", async () => {
  for (const signal of ["traces", "metrics", "logs"] as const) {
    assert.equal(await warmUpPersistentQueue(signal, true), true, `${signal}, journal`);
    assert.equal(await warmUpPersistentQueue(signal, false), true, `${signal}, no journal`);
  }
});

Deno.test("persistent queue warm-up runs once per signal and isolate", () => {
  const first = warmUpPersistentQueue("logs", true);
  assert.equal(warmUpPersistentQueue("logs", true), first);
  assert.notEqual(warmUpPersistentQueue("traces", true), first);
});
