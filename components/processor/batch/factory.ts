/**
 * The `batch` processor: groups data into batches of `send_batch_size` items or whatever arrived
 * within `timeout`, and splits batches over `send_batch_max_size`; one batcher per combination of
 * `metadata_keys` values.
 *
 * Where it feeds only exporters with a sending queue, the pipeline graph does not use this
 * implementation at all: it hands the settings to those queues (`pipelines/_batch_handoff.ts`), so
 * data is queued — on disk with a persistent queue — before it is acknowledged and batched after.
 * This implementation runs where that cannot be done (a processor after it, a connector or a
 * queue-less exporter behind it), and acknowledges a `consume` once the data is held in memory, as
 * the OpenTelemetry Collector's batch processor does: a client never waits for the timeout. A
 * downstream failure of a batch is logged (rate-limited) and counted by the pipeline's processor
 * metrics; what the batcher held is lost on a crash, which `tfo validate` warns about.
 *
 * Backpressure: at most `maxInFlight` batches are being delivered at once, and the processor holds
 * at most `maxBytes` of data (waiting and being delivered, counted at its encoded size, or 256
 * bytes an item when it is not encoded); past either a `consume` waits for a batch to finish (over
 * the byte bound, what waits is sent at once rather than at its timeout), so a slow downstream
 * bounds the memory held in bytes, not only in batches: 16 batches of 8192 large log records would
 * otherwise be gigabytes. A `consume` larger than the bound still passes when nothing is held.
 *
 * Leases (`Payload.retain`): it holds data past `consume`, so it retains each payload it takes
 * and releases it once the payload is all in batches; a merged batch holds its own references to
 * the parts' pooled buffers and is released once its delivery settled.
 *
 * @module
 */
import type { Processor, ProcessorFactory } from "../../component.ts";
import { type Consumer, retryableError } from "../../../lib/consumer/consumer.ts";
import { RateLimitedLog } from "../../../lib/exporterhelper/_rate_limited_log.ts";
import { type Clock, SYSTEM_CLOCK } from "../../../lib/clock.ts";
import { type ClientInfo, NO_CLIENT, Payload } from "../../../lib/pdata/payload.ts";
import { payloadBytes } from "../../../lib/exporterhelper/memory_queue.ts";
import { appendData, emptyData, takeItems } from "../../../lib/pdata/split.ts";
import type { Signal, SignalData } from "../../../lib/pdata/types.ts";
import { type Logger, NOOP_LOGGER } from "../../../lib/telemetry/logger.ts";
import type { Meter } from "../../../lib/telemetry/metrics.ts";
import { type BatchConfig, batchConfigSchema } from "./config.ts";

/** Options of {@linkcode createBatchProcessor}. */
export interface BatchProcessorOptions {
  /** Where failed deliveries are logged. @default no logging */
  readonly logger?: Logger;
  /** Batches delivered at once before `consume` waits. @default DEFAULT_MAX_IN_FLIGHT */
  readonly maxInFlight?: number;
  /** Bytes held (waiting and being delivered) before `consume` waits. @default DEFAULT_MAX_BYTES */
  readonly maxBytes?: number;
  /** Where the Collector's batch metrics are recorded. @default none */
  readonly meter?: Meter;
  /** Runs the timeout. @default SYSTEM_CLOCK */
  readonly clock?: Clock;
}

/** The bucket bounds of `otelcol_processor_batch_batch_send_size`, as the Collector's. */
export const BATCH_SIZE_BOUNDS: readonly number[] = [
  10,
  25,
  50,
  75,
  100,
  250,
  500,
  750,
  1000,
  2000,
  3000,
  4000,
  5000,
  6000,
  7000,
  8000,
  9000,
  10000,
  20000,
  30000,
  50000,
  100000,
];

/** The default of {@linkcode BatchProcessorOptions.maxInFlight}. */
export const DEFAULT_MAX_IN_FLIGHT = 16;

/** The default of {@linkcode BatchProcessorOptions.maxBytes}: 64 MiB. */
export const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;

