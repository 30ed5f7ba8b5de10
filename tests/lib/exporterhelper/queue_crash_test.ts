/**
 * kill -9 while offering: a child process offers items to a persistent queue and reports each one
 * as soon as `offer` resolved; the test kills it with SIGKILL (once after a few items, then twice
 * while a 3 MiB item is being written in several commits), then reopens the queue and checks that
 * every reported item is there, byte-exact and in order, and that no orphan chunks remain.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { createPersistentQueue } from "../../../lib/exporterhelper/persistent_queue.ts";
import {
  crashItemSize,
  openQueueStorage,
  sameBytes,
  spanName,
  tracesBytes,
} from "../../fixtures/queue/kit.ts";

const CHILD = fileURLToPath(new URL("../../fixtures/queue/crash_child.ts", import.meta.url));
const PREFIX = ["exporter", "otlp", "traces"];

/** Reads a child's stdout line by line. */
class Lines {
  #reader: ReadableStreamDefaultReader<string>;
  #buffer = "";
  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  }
  /** The next line, or undefined at the end. */
  async next(): Promise<string | undefined> {
    while (!this.#buffer.includes("\n")) {
      const { value, done } = await this.#reader.read();
      if (done) return undefined;
      this.#buffer += value;
    }
    const at = this.#buffer.indexOf("\n");
    const line = this.#buffer.slice(0, at);
    this.#buffer = this.#buffer.slice(at + 1);
    return line;
  }
  /** Reads to the end (after the child died), returning the remaining lines. */
  async rest(): Promise<string[]> {
    const lines: string[] = [];
    for (let line = await this.next(); line !== undefined; line = await this.next()) {
      lines.push(line);
    }
    return lines;
  }
}

function spawnChild(dir: string, first: number): { child: Deno.ChildProcess; lines: Lines } {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--unstable-kv", CHILD, dir, String(first), "1000"],
    stdout: "piped",
    stderr: "null",
    stdin: "null",
  }).spawn();
  return { child, lines: new Lines(child.stdout) };
}

function accepted(lines: readonly string[]): number[] {
  return lines.filter((l) => l.startsWith("accepted ")).map((l) => Number(l.slice(9)));
}

/** Runs a child until `after` accepted items, then kills it. Returns the accepted items. */
async function killAfterAccepted(dir: string, first: number, after: number): Promise<number[]> {
  const { child, lines } = spawnChild(dir, first);
  const seen: string[] = [];
  while (accepted(seen).length < after) {
    const line = await lines.next();
    assert.ok(line !== undefined, "the child ended early");
    seen.push(line);
  }
  child.kill("SIGKILL");
  seen.push(...await lines.rest());
  await child.status;
  return accepted(seen);
}

/**
 * Runs a child and kills it while a large item is being written: once its pending marker is in the
 * database (the chunks are committed, the index entry is not). Returns the accepted items and
 * whether the kill left the half-written item behind.
 */
async function killDuringLargeWrite(
  dir: string,
  first: number,
): Promise<{ items: number[]; interrupted: boolean }> {
  const spy = await Deno.openKv(`${dir}/tfo.kv`); // SQLite lets a reader in beside the child
  const { child, lines } = spawnChild(dir, first);
  const seen: string[] = [];
  try {
    for (let line = await lines.next(); line !== "ready"; line = await lines.next()) {
      assert.ok(line !== undefined, "the child ended before it was ready");
    }
    const deadline = Date.now() + 20_000;
    let marked = false;
    while (!marked && Date.now() < deadline) {
      for await (const _ of spy.list({ prefix: [...PREFIX, "p"] }, { limit: 1 })) marked = true;
      if (!marked) await new Promise((r) => setTimeout(r, 1));
    }
    assert.ok(marked, "the child never started a multi-commit write");
    child.kill("SIGKILL");
    seen.push(...await lines.rest());
    await child.status;
    let interrupted = false;
    for await (const _ of spy.list({ prefix: [...PREFIX, "p"] }, { limit: 1 })) interrupted = true;
    return { items: accepted(seen), interrupted };
  } finally {
    spy.close();
  }
}

Deno.test({
  name: "persistent queue keeps every item it accepted through kill -9, also mid chunked write",
  sanitizeResources: true,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "tfo_queue_crash_" });
    try {
      const reported: number[] = [];
      reported.push(...await killAfterAccepted(dir, 0, 7));
      let interruptions = 0;
      for (const first of [1000, 2000, 3000]) {
        const { items, interrupted } = await killDuringLargeWrite(dir, first);
        reported.push(...items);
        if (interrupted) interruptions++;
        if (interruptions >= 2) break;
      }
      assert.ok(interruptions >= 1, "no kill landed inside a multi-commit write");
      assert.ok(reported.length >= 7);

      const storage = await openQueueStorage(dir);
      try {
        const queue = await createPersistentQueue(storage.client, "traces", { capacity: 100_000 });
        // No orphans: no marker, and every chunk belongs to an indexed item.
        const indexed = new Set<unknown>();
        const chunkSeqs = new Set<unknown>();
        let markers = 0;
        for await (const { key } of storage.store.kv.list({ prefix: PREFIX })) {
          const [kind, seq] = key.slice(PREFIX.length);
          if (kind === "i") indexed.add(seq);
          if (kind === "c") chunkSeqs.add(seq);
          if (kind === "p") markers++;
        }
        assert.equal(markers, 0);
        assert.deepEqual([...chunkSeqs].filter((s) => !indexed.has(s)), []);

        const found: number[] = [];
        for (let i = 0; i < queue.recovered; i++) {
          const entry = (await queue.take())!;
          const item = Number(spanName(entry.payload).slice("item-".length));
          const bytes = entry.payload.encodedProto!;
          assert.ok(sameBytes(bytes, tracesBytes(item, crashItemSize(item))), `item ${item}`);
          found.push(item);
        }
        // In order, no duplicates; every reported item is there (an item committed just before
        // the kill may be there without having been reported).
        assert.deepEqual(found, [...found].sort((a, b) => a - b));
        assert.equal(new Set(found).size, found.length);
        const missing = reported.filter((i) => !found.includes(i));
        assert.deepEqual(missing, []);
        assert.ok(found.some((i) => crashItemSize(i) > 1024 * 1024), "a large item survived");
        await queue.close();
      } finally {
        await storage.close();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
