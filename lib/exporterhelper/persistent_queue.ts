/**
 * {@linkcode createPersistentQueue}: a {@linkcode SendingQueue} kept in Deno KV through a
 * {@linkcode StorageClient} (the `file_storage` extension), as DESIGN §5 describes.
 *
 * - `offer` stores the payload's OTLP protobuf bytes (its `encodedProto`, or an encoding of it),
 *   zstd-compressed when that pays (`_queue_compress.ts`), and resolves only once they are
 *   committed: "accepted" means "on disk". Bytes in a pooled buffer (`Payload.leased`) are
 *   copied first, so the queue never holds a lease: the buffer is free once the offer resolved.
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
 *   after compression, plus what the write-ahead journal's files take (see `_queue_journal.ts`;
 *   an acknowledged record counts until its segment is deleted), which is what the bound protects
 *   and what `bytes` (the `tfo_exporter_queue_bytes` gauge) reports. An item larger than `maxBytes` is accepted only into
 *   an empty queue, so the data never exceeds the bound by more than one item. Journaled items
 *   wait for their fold in memory: past `JOURNAL_FOLD_MAX_BYTES` of them (a fold slower than the
 *   offers) new data is refused, retryable, so a slow disk or CPU does not turn into memory.
 * - A header found corrupt at start, or an item whose chunks are missing, of the wrong length, or do
 *   not decompress (zstd's checksum catches damaged bytes) when taken, is removed, logged once and
 *   counted in `tfo_exporter_queue_corrupt_items_total`; it never stops the queue.
 * - A failed write (disk full, I/O error) rejects `offer` with a retryable `ConsumerError` and leaves
 *   what was accepted before untouched.
 * - A full volume does not wedge the queue. On a volume filled to the last byte SQLite cannot even
 *   delete (its WAL can neither grow nor be checkpointed into a larger file). The first write that
 *   fails with the disk full puts the queue in full mode and tells the client's volume
 *   (`lib/storage/volume.ts`), which deletes its reserve file so that deletes can run again. In full
 *   mode `offer` is refused at once with a retryable error carrying `retryAfterMs` (the otlp
 *   receiver answers 503 with `Retry-After`, or `UNAVAILABLE` with `RetryInfo`), while taking and
 *   acknowledging go on. An acknowledgement whose delete fails is remembered in memory: the entry
 *   is not handed out again by this process, its bytes stay counted (they are still on disk), and
 *   the delete is retried every `fullProbeMs` and at close. The queue leaves full mode when those
 *   deletes went through and the volume has room again (its reserve written back), or, when the
 *   queue's own data filled the volume, once half of what it held then is deleted: it then
 *   accepts up to three quarters of that (the database file keeps its size, so that much fits
 *   inside it) until the reserve can be written again. An entry is sent again after a restart only
 *   when the process stops before space returned.
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
import { KV_MAX_COMMIT_BYTES } from "../storage/limits.ts";
import { type ByteBudget, isDiskFull, type StorageVolume } from "../storage/volume.ts";
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
import {
  JOURNAL_SEGMENT_BYTES,
  type JournalRecord,
  type JournalSegment,
  openJournal,
  type QueueJournal,
} from "./_queue_journal.ts";
import { Waiters } from "./_queue_waiters.ts";
import { droppedCounter } from "./memory_queue.ts";
import { type QueueEntry, queueFullError, type SendingQueue, type WhenFull } from "./queue.ts";

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
  /**
   * A byte bound shared with other queues of the same database (the default bound derived from
   * the volume's free space), applied besides `maxBytes`.
   */
  sharedBytes?: ByteBudget;
  /** The delay a refusal in full mode suggests, in milliseconds. @default 2000 */
  fullRetryAfterMs?: number;
  /** How often full mode retries deletes and checks the volume, in milliseconds. @default 1000 */
  fullProbeMs?: number;
  /**
   * With a journal: how long an item waits before it is folded into Deno KV, in milliseconds.
   * @default JOURNAL_FOLD_DELAY_MS
   */
  foldDelayMs?: number;
  /**
   * With a journal: journaled bytes waiting for their fold past which offers are refused.
   * @default JOURNAL_FOLD_MAX_BYTES
   */
  foldMaxBytes?: number;
}

/** The default of {@linkcode PersistentQueueOptions.fullRetryAfterMs}. */
export const DEFAULT_FULL_RETRY_AFTER_MS = 2000;
/** The default of {@linkcode PersistentQueueOptions.fullProbeMs}. */
export const DEFAULT_FULL_PROBE_MS = 1000;

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

/** A delete that failed, retried until it goes through. */
interface Undeleted {
  /** The item's chunk count, or `undefined` to delete whatever is under its chunk prefix. */
  readonly chunks: number | undefined;
  /** Whether the header is deleted too (not for the leftovers of a failed write). */
  readonly withHeader: boolean;
  /** Stored bytes still counted in `#bytes` until the delete succeeds. */
  readonly stored: number;
}

