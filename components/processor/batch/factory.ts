/**
 * The `batch` processor: groups data into batches of `send_batch_size` items or whatever arrived
 * within `timeout`, and splits batches over `send_batch_max_size`.
 *
 * Unlike the OpenTelemetry Collector's, a `consume` call resolves only once every batch holding its
 * data was accepted downstream (and rejects if one was refused), so "accepted" keeps its meaning
 * through batching: nothing sits acknowledged in memory, where a crash would lose it.
 *
 * @module
 */
import type { Processor, ProcessorFactory } from "../../component.ts";
import { type Consumer, retryableError } from "../../../lib/consumer/consumer.ts";
import { type ClientInfo, NO_CLIENT, Payload } from "../../../lib/pdata/payload.ts";
import { appendData, emptyData, takeItems } from "../../../lib/pdata/split.ts";
import type { Signal, SignalData } from "../../../lib/pdata/types.ts";
import { type BatchConfig, batchConfigSchema } from "./config.ts";

/** The caller of one `consume`, waiting for every batch that holds part of its data. */
interface Waiter {
  /** Batches (sent or still pending) holding part of the data and not yet answered. */
  parts: number;
  failed: boolean;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** Data of one `consume` call still waiting in a batcher. */
interface Chunk<S extends Signal> {
  payload: Payload<S>;
  /** Private containers, made when the chunk had to be split. */
  rest: SignalData[S] | undefined;
  count: number;
  waiter: Waiter;
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
): Processor<S> {
  const batchers = new Map<string, Batcher<S>>();
  const inflight = new Set<Promise<void>>();
  let stopped = false;
  const maxSize = config.send_batch_max_size;

  function send(parts: Payload<S>[], waiters: Waiter[], client: ClientInfo): void {
    const batch = Payload.merge(signal, parts, client);
    const done = next.consume(batch).then(
      () => {
        for (const w of waiters) {
          if (--w.parts === 0 && !w.failed) w.resolve();
        }
      },
      (error) => {
        for (const w of waiters) {
          w.parts--;
          if (!w.failed) {
            w.failed = true;
            w.reject(error);
          }
        }
      },
    );
    inflight.add(done);
    done.finally(() => inflight.delete(done));
  }

  /** Sends one batch of at most `maxSize` items (all pending items when there is no limit). */
  function sendOne(b: Batcher<S>): void {
    const parts: Payload<S>[] = [];
    const waiters: Waiter[] = [];
    let room = maxSize > 0 ? maxSize : Infinity;
    while (b.chunks.length > 0 && room > 0) {
      const chunk = b.chunks[0]!;
      if (chunk.count <= room) {
        b.chunks.shift();
        parts.push(chunk.rest === undefined ? chunk.payload : Payload.of(signal, chunk.rest));
        waiters.push(chunk.waiter);
        room -= chunk.count;
        b.count -= chunk.count;
        continue;
      }
      if (chunk.rest === undefined) {
        chunk.rest = emptyData(signal);
        appendData(signal, chunk.rest, chunk.payload.read());
      }
      parts.push(Payload.of(signal, takeItems(signal, chunk.rest, room)));
      waiters.push(chunk.waiter);
      chunk.waiter.parts++;
      chunk.count -= room;
      b.count -= room;
      room = 0;
    }
    if (parts.length > 0) send(parts, waiters, b.client);
  }

  function flush(key: string, b: Batcher<S>): void {
    clearTimeout(b.timer);
    b.timer = undefined;
    while (b.chunks.length > 0) sendOne(b);
    batchers.delete(key);
  }

  function consume(payload: Payload<S>): Promise<void> {
    if (stopped) return Promise.reject(retryableError("The batch processor is shut down"));
    const [key, client] = clientFor(config.metadata_keys, payload.client);
    let b = batchers.get(key);
    if (b === undefined) {
      if (config.metadata_keys.length > 0 && batchers.size >= config.metadata_cardinality_limit) {
        return Promise.reject(retryableError("Too many batcher metadata-value combinations"));
      }
      b = { chunks: [], count: 0, client, timer: undefined };
      batchers.set(key, b);
    }
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    const count = payload.itemCount;
    b.chunks.push({
      payload,
      rest: undefined,
      count,
      waiter: { parts: 1, failed: false, resolve, reject },
    });
    b.count += count;
    if (config.timeout === 0) {
      flush(key, b);
    } else {
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
    return promise;
  }

  return {
    mutatesData: false,
    consume,
    start: () => Promise.resolve(),
    async shutdown() {
      stopped = true;
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
  create: (settings, signal, next) => createBatchProcessor(settings.config, signal, next),
};
