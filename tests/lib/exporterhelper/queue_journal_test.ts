/**
 * The persistent queue's write-ahead journal (`file_storage` with `fsync: false`): records read
 * back exactly and a torn or damaged end is ignored; offers are acknowledged once journaled and
 * folded into Deno KV in order, those acknowledged before their fold never; what could not be
 * folded is moved into the database at the next start, less what the journal notes as
 * acknowledged; what was folded and acknowledged is never replayed; and items acknowledged by a
 * child process survive its `kill -9`, in order, without duplicates.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { HEADER_VERSION, type QueueHeader } from "../../../lib/exporterhelper/_queue_codec.ts";
import { decodeRecords, encodeRecord } from "../../../lib/exporterhelper/_queue_journal.ts";
import { createPersistentQueue } from "../../../lib/exporterhelper/persistent_queue.ts";
import { encodeTracesRequest } from "../../../lib/otlp/mod.ts";
import { newResource, newScope, newSpan } from "../../../lib/pdata/new.ts";
import type { StorageAtomic, StorageClient } from "../../../lib/storage/client.ts";
import { createLogger } from "../../../lib/telemetry/logger.ts";
import {
  crashItemSize,
  encodedPayload,
  keysOf,
  openQueueStorage,
  sameBytes,
  spanName,
  tracesBytes,
} from "../../fixtures/queue/kit.ts";

const PREFIX = ["exporter", "otlp", "traces"];
const CHILD = fileURLToPath(new URL("../../fixtures/queue/crash_child.ts", import.meta.url));

async function waitUntil(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500 && !(await check()); i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A traces request with a repetitive 20 KB attribute: it compresses well. */
function compressibleBytes(size: number): Uint8Array {
  const blob = new Uint8Array(size);
  for (let i = 0; i < size; i++) blob[i] = (i * 7) % 61;
  return encodeTracesRequest({
    resourceSpans: [{
      resource: newResource(),
      schemaUrl: "",
      scopeSpans: [{
        scope: newScope({ name: "journal-test" }),
        schemaUrl: "",
        spans: [newSpan({ name: "item-0", attributes: [{ key: "blob", value: blob }] })],
      }],
    }],
  });
}

function header(bytes: number): QueueHeader {
  return { v: HEADER_VERSION, bytes, stored: bytes, chunks: 1, items: 3 };
}

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "tfo_journal_" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function journalFiles(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(`${dir}/journal`)) names.push(entry.name);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return names.sort();
}

/** A client whose commits fail while `failing()` says so (as a database that cannot be written). */
function failingCommits(real: StorageClient, failing: () => boolean): StorageClient {
  return {
    kv: real.kv,
    prefix: real.prefix,
    journal: real.journal,
    get: (key) => real.get(key),
    set: (key, value) => real.set(key, value),
    delete: (key) => real.delete(key),
    list: (prefix, options) => real.list(prefix, options),
    atomic(): StorageAtomic {
      const op = real.atomic();
      const atomic: StorageAtomic = {
        set: (key, value) => (op.set(key, value), atomic),
        delete: (key) => (op.delete(key), atomic),
        commit: () => failing() ? Promise.reject(new Error("I/O error")) : op.commit(),
      };
      return atomic;
    },
    close: () => real.close(),
    get closed() {
      return real.closed;
    },
  };
}

Deno.test("journal records read back exactly; a torn or damaged end is ignored", () => {
  const records = [0, 1, 2].map((i) => ({
    seq: 10 + i,
    header: header(100 + i),
    bytes: tracesBytes(i, 100 + i),
  }));
  const frames = records.map(encodeRecord);
  const all = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
  let at = 0;
  for (const f of frames) {
    all.set(f, at);
    at += f.length;
  }
  const whole = decodeRecords(all);
  assert.equal(whole.bytes, all.length);
  assert.deepEqual(whole.records.map((r) => r.seq), [10, 11, 12]);
  whole.records.forEach((r, i) => {
    assert.deepEqual(r.header, records[i]!.header);
    assert.ok(sameBytes(r.bytes, records[i]!.bytes));
  });
  // A write cut short: the last record is incomplete.
  const torn = decodeRecords(all.subarray(0, all.length - 5));
  assert.deepEqual(torn.records.map((r) => r.seq), [10, 11]);
  assert.equal(torn.bytes, frames[0]!.length + frames[1]!.length);
  // A damaged byte in the second record: reading stops before it.
  const damaged = all.slice();
  damaged[frames[0]!.length + 40]! ^= 0xff;
  assert.deepEqual(decodeRecords(damaged).records.map((r) => r.seq), [10]);
  assert.deepEqual(decodeRecords(new Uint8Array(7)).records, []);
});

