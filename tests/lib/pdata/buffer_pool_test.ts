/**
 * Buffer leases: a pooled buffer goes back to its pool only at the last release of every payload
 * sharing it (the one made from it, its clones, batches merged from it), a release too many is
 * caught, and decoded data never points into a buffer that is used again.
 */
import assert from "node:assert/strict";
import { encodeLogsRequest, LOGS_PROTO } from "../../../lib/otlp/logs_proto.ts";
import { BufferPool, LeaseMisuseError, POISON } from "../../../lib/pdata/buffer_pool.ts";
import { newBodyLogRecord, newLogsData } from "../../../lib/pdata/new.ts";
import { Payload } from "../../../lib/pdata/payload.ts";
import type { LogsData } from "../../../lib/pdata/types.ts";

/** A logs request of one record per body, each with a trace ID of its body's length. */
function request(...bodies: string[]): Uint8Array {
  return encodeLogsRequest(
    newLogsData(
      bodies.map((b) => ({
        ...newBodyLogRecord(1n, b, []),
        traceId: new Uint8Array(16).fill(b.length),
      })),
    ),
  );
}

function bodiesOf(data: LogsData): unknown[] {
  return data.resourceLogs.flatMap((rl) =>
    rl.scopeLogs.flatMap((sl) => sl.logRecords.map((r) => r.body))
  );
}

/** A pooled payload holding `bodies`, written into a buffer taken from `pool`. */
function pooled(pool: BufferPool, ...bodies: string[]): Payload<"logs"> {
  const bytes = request(...bodies);
  const lease = pool.take();
  lease.bytes.set(bytes);
  return Payload.fromPooled(
    "logs",
    lease.bytes.subarray(0, bytes.length),
    lease,
    LOGS_PROTO,
    bodies.length,
  );
}

Deno.test("a pooled buffer is handed out again only after the last release", () => {
  const pool = new BufferPool({ bufferBytes: 256, maxFree: 4, strict: true });
  const p = pooled(pool, "a");
  p.retain(); // a queue keeps it
  p.release(); // the receiver is done
  assert.equal(pool.stats.free, 0, "still held by the queue");
  const other = pool.take();
  assert.notEqual(other.bytes.buffer, p.encodedProto!.buffer, "a held buffer is not reused");
  other.release();
  p.release(); // the queue is done
  assert.deepEqual(
    { outstanding: pool.stats.outstanding, free: pool.stats.free },
    { outstanding: 0, free: 2 },
  );
});

Deno.test("clones and merged batches hold the buffers they share until each is released", () => {
  const pool = new BufferPool({ bufferBytes: 256, maxFree: 4, strict: true });
  const a = pooled(pool, "a1", "a2");
  const b = pooled(pool, "b1");
  const copy = a.clone();
  const batch = Payload.merge("logs", [a, b]);
  a.release();
  b.release();
  assert.equal(pool.stats.outstanding, 2, "the clone and the batch still hold both buffers");
  assert.deepEqual(bodiesOf(batch.read()), ["a1", "a2", "b1"]);
  batch.release();
  assert.equal(pool.stats.outstanding, 1, "the clone still holds a's buffer");
  assert.deepEqual(bodiesOf(copy.read()), ["a1", "a2"]);
  copy.release();
  assert.equal(pool.stats.outstanding, 0);
  assert.equal(pool.stats.misuses, 0);
});

Deno.test("a strict pool throws on a double release and on a use after the last release", () => {
  const pool = new BufferPool({ bufferBytes: 256, strict: true });
  const p = pooled(pool, "x");
  p.release();
  assert.throws(() => p.release(), LeaseMisuseError);
  assert.throws(() => p.encodedParts, LeaseMisuseError);
  assert.throws(() => p.retain(), LeaseMisuseError);
  const lease = pool.take();
  lease.release();
  assert.throws(() => lease.release(), LeaseMisuseError);
  assert.equal(pool.stats.free, 1, "the buffer was given back once, not twice");
});

Deno.test("a production pool reports the first misuse once and ignores it", () => {
  const reported: string[] = [];
  const pool = new BufferPool({ bufferBytes: 256, onMisuse: (m) => reported.push(m) });
  const p = pooled(pool, "x");
  p.release();
  p.release();
  p.release();
  assert.equal(reported.length, 1);
  assert.match(reported[0]!, /released more often than it was retained/);
  assert.equal(pool.stats.misuses, 2);
  assert.deepEqual({ free: pool.stats.free, outstanding: pool.stats.outstanding }, {
    free: 1,
    outstanding: 0,
  });
  const a = pool.take();
  const b = pool.take();
  assert.notEqual(a, b, "the buffer given back once is handed out once");
});

Deno.test("decoded data of a pooled payload stays valid after its buffer is reused", () => {
  const pool = new BufferPool({ bufferBytes: 256, maxFree: 1, strict: true });
  const p = pooled(pool, "first body");
  const data = p.read();
  const derived = Payload.of("logs", data);
  p.release();
  // Same layout, other bytes: IDs decoded as views of the old buffer would now read 5s.
  const reused = pooled(pool, "other");
  assert.equal(pool.stats.reused, 1, "the same buffer was written again");
  assert.deepEqual(bodiesOf(derived.read()), ["first body"]);
  const record = derived.read().resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!;
  assert.deepEqual([...record.traceId], new Array(16).fill(10), "the trace ID is intact");
  assert.deepEqual(bodiesOf(reused.read()), ["other"]);
  reused.release();
});

Deno.test("an empty pool allocates instead of waiting, a leaked lease only costs its buffer, trim frees", () => {
  const pool = new BufferPool({ bufferBytes: 64, maxFree: 2, strict: true });
  const taken = [pool.take(), pool.take(), pool.take()];
  assert.equal(pool.stats.allocated, 3);
  for (const t of taken.slice(1)) t.release(); // the first one leaks
  assert.deepEqual({ free: pool.stats.free, outstanding: pool.stats.outstanding }, {
    free: 2,
    outstanding: 1,
  });
  pool.trim(0);
  assert.equal(pool.stats.free, 0);
  assert.equal(pool.take().bytes.length, 64);
});

Deno.test("payloads of no pool ignore leases", () => {
  const p = Payload.fromProto("logs", request("a"), LOGS_PROTO);
  assert.equal(p.leased, false);
  p.release();
  p.release();
  assert.deepEqual(bodiesOf(p.read()), ["a"]);
});

Deno.test("a strict pool poisons a buffer given back, so bytes kept without a lease read garbage", () => {
  const pool = new BufferPool({ bufferBytes: 256, strict: true });
  const p = pooled(pool, "kept without a lease");
  const bytes = p.encodedProto!;
  p.release();
  assert.ok(bytes.every((b) => b === POISON));
});
