/**
 * The batcher behind the sending queue (`sending_queue.batch`): queue consumers hand it the entries
 * they take; it groups them per partition (one per combination of the `partition.metadata_keys`
 * values) into batches of at least `min_size` (or whatever waited `flush_timeout`), at most
 * `max_size` (an entry over the room left is split with `lib/pdata/split.ts`), measured by its
 * sizer (`items`, `bytes` — the encoded size — or `requests`). Encoded entries are merged by
 * concatenating their encoded parts ({@linkcode Payload.merge}), so a pass-through exporter never
 * decodes; only a split decodes the entry it cuts.
 *
 * A batch remembers the entries it holds. The queue sender acknowledges an entry once every batch
 * holding a part of it was sent or failed permanently ({@linkcode settleBatch}); an entry one of
 * whose parts was interrupted by shutdown stays unacknowledged (in a persistent queue: on disk, sent
 * again after the next start).
 *
 * Leases (`Payload.retain`): a merged batch takes its own references to its parts' pooled buffers
 * (the entries keep theirs until acknowledged); whoever sends a batch marked `merged` releases it
 * once sent or failed for good.
 *
 * @module
 */
import { type ClientInfo, NO_CLIENT, Payload } from "../pdata/payload.ts";
import { appendData, emptyData, takeItems } from "../pdata/split.ts";
import type { Signal, SignalData } from "../pdata/types.ts";
import type { Clock } from "./_clock.ts";
import { payloadBytes } from "./memory_queue.ts";
import type { QueueEntry } from "./queue.ts";

/** How batches are measured. */
export type Sizer = "requests" | "items" | "bytes";

/** The batching settings of a sending queue. */
export interface QueueBatchSettings {
  /** How long a partial batch waits for more data, in milliseconds (more than 0). */
  readonly flushTimeoutMs: number;
  /** The size that sends a batch before its timeout. */
  readonly minSize: number;
  /** The largest batch; 0 means no limit. */
  readonly maxSize: number;
  readonly sizer: Sizer;
  /** Client metadata keys whose values keep batches apart (lower case). */
  readonly metadataKeys: readonly string[];
}

/** One queue entry while batches hold parts of it. */
export interface HeldEntry<S extends Signal> {
  readonly entry: QueueEntry<S>;
  /** Batches (sent or not yet) holding part of it and not yet settled. */
  parts: number;
  /** A part was interrupted by shutdown: never acknowledge it. */
  keep: boolean;
  /** Why a part failed (permanently or after retries), if one did. */
  error?: unknown;
}

/** A batch ready to send. */
export interface Batch<S extends Signal> {
  readonly payload: Payload<S>;
  readonly held: readonly HeldEntry<S>[];
  /** True when `payload` was made for the batch (not an entry's own): release it once sent. */
  readonly merged?: boolean;
}

interface Piece<S extends Signal> {
  readonly held: HeldEntry<S>;
  /** The whole entry's payload, or what is left of it after a split. */
  payload: Payload<S>;
  /** Private containers of what is left, once the piece was cut. */
  rest: SignalData[S] | undefined;
  size: number;
}

interface Partition<S extends Signal> {
  readonly client: ClientInfo;
  pieces: Piece<S>[];
  size: number;
  timer: unknown;
}

/** The size of `payload` as `sizer` measures it. */
export function sizeOf(sizer: Sizer, payload: Payload): number {
  if (sizer === "requests") return 1;
  if (sizer === "items") return payload.itemCount;
  return payloadBytes(payload);
}

/** The partition key of `client` for `keys`, and the client info a batch of it carries. */
export function partitionOf(keys: readonly string[], client: ClientInfo): [string, ClientInfo] {
  if (keys.length === 0) return ["", NO_CLIENT];
  const metadata = new Map<string, readonly string[]>();
  const parts: string[] = [];
  for (const key of keys) {
    const values = client.metadata.get(key);
    if (values !== undefined) metadata.set(key, values);
    // Unset and empty values are distinct partitions, as the Collector's are.
    parts.push(values === undefined ? "-" : JSON.stringify(values));
  }
  return [parts.join("\u0000"), { metadata, auth: new Map() }];
}

/** Options of {@linkcode QueueBatcher}. */
export interface QueueBatcherOptions<S extends Signal> {
  readonly signal: S;
  readonly settings: QueueBatchSettings;
  readonly clock: Clock;
  /** Called with each batch as it becomes ready. */
  readonly ready: (batch: Batch<S>) => void;
}

/** Groups queue entries into batches. Not concurrent: call from one place. */
export class QueueBatcher<S extends Signal> {
  readonly #signal: S;
  readonly #settings: QueueBatchSettings;
  readonly #clock: Clock;
  readonly #ready: (batch: Batch<S>) => void;
  readonly #partitions = new Map<string, Partition<S>>();
  /** Set at shutdown: every entry is sent at once. */
  #immediate = false;

  constructor(options: QueueBatcherOptions<S>) {
    this.#signal = options.signal;
    this.#settings = options.settings;
    this.#clock = options.clock;
    this.#ready = options.ready;
  }