Deno.test("journaled offers are folded into the database in order; close leaves no journal", async () => {
  await withDir(async (dir) => {
    let storage = await openQueueStorage(dir, { journal: true });
    const queue = await createPersistentQueue(storage.client, "traces", { capacity: 100 });
    const sent = [0, 1, 2, 3, 4, 5].map((i) => tracesBytes(i, 200 + i * 50));
    await Promise.all(sent.map((bytes) => queue.offer(encodedPayload(bytes))));
    assert.equal(queue.size, 6);
    const first = (await queue.take())!;
    assert.equal(spanName(first.payload), "item-0");
    await first.ack();
    await queue.close();
    assert.deepEqual(await journalFiles(dir), [], "every journaled item was folded and deleted");
    const stored = await keysOf(storage.store.kv, PREFIX);
    assert.ok(stored.includes("w"), "the watermark is stored");
    assert.equal(stored.filter((k) => k.startsWith("i/")).length, 5);
    await storage.close();

    storage = await openQueueStorage(dir, { journal: true });
    const again = await createPersistentQueue(storage.client, "traces", {
      capacity: 100,
      memoryBytes: 0,
    });
    assert.equal(again.recovered, 5);
    for (let i = 1; i < 6; i++) {
      const entry = (await again.take())!;
      assert.ok(sameBytes(entry.payload.encodedProto!, sent[i]!), `item ${i}`);
      await entry.ack();
    }
    assert.equal(again.size, 0);
    await again.close();
    assert.deepEqual(
      (await keysOf(storage.store.kv, PREFIX)).filter((k) => k !== "w"),
      [],
      "acknowledged items are deleted",
    );
    // New sequence numbers continue past the watermark even with the queue empty.
    await storage.close();
  });
});

Deno.test("items the queue could not fold are acknowledged from the journal and moved into the database at the next start", async () => {
  await withDir(async (dir) => {
    let storage = await openQueueStorage(dir, { journal: true });
    const logs: Record<string, unknown>[] = [];
    const logger = createLogger({ level: "debug", write: (l) => logs.push(JSON.parse(l)) });
    const broken = failingCommits(storage.client, () => true);
    const queue = await createPersistentQueue(broken, "traces", {
      capacity: 100,
      logger,
      fullProbeMs: 20,
    });
    const sent = [0, 1, 2, 3].map((i) => tracesBytes(i, 300 + i));
    for (const bytes of sent) await queue.offer(encodedPayload(bytes));
    assert.equal(queue.size, 4, "accepted once journaled, although the database refuses writes");
    assert.deepEqual(await keysOf(storage.store.kv, PREFIX), []);
    await queue.close();
    assert.ok(logs.some((l) => String(l.msg).includes("not in the database yet")));
    assert.ok((await journalFiles(dir)).length >= 1, "the journal keeps them");
    await storage.close();

    storage = await openQueueStorage(dir, { journal: true });
    const again = await createPersistentQueue(storage.client, "traces", {
      capacity: 100,
      logger,
    });
    assert.equal(again.recovered, 4);
    assert.deepEqual(await journalFiles(dir), [], "replayed segments are deleted");
    for (let i = 0; i < 4; i++) {
      const entry = (await again.take())!;
      assert.ok(sameBytes(entry.payload.encodedProto!, sent[i]!), `item ${i}`);
    }
    // The next offer gets a sequence number after the replayed ones.
    await again.offer(encodedPayload(tracesBytes(9, 400)));
    assert.equal(spanName((await again.take())!.payload), "item-9");
    await again.close();
    await storage.close();
  });
});

