/**
 * How the exporter helper gets the queue of one signal: an in-memory queue, or — when
 * `sending_queue.storage` names a storage extension — a persistent queue in that extension's
 * Deno KV database, under the prefix `("exporter", <exporter ID>, <signal>)`.
 *
 * `max_size_mib` bounds the memory queue's bytes here, in front of it: the memory queue bounds
 * entries only. Over the byte bound new data is refused (retryable) whatever `when_full` says.
 * The persistent queue bounds its bytes itself, applying `when_full`. For a memory queue 0 means
 * no byte bound; for a persistent queue 0 (the default) means a bound derived from the storage
 * volume's free space when the storage opened, shared by every queue of that storage that takes
 * the default (`StorageVolume.budget`: half of the free space and the database's files, less a
 * write-ahead log's worth), and logged. Without a way to know the free space, 0 means no bound.
 * The persistent queue's storage client is closed after the queue.
 *
 * @module
 */
import type { Host } from "../component/host.ts";
import type { Payload } from "../pdata/payload.ts";
import type { Signal } from "../pdata/types.ts";
import { getStorageClient } from "../storage/provider.ts";
import type { Logger } from "../telemetry/logger.ts";
import type { Meter } from "../telemetry/metrics.ts";
import { createMemoryQueue, payloadBytes } from "./memory_queue.ts";
import { createPersistentQueue, type PersistentQueue } from "./persistent_queue.ts";
import { queueFullError, type SendingQueue, type WhenFull } from "./queue.ts";
import { warmUpPersistentQueue } from "./_queue_warm_up.ts";

const MIB = 1024 * 1024;

/** The `sending_queue` keys a queue is made from. */
export interface QueueSettings {
  readonly queue_size: number;
  readonly blocking: boolean;
  readonly storage?: string | undefined;
  readonly max_size_mib: number;
  readonly when_full: "refuse" | "drop_oldest";
}

/** What a queue factory gets. */
export interface QueueRequest<S extends Signal = Signal> {
  /** The exporter's ID. */
  readonly id: string;
  readonly signal: S;
  readonly config: QueueSettings;
  /** The running service, for the storage extension. */
  readonly host: Host;
  readonly logger: Logger;
  /** The exporter's meter, for what the queue counts itself (items dropped when full). */
  readonly meter: Meter;
}

/** Makes the queue of one signal of an exporter. */
export type QueueFactory = <S extends Signal>(request: QueueRequest<S>) => Promise<SendingQueue<S>>;

/** What a full queue does: `blocking: true` means `block`, else `when_full`. */
export function whenFull(config: QueueSettings): WhenFull {
  return config.blocking ? "block" : config.when_full;
}

/** `queue` with its own `offer` and `close` replaced. */
function wrap<S extends Signal>(
  queue: SendingQueue<S>,
  offer: (payload: Payload<S>) => Promise<void>,
  close: () => Promise<void>,
): SendingQueue<S> {
  return {
    offer,
    take: () => queue.take(),
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
    offerMergeBytes: queue.offerMergeBytes,
    close,
  };
}

/** `queue` closing with `close` instead. */
function withClose<S extends Signal>(
  queue: SendingQueue<S>,
  close: () => Promise<void>,
): SendingQueue<S> {
  return wrap(queue, (payload) => queue.offer(payload), close);
}

/**
 * A queue that refuses new data that would take it over `maxBytes` (an item larger than that is
 * accepted into an empty queue, as the persistent queue does).
 */
function byteBounded<S extends Signal>(queue: SendingQueue<S>, maxBytes: number): SendingQueue<S> {
  const offer = (payload: Payload<S>) => {
    if (queue.size > 0 && queue.bytes + payloadBytes(payload) > maxBytes) {
      return Promise.reject(
        queueFullError(`${Math.round(maxBytes / MIB)} MiB`),
      );
    }
    return queue.offer(payload);
  };
  return wrap(queue, offer, () => queue.close());
}

/** The default: memory, or persistent when `storage` is set. */
export const defaultQueueFactory: QueueFactory = async <S extends Signal>(
  request: QueueRequest<S>,
): Promise<SendingQueue<S>> => {
  const { config, signal, meter } = request;
  const maxBytes = Math.round(config.max_size_mib * MIB);
  if (config.storage === undefined) {
    const queue = createMemoryQueue<S>({
      capacity: config.queue_size,
      whenFull: whenFull(config),
      meter,
    });
    return maxBytes > 0 ? byteBounded(queue, maxBytes) : queue;
  }
  const client = getStorageClient(request.host, config.storage, "exporter", request.id, signal);
  let queue: PersistentQueue<S>;
  try {
    const shared = maxBytes > 0 ? undefined : client.volume?.budget();
    if (shared !== undefined) {
      request.logger.info(
        "Bounding the persistent sending queue by the free space of its storage volume " +
          "(set sending_queue.max_size_mib to choose)",
        {
          "otelcol.signal": signal,
          directory: client.volume?.directory,
          max_size_mib: Math.round(shared.limit / MIB * 10) / 10,
          shared_by: "every queue of this storage without max_size_mib",
        },
      );
    }
    queue = await createPersistentQueue<S>(client, signal, {
      capacity: config.queue_size,
      whenFull: whenFull(config),
      logger: request.logger,
      meter,
      ...(maxBytes > 0 ? { maxBytes } : {}),
      ...(shared === undefined ? {} : { sharedBytes: shared }),
    });
  } catch (error) {
    await client.close();
    throw error;
  }
  // The first offer would otherwise pay for compiling its path (see _queue_warm_up.ts).
  await warmUpPersistentQueue(signal, client.journal !== undefined);
  if (queue.recovered > 0) {
    request.logger.info("Resuming the persistent sending queue", {
      "otelcol.signal": signal,
      entries: queue.recovered,
    });
  }
  return withClose(queue, async () => {
    await queue.close();
    await client.close();
  });
};
