/**
 * The queue sender: puts payloads in a {@linkcode SendingQueue} and sends what it holds through
 * the rest of the chain (report → retry → timeout → push), acknowledging each entry only after it
 * was sent or failed permanently. A `send` resolves once the queue holds the payload — in memory,
 * or on disk for a persistent queue — as in the OpenTelemetry Collector (with `waitForResult`,
 * once it was sent); a full queue refuses it with a retryable error (which the OTLP receiver
 * answers with 503 / `UNAVAILABLE`) and counts `otelcol_exporter_enqueue_failed_<unit>`.
 *
 * Without batching, `num_consumers` loops each take an entry and send it. With batching
 * (`sending_queue.batch`), one loop takes entries as they come and hands them to the
 * {@linkcode QueueBatcher}; `num_consumers` loops send the batches it completes, and every entry
 * of a batch is acknowledged once the batch was sent or failed for good; requests that arrive
 * while offers are being committed are offered together (`_offer_coalescer.ts`: group commit, no
 * timer). The taking loop pauses
 * while `num_consumers` batches wait for a sender, so a slow backend holds data in the queue (where
 * its bounds apply), not in memory.
 *
 * Shutdown stops taking new data. A memory queue then drains: partial batches are sent at once
 * and the loops keep sending, retries included, until it is empty (the service's shutdown timeout
 * bounds the wait). A persistent queue stops taking entries and forgets its partial batches at
 * once (they stay on disk); sends in flight finish (or are interrupted by the exporter helper) and
 * are acknowledged, and only then is the queue — and with it its storage client — closed, so no
 * acknowledgement reaches a closed store (which would deliver the entry again after restart).
 *
 * Gauges, labelled `data_type` as the Collector's are: `otelcol_exporter_queue_size` and
 * `otelcol_exporter_queue_capacity` (in the queue's sizer unit: requests, items or bytes) and
 * tfo's `tfo_exporter_queue_bytes` and `tfo_exporter_queue_oldest_item_age` (seconds since the
 * oldest entry still held was offered, 0 when empty; the Collector has no such gauge).
 *
 * @module
 */
import { ConsumerError, errorMessage, retryableError } from "../consumer/consumer.ts";
import { ITEM_UNIT } from "../pdata/count.ts";
import type { Payload } from "../pdata/payload.ts";
import type { Signal } from "../pdata/types.ts";
import type { Logger } from "../telemetry/logger.ts";
import type { Meter } from "../telemetry/metrics.ts";
import { type Clock, sleep, SYSTEM_CLOCK } from "./_clock.ts";
import {
  type Batch,
  QueueBatcher,
  type QueueBatchSettings,
  settleBatch,
  singleBatch,
} from "./_queue_batcher.ts";
import { createOfferCoalescer } from "./_offer_coalescer.ts";
import { Waiters } from "./_queue_waiters.ts";
import type { QueueEntry, SendingQueue } from "./queue.ts";
import { isShutdownError } from "./retry_sender.ts";
import type { Sender } from "./timeout_sender.ts";

/** Options of {@linkcode startQueueSender}. */
export interface QueueSenderOptions {
  /** How many requests (batches) are sent at once. */
  readonly numConsumers: number;
  /** True for a persistent queue: shutdown leaves unsent data on disk. */
  readonly persistent: boolean;
  readonly meter: Meter;
  readonly logger: Logger;
  /** Batching behind the queue; none when undefined. */
  readonly batch?: QueueBatchSettings | undefined;
  /**
   * Resolve `send` only once the data was sent (rejecting with the failure). Needs a queue that
   * hands out the offered payload itself (the memory queue). @default false
   */
  readonly waitForResult?: boolean;
  /** The queue's size and capacity in its sizer's unit. @default entries */
  readonly measure?: { readonly size: () => number; readonly capacity: number };
  /** @default SYSTEM_CLOCK */
  readonly clock?: Clock;
}

/** A running queue sender. */
export interface QueueSender<S extends Signal> {
  /** Offers a payload to the queue; resolves once the queue holds it. */
  readonly send: Sender<S>;
  /** Stops taking data, drains (memory queue) or closes (persistent queue), awaits consumers. */
  shutdown(): Promise<void>;
}