Deno.test("a journaled item is compressed when folded, and its bytes then count what the database holds", async () => {
  await withDir(async (dir) => {
    let storage = await openQueueStorage(dir, { journal: true });
    let failing = true; // holds the fold back until the journal is looked at
    const queue = await createPersistentQueue(
      failingCommits(storage.client, () => failing),
      "traces",
      { capacity: 100, foldDelayMs: 0, memoryBytes: 0, fullProbeMs: 20 },
    );
    const sent = compressibleBytes(20_000);
    await queue.offer(encodedPayload(sent));
    const [segment] = await journalFiles(dir);
    const record = (await Deno.stat(`${dir}/journal/${segment}`)).size;
    assert.ok(record > sent.length && record < sent.length + 256, `one record: ${record} bytes`);
    assert.equal(queue.bytes, record, "journaled as it is: the bytes its journal takes");
    failing = false;
    await waitUntil(async () => (await keysOf(storage.store.kv, PREFIX)).includes("i/0"));
    const header = (await storage.store.kv.get<{ codec?: string; stored: number }>([
      ...PREFIX,
      "i",
      0,
    ])).value!;
    assert.equal(header.codec, "zstd");
    assert.ok(header.stored < sent.length / 2, `stored ${header.stored} of ${sent.length}`);
    await waitUntil(() => Promise.resolve(queue.bytes === header.stored));
    assert.equal(queue.bytes, header.stored);
    const entry = (await queue.take())!;
    assert.ok(sameBytes(entry.payload.encodedProto!, sent), "read back from Deno KV");
    await queue.close();
    await storage.close();

    storage = await openQueueStorage(dir, { journal: true });
    const again = await createPersistentQueue(storage.client, "traces", { capacity: 100 });
    assert.equal(again.recovered, 1);
    assert.equal(again.bytes, header.stored);
    await (await again.take())!.ack();
    assert.equal(again.bytes, 0);
    await again.close();
    await storage.close();
  });
});

Deno.test("an item acknowledged before its fold is never written to the database", async () => {
  await withDir(async (dir) => {
    const storage = await openQueueStorage(dir, { journal: true });
    const queue = await createPersistentQueue(storage.client, "traces", {
      capacity: 100,
      foldDelayMs: 60_000,
    });
    for (let i = 0; i < 3; i++) await queue.offer(encodedPayload(tracesBytes(i, 700)));
    for (let i = 0; i < 3; i++) await (await queue.take())!.ack();
    assert.equal(queue.size, 0);
    assert.deepEqual(await keysOf(storage.store.kv, PREFIX), [], "nothing written to Deno KV");
    await queue.close();
    assert.deepEqual(await keysOf(storage.store.kv, PREFIX), [], "no commit for them at close");
    assert.deepEqual(await journalFiles(dir), []);
    await storage.close();
  });
});

Deno.test("acknowledgements noted in the journal keep a restart from sending those items again", async () => {
  await withDir(async (dir) => {
    let storage = await openQueueStorage(dir, { journal: true });
    const broken = failingCommits(storage.client, () => true);
    const queue = await createPersistentQueue(broken, "traces", { capacity: 100 });
    for (let i = 0; i < 4; i++) await queue.offer(encodedPayload(tracesBytes(i, 600)));
    for (let i = 0; i < 2; i++) await (await queue.take())!.ack();
    await queue.close(); // the fold fails: items and acknowledgements stay in the journal
    await storage.close();

    storage = await openQueueStorage(dir, { journal: true });
    const again = await createPersistentQueue(storage.client, "traces", { capacity: 100 });
    assert.equal(again.recovered, 2);
    assert.equal(spanName((await again.take())!.payload), "item-2");
    assert.equal(spanName((await again.take())!.payload), "item-3");
    await again.close();
    await storage.close();
  });
});

Deno.test("a journal segment left behind after its items were folded and acknowledged is not replayed", async () => {
  await withDir(async (dir) => {
    let storage = await openQueueStorage(dir, { journal: true });
    // Folded at once, before the acknowledgements: only the watermark keeps them from coming back.
    // The fold is held back (its commits fail) until the segment is copied: a folded segment is
    // deleted at once.
    let failing = true;
    const queue = await createPersistentQueue(
      failingCommits(storage.client, () => failing),
      "traces",
      { capacity: 100, foldDelayMs: 0, fullProbeMs: 20 },
    );
    for (let i = 0; i < 3; i++) await queue.offer(encodedPayload(tracesBytes(i, 500)));
    // As if tfo died between the fold and the segment's deletion: keep a copy of the segment.
    const [segment] = await journalFiles(dir);
    assert.ok(segment !== undefined);
    const copy = await Deno.readFile(`${dir}/journal/${segment}`);
    failing = false;
    await waitUntil(async () => (await keysOf(storage.store.kv, PREFIX)).includes("i/2"));
    const entries = [(await queue.take())!, (await queue.take())!, (await queue.take())!];
    for (const entry of entries) await entry.ack();
    await waitUntil(async () => (await journalFiles(dir)).length === 0);
    assert.deepEqual(await journalFiles(dir), [], "a folded segment is deleted at once");
    await queue.close();
    await storage.close();
    await Deno.writeFile(`${dir}/journal/${segment}`, copy);

    storage = await openQueueStorage(dir, { journal: true });
    const again = await createPersistentQueue(storage.client, "traces", { capacity: 100 });
    assert.equal(again.recovered, 0, "nothing acknowledged comes back");
    assert.deepEqual(await journalFiles(dir), []);
    await again.close();
    await storage.close();
  });
});

