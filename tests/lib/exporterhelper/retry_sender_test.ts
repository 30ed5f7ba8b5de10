import assert from "node:assert/strict";
import { isPermanent, permanentError } from "../../../lib/consumer/consumer.ts";
import { OtlpDecodeError } from "../../../lib/otlp/errors.ts";
import {
  ExponentialBackoff,
  isShutdownError,
  retrySender,
} from "../../../lib/exporterhelper/retry_sender.ts";
import { createLogger, NOOP_LOGGER } from "../../../lib/telemetry/logger.ts";
import { FakeClock, settle } from "./_fake_clock.ts";
import { consumerError, drive, flakyPush, probe, RETRY_DEFAULTS, tracesPayload } from "./_kit.ts";

Deno.test("retry sender waits 5s, ×1.5 each time, capped at 30s, with no jitter at random 0.5", async () => {
  const clock = new FakeClock();
  const { push, calls } = flakyPush(8);
  const send = retrySender(push, RETRY_DEFAULTS, {
    logger: NOOP_LOGGER,
    clock,
    random: () => 0.5,
  });
  const p = await drive(clock, send(tracesPayload("a")));
  assert.equal(p.settled, true);
  assert.equal(p.error, undefined);
  assert.equal(calls.length, 9);
  assert.deepEqual(clock.requested, [5000, 7500, 11250, 16875, 25312.5, 30000, 30000, 30000]);
});

Deno.test("retry backoff spreads each wait over ± randomization_factor", () => {
  const low = new ExponentialBackoff(RETRY_DEFAULTS, () => 0);
  const high = new ExponentialBackoff(RETRY_DEFAULTS, () => 0.999999);
  assert.deepEqual([low.next(), low.next(), low.next()], [2500, 3750, 5625]);
  const h = [high.next(), high.next(), high.next()];
  assert.ok(Math.abs(h[0]! - 7500) < 0.1 && Math.abs(h[2]! - 16875) < 0.1, `${h}`);
  const random = new ExponentialBackoff(RETRY_DEFAULTS);
  let nominal = 5000;
  for (let i = 0; i < 20; i++) {
    const wait = random.next();
    assert.ok(wait >= nominal * 0.5 && wait <= nominal * 1.5, `wait ${wait} of ${nominal}`);
    nominal = Math.min(30_000, nominal * 1.5);
  }
  const none = new ExponentialBackoff({ ...RETRY_DEFAULTS, randomization_factor: 0 }, () => 0.9);
  assert.deepEqual([none.next(), none.next()], [5000, 7500]);
});

Deno.test("retry sender waits max(backoff, Retry-After)", async () => {
  const clock = new FakeClock();
  const long = flakyPush(2, 20_000);
  const send = retrySender(long.push, RETRY_DEFAULTS, {
    logger: NOOP_LOGGER,
    clock,
    random: () => 0.5,
  });
  await drive(clock, send(tracesPayload("a")));
  assert.deepEqual(clock.requested, [20_000, 20_000], "the server's longer delay wins");

  const clock2 = new FakeClock();
  const short = flakyPush(1, 1000);
  const send2 = retrySender(short.push, RETRY_DEFAULTS, {
    logger: NOOP_LOGGER,
    clock: clock2,
    random: () => 0.5,
  });
  await drive(clock2, send2(tracesPayload("a")));
  assert.deepEqual(clock2.requested, [5000], "a shorter Retry-After never shortens the backoff");
});

Deno.test("retry sender never retries a permanent error", async () => {
  const clock = new FakeClock();
  let calls = 0;
  const send = retrySender(
    () => {
      calls++;
      return Promise.reject(permanentError("HTTP 400"));
    },
    RETRY_DEFAULTS,
    { logger: NOOP_LOGGER, clock },
  );
  const p = await drive(clock, send(tracesPayload("a")));
  assert.equal(calls, 1);
  assert.equal(consumerError(p).permanent, true);
  assert.deepEqual(clock.requested, []);
});

Deno.test("retry sender gives up when the next attempt would start after max_elapsed_time", async () => {
  const clock = new FakeClock();
  const { push, calls } = flakyPush(1000);
  const send = retrySender(push, { ...RETRY_DEFAULTS, max_elapsed_time: 60_000 }, {
    logger: NOOP_LOGGER,
    clock,
    random: () => 0.5,
  });
  const started = clock.now();
  const p = await drive(clock, send(tracesPayload("a")));
  // Waits 5 + 7.5 + 11.25 + 16.875 = 40.625s; the next (25.3125s) would end past 60s.
  assert.equal(calls.length, 5);
  assert.equal(clock.now() - started, 40_625);
  const error = consumerError(p);
  assert.equal(error.permanent, false);
  assert.match(error.message, /^No more retries left: HTTP 503/);
});

Deno.test("retry sender retries forever with max_elapsed_time 0", async () => {
  const clock = new FakeClock();
  const { push, calls } = flakyPush(100);
  const send = retrySender(push, { ...RETRY_DEFAULTS, max_elapsed_time: 0 }, {
    logger: NOOP_LOGGER,
    clock,
    random: () => 0.5,
  });
  const p = await drive(clock, send(tracesPayload("a")));
  assert.equal(p.error, undefined);
  assert.equal(calls.length, 101);
  assert.ok(clock.now() > 300_000 * 10, "well past the default max_elapsed_time");
});

Deno.test("retry sender with enabled false makes one attempt", async () => {
  const { push, calls } = flakyPush(1);
  const send = retrySender(push, { ...RETRY_DEFAULTS, enabled: false }, {
    logger: NOOP_LOGGER,
  });
  await assert.rejects(send(tracesPayload("a")), /HTTP 503/);
  assert.equal(calls.length, 1);
});

Deno.test("retry sender stops waiting at shutdown with a retryable ShutdownError", async () => {
  const clock = new FakeClock();
  const stop = new AbortController();
  const { push, calls } = flakyPush(10);
  const send = retrySender(push, RETRY_DEFAULTS, {
    logger: NOOP_LOGGER,
    clock,
    stopSignal: stop.signal,
  });
  const p = probe(send(tracesPayload("a")));
  await settle();
  assert.equal(calls.length, 1);
  assert.equal(clock.pending, 1, "waiting for the first retry");
  stop.abort();
  await settle();
  assert.equal(p.settled, true);
  assert.ok(isShutdownError(p.error));
  assert.equal(consumerError(p).permanent, false);
  assert.equal(clock.pending, 0, "the timer was cleared");
  assert.equal(calls.length, 1);
});

Deno.test("retry sender logs retries at most once per interval", async () => {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ level: "debug", write: (l) => lines.push(JSON.parse(l)) });
  const clock = new FakeClock();
  const { push } = flakyPush(6, 0);
  const send = retrySender(push, { ...RETRY_DEFAULTS, initial_interval: 1000, multiplier: 1 }, {
    logger,
    clock,
    random: () => 0.5,
  });
  await drive(clock, send(tracesPayload("a")));
  assert.equal(lines.length, 1, JSON.stringify(lines));
  assert.equal(lines[0]?.interval, "1s");
});

Deno.test("retry sender drops data that does not decode at once, as a permanent failure", async () => {
  const clock = new FakeClock();
  let calls = 0;
  const send = retrySender(
    () => {
      calls++;
      return Promise.reject(new OtlpDecodeError("Truncated message"));
    },
    RETRY_DEFAULTS,
    { logger: NOOP_LOGGER, clock },
  );
  const p = await drive(clock, send(tracesPayload("a")));
  assert.equal(calls, 1);
  assert.ok(isPermanent(p.error), `${p.error}`);
  assert.deepEqual(clock.requested, []);
});
