/**
 * Backpressure for stream receivers whose protocol cannot tell the client "try again" (syslog over
 * TCP, Fluent Forward without `chunk` acknowledgements): when the pipeline refuses data with a
 * retryable error (a full sending queue, the memory limiter), the receiver keeps the data, stops
 * reading its connection, and offers the same data again after a backoff. TCP flow control then
 * slows the sender, so a burst waits in the client and the kernel instead of being dropped.
 *
 * @module
 */
import { ExponentialBackoff } from "../backoff.ts";
import { type Clock, sleep, SYSTEM_CLOCK } from "../clock.ts";
import type { Consumer } from "./consumer.ts";
import { isPermanent } from "./consumer.ts";
import type { Payload } from "../pdata/payload.ts";
import type { Signal } from "../pdata/types.ts";

/** How {@linkcode consumeHolding} ended. */
export type HoldOutcome =
  /** The pipeline accepted the data. */
  | { readonly accepted: true; readonly retries: number }
  /** It refused permanently, or the wait was aborted (shutdown); `error` is the last refusal. */
  | { readonly accepted: false; readonly retries: number; readonly error: unknown };

/**
 * The waits between offers: 5 ms doubling to 100 ms, ±20%. A refused offer costs microseconds, so
 * polling a full queue ten times a second costs nothing measurable, while a longer cap left
 * connections idle long after a burst's queue had drained (at 1 s, the forward bench's receiver
 * sat idle for up to a second after each of its bursts).
 */
const HOLD_BACKOFF = {
  initial_interval: 5,
  max_interval: 100,
  multiplier: 2,
  randomization_factor: 0.2,
} as const;

/**
 * Offers `payload` to `consumer` until it is accepted, refused permanently, or `signal` aborts,
 * waiting between offers on an exponential backoff from 5 ms to 100 ms, never longer than the
 * refusal's `retryAfterMs` when it gave one. That hint is written for remote clients, whose retry
 * costs a round trip (a full sending queue asks them for 1 s); here an offer costs microseconds,
 * and waiting the whole hint held Fluent Forward connections for 1 s each time a burst filled the
 * queue for a few milliseconds (the sources bench: 4× fewer records/s than the Collector with the
 * CPU two-thirds idle).
 */
export async function consumeHolding<S extends Signal>(
  consumer: Consumer<S>,
  payload: Payload<S>,
  signal: AbortSignal,
  clock: Clock = SYSTEM_CLOCK,
): Promise<HoldOutcome> {
  let backoff: ExponentialBackoff | undefined;
  for (let retries = 0;; retries++) {
    try {
      await consumer.consume(payload);
      return { accepted: true, retries };
    } catch (error) {
      if (isPermanent(error) || signal.aborted) return { accepted: false, retries, error };
      backoff ??= new ExponentialBackoff(HOLD_BACKOFF, { capAtMax: true });
      const hinted = (error as { retryAfterMs?: number }).retryAfterMs;
      const next = backoff.next();
      const wait = hinted === undefined ? next : Math.min(Math.max(hinted, 1), next);
      if (!await sleep(clock, wait, signal)) return { accepted: false, retries, error };
    }
  }
}