function accepted(text: string): number[] {
  return text.split("\n").filter((l) => l.startsWith("accepted ")).map((l) => Number(l.slice(9)));
}

function lines(text: string, word: string): number[] {
  return text.split("\n").filter((l) => l.startsWith(`${word} `)).map((l) =>
    Number(l.slice(word.length + 1))
  );
}

/** Runs the crash child on a journaled queue and kills it once it reported `after` items. */
async function killJournaled(
  dir: string,
  first: number,
  after: number,
  mode: "journal" | "journal-ack" = "journal",
): Promise<number[]> {
  return (await killChild(dir, first, after, mode)).accepted;
}

async function killChild(
  dir: string,
  first: number,
  after: number,
  mode: "journal" | "journal-ack",
): Promise<{ accepted: number[]; acking: number[]; delivered: number[] }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--unstable-kv", CHILD, dir, String(first), "100000", mode],
    stdout: "piped",
    stderr: "null",
    stdin: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  try {
    while (accepted(text).length < after) {
      const { value, done } = await reader.read();
      assert.ok(!done, "the child ended early");
      text += value;
    }
    child.kill("SIGKILL");
    for (let r = await reader.read(); !r.done; r = await reader.read()) text += r.value;
  } finally {
    reader.releaseLock();
    await child.status;
  }
  // Only whole lines count: a line cut by the kill was not reported.
  const whole = text.slice(0, text.lastIndexOf("\n") + 1);
  return {
    accepted: accepted(whole),
    acking: lines(whole, "acking"),
    delivered: lines(whole, "delivered"),
  };
}

Deno.test({
  name: "a journaled queue keeps every item it acknowledged through kill -9, in order, once",
  sanitizeResources: true,
  async fn() {
    await withDir(async (dir) => {
      const reported: number[] = [];
      for (const [first, after] of [[0, 40], [1000, 15], [2000, 60]] as const) {
        reported.push(...await killJournaled(dir, first, after));
      }
      assert.ok(reported.length >= 115);
      const storage = await openQueueStorage(dir, { journal: true });
      try {
        const queue = await createPersistentQueue(storage.client, "traces", {
          capacity: 100_000,
          maxBytes: 2 ** 40,
        });
        const found: number[] = [];
        for (let i = 0; i < queue.recovered; i++) {
          const entry = (await queue.take())!;
          const item = Number(spanName(entry.payload).slice("item-".length));
          assert.ok(sameBytes(entry.payload.encodedProto!, tracesBytes(item, crashItemSize(item))));
          found.push(item);
        }
        assert.deepEqual(found, [...found].sort((a, b) => a - b), "in order");
        assert.equal(new Set(found).size, found.length, "no duplicates");
        assert.deepEqual(
          reported.filter((i) => !found.includes(i)),
          [],
          "nothing acknowledged lost",
        );
        assert.deepEqual(await journalFiles(dir), []);
        await queue.close();
      } finally {
        await storage.close();
      }
    });
  },
});