/** Client info larger than this (as JSON) is not stored with an item; metadata goes first. */
const MAX_CLIENT_JSON = 16 * 1024;

interface Held<S extends Signal> {
  readonly seq: number;
  /**
   * When it was offered (`Date.now()` ms, kept in its header); for an entry written without one,
   * when this start found it, a lower bound of its age.
   */
  readonly at: number;
  /** Its index entry; a journaled item's changes once it is folded (compressed) into Deno KV. */
  header: QueueHeader;
  taken: boolean;
  /** The payload, while also kept in memory, and its length. */
  memory?: { readonly payload: Payload<S>; readonly bytes: number } | undefined;
  /** For a journaled item: its way into Deno KV. */
  journaled?: Unfolded | undefined;
}

/**
 * A journaled item on its way into Deno KV: `waiting` for its fold, in a fold commit (`folding`),
 * `folded`, or `acked` before its fold (then it is never written to Deno KV).
 */
interface Unfolded {
  /** As journaled: the payload as it is (compressed only when folded). */
  readonly record: JournalRecord;
  /** Its stored form in Deno KV, made when it is folded. */
  kv?: { readonly header: QueueHeader; readonly bytes: Uint8Array } | undefined;
  /** Called with `kv.header` once folded. */
  onFolded?: ((header: QueueHeader) => void) | undefined;
  /** Set once the journal write succeeded. */
  segment: JournalSegment | undefined;
  /** When it was journaled (`performance.now()`). */
  readonly at: number;
  state: "waiting" | "folding" | "folded" | "acked";
  /** Settles once its fold commit (or the commit skipping it) succeeded; rejects at close. */
  readonly done: PromiseWithResolvers<void>;
}

/** One journal item as a fold commit takes it: `skip` when acknowledged (only the watermark). */
interface FoldItem {
  readonly seq: number;
  readonly header: QueueHeader;
  readonly bytes: Uint8Array;
  readonly skip: boolean;
}

/**
 * How long a journaled item waits before it is folded into Deno KV: an item acknowledged sooner
 * (the usual case while the backend keeps up, and under a closed-loop load the queue's backlog
 * lives 1–2 s) is never compressed nor written there. It bounds how long an acknowledged item is
 * only in the page cache (lost on a power loss, not on `kill -9`); the Collector's `file_storage`
 * without `fsync` leaves that to the kernel's writeback, about 30 s.
 */
export const JOURNAL_FOLD_DELAY_MS = 5000;

/**
 * Payloads up to this size go through the journal as they are (compressed when folded); larger
 * ones are compressed and committed to Deno KV directly, synced, as with `fsync: true`.
 */
export const JOURNAL_MAX_ITEM_BYTES = 640 * 1024;

/** With a journal, the most encoded bytes merged into one offer ({@linkcode SendingQueue}). */
export const JOURNAL_MERGE_BYTES = 256 * 1024;

/**
 * Journaled bytes waiting for their fold (held in memory meanwhile) past which the oldest are
 * folded at once, down to half of it (and past twice which new offers are refused).
 */
export const JOURNAL_FOLD_EARLY_BYTES = 32 * 1024 * 1024;

/**
 * Journaled bytes waiting for their fold (in memory) past which new offers are refused: the fold
 * starts early at {@linkcode JOURNAL_FOLD_EARLY_BYTES}, and when it still falls behind (a disk or
 * a CPU slower than the offers) the backlog stops growing here instead of in memory.
 */
export const JOURNAL_FOLD_MAX_BYTES = 48 * 1024 * 1024;

/** The smallest journal segment size (see {@linkcode journalSegmentBytes}). */
const MIN_SEGMENT_BYTES = 64 * 1024;

/**
 * The journal's segment size for a queue whose byte bound is `bound`: at most an eighth of it, as
 * the segments count against the bound (a segment is deleted only once nothing in it waits).
 */
function journalSegmentBytes(bound: number): number {
  return Math.max(MIN_SEGMENT_BYTES, Math.min(JOURNAL_SEGMENT_BYTES, Math.floor(bound / 8)));
}

/**
 * The most milliseconds the fold compresses without yielding to the event loop: a fold of a
 * backlog compresses hundreds of requests (about 0.3 ms per 41 KiB), which in one go held every
 * request arriving meanwhile.
 */
const FOLD_SLICE_MS = 2;

