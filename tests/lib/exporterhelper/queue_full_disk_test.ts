/**
 * A real full disk: the queue's database on a 4 MiB tmpfs with a 1 MiB reserve, filled by a junk
 * file written by the test (as another process on the volume would). Needs root (mount); skipped
 * with a message otherwise.
 *
 * The story: items accepted; the volume filled; offers refused with a retry delay, the reserve
 * released; acknowledgements go through while full (the reserve's room), and when the reserve's
 * room is taken too they are remembered and not handed out again; space returns, the deletes go
 * through, the reserve is back and new data is accepted; every accepted item was delivered exactly
 * once; after a restart nothing acknowledged comes back and nothing accepted is missing.
 */
import assert from "node:assert/strict";
import { ConsumerError } from "../../../lib/consumer/consumer.ts";
import { createPersistentQueue } from "../../../lib/exporterhelper/persistent_queue.ts";
import type { QueueEntry } from "../../../lib/exporterhelper/queue.ts";
import { createStorageClient } from "../../../lib/storage/client.ts";
import { openKvStore } from "../../../lib/storage/store.ts";
import { RESERVE_FILE_NAME } from "../../../lib/storage/volume.ts";
import { createLogger } from "../../../lib/telemetry/logger.ts";
import { encodedPayload, sameBytes, spanName, tracesBytes } from "../../fixtures/queue/kit.ts";

const MIB = 1024 * 1024;
const PREFIX = ["exporter", "otlp", "traces"];

async function run(cmd: string, ...args: string[]): Promise<boolean> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).output();
    return out.success;
  } catch {
    return false;
  }
}

/** Writes `path` until the volume is full; resolves to the bytes written. */
async function fillVolume(path: string): Promise<number> {
  const block = crypto.getRandomValues(new Uint8Array(65_536));
  const file = await Deno.open(path, { write: true, create: true, append: true });
  let total = 0;
  try {
    for (let i = 0; i < 100_000; i++) {
      try {
        total += await file.write(block);
      } catch {
        break; // ENOSPC
      }
    }
  } finally {
    file.close();
  }
  // A last partial block may still fit.
  for (const size of [16_384, 4096, 512]) {
    try {
      await Deno.writeFile(path, block.subarray(0, size), { append: true });
      total += size;
    } catch {
      // full
    }
  }
  return total;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Polls `check` every 20 ms, at most 10 s. */
async function eventually(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`Timed out waiting until ${what}`);
}

async function openQueue(dir: string, reserveBytes = 1 * MIB) {
  const lines: string[] = [];
  const logger = createLogger({ level: "info", write: (line) => lines.push(line) });
  const store = await openKvStore(dir, { createDirectory: true, reserveBytes, logger });
  const client = createStorageClient(store.kv, PREFIX, undefined, store.volume);
  const queue = await createPersistentQueue(client, "traces", {
    capacity: 1000,
    fullProbeMs: 25,
    memoryBytes: 0,
    logger,
  });
  return {
    store,
    queue,
    lines,
    async close() {
      await queue.close();
      await client.close();
      store.close();
    },
  };
}

/** 24 KiB of incompressible filler per item: a few dozen items fit the volume. */
const ITEM = 24_000;