Deno.test({
  name:
    "a journaled queue whose consumer acknowledges as it goes keeps, through kill -9, exactly what it accepted and was not acknowledged",
  sanitizeResources: true,
  async fn() {
    await withDir(async (dir) => {
      const reported: number[] = [];
      const acked: number[] = [];
      // An acknowledgement cut short by the kill may or may not have deleted its item.
      const acking: number[] = [];
      for (const [first, after] of [[0, 45], [1000, 20], [2000, 70]] as const) {
        const run = await killChild(dir, first, after, "journal-ack");
        reported.push(...run.accepted);
        acked.push(...run.delivered);
        acking.push(...run.acking);
      }
      assert.ok(acked.length >= 60, `acknowledged ${acked.length}`);
      const storage = await openQueueStorage(dir, { journal: true });
      try {
        const queue = await createPersistentQueue(storage.client, "traces", {
          capacity: 100_000,
          maxBytes: 2 ** 40,
        });
        const found: number[] = [];
        for (let i = 0; i < queue.recovered; i++) {
          const entry = (await queue.take())!;
          const item = Number(spanName(entry.payload).slice("item-".length));
          assert.ok(sameBytes(entry.payload.encodedProto!, tracesBytes(item, crashItemSize(item))));
          found.push(item);
        }
        assert.deepEqual(found, [...found].sort((a, b) => a - b), "in order");
        assert.equal(new Set(found).size, found.length, "no duplicates");
        const waiting = reported.filter((i) => !acking.includes(i));
        assert.deepEqual(waiting.filter((i) => !found.includes(i)), [], "nothing accepted lost");
        assert.deepEqual(found.filter((i) => acked.includes(i)), [], "nothing acknowledged back");
        await queue.close();
        assert.deepEqual(await journalFiles(dir), []);
      } finally {
        await storage.close();
      }
    });
  },
});

/** What the journal's files take on disk. */
async function journalBytes(dir: string): Promise<number> {
  let total = 0;
  for (const name of await journalFiles(dir)) {
    total += (await Deno.stat(`${dir}/journal/${name}`)).size;
  }
  return total;
}

Deno.test("a journaled queue's bytes count its journal's files on disk until they are deleted", async () => {
  await withDir(async (dir) => {
    const storage = await openQueueStorage(dir, { journal: true });
    const queue = await createPersistentQueue(storage.client, "traces", {
      capacity: 100,
      maxBytes: 2 ** 30,
      foldDelayMs: 60_000,
    });
    for (let i = 0; i < 3; i++) await queue.offer(encodedPayload(tracesBytes(i, 700)));
    const written = await journalBytes(dir);
    assert.ok(written > 3 * 700, `journal ${written} bytes`);
    assert.equal(queue.bytes, written, "what the journal takes");
    const [first, second] = [(await queue.take())!, (await queue.take())!];
    await second.ack();
    assert.equal(queue.bytes, await journalBytes(dir), "an acknowledged record stays on disk");
    assert.ok(queue.bytes >= written);
    await first.ack();
    await (await queue.take())!.ack();
    await waitUntil(async () => (await journalFiles(dir)).length === 0);
    assert.deepEqual(await journalFiles(dir), [], "nothing left waits: the segment is deleted");
    assert.equal(queue.bytes, 0);
    assert.deepEqual(await keysOf(storage.store.kv, PREFIX), [], "nothing was folded");
    await queue.close();
    await storage.close();
  });
});

Deno.test("past its memory bound a journaled queue folds its oldest items, down to half of it", async () => {
  await withDir(async (dir) => {
    const storage = await openQueueStorage(dir, { journal: true });
    const size = tracesBytes(0, 3000).length;
    // A byte bound of 64 × 3.3 items: its fold-early bound is 3.3 items, folded down to 1.65.
    const queue = await createPersistentQueue(storage.client, "traces", {
      capacity: 100,
      maxBytes: Math.round(64 * 3.3 * size),
      foldDelayMs: 60_000,
    });
    for (let i = 0; i < 3; i++) await queue.offer(encodedPayload(tracesBytes(i, 3000)));
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(await keysOf(storage.store.kv, PREFIX), [], "under the bound: no fold");
    await queue.offer(encodedPayload(tracesBytes(3, 3000)));
    await waitUntil(async () => (await keysOf(storage.store.kv, PREFIX)).includes("i/2"));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const keys = (await keysOf(storage.store.kv, PREFIX)).filter((k) => k.startsWith("i/"));
    assert.deepEqual(keys, ["i/0", "i/1", "i/2"], "the oldest, until 1.65 items are left");
    for (let i = 0; i < 4; i++) {
      const entry = (await queue.take())!;
      assert.equal(spanName(entry.payload), `item-${i}`);
      await entry.ack();
    }
    await queue.close();
    assert.deepEqual((await keysOf(storage.store.kv, PREFIX)).filter((k) => k !== "w"), []);
    await storage.close();
  });
});
