/**
 * A token bucket with the semantics of Go's `golang.org/x/time/rate.Limiter.AllowN`, which the
 * Collector's `rate_limiting` and `bytes_limiting` policies use: it starts full (`burst` tokens),
 * refills at `rate` per second, and allows `n` only when `n` tokens are there now (never more than
 * `burst`); a refusal takes nothing. With a rate of 0 the burst is a one-time allowance.
 *
 * @module
 */
import type { Clock } from "../../../lib/clock.ts";

/** A token bucket. */
export interface TokenBucket {
  /** Takes `n` tokens if they are there now. */
  allow(n: number): boolean;
}

/** A bucket of `burst` tokens refilled at `rate` per second. */
export function tokenBucket(rate: number, burst: number, clock: Clock): TokenBucket {
  let tokens = burst;
  let last = clock.now();
  let remainingBurst = burst;
  return {
    allow(n) {
      if (rate === 0) {
        if (remainingBurst >= n) {
          remainingBurst -= n;
          return true;
        }
        return false;
      }
      if (n > burst) return false;
      const now = clock.now();
      const elapsed = Math.max(0, now - last) / 1000;
      const available = Math.min(burst, tokens + elapsed * rate);
      if (available - n < 0) return false;
      tokens = available - n;
      last = Math.max(now, last);
      return true;
    },
  };
}
