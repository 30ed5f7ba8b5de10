/**
 * {@linkcode createPersistentQueue}: a {@linkcode SendingQueue} kept in Deno KV through a
 * {@linkcode StorageClient} (the `file_storage` extension), as DESIGN §5 describes.
 *
 * - `offer` stores the payload's OTLP protobuf bytes (its `encodedProto`, or an encoding of it),
 *   zstd-compressed when that pays (`_queue_compress.ts`), and resolves only once they are
 *   committed: "accepted" means "on disk".
 * - An item is a header (index entry) plus chunks of at most 64 KiB; see `_queue_codec.ts` for the
 *   key layout. An item that fits one commit (at most 800 KiB with its keys) is written in one
 *   commit, shared with other offers and acknowledgements made at the same time (group commit: Deno
 *   KV's commit rate, not its byte rate, limits small items). A larger one is written as chunk
 *   commits, the first also setting a pending marker, and made visible by a last commit that sets
 *   its header and deletes the marker. A crash in between leaves a marker, and start removes the
 *   marker's chunks.
 * - `ack` (and dropping, and removing a corrupt item) deletes the header first: in one commit when
 *   the deletes fit, otherwise the first commit deletes the header and sets a marker, later ones
 *   delete chunks, the last deletes the marker. A crash never leaves a visible half-item.
 * - The newest items also stay in memory, up to `memoryBytes` of payload, so that an item taken
 *   soon after it was offered (the usual case while the backend keeps up) is handed out without
 *   reading and decompressing it again: the offered payload itself (as the memory queue does),
 *   holding the bytes just committed and the client info as stored. After a restart everything is
 *   read from disk.
 * - Order is FIFO by a sequence number stored in the keys; at start the queue resumes in that order,
 *   and entries taken but not acknowledged before a crash or shutdown are handed out again
 *   (at-least-once).
 * - Bounded by `capacity` items and `maxBytes` stored bytes: the bytes the chunks take on disk,
 *   after compression, which is what the bound protects and what `bytes` (the
 *   `tfo_exporter_queue_bytes` gauge) reports. An item larger than `maxBytes` is accepted only into
 *   an empty queue, so the data never exceeds the bound by more than one item.
 * - A header found corrupt at start, or an item whose chunks are missing, of the wrong length, or do
 *   not decompress (zstd's checksum catches damaged bytes) when taken, is removed, logged once and
 *   counted in `tfo_exporter_queue_corrupt_items_total`; it never stops the queue.
 * - A failed write (disk full, I/O error) rejects `offer` with a retryable `ConsumerError` and leaves
 *   what was accepted before untouched. On a volume filled to the last byte SQLite may not even
 *   delete (its WAL can neither grow nor be checkpointed into a larger file): acknowledgements then
 *   fail, are logged, and those entries are sent again after a restart. Keep `maxBytes` well below
 *   the volume's free space.
 *
 * The caller owns the client: close the queue, then the client.
 *
 * @module
 */
import { ConsumerError, errorMessage, retryableError } from "../consumer/consumer.ts";
import {
  encodeLogsRequest,
  encodeMetricsRequest,
  encodeTracesRequest,
  LOGS_PROTO,
  METRICS_PROTO,
  TRACES_PROTO,
} from "../otlp/mod.ts";
import { Payload, type ProtoDecoder } from "../pdata/payload.ts";
import type { Signal, SignalData } from "../pdata/types.ts";
import type { StorageClient } from "../storage/client.ts";
import { type Logger, NOOP_LOGGER } from "../telemetry/logger.ts";
import type { Counter, Meter } from "../telemetry/metrics.ts";
import { compressItem, decompressItem, type StoredForm } from "./_queue_compress.ts";
import {
  chunkCount,
  chunkKey,
  HEADER_VERSION,
  headerBytes,
  headerKey,
  headerProblem,
  loadClient,
  markerChunks,
  markerKey,
  type PendingMarker,
  type QueueHeader,
  splitChunks,
  storeClient,
  storedBytes,
} from "./_queue_codec.ts";
import { GroupCommitter, type Mutation, planCommits } from "./_queue_commits.ts";
import { Waiters } from "./_queue_waiters.ts";
import { droppedCounter } from "./memory_queue.ts";
import type { QueueEntry, SendingQueue, WhenFull } from "./queue.ts";

/** The counter of corrupt entries skipped, before Prometheus's `_total`. */
export const QUEUE_CORRUPT_ITEMS_METRIC = "tfo_exporter_queue_corrupt_items";

