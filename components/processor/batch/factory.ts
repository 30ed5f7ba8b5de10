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
 * Backpressure: at most `maxInFlight` batches are being delivered at once; past that a `consume`
 * waits for one to finish, so a slow downstream bounds the memory held.
 *
 * @module
 */
import type { Processor, ProcessorFactory } from "../../component.ts";
import { type Consumer, retryableError } from "../../../lib/consumer/consumer.ts";
import { RateLimitedLog } from "../../../lib/exporterhelper/_rate_limited_log.ts";
import { SYSTEM_CLOCK } from "../../../lib/exporterhelper/_clock.ts";
import { type ClientInfo, NO_CLIENT, Payload } from "../../../lib/pdata/payload.ts";
import { appendData, emptyData, takeItems } from "../../../lib/pdata/split.ts";
import type { Signal, SignalData } from "../../../lib/pdata/types.ts";
import { type Logger, NOOP_LOGGER } from "../../../lib/telemetry/logger.ts";
import { type BatchConfig, batchConfigSchema } from "./config.ts";

/** Options of {@linkcode createBatchProcessor}. */
export interface BatchProcessorOptions {
  /** Where failed deliveries are logged. @default no logging */
  readonly logger?: Logger;
  /** Batches delivered at once before `consume` waits. @default DEFAULT_MAX_IN_FLIGHT */
  readonly maxInFlight?: number;
}

/** The default of {@linkcode BatchProcessorOptions.maxInFlight}. */
export const DEFAULT_MAX_IN_FLIGHT = 16;

/** Data of one `consume` call still waiting in a batcher. */
interface Chunk<S extends Signal> {
  payload: Payload<S>;
  /** Private containers, made when the chunk had to be split. */
  rest: SignalData[S] | undefined;
  count: number;
}

/** Pending data of one combination of metadata values. */
interface Batcher<S extends Signal> {
  chunks: Chunk<S>[];
  count: number;
  client: ClientInfo;
  timer: ReturnType<typeof setTimeout> | undefined;
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
  const failures = new RateLimitedLog(
    options.logger ?? NOOP_LOGGER,
    "error",
    "The batch processor could not deliver a batch; its data is dropped",
    SYSTEM_CLOCK,
  );
  let stopped = false;
  const maxSize = config.send_batch_max_size;

  function send(parts: Payload<S>[], client: ClientInfo): void {
    const batch = Payload.merge(signal, parts, client);
    const done = next.consume(batch).catch((error) => {
      failures.log({ error, items: batch.itemCount, "otelcol.signal": signal });
    });
    inflight.add(done);
    done.finally(() => {
      inflight.delete(done);
      room.shift()?.();
    });
  }

  /** Sends one batch of at most `maxSize` items (all pending items when there is no limit). */
  function sendOne(b: Batcher<S>): void {
    const parts: Payload<S>[] = [];
    let room = maxSize > 0 ? maxSize : Infinity;
    while (b.chunks.length > 0 && room > 0) {
      const chunk = b.chunks[0]!;
      if (chunk.count <= room) {
        b.chunks.shift();
        parts.push(chunk.rest === undefined ? chunk.payload : Payload.of(signal, chunk.rest));
        room -= chunk.count;
        b.count -= chunk.count;
        continue;
      }
      if (chunk.rest === undefined) {
        chunk.rest = emptyData(signal);
        appendData(signal, chunk.rest, chunk.payload.read());
      }
      parts.push(Payload.of(signal, takeItems(signal, chunk.rest, room)));
      chunk.count -= room;
      b.count -= room;
      room = 0;
    }
    if (parts.length > 0) send(parts, b.client);
  }

  function flush(key: string, b: Batcher<S>): void {
    clearTimeout(b.timer);
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
    }
    const count = payload.itemCount;
    b.chunks.push({ payload, rest: undefined, count });
    b.count += count;
    if (config.timeout === 0) {
      flush(key, b);
      return;
    }
    if (config.send_batch_size > 0) {
      while (b.count >= config.send_batch_size) sendOne(b);
    }
    if (b.chunks.length === 0) {
      clearTimeout(b.timer);
      batchers.delete(key);
    } else if (b.timer === undefined) {
      const batcher = b;
      batcher.timer = setTimeout(() => {
        batcher.timer = undefined;
        if (batchers.get(key) === batcher) flush(key, batcher);
      }, config.timeout);
    }
  }

  async function consume(payload: Payload<S>): Promise<void> {
    while (!stopped && inflight.size >= maxInFlight) {
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
    createBatchProcessor(settings.config, signal, next, { logger: settings.logger }),
};
