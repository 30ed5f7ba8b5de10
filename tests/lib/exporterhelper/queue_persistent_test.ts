import assert from "node:assert/strict";
import { ConsumerError } from "../../../lib/consumer/consumer.ts";
import { createPersistentQueue } from "../../../lib/exporterhelper/persistent_queue.ts";
import type { QueueEntry, SendingQueue } from "../../../lib/exporterhelper/queue.ts";
import { encodeTracesRequest } from "../../../lib/otlp/mod.ts";
import { newResource, newScope, newSpan } from "../../../lib/pdata/new.ts";
import { Payload } from "../../../lib/pdata/payload.ts";
import type { StorageAtomic, StorageClient } from "../../../lib/storage/client.ts";
import { createLogger } from "../../../lib/telemetry/logger.ts";
import { MetricRegistry } from "../../../lib/telemetry/metrics.ts";
import { tracesOf } from "../../fixtures/graph_kit.ts";
import {
  encodedPayload,
  keysOf,
  openQueueStorage,
  sameBytes,
  spanName,
  tracesBytes,
} from "../../fixtures/queue/kit.ts";

const PREFIX = ["exporter", "otlp", "traces"];
const KIB = 1024;
const MIB = 1024 * KIB;

interface Env {
  dir: string;
  storage: Awaited<ReturnType<typeof openQueueStorage>>;
  registry: MetricRegistry;
  logs: Record<string, unknown>[];
}

