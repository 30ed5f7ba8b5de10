/**
 * The persistent queue's journal holds what waits for its fold in memory: when the fold falls
 * behind, new offers are refused (retryable, with a retry delay) at `foldMaxBytes` instead of
 * growing memory, and accepted again once the backlog is folded away.
 */
import assert from "node:assert/strict";
import { ConsumerError } from "../../../lib/consumer/consumer.ts";
import { createPersistentQueue } from "../../../lib/exporterhelper/persistent_queue.ts";
import { QUEUE_FULL_RETRY_MS } from "../../../lib/exporterhelper/queue.ts";
import { encodedPayload, openQueueStorage, tracesBytes } from "../../fixtures/queue/kit.ts";

Deno.test("persistent queue refuses new data once its journal's unfolded backlog reaches foldMaxBytes, and takes it again once folded", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tfo_fold_backlog_" });
  try {
    const storage = await openQueueStorage(dir, { journal: true });
    // Nothing folds by age during the test: only the backlog bound acts.
    const queue = await createPersistentQueue(storage.client, "traces", {
      capacity: 1000,
      foldDelayMs: 600_000,
      foldMaxBytes: 64 * 1024,
    });
    const item = tracesBytes(0, 10_000);
    let accepted = 0;
    let refusal: unknown;
    for (let i = 0; i < 20 && refusal === undefined; i++) {
      try {
        await queue.offer(encodedPayload(tracesBytes(i, 10_000)));
        accepted++;
      } catch (error) {
        refusal = error;
      }
    }
    assert.ok(refusal instanceof ConsumerError, `refused: ${refusal}`);
    assert.equal(refusal.permanent, false);
    assert.equal(refusal.retryAfterMs, QUEUE_FULL_RETRY_MS);
    assert.match(refusal.message, /Sending queue is full \(\d+ journaled bytes wait/);
    assert.equal(accepted, Math.floor(64 * 1024 / item.length), `${accepted} accepted`);
    assert.equal(queue.size, accepted);
    // Sent and acknowledged: the fold passes the acknowledged items and the backlog is gone.
    for (let i = 0; i < accepted; i++) await (await queue.take())!.ack();
    let taken = false;
    for (let i = 0; i < 200 && !taken; i++) {
      try {
        await queue.offer(encodedPayload(tracesBytes(99, 10_000)));
        taken = true;
      } catch {
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    assert.ok(taken, "accepted again once the backlog was folded");
    await queue.close();
    await storage.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