/** Options of {@linkcode createPersistentQueue}. */
export interface PersistentQueueOptions {
  /** The most items held (the Collector's `queue_size`), taken but unacknowledged ones included. */
  capacity: number;
  /** The most stored (compressed) bytes held (tfo's `max_size_mib`). @default Infinity */
  maxBytes?: number;
  /** What `offer` does when full. @default "refuse" */
  whenFull?: WhenFull;
  /** Where recovery, corruption and failed deletes are reported. */
  logger?: Logger;
  /** Where dropped items and corrupt entries are counted. */
  meter?: Meter;
  /**
   * Payload bytes of recently offered items kept in memory as well, so that taking them soon after
   * needs no read from disk (0: always read). @default 16 MiB
   */
  memoryBytes?: number;
}

/** The default of {@linkcode PersistentQueueOptions.memoryBytes}. */
export const DEFAULT_QUEUE_MEMORY_BYTES = 16 * 1024 * 1024;

/** A persistent queue, with what its start found. */
export interface PersistentQueue<S extends Signal = Signal> extends SendingQueue<S> {
  /** Entries found on disk at start (corrupt ones not included). */
  readonly recovered: number;
}

interface Codec<S extends Signal> {
  readonly encode: (data: SignalData[S]) => Uint8Array;
  readonly decoder: ProtoDecoder<S>;
}

const CODECS: { readonly [S in Signal]: Codec<S> } = {
  traces: { encode: encodeTracesRequest, decoder: TRACES_PROTO },
  metrics: { encode: encodeMetricsRequest, decoder: METRICS_PROTO },
  logs: { encode: encodeLogsRequest, decoder: LOGS_PROTO },
};

/** Client info larger than this (as JSON) is not stored with an item; metadata goes first. */
const MAX_CLIENT_JSON = 16 * 1024;

interface Held<S extends Signal> {
  readonly seq: number;
  readonly header: QueueHeader;
  taken: boolean;
  /** The payload, while also kept in memory, and its length. */
  memory?: { readonly payload: Payload<S>; readonly bytes: number } | undefined;
}

/**
 * Opens the queue stored under `client`: removes what an interrupted write or delete left, checks
 * every header, and resumes in order. Rejects only when the storage cannot be read.
 */
export async function createPersistentQueue<S extends Signal>(
  client: StorageClient,
  signal: S,
  options: PersistentQueueOptions,
): Promise<PersistentQueue<S>> {
  const queue = new KvQueue<S>(client, signal, options);
  await queue.recover();
  return queue;
}

class KvQueue<S extends Signal> implements PersistentQueue<S> {
  readonly capacity: number;
  readonly #maxBytes: number;
  readonly #whenFull: WhenFull;
  readonly #client: StorageClient;
  readonly #signal: S;
  readonly #codec: Codec<S>;
  readonly #logger: Logger;
  readonly #countDropped: (signal: Signal, items: number) => void;
  readonly #corrupt: Counter | undefined;
  /** Every stored entry, by sequence number. */
  readonly #held = new Map<number, Held<S>>();
  /** Sequence numbers not taken, ascending, from `#head` on. */
  #ready: number[] = [];
  #head = 0;
  #nextSeq = 0;
  /** Entries and bytes held or reserved by offers being written. */
  #size = 0;
  #bytes = 0;
  #closed = false;
  #recovered = 0;
  readonly #memoryLimit: number;
  /** Payload bytes of held items kept in memory too. */
  #memoryBytes = 0;
  #warnedClientSize = false;
  readonly #takers = new Waiters();
  readonly #room = new Waiters();
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #group: GroupCommitter;

