/**
 * Group commit at the request level, for a batching queue: while `maxInFlight` offers are being
 * committed, requests that arrive are merged (per batch partition, encoded parts concatenated) and
 * offered together as one entry once an offer finished; every caller resolves when the entry that
 * holds its data is held by the queue (on disk for a persistent queue), or rejects with its error.
 * Nothing waits for a timer: an idle queue gets each request at once. A persistent queue's cost is
 * per entry (compression call, index entry, commit and delete), so under load this turns many
 * small commits into few large ones; downstream it is indistinguishable from batching behind the
 * queue, which merges the same requests anyway. A merged entry counts as one request for
 * `sizer: requests`. A group whose parts cannot be merged (one holds bytes that do not decode)
 * is offered part by part, each caller answered for its own.
 *
 * @module
 */
import { type ClientInfo, Payload } from "../pdata/payload.ts";
import type { Signal } from "../pdata/types.ts";
import { partitionOf } from "./_queue_batcher.ts";
import { payloadBytes } from "./memory_queue.ts";

/** Options of {@linkcode createOfferCoalescer}. */
export interface OfferCoalescerOptions {
  /** Client metadata keys that keep batches apart (lower case). */
  readonly metadataKeys: readonly string[];
  /** Offers being committed at once. @default 2 */
  readonly maxInFlight?: number;
  /** Encoded bytes merged into one entry at most. @default 4 MiB */
  readonly maxBytes?: number;
}

interface Group<S extends Signal> {
  readonly key: string;
  readonly client: ClientInfo;
  readonly parts: Payload<S>[];
  readonly waiters: PromiseWithResolvers<void>[];
  bytes: number;
}

/** Wraps `offer` so that requests arriving while offers are in flight are offered merged. */
export function createOfferCoalescer<S extends Signal>(
  signal: S,
  offer: (payload: Payload<S>) => Promise<void>,
  options: OfferCoalescerOptions,
): (payload: Payload<S>) => Promise<void> {
  const maxInFlight = options.maxInFlight ?? 2;
  const maxBytes = options.maxBytes ?? 4 * 1024 * 1024;
  const groups: Group<S>[] = [];
  let inFlight = 0;

  function start(payload: Payload<S>): Promise<void> {
    inFlight++;
    const done = offer(payload);
    done.then(next, next);
    return done;
  }

  function next(): void {
    inFlight--;
    const group = groups.shift();
    if (group === undefined) return;
    const merged = mergeGroup(group);
    if (merged === undefined) {
      // A part that cannot be read (bytes that do not decode) must neither crash the process nor
      // strand the group: each part is offered alone and each caller gets its own answer.
      inFlight++;
      offerEach(group).then(next, next);
      return;
    }
    // A merged payload is this coalescer's: the queue retained it if it kept it.
    const own = group.parts.length > 1;
    start(merged).then(
      () => {
        if (own) merged.release();
        group.waiters.forEach((w) => w.resolve());
      },
      (error) => {
        if (own) merged.release();
        group.waiters.forEach((w) => w.reject(error));
      },
    );
  }

  function mergeGroup(group: Group<S>): Payload<S> | undefined {
    if (group.parts.length === 1) return group.parts[0]!;
    try {
      return Payload.merge(signal, group.parts, group.client);
    } catch {
      return undefined;
    }
  }

  async function offerEach(group: Group<S>): Promise<void> {
    for (let i = 0; i < group.parts.length; i++) {
      try {
        await offer(group.parts[i]!);
        group.waiters[i]!.resolve();
      } catch (error) {
        group.waiters[i]!.reject(error);
      }
    }
  }

  return (payload) => {
    if (inFlight < maxInFlight && groups.length === 0) return start(payload);
    const [key, client] = partitionOf(options.metadataKeys, payload.client);
    const bytes = payloadBytes(payload);
    let group = groups.find((g) => g.key === key && g.bytes + bytes <= maxBytes);
    if (group === undefined) {
      group = { key, client, parts: [], waiters: [], bytes: 0 };
      groups.push(group);
    }
    group.parts.push(payload);
    group.bytes += bytes;
    const waiter = Promise.withResolvers<void>();
    group.waiters.push(waiter);
    return waiter.promise;
  };
}
