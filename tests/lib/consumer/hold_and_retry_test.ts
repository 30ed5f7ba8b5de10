import assert from "node:assert/strict";
import { consumeHolding } from "../../../lib/consumer/hold_and_retry.ts";
import { type Consumer, permanentError, retryableError } from "../../../lib/consumer/consumer.ts";
import { Payload } from "../../../lib/pdata/payload.ts";
import { newLogsData } from "../../../lib/pdata/new.ts";
import type { Clock } from "../../../lib/clock.ts";

/** A clock whose timers fire at once, recording each wait. */
function instantClock(waits: number[]): Clock {
  return {
    now: () => 0,
    setTimer(fn: () => void, ms: number) {
      waits.push(ms);
      return setTimeout(fn, 0);
    },
    clearTimer: (t: unknown) => clearTimeout(t as number),
  } as unknown as Clock;
}

function refusing(times: number, error: () => Error): Consumer<"logs"> & { calls: number } {
  const consumer = {
    calls: 0,
    mutatesData: false,
    consume() {
      consumer.calls++;
      return consumer.calls <= times ? Promise.reject(error()) : Promise.resolve();
    },
  };
  return consumer;
}

const payload = () => Payload.of("logs", newLogsData([]));

Deno.test("consumeHolding offers the same data again after retryable refusals until accepted", async () => {
  const waits: number[] = [];
  const consumer = refusing(5, () => retryableError("Sending queue is full"));
  const outcome = await consumeHolding(
    consumer,
    payload(),
    new AbortController().signal,
    instantClock(waits),
  );
  assert.deepEqual(outcome, { accepted: true, retries: 5 });
  assert.deepEqual(consumer.calls, 6);
  assert.deepEqual(waits.length, 5);
  // Exponential from 5 ms (±20%), growing.
  assert.deepEqual(waits[0]! >= 4 && waits[0]! <= 6, true);
  assert.deepEqual(waits[4]! > waits[0]!, true);
});

Deno.test("consumeHolding waits its own backoff, never longer than the refusal's retry delay", async () => {
  const long: number[] = [];
  const refusingLong = refusing(2, () => retryableError("later", { retryAfterMs: 30_000 }));
  await consumeHolding(refusingLong, payload(), new AbortController().signal, instantClock(long));
  // A long hint (a full queue asks remote clients for 1 s) does not stretch the 5 ms backoff.
  assert.deepEqual(long.length, 2);
  assert.deepEqual(long[0]! >= 4 && long[0]! <= 6, true);
  assert.deepEqual(long[1]! >= 8 && long[1]! <= 12, true);
  const short: number[] = [];
  const refusingShort = refusing(2, () => retryableError("soon", { retryAfterMs: 2 }));
  await consumeHolding(refusingShort, payload(), new AbortController().signal, instantClock(short));
  assert.deepEqual(short, [2, 2]);
});

Deno.test("consumeHolding gives up at once on a permanent refusal", async () => {
  const consumer = refusing(1, () => permanentError("bad data"));
  const outcome = await consumeHolding(consumer, payload(), new AbortController().signal);
  assert.deepEqual(outcome.accepted, false);
  assert.deepEqual(consumer.calls, 1);
});

Deno.test("consumeHolding stops waiting when its signal aborts (shutdown)", async () => {
  const consumer = refusing(Infinity, () => retryableError("full"));
  const stop = new AbortController();
  const pending = consumeHolding(consumer, payload(), stop.signal);
  await new Promise((r) => setTimeout(r, 50));
  stop.abort();
  const outcome = await pending;
  assert.deepEqual(outcome.accepted, false);
  assert.deepEqual(consumer.calls >= 2, true);
});