Deno.test({
  name: "persistent queue survives a full disk: refuses with a delay, recovers, re-sends nothing",
  ignore: Deno.build.os !== "linux",
  async fn(t) {
    if (Deno.uid() !== 0) {
      console.log("skipped: mounting a tmpfs needs root");
      return;
    }
    const dir = await Deno.makeTempDir({ prefix: "tfo_queue_full_" });
    if (!await run("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", dir)) {
      await Deno.remove(dir);
      console.log("skipped: mount -t tmpfs is not permitted here");
      return;
    }
    const junk = `${dir}/junk`;
    const junk2 = `${dir}/junk2`;
    const opened: Array<{ close(): Promise<void> }> = [];
    const open = async () => {
      const env = await openQueue(dir);
      opened.push(env);
      return env;
    };
    try {
      let env = await open();
      assert.ok(await exists(`${dir}/${RESERVE_FILE_NAME}`), "the reserve is written at start");
      const accepted: number[] = [];
      for (let i = 0; i < 20; i++) {
        await env.queue.offer(encodedPayload(tracesBytes(i, ITEM)));
        accepted.push(i);
      }

      // The volume fills (someone else's file): the next offers are refused, with a delay.
      await fillVolume(junk);
      let refusal: unknown;
      let tag = 100;
      for (; tag < 200 && refusal === undefined; tag++) {
        try {
          await env.queue.offer(encodedPayload(tracesBytes(tag, ITEM)));
          accepted.push(tag); // a last page's room
        } catch (error) {
          refusal = error;
        }
      }
      assert.ok(refusal instanceof ConsumerError, "an offer is refused on the full volume");
      assert.equal(refusal.permanent, false);
      assert.match(refusal.message, /full/);
      assert.equal(refusal.retryAfterMs, 2000);
      assert.ok(env.store.volume.full);
      assert.equal(await exists(`${dir}/${RESERVE_FILE_NAME}`), false, "reserve released");
      const again = await env.queue.offer(encodedPayload(tracesBytes(tag, ITEM))).catch((e) => e);
      assert.ok(again instanceof ConsumerError && again.retryAfterMs === 2000);
      assert.match(again.message, /storage volume is full, retry later/);

      const delivered = new Map<number, number>();
      const deliver = (entry: QueueEntry<"traces">) => {
        const n = Number(spanName(entry.payload).slice("item-".length));
        delivered.set(n, (delivered.get(n) ?? 0) + 1);
        assert.ok(sameBytes(entry.payload.encodedProto!, tracesBytes(n, ITEM)), `item ${n}`);
      };

      await t.step("acknowledgements go through while full, in the reserve's room", async () => {
        const bytesBefore = env.queue.bytes;
        for (let i = 0; i < 5; i++) {
          const entry = (await env.queue.take())!;
          deliver(entry);
          await entry.ack();
        }
        assert.equal(env.queue.size, accepted.length - 5);
        assert.ok(env.queue.bytes <= bytesBefore - 5 * ITEM, "deleted from disk");
      });

      await t.step("when even the reserve's room is taken, acknowledgements wait", async () => {
        await fillVolume(junk2);
        const bytesBefore = env.queue.bytes;
        for (let i = 0; i < 5; i++) {
          const entry = (await env.queue.take())!;
          deliver(entry);
          await entry.ack(); // resolves: the delete is remembered, not lost
        }
        assert.equal(env.queue.size, accepted.length - 10, "not handed out again");
        // Those entries are still on disk, and still counted.
        assert.equal(env.queue.bytes, bytesBefore, "the deletes failed and wait");
        const still = await env.queue.offer(encodedPayload(tracesBytes(tag, ITEM))).catch((e) => e);
        assert.ok(still instanceof ConsumerError && still.retryAfterMs === 2000);
      });

      await t.step(
        "space returns: deletes go through, reserve back, new data accepted",
        async () => {
          await Deno.remove(junk);
          await Deno.remove(junk2);
          await eventually("the reserve is written again", () => env.store.volume.reserveHeld);
          await eventually("the volume is no longer full", () => !env.store.volume.full);
          const bytes = (accepted.length - 10) * ITEM;
          await eventually(
            "the remembered deletes went through",
            () => env.queue.bytes < bytes * 1.1,
          );
          let ok = false;
          await eventually("a new offer is accepted", async () => {
            try {
              await env.queue.offer(encodedPayload(tracesBytes(tag, ITEM)));
              ok = true;
            } catch (error) {
              if (!(error instanceof ConsumerError) || error.retryAfterMs === undefined) {
                throw error;
              }
            }
            return ok;
          });
          accepted.push(tag);
          const log = env.lines.join("\n");
          assert.match(log, /released the reserve so that deletes can run/);
          assert.match(log, /Storage volume has room again/);
          assert.match(log, /Accepting data again: the storage volume has room again/);
        },
      );

      // Deliver all but the last two, then restart.
      const keep = 2;
      while (env.queue.size > keep) {
        const entry = (await env.queue.take())!;
        deliver(entry);
        await entry.ack();
      }
      await env.close();

      env = await open();
      try {
        assert.equal(env.queue.recovered, keep, "only what was not acknowledged comes back");
        for (let i = 0; i < keep; i++) {
          const entry = (await env.queue.take())!;
          deliver(entry);
          await entry.ack();
        }
        assert.deepEqual([...delivered.keys()].sort((a, b) => a - b), accepted);
        for (const [n, times] of delivered) assert.equal(times, 1, `item ${n} delivered once`);
      } finally {
        await env.close();
      }
      env = await open();
      try {
        assert.equal(env.queue.recovered, 0);
      } finally {
        await env.close();
      }
    } finally {
      for (const env of opened) await env.close().catch(() => {});
      await run("umount", dir);
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** 60 KB of incompressible filler per item, for the larger volume. */
const BIG = 60_000;

Deno.test({
  name: "persistent queue that filled the volume itself accepts again once it drained half",
  ignore: Deno.build.os !== "linux",
  async fn() {
    if (Deno.uid() !== 0) {
      console.log("skipped: mounting a tmpfs needs root");
      return;
    }
    const dir = await Deno.makeTempDir({ prefix: "tfo_queue_selffull_" });
    if (!await run("mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", dir)) {
      await Deno.remove(dir);
      console.log("skipped: mount -t tmpfs is not permitted here");
      return;
    }
    const opened: Array<{ close(): Promise<void> }> = [];
    try {
      const env = await openQueue(dir, 4 * MIB);
      opened.push(env);
      // No byte bound: the queue's own data fills the volume.
      let accepted = 0;
      let refusal: unknown;
      for (let i = 0; i < 2000 && refusal === undefined; i++) {
        try {
          await env.queue.offer(encodedPayload(tracesBytes(i, BIG)));
          accepted++;
        } catch (error) {
          refusal = error;
        }
      }
      assert.ok(refusal instanceof ConsumerError && refusal.retryAfterMs === 2000);
      assert.ok(accepted > 10, `${accepted} accepted before the volume filled`);
      const held = env.queue.bytes;
      // Deliver everything: the deletes run in the released reserve's room.
      for (let i = 0; i < accepted; i++) {
        const entry = (await env.queue.take())!;
        assert.equal(spanName(entry.payload), `item-${i}`);
        await entry.ack();
      }
      await eventually("the deletes went through", () => env.queue.bytes === 0);
      // The database file kept its size, so there is room inside it again, though the volume has
      // too little free space for the reserve: the queue accepts up to 3/4 of what it held.
      let more = 0;
      await eventually("new data is accepted", async () => {
        try {
          await env.queue.offer(encodedPayload(tracesBytes(10_000 + more, BIG)));
          more++;
        } catch (error) {
          if (!(error instanceof ConsumerError) || error.retryAfterMs === undefined) throw error;
        }
        return more > 0;
      });
      for (let i = 0; i < 2000; i++) {
        try {
          await env.queue.offer(encodedPayload(tracesBytes(10_000 + more, BIG)));
          more++;
        } catch (error) {
          // The learned bound refuses before the volume is full again.
          assert.ok(error instanceof ConsumerError && !error.permanent);
          assert.match(error.message, /Sending queue is full/);
          break;
        }
      }
      assert.ok(env.queue.bytes <= held * 0.75, `${env.queue.bytes} of ${held} bytes held again`);
      assert.ok(env.queue.bytes >= held * 0.5, `${env.queue.bytes} of ${held} bytes held again`);
      assert.match(env.lines.join("\n"), /Accepting data again: half of what the queue held/);
      console.log(
        `accepted ${accepted} items (${held} bytes) until full, then ${more} (${env.queue.bytes} ` +
          `bytes); volume full: ${env.store.volume.full}, reserve held: ${env.store.volume.reserveHeld}`,
      );
      for (let i = 0; i < more; i++) {
        const entry = (await env.queue.take())!;
        assert.equal(spanName(entry.payload), `item-${10_000 + i}`);
        await entry.ack();
      }
    } finally {
      for (const env of opened) await env.close().catch(() => {});
      await run("umount", dir);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
