/**
 * The queue sender: puts payloads in a {@linkcode SendingQueue} and runs `num_consumers` loops
 * that take an entry, send it through the rest of the chain (report → retry → timeout → push) and
 * acknowledge it. A `send` resolves once the queue holds the payload — in memory, or on disk for
 * a persistent queue — as in the OpenTelemetry Collector; a full queue refuses it with a retryable
 * error (which the OTLP receiver answers with 503 / `UNAVAILABLE`) and counts
 * `otelcol_exporter_enqueue_failed_<unit>`.
 *
 * Shutdown stops taking new data. A memory queue then drains: its consumers keep sending, retries
 * included, until it is empty (the service's shutdown timeout bounds the wait). A persistent queue
 * closes at once: an entry whose sending was interrupted is not acknowledged, so it stays on disk
 * and is sent after the next start.
 *
 * Gauges, labelled `data_type` as the Collector's are: `otelcol_exporter_queue_size` (entries),
 * `otelcol_exporter_queue_capacity` (entries) and tfo's `tfo_exporter_queue_bytes`.
 *
 * @module
 */
import { ConsumerError, errorMessage, retryableError } from "../consumer/consumer.ts";
import { ITEM_UNIT } from "../pdata/count.ts";
import type { Signal } from "../pdata/types.ts";
import type { Logger } from "../telemetry/logger.ts";
import type { Meter } from "../telemetry/metrics.ts";
import { type Clock, sleep, SYSTEM_CLOCK } from "./_clock.ts";
import type { QueueEntry, SendingQueue } from "./queue.ts";
import { isShutdownError } from "./retry_sender.ts";
import type { Sender } from "./timeout_sender.ts";

/** Options of {@linkcode startQueueSender}. */
export interface QueueSenderOptions {
  /** How many entries are sent at once. */
  readonly numConsumers: number;
  /** True for a persistent queue: shutdown closes it at once, leaving data on disk. */
  readonly persistent: boolean;
  readonly meter: Meter;
  readonly logger: Logger;
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

/** Starts the consumers of `queue`, which send entries with `next`. */
export function startQueueSender<S extends Signal>(
  queue: SendingQueue<S>,
  next: Sender<S>,
  signal: S,
  options: QueueSenderOptions,
): QueueSender<S> {
  const { meter, logger, persistent } = options;
  const clock = options.clock ?? SYSTEM_CLOCK;
  const unit = ITEM_UNIT[signal];
  const enqueueFailed = meter.counter(
    `otelcol_exporter_enqueue_failed_${unit}`,
    `Number of ${unit.replace("_", " ")} failed to be added to the sending queue.`,
  );
  const labels = { data_type: signal };
  meter.observe(
    "otelcol_exporter_queue_size",
    "Current size of the retry queue (in batches).",
    labels,
    () => queue.size,
  );
  meter.observe(
    "otelcol_exporter_queue_capacity",
    "Fixed capacity of the retry queue (in batches).",
    labels,
    () => queue.capacity,
  );
  meter.observe(
    "tfo_exporter_queue_bytes",
    "Bytes held by the sending queue (encoded size), in memory or on disk.",
    labels,
    () => queue.bytes,
  );

  let stopping = false;
  let closed = false;
  const drained = Promise.withResolvers<void>();
  const closing = new AbortController();

  function checkDrained(): void {
    if (stopping && queue.size === 0) drained.resolve();
  }

  async function handle(entry: QueueEntry<S>): Promise<void> {
    try {
      await next(entry.payload);
    } catch (error) {
      // Counted and logged by the report sender. Interrupted by shutdown: a persistent queue
      // keeps the entry for the next start.
      if (persistent && isShutdownError(error)) return;
    }
    try {
      await entry.ack();
    } catch (error) {
      logger.error("Cannot remove a sent entry from the sending queue", { error });
    }
  }

  async function consume(): Promise<void> {
    for (;;) {
      let entry: QueueEntry<S> | undefined;
      try {
        entry = await queue.take();
      } catch (error) {
        if (closed) return;
        logger.error("Cannot take an entry from the sending queue", { error });
        await sleep(clock, TAKE_FAILURE_PAUSE_MS, closing.signal);
        continue;
      }
      if (entry === undefined) return;
      await handle(entry);
      checkDrained();
    }
  }

  const consumers = Array.from({ length: options.numConsumers }, () => consume());

  return {
    async send(payload) {
      if (stopping) {
        enqueueFailed.add(payload.itemCount);
        throw retryableError("Cannot queue data: the exporter is shutting down");
      }
      try {
        await queue.offer(payload);
      } catch (error) {
        enqueueFailed.add(payload.itemCount);
        throw error instanceof ConsumerError
          ? error
          : retryableError(`Cannot queue data: ${errorMessage(error)}`, { cause: error });
      }
    },
    async shutdown() {
      if (stopping) {
        await Promise.all(consumers);
        return;
      }
      stopping = true;
      if (!persistent) {
        checkDrained();
        await drained.promise;
      }
      closed = true;
      closing.abort();
      await queue.close();
      await Promise.all(consumers);
    },
  };
}