/** Data of one `consume` call still waiting in a batcher. */
interface Chunk<S extends Signal> {
  payload: Payload<S>;
  /** Private containers, made when the chunk had to be split. */
  rest: SignalData[S] | undefined;
  count: number;
  /** The bytes it is counted at, shared out to the batches it is split into. */
  bytes: number;
}

/** Pending data of one combination of metadata values. */
interface Batcher<S extends Signal> {
  chunks: Chunk<S>[];
  count: number;
  client: ClientInfo;
  timer: unknown;
}

function clientFor(keys: readonly string[], client: ClientInfo): [string, ClientInfo] {
  if (keys.length === 0) return ["", NO_CLIENT];
  const metadata = new Map<string, readonly string[]>();
  const parts: string[] = [];
  for (const key of keys) {
    const values = client.metadata.get(key.toLowerCase()) ?? [];
    metadata.set(key.toLowerCase(), values);
    parts.push(JSON.stringify(values));
  }
  return [parts.join("\u0000"), { metadata, auth: new Map() }];
}

/** Creates one batch processor instance. */
export function createBatchProcessor<S extends Signal>(
  config: BatchConfig,
  signal: S,
  next: Consumer<S>,
  options: BatchProcessorOptions = {},
): Processor<S> {
  const batchers = new Map<string, Batcher<S>>();
  const inflight = new Set<Promise<void>>();
  const room: (() => void)[] = [];
  const maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  /** Bytes of data waiting in batchers or being delivered. */
  let held = 0;
  const clock = options.clock ?? SYSTEM_CLOCK;
  const seenCombinations = new Set<string>();
  const failures = new RateLimitedLog(
    options.logger ?? NOOP_LOGGER,
    "error",
    "The batch processor could not deliver a batch; its data is dropped",
    clock,
  );
  const meter = options.meter;
  const sendSize = meter?.histogram(
    "otelcol_processor_batch_batch_send_size",
    "Number of units in the batch",
    BATCH_SIZE_BOUNDS,
  );
  const sizeTriggers = meter?.counter(
    "otelcol_processor_batch_batch_size_trigger_send",
    "Number of times the batch was sent due to a size trigger",
  );
  const timeoutTriggers = meter?.counter(
    "otelcol_processor_batch_timeout_trigger_send",
    "Number of times the batch was sent due to a timeout trigger",
  );
  meter?.observe(
    "otelcol_processor_batch_metadata_cardinality",
    "Number of distinct metadata value combinations being processed",
    {},
    // As the Collector's: one combination without metadata_keys, else every one seen (bounded by
    // metadata_cardinality_limit).
    () => config.metadata_keys.length === 0 ? 1 : seenCombinations.size,
  );
  let stopped = false;
  const maxSize = config.send_batch_max_size;

  /** Merges and delivers `parts`; `finished` are the payloads taken whole into it (released). */
  function send(
    parts: Payload<S>[],
    client: ClientInfo,
    bytes: number,
    finished: readonly Payload<S>[],
  ): void {
    let batch: Payload<S>;
    try {
      batch = Payload.merge(signal, parts, client);
    } finally {
      for (const p of finished) p.release();
    }
    sendSize?.record(batch.itemCount);
    let delivering: Promise<void>;
    try {
      delivering = next.consume(batch);
    } catch (error) {
      delivering = Promise.reject(error);
    }
    const done = delivering.catch((error) => {
      failures.log({ error, items: batch.itemCount, "otelcol.signal": signal });
    }).finally(() => batch.release());
    inflight.add(done);
    done.finally(() => {
      inflight.delete(done);
      held -= bytes;
      // Every waiter checks again: one finished batch may free room for several.
      for (const wake of room.splice(0)) wake();
    });
  }

  /** Sends one batch of at most `maxSize` items (all pending items when there is no limit). */
  function sendOne(b: Batcher<S>): void {
    const parts: Payload<S>[] = [];
    const finished: Payload<S>[] = [];
    let room = maxSize > 0 ? maxSize : Infinity;
    let bytes = 0;
    while (b.chunks.length > 0 && room > 0) {
      const chunk = b.chunks[0]!;
      if (chunk.count <= room) {
        b.chunks.shift();
        finished.push(chunk.payload);
        parts.push(chunk.rest === undefined ? chunk.payload : Payload.of(signal, chunk.rest));
        room -= chunk.count;
        b.count -= chunk.count;
        bytes += chunk.bytes;
        continue;
      }
      if (chunk.rest === undefined) {
        chunk.rest = emptyData(signal);
        appendData(signal, chunk.rest, chunk.payload.read());
      }
      parts.push(Payload.of(signal, takeItems(signal, chunk.rest, room)));
      const share = Math.floor(chunk.bytes * room / chunk.count);
      bytes += share;
      chunk.bytes -= share;
      chunk.count -= room;
      b.count -= room;
      room = 0;
    }
    if (parts.length > 0) send(parts, b.client, bytes, finished);
  }

  function flush(key: string, b: Batcher<S>): void {
    clock.clearTimer(b.timer);
    b.timer = undefined;
    while (b.chunks.length > 0) sendOne(b);
    batchers.delete(key);
  }

  function add(payload: Payload<S>): void {
    const [key, client] = clientFor(config.metadata_keys, payload.client);
    let b = batchers.get(key);
    if (b === undefined) {
      if (config.metadata_keys.length > 0 && batchers.size >= config.metadata_cardinality_limit) {
        throw retryableError("Too many batcher metadata-value combinations");
      }
      b = { chunks: [], count: 0, client, timer: undefined };
      batchers.set(key, b);
      if (seenCombinations.size < config.metadata_cardinality_limit) seenCombinations.add(key);
    }
    const count = payload.itemCount;
    const bytes = payloadBytes(payload);
    b.chunks.push({ payload: payload.retain(), rest: undefined, count, bytes });
    b.count += count;
    held += bytes;
    if (config.timeout === 0) {
      flush(key, b);
      return;
    }
    if (config.send_batch_size > 0) {
      while (b.count >= config.send_batch_size) {
        sizeTriggers?.add(1);
        sendOne(b);
      }
    }
    if (b.chunks.length === 0) {
      clock.clearTimer(b.timer);
      batchers.delete(key);
    } else if (b.timer === undefined) {
      const batcher = b;
      batcher.timer = clock.setTimer(() => {
        batcher.timer = undefined;
        if (batchers.get(key) !== batcher) return;
        timeoutTriggers?.add(1);
        flush(key, batcher);
      }, config.timeout);
    }
  }

  /** True when `bytes` more would take what is held over `maxBytes` (and something is held). */
  function overBytes(bytes: number): boolean {
    return held > 0 && held + bytes > maxBytes;
  }

  async function consume(payload: Payload<S>): Promise<void> {
    const bytes = payloadBytes(payload);
    while (!stopped && (inflight.size >= maxInFlight || overBytes(bytes))) {
      if (inflight.size < maxInFlight) {
        // Over the byte bound with room to deliver: what waits goes now, not at its timeout.
        for (const [key, b] of [...batchers]) flush(key, b);
        if (inflight.size === 0) break; // nothing waits nor is delivered: nothing is held
      }
      await new Promise<void>((resolve) => room.push(resolve));
    }
    if (stopped) throw retryableError("The batch processor is shut down");
    add(payload);
  }

  return {
    mutatesData: false,
    consume,
    start: () => Promise.resolve(),
    async shutdown() {
      stopped = true;
      for (const wake of room.splice(0)) wake();
      for (const [key, b] of [...batchers]) flush(key, b);
      while (inflight.size > 0) await Promise.allSettled([...inflight]);
    },
  };
}

/** The `batch` processor factory. */
export const batchFactory: ProcessorFactory<BatchConfig> = {
  kind: "processor",
  type: "batch",
  configSchema: batchConfigSchema,
  signals: { traces: "beta", metrics: "beta", logs: "beta" },
  create: (settings, signal, next) =>
    createBatchProcessor(settings.config, signal, next, {
      logger: settings.logger,
      meter: settings.meter,
    }),
};