const TAKE_FAILURE_PAUSE_MS = 1000;

/** The gauge of the oldest queued item's age, before any unit suffix. */
export const QUEUE_OLDEST_AGE_METRIC = "tfo_exporter_queue_oldest_item_age";

/** Seconds since `oldestOfferedAt` (ms), 0 when nothing is queued; never negative. */
export function queueAgeSeconds(oldestOfferedAt: number | undefined, now: number): number {
  return oldestOfferedAt === undefined ? 0 : Math.max(0, now - oldestOfferedAt) / 1000;
}

interface ResultWaiter {
  resolve(): void;
  reject(error: unknown): void;
}

/** Starts the consumers of `queue`, which send entries with `next`. */
export function startQueueSender<S extends Signal>(
  queue: SendingQueue<S>,
  next: Sender<S>,
  signal: S,
  options: QueueSenderOptions,
): QueueSender<S> {
  const { meter, logger, persistent, numConsumers } = options;
  const clock = options.clock ?? SYSTEM_CLOCK;
  const unit = ITEM_UNIT[signal];
  const enqueueFailed = meter.counter(
    `otelcol_exporter_enqueue_failed_${unit}`,
    `Number of ${unit.replace("_", " ")} failed to be added to the sending queue.`,
  );
  const labels = { data_type: signal };
  const measure = options.measure ?? { size: () => queue.size, capacity: queue.capacity };
  meter.observe(
    "otelcol_exporter_queue_size",
    "Current size of the retry queue (in batches).",
    labels,
    measure.size,
  );
  meter.observe(
    "otelcol_exporter_queue_capacity",
    "Fixed capacity of the retry queue (in batches).",
    labels,
    () => measure.capacity,
  );
  meter.observe(
    "tfo_exporter_queue_bytes",
    "Bytes held by the sending queue (encoded size), in memory or on disk.",
    labels,
    () => queue.bytes,
  );
  meter.observe(
    QUEUE_OLDEST_AGE_METRIC,
    "Age of the oldest item held by the sending queue (seconds since it was enqueued; 0 when " +
      "empty), in memory or on disk.",
    labels,
    () => queueAgeSeconds(queue.oldestOfferedAt, clock.now()),
    { unit: "s" },
  );

  let stopping = false;
  /** Persistent queue at shutdown: take nothing more, start no new send. */
  let halted = false;
  let closed = false;
  const drained = Promise.withResolvers<void>();
  const halt = Promise.withResolvers<undefined>();
  const closing = new AbortController();
  const results = new Map<Payload<S>, ResultWaiter[]>();

  function checkDrained(): void {
    if (stopping && queue.size === 0) drained.resolve();
  }

  function settleResult(payload: Payload<S>, error: unknown, failed: boolean): void {
    const list = results.get(payload);
    const waiter = list?.shift();
    if (list !== undefined && list.length === 0) results.delete(payload);
    if (waiter === undefined) return;
    if (failed) waiter.reject(error);
    else waiter.resolve();
  }

  async function sendBatch(batch: Batch<S>): Promise<void> {
    let outcome: { interrupted: boolean; error?: unknown } = { interrupted: false };
    try {
      await next(batch.payload);
    } catch (error) {
      // Counted and logged by the report sender. Interrupted by shutdown: a persistent queue
      // keeps the entries for the next start.
      outcome = { interrupted: persistent && isShutdownError(error), error };
    }
    // The last attempt is over: a merged batch lets go of its parts' buffers (each entry's own
    // payload is released by the queue when it is acknowledged).
    if (batch.merged === true) batch.payload.release();
    // Acknowledged together: a persistent queue deletes them in one group commit.
    const acks: Promise<void>[] = [];
    for (const held of settleBatch(batch, outcome)) {
      const failed = held.keep || "error" in held;
      settleResult(held.entry.payload, held.error, failed);
      if (!held.keep) acks.push(ack(held.entry));
    }
    if (acks.length > 0) await Promise.all(acks);
  }

  async function ack(entry: QueueEntry<S>): Promise<void> {
    try {
      await entry.ack();
    } catch (error) {
      logger.error("Cannot remove a sent entry from the sending queue", { error });
    }
  }

  /** The next entry; `undefined` once the queue is closed, or (persistent) at shutdown. */
  async function takeNext(): Promise<QueueEntry<S> | undefined> {
    for (;;) {
      if (halted) return undefined;
      try {
        const taking = queue.take();
        if (!persistent) return await taking;
        // An entry taken after shutdown began is never acknowledged: it stays on disk.
        taking.catch(() => {});
        return await Promise.race([taking, halt.promise]);
      } catch (error) {
        if (closed || halted) return undefined;
        logger.error("Cannot take an entry from the sending queue", { error });
        await sleep(clock, TAKE_FAILURE_PAUSE_MS, closing.signal);
      }
    }
  }

  // ---- without batching: each consumer takes and sends one entry at a time ----

  async function consumeOne(): Promise<void> {
    for (;;) {
      const entry = await takeNext();
      if (entry === undefined) return;
      await sendBatch(singleBatch(entry));
      checkDrained();
    }
  }

  // ---- with batching: one taking loop, numConsumers sending loops ----

  const ready: Batch<S>[] = [];
  const work = new Waiters();
  const room = new Waiters();
  let takerDone = false;
  const batcher = options.batch === undefined ? undefined : new QueueBatcher<S>({
    signal,
    settings: options.batch,
    clock,
    ready: (batch) => {
      ready.push(batch);
      work.wakeOne();
    },
  });

  async function takeIntoBatches(b: QueueBatcher<S>): Promise<void> {
    try {
      for (;;) {
        while (ready.length >= numConsumers && !halted) await room.wait();
        const entry = await takeNext();
        if (entry === undefined) return;
        b.add(entry);
      }
    } finally {
      takerDone = true;
      work.wakeAll();
    }
  }

  async function sendBatches(): Promise<void> {
    for (;;) {
      if (halted) return;
      const batch = ready.shift();
      if (batch !== undefined) {
        room.wakeOne();
        await sendBatch(batch);
        checkDrained();
        continue;
      }
      if (takerDone) return;
      await work.wait();
    }
  }

  // With batching, requests that arrive while offers are being committed go in together.
  const offer = options.batch !== undefined && !options.waitForResult
    ? createOfferCoalescer(signal, (p) => queue.offer(p), {
      metadataKeys: options.batch.metadataKeys,
      ...(queue.offerMergeBytes === undefined ? {} : { maxBytes: queue.offerMergeBytes }),
    })
    : (p: Payload<S>) => queue.offer(p);

  const loops = batcher === undefined
    ? Array.from({ length: numConsumers }, () => consumeOne())
    : [takeIntoBatches(batcher), ...Array.from({ length: numConsumers }, () => sendBatches())];

  return {
    async send(payload) {
      if (stopping) {
        enqueueFailed.add(payload.itemCount);
        throw retryableError("Cannot queue data: the exporter is shutting down");
      }
      let result: Promise<void> | undefined;
      if (options.waitForResult) {
        const { promise, resolve, reject } = Promise.withResolvers<void>();
        const list = results.get(payload) ?? [];
        list.push({ resolve, reject });
        results.set(payload, list);
        result = promise;
      }
      try {
        await offer(payload);
      } catch (error) {
        if (result !== undefined) settleResult(payload, undefined, false);
        enqueueFailed.add(payload.itemCount);
        throw error instanceof ConsumerError
          ? error
          : retryableError(`Cannot queue data: ${errorMessage(error)}`, { cause: error });
      }
      await result;
    },
    async shutdown() {
      if (stopping) {
        await Promise.all(loops);
        return;
      }
      stopping = true;
      if (persistent) {
        // Take nothing more; partial and waiting batches stay on disk, unacknowledged. Sends in
        // flight finish and are acknowledged before the queue (and its storage) closes.
        halted = true;
        halt.resolve(undefined);
        batcher?.abandon();
        for (const b of ready) if (b.merged === true) b.payload.release();
        ready.length = 0;
        work.wakeAll();
        room.wakeAll();
        await Promise.all(loops);
      } else {
        batcher?.flushAll();
        checkDrained();
        await drained.promise;
      }
      closed = true;
      closing.abort();
      await queue.close();
      await Promise.all(loops);
      for (const [, list] of results) {
        for (const w of list) w.reject(retryableError("The exporter shut down"));
      }
      results.clear();
    },
  };
}
