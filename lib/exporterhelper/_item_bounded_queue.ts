/**
 * `sending_queue.sizer: items`: a {@linkcode SendingQueue} bounded by the telemetry items (spans,
 * data points, log records) it holds, wrapped around a queue bounded by entries. An offer that
 * would take it over the bound is refused (retryable) or, with `block`, waits for room; one
 * larger than the bound is accepted into an empty queue, so the bound is exceeded by at most one
 * request. Items are counted as offered and as acknowledged; entries a persistent queue recovered
 * at start were never offered here, so until they are acknowledged the bound counts a little
 * short (never below zero).
 *
 * @module
 */
import { retryableError } from "../consumer/consumer.ts";
import type { Payload } from "../pdata/payload.ts";
import type { Signal } from "../pdata/types.ts";
import { Waiters } from "./_queue_waiters.ts";
import { type QueueEntry, queueFullError, type SendingQueue } from "./queue.ts";

/** `queue`, holding at most `maxItems` items; `block` waits for room instead of refusing. */
export function itemBounded<S extends Signal>(
  queue: SendingQueue<S>,
  maxItems: number,
  block: boolean,
): SendingQueue<S> & { readonly items: number } {
  let items = 0;
  let closed = false;
  const room = new Waiters();

  function release(n: number): void {
    items = Math.max(0, items - n);
    room.wakeAll();
  }

  function wrapEntry(entry: QueueEntry<S>): QueueEntry<S> {
    let released = false;
    return {
      payload: entry.payload,
      ack: async () => {
        try {
          await entry.ack();
        } finally {
          if (!released) {
            released = true;
            release(entry.payload.itemCount);
          }
        }
      },
    };
  }

  return {
    async offer(payload: Payload<S>) {
      const n = payload.itemCount;
      while (items > 0 && items + n > maxItems) {
        if (closed) throw retryableError("Sending queue is closed");
        if (!block) {
          throw queueFullError(`${maxItems} items`);
        }
        await room.wait();
      }
      items += n;
      try {
        await queue.offer(payload);
      } catch (error) {
        release(n);
        throw error;
      }
    },
    async take() {
      const entry = await queue.take();
      return entry === undefined ? undefined : wrapEntry(entry);
    },
    get size() {
      return queue.size;
    },
    get capacity() {
      return queue.capacity;
    },
    get bytes() {
      return queue.bytes;
    },
    get oldestOfferedAt() {
      return queue.oldestOfferedAt;
    },
    get items() {
      return items;
    },
    async close() {
      closed = true;
      room.wakeAll();
      await queue.close();
    },
  };
}
