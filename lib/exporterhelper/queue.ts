/**
 * The sending-queue contract shared by the in-memory and the persistent (Deno KV) queue. An
 * exporter's consumer offers payloads; queue consumers take entries, push them, and acknowledge
 * each entry only after it was sent or failed permanently. An entry taken but not acknowledged
 * when the process dies is delivered again after restart (persistent queue): at-least-once.
 *
 * @module
 */
import { type ConsumerError, retryableError } from "../consumer/consumer.ts";
import type { Payload } from "../pdata/payload.ts";
import type { Signal } from "../pdata/types.ts";

/**
 * The delay a full queue asks for in its refusal: the otlp receiver passes it on as Retry-After
 * (HTTP) or `RetryInfo` (gRPC), so clients of a saturated pipeline back off instead of retrying
 * at once. The queue cannot know when it will have room; a second is what the Collector's own
 * exporters wait first (`retry_on_failure.initial_interval` 5 s is the longer, fixed default).
 */
export const QUEUE_FULL_RETRY_MS = 1000;

/** The retryable refusal of a full queue; `bound` says which bound, e.g. `capacity 1000`. */
export function queueFullError(bound: string): ConsumerError {
  return retryableError(`Sending queue is full (${bound})`, { retryAfterMs: QUEUE_FULL_RETRY_MS });
}

/** What to do when the queue is full. */
export type WhenFull = "refuse" | "block" | "drop_oldest";

/** One queued payload, handed to exactly one queue consumer at a time. */
export interface QueueEntry<S extends Signal = Signal> {
  readonly payload: Payload<S>;
  /** Removes the entry for good: after success or a permanent failure. */
  ack(): Promise<void>;
}

/** A bounded queue of payloads of one signal. */
export interface SendingQueue<S extends Signal = Signal> {
  /**
   * Adds a payload. Resolves once it is held: in memory, or committed to disk for a persistent
   * queue. When full: rejects with a retryable `ConsumerError` (`refuse`), waits for room
   * (`block`), or drops the oldest entries and counts them (`drop_oldest`).
   */
  offer(payload: Payload<S>): Promise<void>;
  /** The next entry in order; `undefined` once the queue is closed and nothing is left to take. */
  take(): Promise<QueueEntry<S> | undefined>;
  /** Entries held (taken but unacknowledged ones included). */
  readonly size: number;
  /** The most entries it holds. */
  readonly capacity: number;
  /** Bytes held (encoded size), for byte bounds and self-telemetry. */
  readonly bytes: number;
  /**
   * When the oldest entry held (taken but unacknowledged ones included) was offered, in
   * `Date.now()` milliseconds (or the queue's clock); undefined when the queue is empty or does not record it. A
   * persistent queue keeps the time with the entry, so it survives a restart.
   */
  readonly oldestOfferedAt?: number | undefined;
  /**
   * The most encoded bytes worth merging concurrent requests into before one `offer`
   * (`_offer_coalescer.ts`); when absent, its default.
   */
  readonly offerMergeBytes?: number | undefined;
  /**
   * Closes the queue to new data. A memory queue still hands out what it holds, then `undefined`;
   * a persistent queue resolves pending and later `take`s with `undefined` at once (its data stays
   * on disk for the next start).
   */
  close(): Promise<void>;
}