  /** Entries waiting in partial batches. */
  get pending(): number {
    let n = 0;
    for (const p of this.#partitions.values()) n += p.pieces.length;
    return n;
  }

  /** Adds a taken entry; hands out the batches it completes. */
  add(entry: QueueEntry<S>): void {
    const { metadataKeys, minSize, sizer } = this.#settings;
    const [key, client] = partitionOf(metadataKeys, entry.payload.client);
    let partition = this.#partitions.get(key);
    if (partition === undefined) {
      partition = { client, pieces: [], size: 0, timer: undefined };
      this.#partitions.set(key, partition);
    }
    const size = sizeOf(sizer, entry.payload);
    const held: HeldEntry<S> = { entry, parts: 1, keep: false };
    partition.pieces.push({ held, payload: entry.payload, rest: undefined, size });
    partition.size += size;
    if (this.#immediate) {
      this.#flush(key, partition);
      return;
    }
    while (partition.pieces.length > 0 && partition.size >= minSize) this.#cut(partition);
    if (partition.pieces.length === 0) {
      this.#drop(key, partition);
    } else if (partition.timer === undefined) {
      const p = partition;
      p.timer = this.#clock.setTimer(() => {
        p.timer = undefined;
        if (this.#partitions.get(key) === p) this.#flush(key, p);
      }, this.#settings.flushTimeoutMs);
    }
  }

  /** Sends every partial batch now, and every later entry at once (shutdown of a memory queue). */
  flushAll(): void {
    this.#immediate = true;
    for (const [key, p] of [...this.#partitions]) this.#flush(key, p);
  }

  /**
   * Forgets every partial batch without sending it (shutdown of a persistent queue: the entries
   * stay unacknowledged, on disk). Returns how many entries it held.
   */
  abandon(): number {
    let n = 0;
    for (const [key, p] of [...this.#partitions]) {
      n += p.pieces.length;
      this.#drop(key, p);
    }
    return n;
  }

  #drop(key: string, p: Partition<S>): void {
    if (p.timer !== undefined) this.#clock.clearTimer(p.timer);
    p.timer = undefined;
    this.#partitions.delete(key);
  }

  #flush(key: string, p: Partition<S>): void {
    while (p.pieces.length > 0) this.#cut(p);
    this.#drop(key, p);
  }

  /** Cuts one batch of at most `maxSize` from the front of `p` and hands it out. */
  #cut(p: Partition<S>): void {
    const signal = this.#signal;
    const { maxSize, sizer } = this.#settings;
    const parts: Payload<S>[] = [];
    const held: HeldEntry<S>[] = [];
    let room = maxSize > 0 ? maxSize : Infinity;
    while (p.pieces.length > 0 && room > 0) {
      const piece = p.pieces[0]!;
      if (piece.size <= room || sizer === "requests") {
        p.pieces.shift();
        parts.push(piece.payload);
        held.push(piece.held);
        room -= piece.size;
        p.size -= piece.size;
        continue;
      }
      // Split: the items that fit the room (by bytes: in proportion), at least one.
      const items = piece.payload.itemCount;
      const n = sizer === "items"
        ? room
        : Math.max(1, Math.floor(items * room / Math.max(1, piece.size)));
      if (n >= items) {
        p.pieces.shift();
        parts.push(piece.payload);
        held.push(piece.held);
        p.size -= piece.size;
        break;
      }
      if (piece.rest === undefined) {
        piece.rest = emptyData(signal);
        appendData(signal, piece.rest, piece.payload.read());
      }
      const cut = Payload.of(signal, takeItems(signal, piece.rest, n), piece.payload.client);
      parts.push(cut);
      held.push(piece.held);
      piece.held.parts++;
      piece.payload = Payload.of(signal, piece.rest, piece.payload.client);
      const before = piece.size;
      piece.size = sizeOf(sizer, piece.payload);
      p.size -= before - piece.size;
      break;
    }
    if (parts.length === 0) return;
    this.#ready({ payload: Payload.merge(signal, parts, p.client), held, merged: true });
  }
}

/** A batch of one entry, for a queue without batching. */
export function singleBatch<S extends Signal>(entry: QueueEntry<S>): Batch<S> {
  return { payload: entry.payload, held: [{ entry, parts: 1, keep: false }] };
}

/**
 * Settles one batch: each entry it holds loses a part; a failure is remembered, `interrupted`
 * (shutdown) marks the entries to be kept. Returns the entries now complete: acknowledge those not
 * kept.
 */
export function settleBatch<S extends Signal>(
  batch: Batch<S>,
  outcome: { readonly interrupted: boolean; readonly error?: unknown },
): HeldEntry<S>[] {
  const done: HeldEntry<S>[] = [];
  for (const h of batch.held) {
    if (outcome.interrupted) h.keep = true;
    if ("error" in outcome) h.error = outcome.error;
    if (--h.parts === 0) done.push(h);
  }
  return done;
}
