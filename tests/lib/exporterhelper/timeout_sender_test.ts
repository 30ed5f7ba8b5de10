import assert from "node:assert/strict";
import { ConsumerError } from "../../../lib/consumer/consumer.ts";
import { timeoutSender } from "../../../lib/exporterhelper/timeout_sender.ts";
import { encodeLogsRequest, LOGS_PROTO } from "../../../lib/otlp/logs_proto.ts";
import { BufferPool } from "../../../lib/pdata/buffer_pool.ts";
import { newBodyLogRecord, newLogsData } from "../../../lib/pdata/new.ts";
import { Payload } from "../../../lib/pdata/payload.ts";
import { FakeClock, settle } from "./_fake_clock.ts";
import { consumerError, probe, tracesPayload } from "./_kit.ts";

Deno.test("timeout sender aborts the push at the deadline and fails retryably", async () => {
  const clock = new FakeClock();
  let seen: AbortSignal | undefined;
  const send = timeoutSender((_payload, signal) => {
    seen = signal;
    return new Promise<void>(() => {}); // a backend that never answers, ignoring the signal
  }, { timeoutMs: 150, clock });
  const p = probe(send(tracesPayload("a")));
  await clock.advance(149);
  assert.equal(p.settled, false);
  assert.equal(seen?.aborted, false);
  await clock.advance(1);
  assert.equal(p.settled, true);
  assert.equal(seen?.aborted, true);
  assert.ok(seen?.reason instanceof DOMException && seen.reason.name === "TimeoutError");
  const error = consumerError(p);
  assert.equal(error.permanent, false);
  assert.match(error.message, /timed out after 150ms/);
});

Deno.test("timeout sender passes a push's own result and clears its timer", async () => {
  const clock = new FakeClock();
  const ok = timeoutSender(() => Promise.resolve(), { timeoutMs: 1000, clock });
  await ok(tracesPayload("a"));
  assert.equal(clock.pending, 0);
  const failing = timeoutSender(
    () => Promise.reject(new ConsumerError("HTTP 400", true)),
    { timeoutMs: 1000, clock },
  );
  await assert.rejects(failing(tracesPayload("a")), /HTTP 400/);
  assert.equal(clock.pending, 0);
});

Deno.test("timeout sender with 0 sets no deadline but passes the stop signal", async () => {
  const clock = new FakeClock();
  const stop = new AbortController();
  let seen: AbortSignal | undefined;
  const send = timeoutSender((_p, signal) => {
    seen = signal;
    return new Promise<void>((_resolve, reject) =>
      signal.addEventListener("abort", () => reject(signal.reason))
    );
  }, { timeoutMs: 0, clock, stopSignal: stop.signal });
  const p = probe(send(tracesPayload("a")));
  await clock.advance(3_600_000);
  assert.equal(p.settled, false);
  assert.equal(clock.pending, 0);
  stop.abort(new Error("stopping"));
  await settle();
  assert.equal(seen?.aborted, true);
  assert.equal(p.settled, true);
});

Deno.test("timeout sender turns a synchronous throw into a rejection", async () => {
  const send = timeoutSender(() => {
    throw new ConsumerError("boom", false);
  }, { timeoutMs: 100 });
  await assert.rejects(send(tracesPayload("a")), /boom/);
});

Deno.test("an attempt still running after its deadline keeps its payload's pooled buffer", async () => {
  const clock = new FakeClock();
  const pool = new BufferPool({ bufferBytes: 1024, strict: true });
  const bytes = encodeLogsRequest(newLogsData([newBodyLogRecord(1n, "late", [])]));
  const lease = pool.take();
  lease.bytes.set(bytes);
  const payload = Payload.fromPooled(
    "logs",
    lease.bytes.subarray(0, bytes.length),
    lease,
    LOGS_PROTO,
  );
  const finish = Promise.withResolvers<void>();
  const send = timeoutSender<"logs">(() => finish.promise, { timeoutMs: 100, clock });
  const p = probe(send(payload));
  await clock.advance(100);
  assert.equal(p.settled, true, "the attempt timed out");
  payload.release(); // the last attempt is over for the sender, which lets go of the payload
  assert.equal(pool.stats.outstanding, 1, "the push that goes on still holds the buffer");
  finish.resolve();
  await settle();
  assert.equal(pool.stats.outstanding, 0, "given back once the push ended");
  assert.equal(pool.stats.misuses, 0);
});
