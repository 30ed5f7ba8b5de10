/**
 * {@linkcode createMemoryQueue}: a bounded in-memory {@linkcode SendingQueue}, FIFO, bounded by the
 * number of entries. Lost on a crash; on shutdown the exporter drains it: after
 * {@linkcode SendingQueue.close} `take` still hands out what is left, then `undefined`.
 *
 * It holds what it accepted past the `offer` call, so it retains each payload (`Payload.retain`)
 * and releases it when the entry is acknowledged (after the last attempt: sent, failed for good)
 * or dropped as the oldest.
 *
 * @module
 */
import { retryableError } from "../consumer/consumer.ts";
import type { Payload } from "../pdata/payload.ts";
import type { Signal } from "../pdata/types.ts";
import type { Counter, Meter } from "../telemetry/metrics.ts";
import { Waiters } from "./_queue_waiters.ts";
import { type Clock, SYSTEM_CLOCK } from "./_clock.ts";
import { type QueueEntry, queueFullError, type SendingQueue, type WhenFull } from "./queue.ts";

/** Bytes assumed per item of a payload that is not encoded, for {@linkcode SendingQueue.bytes}. */
export const ESTIMATED_BYTES_PER_ITEM = 256;

/** The counter of items dropped by `when_full: drop_oldest`, before Prometheus's `_total`. */
export const QUEUE_DROPPED_ITEMS_METRIC = "tfo_exporter_queue_dropped_items";

/** Options of {@linkcode createMemoryQueue}. */
export interface MemoryQueueOptions {
  /** The most entries held (taken but unacknowledged ones included). */
  capacity: number;
  /** What `offer` does when full. @default "refuse" */
  whenFull?: WhenFull;
  /** Where dropped items are counted (`tfo_exporter_queue_dropped_items_total`). */
  meter?: Meter;
  /** Stamps offers for {@linkcode SendingQueue.oldestOfferedAt}. @default SYSTEM_CLOCK */
  clock?: Clock;
}

interface Held<S extends Signal> {
  readonly payload: Payload<S>;
  readonly bytes: number;
  /** When it was offered, `Date.now()` ms. */
  readonly at: number;
}

/** The encoded size of a payload, or an estimate from its item count when it is not encoded. */
export function payloadBytes(payload: Payload): number {
  return payload.encodedSize ?? payload.itemCount * ESTIMATED_BYTES_PER_ITEM;
}

/** A counter per signal of items dropped from a full queue, created on first use. */
export function droppedCounter(meter: Meter | undefined): (signal: Signal, items: number) => void {
  const counters = new Map<Signal, Counter>();
  return (signal, items) => {
    if (meter === undefined) return;
    let counter = counters.get(signal);
    if (counter === undefined) {
      counter = meter.counter(
        QUEUE_DROPPED_ITEMS_METRIC,
        "Telemetry items (spans, data points, log records) dropped from a full sending queue " +
          "(when_full: drop_oldest)",
        { data_type: signal },
      );
      counters.set(signal, counter);
    }
    counter.add(items);
  };
}

/** Creates an in-memory sending queue. */
export function createMemoryQueue<S extends Signal>(
  options: MemoryQueueOptions,
): SendingQueue<S> {
  return new MemoryQueue<S>(options);
}

class MemoryQueue<S extends Signal> implements SendingQueue<S> {
  readonly capacity: number;
  readonly #whenFull: WhenFull;
  readonly #countDropped: (signal: Signal, items: number) => void;
  readonly #clock: Clock;
  /** Entries not yet taken, oldest first, from `#head` on. */
  #ready: Array<Held<S> | undefined> = [];
  #head = 0;
  #taken = 0;
  /** Taken, unacknowledged entries in the order taken: the first is the oldest of them. */
  readonly #inFlight = new Set<Held<S>>();
  #bytes = 0;
  #closed = false;
  readonly #takers = new Waiters();
  readonly #room = new Waiters();

  constructor(options: MemoryQueueOptions) {
    if (!(options.capacity >= 1)) throw new RangeError("Queue capacity must be at least 1");
    this.capacity = options.capacity;
    this.#whenFull = options.whenFull ?? "refuse";
    this.#countDropped = droppedCounter(options.meter);
    this.#clock = options.clock ?? SYSTEM_CLOCK;
  }

  get size(): number {
    return this.#ready.length - this.#head + this.#taken;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Entries are taken in order, so any taken one is older than every entry still ready. */
  get oldestOfferedAt(): number | undefined {
    for (const held of this.#inFlight) return held.at;
    return this.#ready[this.#head]?.at;
  }

  #shift(): Held<S> | undefined {
    if (this.#head >= this.#ready.length) return undefined;
    const held = this.#ready[this.#head];
    this.#ready[this.#head++] = undefined;
    if (this.#head > 1024 && this.#head * 2 > this.#ready.length) {
      this.#ready = this.#ready.slice(this.#head);
      this.#head = 0;
    }
    return held;
  }

  async offer(payload: Payload<S>): Promise<void> {
    while (true) {
      if (this.#closed) throw retryableError("Sending queue is closed");
      if (this.size < this.capacity) break;
      if (this.#whenFull === "block") {
        await this.#room.wait();
        continue;
      }
      if (this.#whenFull === "drop_oldest") {
        const oldest = this.#shift();
        if (oldest !== undefined) {
          this.#bytes -= oldest.bytes;
          this.#countDropped(oldest.payload.signal, oldest.payload.itemCount);
          oldest.payload.release();
          continue;
        }
      }
      throw queueFullError(`capacity ${this.capacity}`);
    }
    const bytes = payloadBytes(payload);
    this.#ready.push({ payload: payload.retain(), bytes, at: this.#clock.now() });
    this.#bytes += bytes;
    this.#takers.wakeOne();
  }

  async take(): Promise<QueueEntry<S> | undefined> {
    while (true) {
      const held = this.#shift();
      if (held !== undefined) {
        this.#taken++;
        this.#inFlight.add(held);
        return this.#entry(held);
      }
      if (this.#closed) return undefined;
      await this.#takers.wait();
    }
  }

  #entry(held: Held<S>): QueueEntry<S> {
    let acked = false;
    return {
      payload: held.payload,
      ack: () => {
        if (!acked) {
          acked = true;
          this.#taken--;
          this.#inFlight.delete(held);
          this.#bytes -= held.bytes;
          this.#room.wakeOne();
          held.payload.release();
        }
        return Promise.resolve();
      },
    };
  }

  close(): Promise<void> {
    this.#closed = true;
    this.#takers.wakeAll();
    this.#room.wakeAll();
    return Promise.resolve();
  }
}