/** The key of the highest sequence number folded from the journal (set in every fold commit). */
const WATERMARK_KEY: Deno.KvKey = ["w"];

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
  readonly #volume: StorageVolume | undefined;
  readonly #shared: ByteBudget | undefined;
  readonly #retryAfterMs: number;
  readonly #probeMs: number;
  /** True from a write failing with the disk full until the queue may write again. */
  #full = false;
  /** Stored bytes held when full mode began. */
  #bytesAtFull = 0;
  /** A bound learned from filling the volume, until its reserve is back. */
  #learnedMax = Infinity;
  /** Deletes that failed (disk full), by sequence number. */
  readonly #undeleted = new Map<number, Undeleted>();
  #retrying: Promise<void> | undefined;
  #probeTimer: ReturnType<typeof setTimeout> | undefined;
  /** True once close gave this queue's bytes back to the shared budget. */
  #detached = false;
  /** The write-ahead journal, when the storage offers one (`fsync: false`). */
  #journal: QueueJournal | undefined;
  /** Journaled items not in Deno KV yet, in sequence order (journal order). */
  #unfolded: Unfolded[] = [];
  /** Stored bytes of `#unfolded`. */
  #unfoldedBytes = 0;
  #folding = false;
  /** True while unfolded bytes went past {@linkcode JOURNAL_FOLD_EARLY_BYTES} and are folded down. */
  #draining = false;
  #foldTimer: ReturnType<typeof setTimeout> | undefined;
  /** True while `#foldTimer` waits to retry a failed fold (not for the next item's age). */
  #foldRetrying = false;
  readonly #foldDelayMs: number;
  readonly #foldMaxBytes: number;

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
    this.#retryAfterMs = options.fullRetryAfterMs ?? DEFAULT_FULL_RETRY_AFTER_MS;
    this.#probeMs = options.fullProbeMs ?? DEFAULT_FULL_PROBE_MS;
    this.#foldDelayMs = options.foldDelayMs ?? JOURNAL_FOLD_DELAY_MS;
    this.#foldMaxBytes = options.foldMaxBytes ?? JOURNAL_FOLD_MAX_BYTES;
    this.#volume = client.volume;
    this.#shared = options.sharedBytes;
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

  /**
   * Held items are kept in the order they became held: recovered ones by sequence, offered ones
   * as their writes completed (which may be a commit's time out of offer order), so the first is
   * the oldest within that margin.
   */
  get oldestOfferedAt(): number | undefined {
    for (const held of this.#held.values()) return held.at;
    return undefined;
  }

  /**
   * With a journal, offers are cheap and concurrent ones share one write anyway, while a merged
   * entry costs its compression on the request path: merge little. Without one, every offer is a
   * synced commit: merge up to the coalescer's default.
   */
  get offerMergeBytes(): number | undefined {
    return this.#journal === undefined ? undefined : JOURNAL_MERGE_BYTES;
  }

  // ---- start ----

  /** Cleans up interrupted operations and loads the index. */
  async recover(): Promise<void> {
    let maxSeq = await this.#replayJournal();
    const markers: Array<[number, unknown]> = [];
    for await (const { key, value } of this.#client.list(["p"])) {
      const seq = key[1];
      if (typeof seq === "number") {
        markers.push([seq, value]);
        maxSeq = Math.max(maxSeq, seq);
      }
    }
    const corrupt: Array<[number, string]> = [];
    const foundAt = Date.now();
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
      this.#held.set(seq, { seq, at: header.at ?? foundAt, header, taken: false });
      this.#ready.push(seq);
      this.#size++;
      this.#addBytes(storedBytes(header));
    }
    for (const [seq, value] of markers) {
      if (this.#held.has(seq)) {
        // Cannot happen by the protocol (the header commit deletes the marker); trust the header.
        await this.#cleanUp(seq, () => this.#client.delete(markerKey(seq)), undefined);
        continue;
      }
      const chunks = markerChunks(value);
      const undeleted = { chunks, withHeader: false, stored: 0 };
      if (await this.#cleanUp(seq, () => this.#removeChunks(seq, chunks, false), undeleted)) {
        this.#logger.info("Removed the chunks of an item whose write or delete was interrupted", {
          seq,
        });
      }
    }
    for (const [seq, problem] of corrupt) {
      this.#reportCorrupt(seq, problem, undefined);
      const undeleted = { chunks: undefined, withHeader: true, stored: 0 };
      await this.#cleanUp(seq, () => this.#removeChunks(seq, undefined, true), undeleted);
    }
    this.#nextSeq = maxSeq + 1;
    this.#recovered = this.#held.size;
    const volume = this.#volume;
    if (volume !== undefined && volume.reserveBytes > 0 && !volume.reserveHeld) {
      this.#scheduleProbe(); // writes the reserve once there is room
    }
    if (this.#recovered > 0) {
      this.#logger.info("Resuming the persistent sending queue", {
        items: this.#recovered,
        bytes: this.#bytes,
      });
    }
  }

  /**
   * Opens the journal (when the storage offers one) and commits to Deno KV what it holds beyond
   * the watermark: items acknowledged but not folded before a crash. Resolves to the highest
   * sequence number used (the watermark), -1 when none.
   */
  async #replayJournal(): Promise<number> {
    const stored = await this.#client.get(WATERMARK_KEY);
    let watermark = typeof stored === "number" && Number.isSafeInteger(stored) ? stored : -1;
    const location = this.#client.journal;
    if (location === undefined) return watermark;
    const { journal, contents } = await openJournal(location, this.#logger, {
      maxSegmentBytes: journalSegmentBytes(this.#bound()),
      onBytes: (delta) => this.#addBytes(delta),
    });
    this.#journal = journal;
    const replay = contents.records
      .filter((r) => r.seq > watermark && !contents.acks.has(r.seq))
      .map((r) => ({ ...r, skip: false }));
    if (replay.length > 0) {
      this.#logger.info("Moving what the queue journal held into the queue's database", {
        entries: replay.length,
      });
    }
    for (let at = 0; at < replay.length;) {
      const n = this.#foldable(replay.length - at, (i) => replay[at + i]!);
      await this.#commitOne(this.#foldMutations(replay.slice(at, at + n)));
      at += n;
      watermark = replay[at - 1]!.seq;
    }
    await journal.discardRecovered();
    return watermark;
  }

  /** The mutations that store journaled items and move the watermark to the last of them. */
  #foldMutations(items: readonly FoldItem[]): Mutation[] {
    const mutations: Mutation[] = [];
    for (const { seq, header, bytes, skip } of items) {
      if (!skip) mutations.push(...this.#itemMutations(seq, header, bytes));
    }
    mutations.push({ key: WATERMARK_KEY, value: items.at(-1)!.seq, valueBytes: 16 });
    return mutations;
  }

  /** How many of the first `count` items fit one fold commit (at least one). */
  #foldable(count: number, item: (i: number) => FoldItem): number {
    const budget = this.#group.budget();
    budget.add([{ key: WATERMARK_KEY, value: 0, valueBytes: 16 }]);
    let n = 0;
    while (n < count) {
      const { seq, header, bytes, skip } = item(n);
      if (!skip) {
        const next = this.#itemMutations(seq, header, bytes);
        if (n > 0 && !budget.fits(next)) break;
        budget.add(next);
      }
      n++;
    }
    return n;
  }

  /** An item's chunks and header, as one commit's mutations. */
  #itemMutations(seq: number, header: QueueHeader, bytes: Uint8Array): Mutation[] {
    const mutations: Mutation[] = splitChunks(bytes).map((chunk, n) => ({
      key: chunkKey(seq, n),
      value: chunk,
      valueBytes: chunk.length,
    }));
    mutations.push({ key: headerKey(seq), value: header, valueBytes: headerBytes(header) });
    return mutations;
  }

  /**
   * Runs a delete of the start's clean-up; on a full disk, leaves it to be retried (as `undeleted`)
   * instead of failing the start. Resolves to whether it ran.
   */
  async #cleanUp(
    seq: number,
    remove: () => Promise<void>,
    undeleted: Undeleted | undefined,
  ): Promise<boolean> {
    try {
      await remove();
      return true;
    } catch (error) {
      if (!isDiskFull(error)) throw error;
      this.#enterFull(error);
      if (undeleted !== undefined) this.#undeleted.set(seq, undeleted);
      return false;
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
    if (this.#size >= this.capacity) return false;
    const under = this.#bytes + bytes <= Math.min(this.#maxBytes, this.#learnedMax) &&
      (this.#shared?.fits(bytes) ?? true);
    return under || this.#size === 0;
  }

  /** Counts stored bytes held (negative: released), here and in the shared budget. */
  #addBytes(bytes: number): void {
    this.#bytes += bytes;
    if (!this.#detached) this.#shared?.add(bytes);
  }

  #limitText(): string {
    const own = Math.min(this.#maxBytes, this.#learnedMax);
    const shared = this.#shared === undefined
      ? ""
      : `; ${this.#shared.used} of ${this.#shared.limit} bytes shared by the storage's queues`;
    return `${this.#size} of ${this.capacity} items, ${this.#bytes} of ${own} bytes${shared}`;
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
    this.#refuseWhileFull();
    // Pooled bytes go back to their pool once this offer settles (its caller releases them), while
    // the journal, the fold and the in-memory copy keep them longer: they keep a copy. (Parts are
    // joined into a new array anyway.)
    const pooled = payload.leased && payload.encodedParts?.length === 1;
    const encoded = payload.encodedProto;
    const raw = encoded === undefined
      ? this.#codec.encode(payload.read())
      : pooled
      ? encoded.slice()
      : encoded;
    // Journaled as it is: compressing costs as much CPU as the rest of an offer, and an item
    // acknowledged before its fold never needs it.
    const stored = this.#journal !== undefined && raw.length <= JOURNAL_MAX_ITEM_BYTES
      ? { bytes: raw }
      : await compressItem(raw);
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
      throw queueFullError(this.#limitText());
    }
    if (this.#closed) throw retryableError("Sending queue is closed");
    this.#refuseWhileFull();
    this.#refuseFoldBacklog(bytes.length);
    const seq = this.#nextSeq++;
    const [header, clientKept] = this.#header(payload, raw.length, stored);
    this.#size++;
    this.#addBytes(bytes.length);
    let journaled: Unfolded | undefined;
    try {
      journaled = (await this.#track(this.#journalOrWrite(seq, header, bytes))).journaled;
    } catch (error) {
      this.#size--;
      this.#addBytes(-bytes.length);
      this.#room.wakeOne();
      if (error instanceof ConsumerError) throw error;
      const full = isDiskFull(error);
      if (full) this.#enterFull(error);
      throw retryableError(`Cannot persist to the sending queue: ${errorMessage(error)}`, {
        cause: error,
        ...(full ? { retryAfterMs: this.#retryAfterMs } : {}),
      });
    }
    const held: Held<S> = { seq, at: header.at ?? Date.now(), header, taken: false, journaled };
    if (journaled !== undefined) {
      journaled.onFolded = (folded) => {
        // In Deno KV now: read from there, and let go of the journaled bytes (memory).
        held.header = folded;
        held.journaled = undefined;
      };
    }
    if (this.#memoryBytes + raw.length <= this.#memoryLimit) {
      // What a read from disk would give: the offered payload when it is the stored bytes and
      // client (its item count is then not counted again), otherwise one made from them. Not a
      // leased payload (a merge of pooled requests joined into `raw`): its leases go with this
      // offer, so a later merge of it would take references on buffers already given back.
      const same = clientKept && !payload.leased && payload.encodedProto === raw;
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
      at: Date.now(),
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

  /**
   * Writes an item to the journal when there is one and the item fits one fold commit (resolving,
   * once written, with its way into Deno KV), otherwise commits it to Deno KV (resolving once
   * committed).
   */
  async #journalOrWrite(
    seq: number,
    header: QueueHeader,
    bytes: Uint8Array,
  ): Promise<{ journaled: Unfolded | undefined }> {
    const journal = this.#journal;
    const mutations = this.#itemMutations(seq, header, bytes);
    mutations.push({ key: WATERMARK_KEY, value: seq, valueBytes: 16 });
    if (journal === undefined || !this.#group.fits(mutations)) {
      await this.#write(seq, header, bytes);
      return { journaled: undefined };
    }
    const entry: Unfolded = {
      record: { seq, header, bytes },
      segment: undefined,
      at: performance.now(),
      state: "waiting",
      done: Promise.withResolvers<void>(),
    };
    entry.done.promise.catch(() => {}); // a fold cut short by close leaves the item journaled
    this.#unfolded.push(entry);
    this.#unfoldedBytes += bytes.length;
    try {
      entry.segment = await journal.append(entry.record);
    } catch (error) {
      this.#unfolded.splice(this.#unfolded.indexOf(entry), 1);
      this.#unfoldedBytes -= bytes.length;
      throw error;
    }
    // The journal counts what its record takes on disk now; the offer's reservation goes.
    this.#addBytes(-bytes.length);
    this.#kickFold();
    return { journaled: entry };
  }

  /**
   * True when the fold should not wait for items to age: closing, or too much waits — past
   * {@linkcode JOURNAL_FOLD_EARLY_BYTES}, or past 1/64 of the queue's byte bound (unfolded
   * items count their uncompressed size, so a full queue folds early to learn how much it holds).
   */
  #foldNow(): boolean {
    if (this.#closed) return true;
    const limit = this.#foldEarlyBytes();
    if (this.#unfoldedBytes > limit) this.#draining = true;
    else if (this.#unfoldedBytes <= limit / 2) this.#draining = false;
    return this.#draining;
  }

  /**
   * Journaled items wait for their fold in memory; when the fold falls behind, past
   * `foldMaxBytes` ({@linkcode JOURNAL_FOLD_MAX_BYTES}) new data is refused (retryable) rather than held. An item
   * journaled into an empty backlog always fits.
   */
  #refuseFoldBacklog(bytes: number): void {
    if (this.#journal === undefined || this.#unfoldedBytes === 0) return;
    const max = this.#foldMaxBytes;
    if (this.#unfoldedBytes + bytes > max) {
      throw queueFullError(
        `${this.#unfoldedBytes} journaled bytes wait to be moved into the database, over ${max}`,
      );
    }
  }

  /** Unfolded bytes past which the oldest are folded without waiting (down to half of it). */
  #foldEarlyBytes(): number {
    return Math.min(JOURNAL_FOLD_EARLY_BYTES, this.#bound() / 64);
  }

  /** The queue's byte bound: its own, or the shared budget's, whichever is lower. */
  #bound(): number {
    return Math.min(this.#maxBytes, this.#learnedMax, this.#shared?.limit ?? Infinity);
  }

  /**
   * Starts folding journaled items into Deno KV unless a fold runs or waits; with `headAcked` (the
   * oldest was just acknowledged) a fold waiting for its age starts now, to pass the acknowledged
   * ones and let their journal segments go.
   */
  #kickFold(headAcked = false): void {
    if (this.#folding) return;
    if (this.#foldTimer !== undefined) {
      if (this.#foldRetrying || (!headAcked && !this.#foldNow())) return;
      clearTimeout(this.#foldTimer);
      this.#foldTimer = undefined;
    }
    if (this.#unfolded[0]?.segment === undefined) return;
    this.#folding = true;
    void this.#track(this.#foldLoop());
  }

  #scheduleFold(delayMs: number, retry: boolean): void {
    const timer = setTimeout(() => {
      this.#foldTimer = undefined;
      this.#foldRetrying = false;
      this.#kickFold();
    }, Math.max(1, delayMs));
    Deno.unrefTimer(timer);
    this.#foldTimer = timer;
    this.#foldRetrying = retry;
  }

  /**
   * Folds journaled items into Deno KV in order, those older than the fold delay (all of them when
   * closing or past {@linkcode JOURNAL_FOLD_EARLY_BYTES}), as many per commit as fit, each commit
   * moving the watermark; acknowledged ones are not written (a run of only those needs no commit). A failed commit is retried after
   * `fullProbeMs` (the items stay journaled meanwhile: acknowledged, and replayed at the next start
   * if it never succeeds).
   */
  async #foldLoop(): Promise<void> {
    const journal = this.#journal!;
    const list = this.#unfolded;
    try {
      while (true) {
        const now = performance.now();
        const closing = this.#closed;
        // Past the memory bound: the oldest are folded until half of it is left.
        const excess = !closing && this.#foldNow()
          ? this.#unfoldedBytes - this.#foldEarlyBytes() / 2
          : 0;
        let ready = 0;
        let counted = 0;
        while (ready < list.length) {
          const entry = list[ready]!;
          if (entry.segment === undefined) break;
          const due = closing || entry.state === "acked" || counted < excess ||
            now - entry.at >= this.#foldDelayMs;
          if (!due) break;
          counted += entry.record.bytes.length;
          ready++;
        }
        if (ready === 0) {
          const next = list[0];
          if (next?.segment !== undefined && !this.#closed) {
            this.#scheduleFold(this.#foldDelayMs - (now - next.at), false);
          }
          return;
        }
        ready = await this.#compressForFold(list, ready);
        const items = (i: number): FoldItem => {
          const entry = list[i]!;
          const form = entry.kv ?? entry.record;
          return {
            seq: entry.record.seq,
            header: form.header,
            bytes: form.bytes,
            skip: entry.state === "acked",
          };
        };
        const n = this.#foldable(ready, items);
        const batch = list.slice(0, n);
        // Only acknowledged items: nothing to write (their acknowledgements are journaled, and a
        // later fold commit moves the watermark past them), so no synced commit for them.
        const write = batch.some((entry) => entry.state !== "acked");
        const mutations = write ? this.#foldMutations(batch.map((_, i) => items(i))) : [];
        for (const entry of batch) if (entry.state === "waiting") entry.state = "folding";
        try {
          if (write) await this.#group.submit(mutations);
        } catch (error) {
          for (const entry of batch) {
            if (entry.state !== "folding") continue;
            entry.state = "waiting";
            // No retry after close: an acknowledgement waiting for this fold gives up.
            if (this.#closed) entry.done.reject(new Error("The sending queue closed"));
          }
          if (isDiskFull(error)) this.#enterFull(error);
          else {
            this.#logger.warn("Cannot move journaled queue entries into the database; retrying", {
              entries: batch.length,
              error: errorMessage(error),
            });
          }
          if (!this.#closed) this.#scheduleFold(this.#probeMs, true);
          return;
        }
        list.splice(0, n);
        for (const entry of batch) {
          this.#unfoldedBytes -= entry.record.bytes.length;
          journal.folded(entry.segment!);
          if (entry.state === "folding" && entry.kv !== undefined) {
            entry.state = "folded";
            // Deno KV stores it now, besides the journal until its segment is deleted.
            this.#addBytes(storedBytes(entry.kv.header));
            entry.onFolded?.(entry.kv.header);
          }
          entry.done.resolve();
        }
      }
    } finally {
      this.#folding = false;
    }
  }

  /**
   * Makes the Deno KV form of the first of `ready` entries, about one commit's worth, yielding to
   * the event loop every {@linkcode FOLD_SLICE_MS} of compression so that requests arriving
   * meanwhile are answered; resolves to how many entries have their form (at least one).
   */
  async #compressForFold(list: readonly Unfolded[], ready: number): Promise<number> {
    let slice = performance.now();
    let stored = 0;
    for (let i = 0; i < ready; i++) {
      const entry = list[i]!;
      if (entry.state === "acked") continue;
      if (entry.kv === undefined) {
        if (performance.now() - slice >= FOLD_SLICE_MS) {
          await new Promise((resolve) => setTimeout(resolve, 0));
          slice = performance.now();
        }
        entry.kv = await this.#kvForm(entry);
      }
      stored += entry.kv.bytes.length;
      if (stored >= KV_MAX_COMMIT_BYTES) return i + 1;
    }
    return ready;
  }

  /** A journaled item's form in Deno KV: compressed when that pays. */
  async #kvForm(entry: Unfolded): Promise<{ header: QueueHeader; bytes: Uint8Array }> {
    const { header, bytes } = entry.record;
    if (header.codec !== undefined) return { header, bytes }; // journaled compressed already
    const stored = await compressItem(bytes);
    const { codec: _none, ...rest } = header;
    return {
      header: {
        ...rest,
        stored: stored.bytes.length,
        chunks: chunkCount(stored.bytes.length),
        ...(stored.codec === undefined ? {} : { codec: stored.codec }),
      },
      bytes: stored.bytes,
    };
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
        // What is left behind is removed now, or retried, or at the next start through the marker.
        try {
          await this.#removeChunks(seq, header.chunks, false);
        } catch (cleanup) {
          if (isDiskFull(cleanup)) {
            this.#undeleted.set(seq, { chunks: header.chunks, withHeader: false, stored: 0 });
          }
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
    const journaled = held.journaled;
    // Not in Deno KV yet (or being written there): its stored bytes are still at hand.
    const stored = journaled !== undefined && journaled.state !== "folded"
      ? journaled.record.bytes
      : await this.#readStored(held);
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
   * Deletes a held item (already out of `#held`) from disk, then frees its room. A delete that
   * fails with the disk full is remembered and retried (its bytes stay counted until then); any
   * other failure is logged and the room freed anyway: the item is delivered again after a restart.
   */
  async #remove(held: Held<S>, why: "ack" | "drop" | "corrupt"): Promise<void> {
    const seq = held.seq;
    this.#forget(held);
    // A corrupt item may have chunks its header does not count: remove whatever is there.
    let chunks = why === "corrupt" ? undefined : held.header.chunks;
    let freed = storedBytes(held.header);
    try {
      const journaled = held.journaled;
      if (journaled?.state === "waiting") {
        // Not in Deno KV: never written there. The journal notes it, so a restart before the
        // next fold commit does not send it again. Its bytes are the journal's, freed with its
        // segment.
        freed = 0;
        journaled.state = "acked";
        if (this.#unfolded[0] === journaled) this.#kickFold(true); // its segment may go now
        await this.#journal!.appendAcks([seq]).catch((error) => {
          this.#logger.debug("Cannot note an acknowledgement in the queue journal", {
            seq,
            error: errorMessage(error),
          });
        });
        return;
      }
      // Being folded: deleted once in Deno KV. When close cut its fold short, it stays journaled
      // and is delivered again after a restart.
      if (journaled !== undefined) {
        await journaled.done.promise;
        // Folded: compressed into Deno KV, its header and stored size changed.
        chunks = why === "corrupt" ? undefined : held.header.chunks;
        freed = storedBytes(held.header);
      }
      await this.#removeChunks(seq, chunks, true);
    } catch (error) {
      if (isDiskFull(error)) {
        this.#undeleted.set(seq, { chunks, withHeader: true, stored: freed });
        freed = 0;
        this.#enterFull(error);
      } else {
        this.#logger.warn(
          "Cannot delete a persistent queue entry; it will be sent again after a restart",
          { seq, reason: why, error: errorMessage(error) },
        );
      }
    } finally {
      this.#size--;
      this.#addBytes(-freed);
      this.#room.wakeOne();
    }
  }

  // ---- a full volume ----

  /** Throws the refusal of full mode while this queue or its volume is full. */
  #refuseWhileFull(): void {
    if (!this.#full && this.#volume?.full !== true) return;
    this.#scheduleProbe();
    throw retryableError(
      "Cannot persist to the sending queue: the storage volume is full, retry later",
      { retryAfterMs: this.#retryAfterMs },
    );
  }

  /** Enters full mode (once per episode) and releases the volume's reserve. */
  #enterFull(error: unknown): void {
    if (!this.#full) {
      this.#full = true;
      this.#bytesAtFull = this.#bytes;
      this.#logger.warn(
        "The storage volume is full: refusing new data, still delivering and deleting what is " +
          "queued, until there is room",
        { items: this.#size, bytes: this.#bytes, error: errorMessage(error) },
      );
    }
    this.#volume?.reportFull();
    this.#scheduleProbe();
  }

  #scheduleProbe(): void {
    if (this.#probeTimer !== undefined || this.#closed) return;
    const timer = setTimeout(() => {
      this.#probeTimer = undefined;
      this.#track(this.#probe()).catch((error) => {
        this.#logger.warn("Cannot check the storage volume", { error: errorMessage(error) });
        this.#scheduleProbe();
      });
    }, this.#probeMs);
    Deno.unrefTimer(timer);
    this.#probeTimer = timer;
  }

  /** Retries failed deletes, checks the volume, and leaves full mode when there is room. */
  async #probe(): Promise<void> {
    if (this.#closed) return;
    await this.#retryDeletes();
    const volume = this.#volume;
    const room = volume === undefined ? true : await volume.probe();
    if (this.#closed) return;
    if (this.#learnedMax !== Infinity && volume?.reserveHeld === true) {
      this.#learnedMax = Infinity;
    }
    if (this.#full && this.#undeleted.size === 0) {
      if (room) {
        this.#leaveFull("the storage volume has room again");
      } else if (this.#bytesAtFull > 0 && this.#bytes <= this.#bytesAtFull / 2) {
        // The queue's own data filled the volume; the database file has room inside it now.
        this.#learnedMax = Math.floor(this.#bytesAtFull * 0.75);
        volume?.resume();
        this.#leaveFull("half of what the queue held when the volume filled is deleted");
      }
    }
    const waiting = this.#full || this.#undeleted.size > 0 || volume?.full === true ||
      (volume !== undefined && volume.reserveBytes > 0 && !volume.reserveHeld);
    if (waiting) this.#scheduleProbe();
  }

  #leaveFull(why: string): void {
    this.#full = false;
    this.#logger.info(`Accepting data again: ${why}`, {
      items: this.#size,
      bytes: this.#bytes,
      ...(this.#learnedMax === Infinity ? {} : { max_bytes: this.#learnedMax }),
    });
    this.#room.wakeAll();
  }

  /** Retries the deletes that failed, in order, until one fails again. */
  #retryDeletes(): Promise<void> {
    // `.finally` runs after the assignment even when there is nothing to retry.
    this.#retrying ??= this.#retryEach().finally(() => this.#retrying = undefined);
    return this.#retrying;
  }

  async #retryEach(): Promise<void> {
    for (const [seq, undeleted] of [...this.#undeleted]) {
      try {
        await this.#removeChunks(seq, undeleted.chunks, undeleted.withHeader);
      } catch (error) {
        if (isDiskFull(error)) this.#volume?.reportFull();
        return;
      }
      this.#undeleted.delete(seq);
      this.#addBytes(-undeleted.stored);
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

  /**
   * Stops handing out entries and waits for writes and deletes in flight; data stays on disk.
   * Deletes that failed with the disk full are tried once more; what still cannot be deleted is
   * logged, and sent again after a restart.
   */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#probeTimer !== undefined) clearTimeout(this.#probeTimer);
    this.#probeTimer = undefined;
    if (this.#foldTimer !== undefined) {
      // Everything journaled is folded now; a fold waiting to retry gets one more attempt.
      clearTimeout(this.#foldTimer);
      this.#foldTimer = undefined;
      this.#foldRetrying = false;
    }
    this.#kickFold();
    this.#takers.wakeAll();
    this.#room.wakeAll();
    while (this.#inFlight.size > 0) {
      await Promise.allSettled([...this.#inFlight]);
    }
    // What could not be folded stays in the journal, for the next start.
    const left = this.#unfolded.splice(0);
    for (const entry of left) entry.done.reject(new Error("The sending queue closed"));
    if (left.length > 0) {
      this.#logger.warn(
        "Journaled queue entries are not in the database yet; moved at the next start",
        {
          entries: left.length,
        },
      );
    }
    await this.#journal?.close();
    if (this.#undeleted.size > 0) await this.#retryDeletes();
    if (this.#undeleted.size > 0) {
      this.#logger.warn(
        "Cannot delete acknowledged persistent queue entries: the storage volume is full; " +
          "they will be sent again after a restart",
        { entries: this.#undeleted.size },
      );
    }
    if (!this.#detached) {
      this.#detached = true;
      this.#shared?.add(-this.#bytes);
    }
  }
}
