import assert from "node:assert/strict";
import type { Clock } from "../../../lib/clock.ts";
import { rateLimitSchema } from "../../../lib/tenancy/config.ts";
import { createRateLimiter } from "../../../lib/tenancy/rate_limiter.ts";
import {
  createBucketBoard,
  joinBucketBoard,
  leaveBucketBoard,
  PROBES,
  sharedBucketsInUse,
} from "../../../lib/tenancy/shared_buckets.ts";
import { loadConfigLibs } from "../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

function fakeClock(): Clock & { advance(ms: number): void } {
  let now = 1_000_000;
  return {
    now: () => now,
    setTimer: () => 0,
    clearTimer: () => {},
    advance(ms) {
      now += ms;
    },
  };
}

const config = rateLimitSchema.parse({
  items_per_second: 100,
  overrides: { big: { items_per_second: 1000 } },
});

Deno.test("shared buckets: two limiters of one receiver on one board admit one bound between them", () => {
  joinBucketBoard(createBucketBoard(64));
  try {
    const clock = fakeClock();
    const a = createRateLimiter(config, clock, { scope: "otlp" });
    const b = createRateLimiter(config, clock, { scope: "otlp" });
    assert.deepEqual(a.admit("t", 60, 0), { admitted: true });
    assert.deepEqual(b.admit("t", 40, 0), { admitted: true });
    // The burst is spent by both together: neither admits more, and both say when.
    assert.deepEqual(b.admit("t", 50, 0), { admitted: false, retryAfterMs: 500, limit: "items" });
    assert.deepEqual(a.check("t", 50, 0), { admitted: false, retryAfterMs: 500, limit: "items" });
    clock.advance(500);
    assert.deepEqual(a.admit("t", 50, 0), { admitted: true });
    assert.equal(b.admit("t", 1, 0).admitted, false);
    // Overrides apply per tenant; another receiver's buckets are its own.
    assert.deepEqual(b.admit("big", 900, 0), { admitted: true });
    const other = createRateLimiter(config, clock, { scope: "otlp/2" });
    assert.deepEqual(other.admit("t", 100, 0), { admitted: true });
    assert.equal(a.size, 3);
  } finally {
    leaveBucketBoard();
  }
});

Deno.test("shared buckets: without a board or a scope a limiter keeps its buckets to itself", () => {
  const clock = fakeClock();
  const a = createRateLimiter(config, clock, { scope: "otlp" });
  const b = createRateLimiter(config, clock, { scope: "otlp" });
  assert.deepEqual(a.admit("t", 100, 0), { admitted: true });
  assert.deepEqual(b.admit("t", 100, 0), { admitted: true });
  joinBucketBoard(createBucketBoard(64));
  try {
    const c = createRateLimiter(config, clock);
    const d = createRateLimiter(config, clock);
    assert.deepEqual(c.admit("t", 100, 0), { admitted: true });
    assert.deepEqual(d.admit("t", 100, 0), { admitted: true });
    assert.equal(sharedBucketsInUse(), 0);
  } finally {
    leaveBucketBoard();
  }
});

Deno.test("shared buckets: a full board forgets the least recently seen tenant, which starts with a full bucket", () => {
  joinBucketBoard(createBucketBoard(PROBES));
  try {
    const clock = fakeClock();
    const l = createRateLimiter(config, clock, { scope: "otlp" });
    for (let i = 0; i < PROBES; i++) {
      assert.deepEqual(l.admit(`t${i}`, 100, 0), { admitted: true });
      clock.advance(1);
    }
    assert.equal(sharedBucketsInUse(), PROBES);
    // One more tenant takes t0's slot (seen first); t0 then comes back with a full bucket.
    assert.deepEqual(l.admit("new", 100, 0), { admitted: true });
    assert.equal(sharedBucketsInUse(), PROBES);
    assert.equal(l.admit("t5", 10, 0).admitted, false, "t5 kept its (spent) bucket");
    assert.deepEqual(l.admit("t0", 100, 0), { admitted: true });
  } finally {
    leaveBucketBoard();
  }
});

Deno.test("shared buckets: a lock left held (an isolate ended inside it) is taken over", () => {
  const board = createBucketBoard(1);
  joinBucketBoard(board);
  try {
    const l = createRateLimiter(config, fakeClock(), { scope: "otlp" });
    assert.deepEqual(l.admit("t", 10, 0), { admitted: true });
    Atomics.store(new Int32Array(board), 0, 1);
    assert.deepEqual(l.admit("t", 10, 0), { admitted: true });
    assert.equal(Atomics.load(new Int32Array(board), 0), 0, "released after use");
  } finally {
    leaveBucketBoard();
  }
});

Deno.test("shared buckets: limiters in two isolates racing on one board admit the bound, no more", async () => {
  const board = createBucketBoard(64);
  joinBucketBoard(board);
  const source = `
    import { rateLimitSchema } from "${new URL("../../../lib/tenancy/config.ts", import.meta.url)}";
    import { createRateLimiter } from "${new URL(
    "../../../lib/tenancy/rate_limiter.ts",
    import.meta.url,
  )}";
    import { joinBucketBoard } from "${new URL(
    "../../../lib/tenancy/shared_buckets.ts",
    import.meta.url,
  )}";
    import { loadConfigLibs } from "${new URL(
    "../../../lib/config/config_libs.ts",
    import.meta.url,
  )}";
    await loadConfigLibs();
    self.onmessage = (e) => {
      joinBucketBoard(e.data);
      // A clock that stands still: only the burst can be admitted, however the two interleave.
      const l = createRateLimiter(rateLimitSchema.parse({ items_per_second: 100000 }), {
        now: () => 5, setTimer: () => 0, clearTimer: () => {},
      }, { scope: "otlp" });
      let admitted = 0;
      for (let i = 0; i < 200000; i++) if (l.admit("t", 1, 0).admitted) admitted++;
      self.postMessage(admitted);
    };`;
  const url = URL.createObjectURL(new Blob([source], { type: "application/javascript" }));
  const workers = [0, 1].map(() => new Worker(url, { type: "module" }));
  try {
    const counts = await Promise.all(workers.map((w) =>
      new Promise<number>((resolve, reject) => {
        w.onmessage = (e) => resolve(e.data as number);
        w.onerror = (e) => reject(new Error(e.message));
        w.postMessage(board);
      })
    ));
    assert.equal(counts[0]! + counts[1]!, 100000, `admitted ${counts.join(" + ")}`);
  } finally {
    for (const w of workers) w.terminate();
    URL.revokeObjectURL(url);
    leaveBucketBoard();
  }
});