/** Runs `body` with a fresh directory and storage; closes and removes everything afterwards. */
async function withStorage(body: (env: Env) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "tfo_queue_" });
  const env: Env = {
    dir,
    storage: await openQueueStorage(dir),
    registry: new MetricRegistry(),
    logs: [],
  };
  try {
    await body(env);
  } finally {
    await env.storage.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Closes the env's storage and opens it again, as a restart does. */
async function reopen(env: Env): Promise<void> {
  await env.storage.close();
  env.storage = await openQueueStorage(env.dir);
}

function open(env: Env, options: Partial<Parameters<typeof createPersistentQueue>[2]> = {}) {
  return createPersistentQueue(env.storage.client, "traces", {
    capacity: 100,
    logger: createLogger({ level: "debug", write: (l) => env.logs.push(JSON.parse(l)) }),
    meter: env.registry.meter({ exporter: "otlp" }),
    ...options,
  });
}

async function takeAll(queue: SendingQueue<"traces">, n: number) {
  const entries: QueueEntry<"traces">[] = [];
  for (let i = 0; i < n; i++) entries.push((await queue.take())!);
  return entries;
}

function keys(env: Env): Promise<string[]> {
  return keysOf(env.storage.store.kv, PREFIX);
}

function isRetryable(error: unknown): boolean {
  return error instanceof ConsumerError && !error.permanent;
}

Deno.test("persistent queue hands entries out in order, byte-exact, and ack leaves the KV empty", async () => {
  await withStorage(async (env) => {
    const queue = await open(env);
    const sent = [0, 1, 2, 3, 4].map((i) => tracesBytes(i, 50 + i * 10));
    for (const bytes of sent) await queue.offer(encodedPayload(bytes));
    assert.equal(queue.size, 5);
    assert.equal(queue.bytes, sent.reduce((n, b) => n + b.length, 0));
    const entries = await takeAll(queue, 5);
    entries.forEach((e, i) => {
      assert.ok(sameBytes(e.payload.encodedProto!, sent[i]!));
      assert.equal(spanName(e.payload), `item-${i}`);
    });
    assert.equal(queue.size, 5, "taken entries count until acknowledged");
    for (const e of entries) await e.ack();
    assert.equal(queue.size, 0);
    assert.equal(queue.bytes, 0);
    assert.deepEqual(await keys(env), []);
    await queue.close();
  });
});

Deno.test("persistent queue chunks 200 KiB and 2 MiB items and returns them byte-exact", async () => {
  await withStorage(async (env) => {
    const queue = await open(env);
    const small = tracesBytes(1, 200 * KIB);
    const large = tracesBytes(2, 2 * MIB);
    await queue.offer(encodedPayload(small));
    await queue.offer(encodedPayload(large));
    const stored = await keys(env);
    assert.equal(stored.filter((k) => k.startsWith("c/0/")).length, 4);
    assert.equal(
      stored.filter((k) => k.startsWith("c/1/")).length,
      Math.ceil(large.length / 65536),
    );
    assert.deepEqual(stored.filter((k) => !k.startsWith("c/")), ["i/0", "i/1"]);
    const [a, b] = await takeAll(queue, 2);
    assert.ok(sameBytes(a!.payload.encodedProto!, small));
    assert.ok(sameBytes(b!.payload.encodedProto!, large));
    assert.equal(a!.payload.itemCount, 1);
    await a!.ack();
    await b!.ack();
    assert.deepEqual(await keys(env), []);
    await queue.close();
  });
});

Deno.test("persistent queue encodes decoded payloads and keeps the client info", async () => {
  await withStorage(async (env) => {
    const queue = await open(env);
    const client = {
      metadata: new Map([["x-tenant", ["a", "b"]]]),
      auth: new Map([["tenant.id", "t1"]]),
      address: "10.0.0.1:4000",
    };
    await queue.offer(Payload.of("traces", tracesOf("one", "two"), client));
    await reopen(env);
    const again = await open(env);
    const entry = (await again.take())!;
    assert.deepEqual(
      entry.payload.read().resourceSpans.flatMap((r) =>
        r.scopeSpans.flatMap((s) => s.spans.map((x) => x.name))
      ),
      ["one", "two"],
    );
    assert.deepEqual(entry.payload.client.metadata.get("x-tenant"), ["a", "b"]);
    assert.equal(entry.payload.client.auth.get("tenant.id"), "t1");
    assert.equal(entry.payload.client.address, "10.0.0.1:4000");
    await entry.ack();
    await again.close();
    await queue.close();
  });
});

Deno.test("persistent queue refuses past its item capacity with a retryable error", async () => {
  await withStorage(async (env) => {
    const queue = await open(env, { capacity: 2 });
    await queue.offer(encodedPayload(tracesBytes(0, 10)));
    await queue.offer(encodedPayload(tracesBytes(1, 10)));
    await assert.rejects(queue.offer(encodedPayload(tracesBytes(2, 10))), isRetryable);
    assert.equal(queue.size, 2);
    const entry = (await queue.take())!;
    await entry.ack();
    await queue.offer(encodedPayload(tracesBytes(3, 10)));
    assert.deepEqual((await keys(env)).filter((k) => k.startsWith("i/")), ["i/1", "i/2"]);
    await queue.close();
  });
});

Deno.test("persistent queue bounds bytes, accepting one oversized item only when empty", async () => {
  await withStorage(async (env) => {
    const queue = await open(env, { maxBytes: 100 * KIB });
    await queue.offer(encodedPayload(tracesBytes(0, 60 * KIB)));
    await assert.rejects(queue.offer(encodedPayload(tracesBytes(1, 60 * KIB))), isRetryable);
    await queue.offer(encodedPayload(tracesBytes(2, 30 * KIB)));
    assert.ok(queue.bytes <= 100 * KIB);
    for (const e of await takeAll(queue, 2)) await e.ack();
    // An item larger than the bound fits an empty queue, and nothing else fits beside it.
    await queue.offer(encodedPayload(tracesBytes(3, 300 * KIB)));
    await assert.rejects(queue.offer(encodedPayload(tracesBytes(4, 10))), isRetryable);
    const big = (await queue.take())!;
    assert.equal(spanName(big.payload), "item-3");
    await big.ack();
    await queue.close();
  });
});

Deno.test("persistent queue with when_full block waits for room, and close rejects the waiter", async () => {
  await withStorage(async (env) => {
    const queue = await open(env, { capacity: 1, whenFull: "block" });
    await queue.offer(encodedPayload(tracesBytes(0, 10)));
    let accepted = false;
    const blocked = queue.offer(encodedPayload(tracesBytes(1, 10))).then(() => accepted = true);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(accepted, false);
    await (await queue.take())!.ack();
    await blocked;
    assert.equal(spanName((await queue.take())!.payload), "item-1");
    const waiting = queue.offer(encodedPayload(tracesBytes(2, 10)));
    await queue.close();
    await assert.rejects(waiting, isRetryable);
  });
});

Deno.test("persistent queue with when_full drop_oldest drops and counts the oldest untaken items", async () => {
  await withStorage(async (env) => {
    const queue = await open(env, { capacity: 2, whenFull: "drop_oldest" });
    await queue.offer(encodedPayload(tracesBytes(0, 10)));
    const taken = (await queue.take())!; // in flight: never dropped
    await queue.offer(encodedPayload(tracesBytes(1, 10)));
    await queue.offer(encodedPayload(tracesBytes(2, 10)));
    assert.equal(queue.size, 2);
    assert.equal(
      env.registry.value("tfo_exporter_queue_dropped_items", {
        exporter: "otlp",
        data_type: "traces",
      }),
      1,
    );
    assert.deepEqual((await keys(env)).filter((k) => k.startsWith("i/")), ["i/0", "i/2"]);
    assert.equal(spanName((await queue.take())!.payload), "item-2");
    // Everything held is in flight: nothing to drop, so the offer is refused.
    await assert.rejects(queue.offer(encodedPayload(tracesBytes(3, 10))), isRetryable);
    await taken.ack();
    await queue.close();
  });
});

Deno.test("persistent queue resumes in order after a restart and redelivers unacknowledged entries", async () => {
  await withStorage(async (env) => {
    const first = await open(env);
    for (let i = 0; i < 5; i++) await first.offer(encodedPayload(tracesBytes(i, 100 * i)));
    const [a, b] = await takeAll(first, 2);
    await a!.ack();
    assert.equal(spanName(b!.payload), "item-1"); // taken, never acknowledged
    await first.close();
    await reopen(env);

    const second = await open(env);
    assert.equal(second.recovered, 4);
    assert.equal(second.size, 4);
    const names = (await takeAll(second, 4)).map((e) => spanName(e.payload));
    assert.deepEqual(names, ["item-1", "item-2", "item-3", "item-4"]);
    await second.offer(encodedPayload(tracesBytes(9, 10)));
    assert.ok((await keys(env)).includes("i/5"), "sequence numbers continue after the restart");
    await second.close();
  });
});

Deno.test("persistent queue removes chunks an interrupted write or delete left behind", async () => {
  await withStorage(async (env) => {
    const queue = await open(env);
    await queue.offer(encodedPayload(tracesBytes(0, 10)));
    await queue.close();
    const client = env.storage.client;
    // Interrupted write of item 7: marker and the first chunk batch, no index entry.
    await client.atomic()
      .set(["p", 7], { chunks: 40 })
      .set(["c", 7, 0], new Uint8Array(65536))
      .set(["c", 7, 1], new Uint8Array(65536))
      .commit();
    // Interrupted delete of item 8: index already gone, marker and remaining chunks left.
    await client.atomic()
      .set(["p", 8], { chunks: 30 })
      .set(["c", 8, 29], new Uint8Array(10))
      .commit();
    // A marker whose chunk count was lost.
    await client.atomic().set(["p", 9], "?").set(["c", 9, 3], new Uint8Array(1)).commit();

    const again = await open(env);
    assert.deepEqual(await keys(env), ["c/0/0", "i/0"]);
    assert.equal(again.recovered, 1);
    await again.offer(encodedPayload(tracesBytes(1, 10)));
    assert.ok((await keys(env)).includes("i/10"), "new items never reuse a cleaned sequence");
    await again.close();
  });
});

Deno.test("persistent queue skips, counts and removes corrupt or truncated entries", async () => {
  await withStorage(async (env) => {
    const queue = await open(env);
    for (let i = 0; i < 6; i++) {
      await queue.offer(encodedPayload(tracesBytes(i, i % 2 === 0 ? 10 : 200 * KIB)));
    }
    await queue.close();
    const client: StorageClient = env.storage.client;
    await client.set(["i", 0], "not a header"); // undecodable
    await client.set(["i", 2], { v: 1, bytes: 10, chunks: 3, items: 1 }); // bad chunk count
    await client.delete(["c", 3, 1]); // missing chunk
    await client.set(["c", 5, 3], new Uint8Array(5)); // truncated last chunk: bad length

    const again = await open(env);
    assert.equal(again.recovered, 4);
    await again.offer(encodedPayload(tracesBytes(6, 10)));
    const good = await takeAll(again, 3);
    assert.deepEqual(good.map((e) => spanName(e.payload)), ["item-1", "item-4", "item-6"]);
    for (const e of good) await e.ack();
    assert.equal(
      env.registry.value("tfo_exporter_queue_corrupt_items", {
        exporter: "otlp",
        data_type: "traces",
      }),
      4,
    );
    const warnings = env.logs.filter((l) => l.msg === "Skipping a corrupt persistent queue entry");
    assert.deepEqual(warnings.map((l) => l.seq), [0, 2, 3, 5]);
    assert.equal(again.size, 0);
    assert.deepEqual(await keys(env), []);
    await again.close();
  });
});

/** A client whose commits fail (as on a full disk) while `failing()` says so. */
function failingCommits(real: StorageClient, failing: () => boolean): StorageClient {
  return {
    kv: real.kv,
    prefix: real.prefix,
    get closed() {
      return real.closed;
    },
    get: (key) => real.get(key),
    set: (key, value) => real.set(key, value),
    delete: (key) => real.delete(key),
    list: (prefix, options) => real.list(prefix, options),
    close: () => real.close(),
    atomic() {
      const atomic = real.atomic();
      const wrapped: StorageAtomic = {
        set: (key, value) => (atomic.set(key, value), wrapped),
        delete: (key) => (atomic.delete(key), wrapped),
        commit: () =>
          failing() ? Promise.reject(new TypeError("database or disk is full")) : atomic.commit(),
      };
      return wrapped;
    },
  };
}

/** Offers until the queue accepts (it leaves full mode at a probe), at most 500 tries 10 ms apart. */
async function offerWhenRoom(
  queue: { offer(p: ReturnType<typeof encodedPayload>): Promise<void> },
  payload: ReturnType<typeof encodedPayload>,
): Promise<void> {
  for (let i = 0;; i++) {
    try {
      return await queue.offer(payload);
    } catch (error) {
      if (i >= 500 || !/volume is full/.test(String(error))) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

Deno.test("persistent queue rejects a failed write as retryable and keeps what it accepted", async () => {
  await withStorage(async (env) => {
    let failing = false;
    const flaky = failingCommits(env.storage.client, () => failing);
    const queue = await createPersistentQueue(flaky, "traces", { capacity: 10, fullProbeMs: 10 });
    await queue.offer(encodedPayload(tracesBytes(0, 10)));
    failing = true;
    const error = await queue.offer(encodedPayload(tracesBytes(1, 3 * MIB))).catch((e) => e);
    assert.ok(isRetryable(error));
    assert.match(
      String(error.message),
      /Cannot persist to the sending queue: database or disk is full/,
    );
    assert.equal(error.retryAfterMs, 2000);
    assert.equal(queue.size, 1);
    // Full mode: refused at once, with the delay, until a probe finds the storage writable.
    const refused = await queue.offer(encodedPayload(tracesBytes(9, 10))).catch((e) => e);
    assert.match(String(refused.message), /storage volume is full, retry later/);
    assert.equal(refused.retryAfterMs, 2000);
    failing = false;
    await offerWhenRoom(queue, encodedPayload(tracesBytes(2, 10)));
    const names = (await takeAll(queue, 2)).map((e) => spanName(e.payload));
    assert.deepEqual(names, ["item-0", "item-2"]);
    await queue.close();
  });
});

Deno.test("persistent queue remembers acknowledgements it cannot delete on a full disk, deletes them later", async () => {
  await withStorage(async (env) => {
    let failing = false;
    const flaky = failingCommits(env.storage.client, () => failing);
    const queue = await createPersistentQueue(flaky, "traces", { capacity: 10, fullProbeMs: 10 });
    for (let i = 0; i < 3; i++) await queue.offer(encodedPayload(tracesBytes(i, 10)));
    const bytes = queue.bytes;
    const [first, second] = await takeAll(queue, 2);
    failing = true;
    // A failed offer first: full mode, and a probe with nothing to delete yet.
    const early = await queue.offer(encodedPayload(tracesBytes(8, 10))).catch((e) => e);
    assert.ok(isRetryable(early) && early.retryAfterMs === 2000);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await first!.ack(); // resolves: the delete is remembered
    await second!.ack();
    assert.equal(queue.size, 1);
    assert.equal(queue.bytes, bytes, "still on disk, still counted");
    const refused = await queue.offer(encodedPayload(tracesBytes(3, 10))).catch((e) => e);
    assert.ok(isRetryable(refused) && refused.retryAfterMs === 2000);
    // Not handed out again while the delete waits.
    assert.equal(spanName((await queue.take())!.payload), "item-2");
    assert.deepEqual((await keys(env)).filter((k) => k.startsWith("i/")), ["i/0", "i/1", "i/2"]);
    failing = false;
    await offerWhenRoom(queue, encodedPayload(tracesBytes(3, 10)));
    // (The refused offer used up sequence number 3.)
    assert.deepEqual((await keys(env)).filter((k) => k.startsWith("i/")), ["i/2", "i/4"]);
    assert.ok(queue.bytes < bytes);
    await queue.close();
    await reopen(env);
    const again = await open(env);
    assert.equal(again.recovered, 2, "nothing acknowledged comes back");
    const names = (await takeAll(again, 2)).map((e) => spanName(e.payload));
    assert.deepEqual(names, ["item-2", "item-3"]);
    await again.close();
  });
});

Deno.test("persistent queue close retries remembered deletes; those still failing come back after a restart", async () => {
  await withStorage(async (env) => {
    let failing = false;
    const flaky = failingCommits(env.storage.client, () => failing);
    const logs: Record<string, unknown>[] = [];
    const queue = await createPersistentQueue(flaky, "traces", {
      capacity: 10,
      fullProbeMs: 60_000, // only close retries
      logger: createLogger({ level: "debug", write: (l) => logs.push(JSON.parse(l)) }),
    });
    for (let i = 0; i < 2; i++) await queue.offer(encodedPayload(tracesBytes(i, 10)));
    const [a, b] = await takeAll(queue, 2);
    failing = true;
    await a!.ack();
    await b!.ack();
    await queue.close(); // still failing: logged, left on disk
    assert.ok(logs.some((l) => /they will be sent again after a restart/.test(String(l.msg))));
    assert.equal(logs.find((l) => /they will be sent again/.test(String(l.msg)))?.entries, 2);
    const again = await open(env);
    assert.equal(again.recovered, 2, "at least once when space never returned");
    const [c] = await takeAll(again, 1);
    await c!.ack();
    await again.close();

    // A second run whose close finds the storage writable again deletes what it remembered.
    let failing2 = false;
    const flaky2 = failingCommits(env.storage.client, () => failing2);
    const third = await createPersistentQueue(flaky2, "traces", {
      capacity: 10,
      fullProbeMs: 60_000,
    });
    assert.equal(third.recovered, 1);
    const [d] = await takeAll(third, 1);
    failing2 = true;
    await d!.ack();
    failing2 = false;
    await third.close();
    assert.deepEqual(await keys(env), []);
  });
});

Deno.test("persistent queue close ends pending takes and leaves data on disk", async () => {
  await withStorage(async (env) => {
    const queue = await open(env);
    const pending = queue.take();
    await queue.offer(encodedPayload(tracesBytes(0, 10)));
    const entry = (await pending)!;
    await queue.offer(encodedPayload(tracesBytes(1, 10)));
    const waiting = queue.take(); // gets item-1
    const idle = queue.take();
    assert.equal(spanName((await waiting)!.payload), "item-1");
    await queue.close();
    assert.equal(await idle, undefined);
    assert.equal(await queue.take(), undefined);
    await assert.rejects(queue.offer(encodedPayload(tracesBytes(2, 10))), isRetryable);
    await entry.ack(); // an acknowledgement after close still deletes
    assert.deepEqual((await keys(env)).filter((k) => k.startsWith("i/")), ["i/1"]);
  });
});

/** An encoded traces request of one span named `item-<tag>` whose `size`-byte blob compresses well. */
function compressibleBytes(tag: number, size: number): Uint8Array {
  const blob = new Uint8Array(size);
  for (let i = 0; i < size; i++) blob[i] = (i * 7 + tag) % 61;
  return encodeTracesRequest({
    resourceSpans: [{
      resource: newResource(),
      schemaUrl: "",
      scopeSpans: [{
        scope: newScope({ name: "queue-test" }),
        schemaUrl: "",
        spans: [newSpan({ name: `item-${tag}`, attributes: [{ key: "blob", value: blob }] })],
      }],
    }],
  });
}

/** The total length of the chunk values stored under `seq`. */
async function chunkBytesOf(env: Env, seq: number): Promise<number> {
  let total = 0;
  for await (const { value } of env.storage.client.list(["c", seq])) {
    total += (value as Uint8Array).length;
  }
  return total;
}

Deno.test("persistent queue compresses what compresses, bounds and counts stored bytes, reads it back", async () => {
  await withStorage(async (env) => {
    const queue = await open(env);
    const sent = [
      compressibleBytes(0, 3 * MIB),
      compressibleBytes(1, 20 * KIB),
      tracesBytes(2, 5000),
    ];
    for (const bytes of sent) await queue.offer(encodedPayload(bytes));
    const headers = await Promise.all(
      [0, 1, 2].map((seq) => env.storage.client.get<Record<string, unknown>>(["i", seq])),
    );
    assert.equal(headers[0]!.codec, "zstd");
    assert.equal(headers[1]!.codec, "zstd");
    assert.equal(headers[2]!.codec, undefined, "random bytes are stored as they are");
    const stored = await Promise.all([0, 1, 2].map((seq) => chunkBytesOf(env, seq)));
    assert.ok(stored[0]! < sent[0]!.length / 4, `3 MiB stored in ${stored[0]} bytes`);
    assert.equal(stored[2], sent[2]!.length);
    headers.forEach((h, i) => {
      assert.equal(h!.bytes, sent[i]!.length);
      assert.equal(h!.stored, stored[i]);
    });
    assert.equal(queue.bytes, stored.reduce((a, b) => a + b, 0), "bytes are the stored bytes");
    // Taken at once: served from memory. After a restart: read from disk and decompressed.
    assert.ok(sameBytes((await queue.take())!.payload.encodedProto!, sent[0]!));
    await queue.close();
    await reopen(env);
    const again = await open(env, { memoryBytes: 0 });
    assert.equal(again.bytes, stored.reduce((a, b) => a + b, 0));
    const entries = await takeAll(again, 3);
    entries.forEach((e, i) => assert.ok(sameBytes(e.payload.encodedProto!, sent[i]!), `item ${i}`));
    for (const e of entries) await e.ack();
    assert.equal(again.bytes, 0);
    assert.deepEqual(await keys(env), []);
    // The byte bound counts stored bytes: 3 MiB that compress well fit a 1 MiB bound beside others.
    const bounded = await open(env, { maxBytes: 1 * MIB, memoryBytes: 0 });
    await bounded.offer(encodedPayload(compressibleBytes(3, 3 * MIB)));
    await bounded.offer(encodedPayload(compressibleBytes(4, 3 * MIB)));
    await assert.rejects(bounded.offer(encodedPayload(tracesBytes(5, 1 * MIB))), isRetryable);
    assert.deepEqual((await takeAll(bounded, 2)).map((e) => spanName(e.payload)), [
      "item-3",
      "item-4",
    ]);
    await bounded.close();
    await again.close();
  });
});

Deno.test("persistent queue skips and counts a damaged compressed item, never crashes on it", async () => {
  await withStorage(async (env) => {
    const queue = await open(env);
    for (let i = 0; i < 3; i++) await queue.offer(encodedPayload(compressibleBytes(i, 100 * KIB)));
    await queue.close();
    const chunk = (await env.storage.client.get<Uint8Array>(["c", 1, 0]))!;
    const damaged = chunk.slice();
    const mid = damaged.length >> 1;
    damaged[mid] = damaged[mid]! ^ 0x5a;
    await env.storage.client.set(["c", 1, 0], damaged);
    await reopen(env);
    const again = await open(env, { memoryBytes: 0 });
    assert.equal(again.recovered, 3);
    const good = await takeAll(again, 2);
    assert.deepEqual(good.map((e) => spanName(e.payload)), ["item-0", "item-2"]);
    for (const e of good) await e.ack();
    assert.equal(
      env.registry.value("tfo_exporter_queue_corrupt_items", {
        exporter: "otlp",
        data_type: "traces",
      }),
      1,
    );
    const warning = env.logs.find((l) => l.msg === "Skipping a corrupt persistent queue entry");
    assert.match(String(warning?.problem), /does not decompress/);
    assert.deepEqual(await keys(env), []);
    await again.close();
  });
});

Deno.test("persistent queue reads entries stored by the first layout (uncompressed, version 1)", async () => {
  await withStorage(async (env) => {
    const bytes = tracesBytes(7, 100 * KIB);
    const atomic = env.storage.client.atomic()
      .set(["i", 4], { v: 1, bytes: bytes.length, chunks: 2, items: 1 });
    atomic.set(["c", 4, 0], bytes.subarray(0, 65536)).set(["c", 4, 1], bytes.subarray(65536));
    await atomic.commit();
    const queue = await open(env);
    assert.equal(queue.recovered, 1);
    assert.equal(queue.bytes, bytes.length);
    const entry = (await queue.take())!;
    assert.ok(sameBytes(entry.payload.encodedProto!, bytes));
    await entry.ack();
    await queue.offer(encodedPayload(tracesBytes(8, 10)));
    assert.deepEqual(await keys(env), ["c/5/0", "i/5"]);
    await queue.close();
  });
});

Deno.test("persistent queue commits concurrent offers and acknowledgements together", async () => {
  await withStorage(async (env) => {
    let commits = 0;
    const real = env.storage.client;
    const counting: StorageClient = {
      ...failingCommits(real, () => false),
      atomic() {
        const atomic = real.atomic();
        const wrapped: StorageAtomic = {
          set: (key, value) => (atomic.set(key, value), wrapped),
          delete: (key) => (atomic.delete(key), wrapped),
          commit: () => (commits++, atomic.commit()),
        };
        return wrapped;
      },
    };
    const queue = await createPersistentQueue(counting, "traces", { capacity: 100 });
    const sent = Array.from({ length: 40 }, (_, i) => compressibleBytes(i, 20 * KIB));
    await Promise.all(sent.map((bytes) => queue.offer(encodedPayload(bytes))));
    assert.ok(commits < 20, `40 concurrent offers took ${commits} commits`);
    assert.equal(queue.size, 40);
    const entries = await takeAll(queue, 40);
    entries.forEach((e, i) => assert.equal(spanName(e.payload), `item-${i}`));
    const before = commits;
    await Promise.all(entries.map((e) => e.ack()));
    assert.ok(commits - before < 20, `40 concurrent acks took ${commits - before} commits`);
    assert.deepEqual(await keys(env), []);
    await queue.close();
  });
});
