/**
 * A real full disk: the queue's database on a 3 MiB tmpfs. Needs root (mount); skipped otherwise.
 * Offers are refused (retryable) once SQLite reports the disk full, and everything accepted before
 * survives a restart byte-exact.
 */
import assert from "node:assert/strict";
import { ConsumerError } from "../../../lib/consumer/consumer.ts";
import { createPersistentQueue } from "../../../lib/exporterhelper/persistent_queue.ts";
import {
  encodedPayload,
  openQueueStorage,
  sameBytes,
  spanName,
  tracesBytes,
} from "../../fixtures/queue/kit.ts";

async function run(cmd: string, ...args: string[]): Promise<boolean> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).output();
    return out.success;
  } catch {
    return false;
  }
}

Deno.test({
  name: "persistent queue on a full disk refuses with a retryable error and loses nothing accepted",
  ignore: Deno.build.os !== "linux" || Deno.uid() !== 0,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "tfo_queue_full_" });
    if (!await run("mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", dir)) {
      await Deno.remove(dir);
      throw new Error("Cannot mount a 3 MiB tmpfs as root: the full-disk test cannot run here");
    }
    try {
      let storage = await openQueueStorage(dir);
      const queue = await createPersistentQueue(storage.client, "traces", { capacity: 1000 });
      const sizes = (i: number) => (i % 3 === 0 ? 150_000 : 40_000);
      const accepted: number[] = [];
      let refusal: unknown;
      for (let i = 0; i < 200 && refusal === undefined; i++) {
        try {
          await queue.offer(encodedPayload(tracesBytes(i, sizes(i))));
          accepted.push(i);
        } catch (error) {
          refusal = error;
        }
      }
      assert.ok(refusal instanceof ConsumerError, `no refusal after ${accepted.length} items`);
      assert.equal(refusal.permanent, false);
      assert.match(refusal.message, /Cannot persist to the sending queue: .*full/);
      assert.ok(accepted.length >= 5);
      assert.equal(queue.size, accepted.length);

      // What was accepted is readable now, and after a restart.
      const first = (await queue.take())!;
      assert.equal(spanName(first.payload), "item-0");
      await queue.close();
      await storage.close();
      storage = await openQueueStorage(dir);
      try {
        const again = await createPersistentQueue(storage.client, "traces", { capacity: 1000 });
        assert.equal(again.recovered, accepted.length);
        for (const i of accepted) {
          const entry = (await again.take())!;
          assert.ok(sameBytes(entry.payload.encodedProto!, tracesBytes(i, sizes(i))), `item ${i}`);
          // On a disk this full SQLite cannot even delete (its WAL cannot grow nor be checkpointed
          // into a larger database file): a failed acknowledgement is logged, and the entry is
          // sent again after a restart. Space must be freed on the volume to recover.
          await entry.ack();
        }
        await again.close();
      } finally {
        await storage.close();
      }
    } finally {
      await run("umount", dir);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
