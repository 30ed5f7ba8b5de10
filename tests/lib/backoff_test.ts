import assert from "node:assert/strict";
import { ExponentialBackoff } from "../../lib/backoff.ts";

const CONFIG = {
  initial_interval: 100,
  max_interval: 1000,
  multiplier: 2,
  randomization_factor: 0.5,
};

Deno.test("backoff grows by the multiplier up to max_interval and spreads by the factor", () => {
  const low = new ExponentialBackoff(CONFIG, () => 0);
  const high = new ExponentialBackoff(CONFIG, () => 0.999999);
  const lows = Array.from({ length: 6 }, () => Math.round(low.next()));
  const highs = Array.from({ length: 6 }, () => Math.round(high.next()));
  assert.deepEqual(lows, [50, 100, 200, 400, 500, 500]);
  // As in the Collector, jitter may take a wait past max_interval.
  assert.deepEqual(highs, [150, 300, 600, 1200, 1500, 1500]);
  low.reset();
  assert.equal(low.next(), 50);
});

Deno.test("backoff with capAtMax keeps each wait within 1 ms and max_interval, in whole ms", () => {
  const high = new ExponentialBackoff(CONFIG, { random: () => 0.999999, capAtMax: true });
  assert.deepEqual(Array.from({ length: 5 }, () => high.next()), [150, 300, 600, 1000, 1000]);
  const tiny = new ExponentialBackoff({ ...CONFIG, initial_interval: 0.1 }, {
    random: () => 0,
    capAtMax: true,
  });
  assert.equal(tiny.next(), 1);
});
