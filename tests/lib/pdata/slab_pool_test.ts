/**
 * The slab pool's rules: requests are cut one after the other from a slab, a slab comes back only
 * once the writer moved on and every request cut from it was released, oversized requests are the
 * caller's, misuses are caught by a strict pool, an idle pool trims its free slabs.
 */
import assert from "node:assert/strict";
import { LeaseMisuseError, POISON } from "../../../lib/pdata/buffer_pool.ts";
import { SlabPool } from "../../../lib/pdata/slab_pool.ts";

Deno.test("slab pool cuts consecutive requests from one slab and moves on when one does not fit", () => {
  const pool = new SlabPool({ slabBytes: 100, maxPooledBytes: 60, strict: true });
  const a = pool.take(40)!;
  const b = pool.take(50)!;
  assert.equal(a.bytes.buffer, b.bytes.buffer);
  assert.equal(b.bytes.byteOffset, a.bytes.byteOffset + 40);
  assert.equal(a.lease, b.lease);
  const c = pool.take(20)!; // 40 + 50 + 20 > 100: a new slab
  assert.notEqual(c.bytes.buffer, a.bytes.buffer);
  assert.equal(pool.stats.allocated, 2);
  assert.equal(pool.take(61), undefined, "over maxPooledBytes");
  assert.equal(pool.take(0), undefined);
});

Deno.test("slab pool gives a slab back only after the writer moved on and its last request was released", () => {
  const pool = new SlabPool({ slabBytes: 100, maxPooledBytes: 100, maxFreeSlabs: 4, strict: true });
  const a = pool.take(30)!;
  const b = pool.take(30)!;
  a.bytes.fill(1);
  b.bytes.fill(2);
  a.lease.release();
  b.lease.release();
  // Still the slab being cut: nothing came back, the bytes are intact.
  assert.equal(pool.stats.returned, 0);
  assert.deepEqual([a.bytes[0], b.bytes[29]], [1, 2]);
  const c = pool.take(30)!;
  c.bytes.fill(3);
  const d = pool.take(80)!; // moves on while c is still held
  assert.equal(pool.stats.returned, 0, "c still holds the first slab");
  assert.equal(c.bytes[0], 3);
  c.lease.release();
  assert.equal(pool.stats.returned, 1);
  assert.equal(c.bytes[0], POISON, "a strict pool poisons what came back");
  const e = pool.take(30)!; // d's slab is full: the free one is cut again
  assert.equal(e.bytes.buffer, a.bytes.buffer);
  assert.equal(pool.stats.reused, 1);
  d.lease.release();
  e.lease.release();
  pool.trim(0);
  assert.equal(pool.stats.outstanding, 0);
  assert.equal(pool.stats.misuses, 0);
});

Deno.test("slab pool throws on a release too many when strict", () => {
  const pool = new SlabPool({ slabBytes: 100, strict: true });
  const a = pool.take(10)!;
  a.lease.release();
  pool.trim(0); // the writer's reference goes: the slab is back
  assert.throws(() => a.lease.release(), LeaseMisuseError);
});

Deno.test("slab pool trims its free slabs only after a period without takes", () => {
  const pool = new SlabPool({ slabBytes: 100, maxPooledBytes: 100, maxFreeSlabs: 8 });
  const held = [pool.take(100)!, pool.take(100)!, pool.take(100)!];
  for (const s of held) s.lease.release();
  pool.trimIfIdle(0); // there were takes since the last call: nothing trimmed
  assert.equal(pool.stats.free, 2, "two slabs back; the third is still being cut");
  pool.trimIfIdle(1);
  assert.equal(pool.stats.free, 1);
  assert.equal(pool.stats.outstanding, 0);
});