  constructor(client: StorageClient, signal: S, options: PersistentQueueOptions) {
    if (!(options.capacity >= 1)) throw new RangeError("Queue capacity must be at least 1");
    if (options.maxBytes !== undefined && !(options.maxBytes > 0)) {
      throw new RangeError("Queue maxBytes must be positive");
    }
    if (options.memoryBytes !== undefined && !(options.memoryBytes >= 0)) {
      throw new RangeError("Queue memoryBytes must not be negative");
    }
    this.capacity = options.capacity;
    this.#maxBytes = options.maxBytes ?? Infinity;
    this.#whenFull = options.whenFull ?? "refuse";
    this.#memoryLimit = options.memoryBytes ?? DEFAULT_QUEUE_MEMORY_BYTES;
    this.#client = client;
    this.#group = new GroupCommitter(client.prefix, (mutations) => this.#commitOne(mutations));
    this.#signal = signal;
    this.#codec = CODECS[signal] as Codec<S>;
    this.#logger = (options.logger ?? NOOP_LOGGER).with({ queue: signal });
    this.#countDropped = droppedCounter(options.meter);
    this.#corrupt = options.meter?.counter(
      QUEUE_CORRUPT_ITEMS_METRIC,
      "Persistent sending queue entries found corrupt or truncated, skipped and removed",
      { data_type: signal },
    );
  }

  get size(): number {
    return this.#size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get recovered(): number {
    return this.#recovered;
  }

  // ---- start ----

  /** Cleans up interrupted operations and loads the index. */
  async recover(): Promise<void> {
    let maxSeq = -1;
    const markers: Array<[number, unknown]> = [];
    for await (const { key, value } of this.#client.list(["p"])) {
      const seq = key[1];
      if (typeof seq === "number") {
        markers.push([seq, value]);
        maxSeq = Math.max(maxSeq, seq);
      }
    }
    const corrupt: Array<[number, string]> = [];
    for await (const { key, value } of this.#client.list(["i"])) {
      const seq = key[1];
      if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 0) continue;
      maxSeq = Math.max(maxSeq, seq);
      const problem = headerProblem(value);
      if (problem !== undefined) {
        corrupt.push([seq, problem]);
        continue;
      }
      const header = value as QueueHeader;
      this.#held.set(seq, { seq, header, taken: false });
      this.#ready.push(seq);
      this.#size++;
      this.#bytes += storedBytes(header);
    }
    for (const [seq, value] of markers) {
      if (this.#held.has(seq)) {
        // Cannot happen by the protocol (the header commit deletes the marker); trust the header.
        await this.#client.delete(markerKey(seq));
        continue;
      }
      await this.#removeChunks(seq, markerChunks(value), false);
      this.#logger.info("Removed the chunks of an item whose write or delete was interrupted", {
        seq,
      });
    }
    for (const [seq, problem] of corrupt) {
      this.#reportCorrupt(seq, problem, undefined);
      await this.#removeChunks(seq, undefined, true);
    }
    this.#nextSeq = maxSeq + 1;
    this.#recovered = this.#held.size;
    if (this.#recovered > 0) {
      this.#logger.info("Resuming the persistent sending queue", {
        items: this.#recovered,
        bytes: this.#bytes,
      });
    }
  }

  /**
   * Deletes an item's chunks (all keys under `["c", seq]` when the count is unknown), its marker,
   * and with `withHeader` its header. When this takes several commits, the first deletes the header
   * and sets a marker, so a crash in between is cleaned up at the next start.
   */
  async #removeChunks(seq: number, chunks: number | undefined, withHeader: boolean): Promise<void> {
    const body: Mutation[] = [];
    if (chunks === undefined) {
      for await (const { key } of this.#client.list(["c", seq])) {
        body.push({ key, valueBytes: 0 });
      }
    } else {
      for (let n = 0; n < chunks; n++) body.push({ key: chunkKey(seq, n), valueBytes: 0 });
    }
    const header: Mutation[] = withHeader ? [{ key: headerKey(seq), valueBytes: 0 }] : [];
    const marker: PendingMarker = chunks === undefined ? {} : { chunks };
    await this.#commitPlan(planCommits(this.#client.prefix, body, {
      single: [...header, { key: markerKey(seq), valueBytes: 0 }],
      first: withHeader ? [...header, { key: markerKey(seq), value: marker, valueBytes: 64 }] : [],
      last: [{ key: markerKey(seq), valueBytes: 0 }],
    }));
  }

  #reportCorrupt(seq: number, problem: string, header: QueueHeader | undefined): void {
    this.#corrupt?.add(1);
    this.#logger.warn("Skipping a corrupt persistent queue entry", {
      seq,
      problem,
      ...(header === undefined ? {} : { bytes: header.bytes, items: header.items }),
    });
  }

  // ---- offer ----

  #fits(bytes: number): boolean {
    return this.#size < this.capacity &&
      (this.#bytes + bytes <= this.#maxBytes || this.#size === 0);
  }

  #oldestReady(): Held<S> | undefined {
    for (let i = this.#head; i < this.#ready.length; i++) {
      const held = this.#held.get(this.#ready[i]!);
      if (held !== undefined && !held.taken) return held;
    }
    return undefined;
  }

  async offer(payload: Payload<S>): Promise<void> {
    if (this.#closed) throw retryableError("Sending queue is closed");
    const raw = payload.encodedProto ?? this.#codec.encode(payload.read());
    const stored = await compressItem(raw);
    const bytes = stored.bytes;
    while (!this.#fits(bytes.length)) {
      if (this.#closed) throw retryableError("Sending queue is closed");
      if (this.#whenFull === "block") {
        await this.#room.wait();
        continue;
      }
      if (this.#whenFull === "drop_oldest") {
        const oldest = this.#oldestReady();
        if (oldest !== undefined) {
          this.#held.delete(oldest.seq);
          await this.#track(this.#remove(oldest, "drop"));
          this.#countDropped(this.#signal, oldest.header.items);
          continue;
        }
      }
      throw retryableError(
        `Sending queue is full (${this.#size} of ${this.capacity} items, ` +
          `${this.#bytes} of ${this.#maxBytes} bytes)`,
      );
    }
    if (this.#closed) throw retryableError("Sending queue is closed");
    const seq = this.#nextSeq++;
    const [header, clientKept] = this.#header(payload, raw.length, stored);
    this.#size++;
    this.#bytes += bytes.length;
    try {
      await this.#track(this.#write(seq, header, bytes));
    } catch (error) {
      this.#size--;
      this.#bytes -= bytes.length;
      this.#room.wakeOne();
      if (error instanceof ConsumerError) throw error;
      throw retryableError(`Cannot persist to the sending queue: ${errorMessage(error)}`, {
        cause: error,
      });
    }
    const held: Held<S> = { seq, header, taken: false };
    if (this.#memoryBytes + raw.length <= this.#memoryLimit) {
      // What a read from disk would give: the offered payload when it is the stored bytes and
      // client (its item count is then not counted again), otherwise one made from them.
      const same = clientKept && payload.encodedProto === raw;
      held.memory = {
        payload: same ? payload : this.#payload(raw, header),
        bytes: raw.length,
      };
      this.#memoryBytes += raw.length;
    }
    this.#held.set(seq, held);
    this.#makeReady(seq);
    this.#takers.wakeOne();
  }

  /** The index entry of an item, and whether it keeps the payload's client info whole. */
  #header(payload: Payload<S>, bytes: number, stored: StoredForm): [QueueHeader, boolean] {
    const base: QueueHeader = {
      v: HEADER_VERSION,
      bytes,
      stored: stored.bytes.length,
      ...(stored.codec === undefined ? {} : { codec: stored.codec }),
      chunks: chunkCount(stored.bytes.length),
      items: payload.itemCount,
    };
    let client = storeClient(payload.client);
    const whole = client;
    if (client !== undefined && JSON.stringify(client).length > MAX_CLIENT_JSON) {
      const { metadata: _dropped, ...rest } = client;
      client = JSON.stringify(rest).length > MAX_CLIENT_JSON ? undefined : rest;
      if (!this.#warnedClientSize) {
        this.#warnedClientSize = true;
        this.#logger.warn("Client metadata too large to queue; it is not kept with the data", {
          limit_bytes: MAX_CLIENT_JSON,
        });
      }
    }
    return [client === undefined ? base : { ...base, client }, client === whole];
  }

  #payload(bytes: Uint8Array, header: QueueHeader): Payload<S> {
    return Payload.fromProto(this.#signal, bytes, this.#codec.decoder, loadClient(header.client));
  }

  async #write(seq: number, header: QueueHeader, bytes: Uint8Array): Promise<void> {
    const body: Mutation[] = splitChunks(bytes).map((chunk, n) => ({
      key: chunkKey(seq, n),
      value: chunk,
      valueBytes: chunk.length,
    }));
    const index: Mutation = { key: headerKey(seq), value: header, valueBytes: headerBytes(header) };
    const commits = planCommits(this.#client.prefix, body, {
      single: [index],
      first: [{ key: markerKey(seq), value: { chunks: header.chunks }, valueBytes: 64 }],
      last: [index, { key: markerKey(seq), valueBytes: 0 }],
    });
    try {
      await this.#commitPlan(commits);
    } catch (error) {
      if (commits.length > 1) {
        // Best effort: what is left behind is removed at the next start through the marker.
        try {
          await this.#removeChunks(seq, header.chunks, false);
        } catch {
          // the marker stays
        }
      }
      throw error;
    }
  }

  /** Runs planned commits in order; a plan of one commit goes through the group committer. */
  async #commitPlan(commits: readonly Mutation[][]): Promise<void> {
    if (commits.length === 1) return await this.#group.submit(commits[0]!);
    for (const mutations of commits) await this.#commitOne(mutations);
  }

  async #commitOne(mutations: readonly Mutation[]): Promise<void> {
    const atomic = this.#client.atomic();
    for (const m of mutations) {
      if ("value" in m) atomic.set(m.key, m.value);
      else atomic.delete(m.key);
    }
    await atomic.commit();
  }

  // ---- take ----

  #makeReady(seq: number): void {
    const ready = this.#ready;
    let i = ready.length;
    while (i > this.#head && ready[i - 1]! > seq) i--;
    ready.splice(i, 0, seq);
  }

  #shiftReady(): number | undefined {
    while (this.#head < this.#ready.length) {
      const seq = this.#ready[this.#head++]!;
      if (this.#head > 1024 && this.#head * 2 > this.#ready.length) {
        this.#ready = this.#ready.slice(this.#head);
        this.#head = 0;
      }
      const held = this.#held.get(seq);
      if (held !== undefined && !held.taken) return seq;
    }
    return undefined;
  }

  async take(): Promise<QueueEntry<S> | undefined> {
    while (true) {
      if (this.#closed) return undefined;
      const seq = this.#shiftReady();
      if (seq === undefined) {
        await this.#takers.wait();
        continue;
      }
      const held = this.#held.get(seq)!;
      held.taken = true;
      const memory = this.#forget(held);
      if (memory !== undefined) return this.#entry(held, memory);
      let bytes: Uint8Array | string;
      try {
        bytes = await this.#track(this.#read(held));
      } catch (error) {
        held.taken = false;
        this.#makeReady(seq);
        throw error;
      }
      if (typeof bytes === "string") {
        this.#reportCorrupt(seq, bytes, held.header);
        this.#held.delete(seq);
        await this.#track(this.#remove(held, "corrupt"));
        continue;
      }
      return this.#entry(held, this.#payload(bytes, held.header));
    }
  }

  /** Takes an item's payload out of memory, if there. */
  #forget(held: Held<S>): Payload<S> | undefined {
    const memory = held.memory;
    if (memory === undefined) return undefined;
    held.memory = undefined;
    this.#memoryBytes -= memory.bytes;
    return memory.payload;
  }

  /** An item's payload bytes, or why they cannot be had. */
  async #read(held: Held<S>): Promise<Uint8Array | string> {
    const stored = await this.#readStored(held);
    if (typeof stored === "string" || held.header.codec === undefined) return stored;
    return decompressItem(stored, held.header.bytes);
  }

  /** An item's stored bytes, or why they cannot be had. */
  async #readStored(held: Held<S>): Promise<Uint8Array | string> {
    const { seq, header } = held;
    const expected = storedBytes(header);
    const chunks: Uint8Array[] = [];
    let total = 0;
    for await (const { key, value } of this.#client.list(["c", seq])) {
      if (key[2] !== chunks.length) return `chunk ${chunks.length} is missing`;
      if (!(value instanceof Uint8Array)) return `chunk ${chunks.length} is not bytes`;
      chunks.push(value);
      total += value.length;
    }
    if (chunks.length !== header.chunks) {
      return `${chunks.length} of ${header.chunks} chunks are present`;
    }
    if (total !== expected) return `the chunks hold ${total} bytes, not ${expected}`;
    if (chunks.length === 1) return chunks[0]!;
    const bytes = new Uint8Array(total);
    let at = 0;
    for (const chunk of chunks) {
      bytes.set(chunk, at);
      at += chunk.length;
    }
    return bytes;
  }

  #entry(held: Held<S>, payload: Payload<S>): QueueEntry<S> {
    let acked: Promise<void> | undefined;
    return {
      payload,
      ack: () => {
        if (acked === undefined) {
          this.#held.delete(held.seq);
          acked = this.#track(this.#remove(held, "ack"));
        }
        return acked;
      },
    };
  }

  /**
   * Deletes a held item (already out of `#held`) from disk, then frees its room. A failed delete
   * is logged and the room freed anyway: the item is delivered again after a restart.
   */
  async #remove(held: Held<S>, why: "ack" | "drop" | "corrupt"): Promise<void> {
    const { seq, header } = held;
    this.#forget(held);
    try {
      // A corrupt item may have chunks its header does not count: remove whatever is there.
      await this.#removeChunks(seq, why === "corrupt" ? undefined : header.chunks, true);
    } catch (error) {
      this.#logger.warn(
        "Cannot delete a persistent queue entry; it will be sent again after a restart",
        { seq, reason: why, error: errorMessage(error) },
      );
    } finally {
      this.#size--;
      this.#bytes -= storedBytes(header);
      this.#room.wakeOne();
    }
  }

  // ---- close ----

  #track<T>(work: Promise<T>): Promise<T> {
    this.#inFlight.add(work);
    const forget = () => this.#inFlight.delete(work);
    work.then(forget, forget);
    return work;
  }

  /** Stops handing out entries and waits for writes and deletes in flight; data stays on disk. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#takers.wakeAll();
    this.#room.wakeAll();
    while (this.#inFlight.size > 0) {
      await Promise.allSettled([...this.#inFlight]);
    }
  }
}
