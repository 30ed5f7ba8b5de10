/**
 * {@linkcode QueueJournal}: the persistent queue's write-ahead journal, an append-only file of
 * tfo's own in front of Deno KV. With the `file_storage` extension's `fsync: false` (the
 * Collector's default) an offered item is written (`write(2)`, no sync) to the journal and
 * acknowledged; the queue folds what is still queued after a short delay into Deno KV in the
 * background, in order (what was acknowledged sooner only moves the watermark, see
 * `persistent_queue.ts`), and a segment whose items are all folded is deleted.
 *
 * Why: every Deno KV commit is synced (SQLite in WAL mode with `synchronous` FULL: one `fsync` per
 * commit), and a sync on the disks tfo runs on takes tens of milliseconds at the 99th percentile
 * (bench/RESULTS.md, "Where the persistent queue's latency goes"). A write that reached the page
 * cache survives `kill -9` of the process (the kernel writes it out); it does not survive a power
 * loss or kernel crash before Deno KV's commit of it (or its delivery). That is the Collector's
 * contract for `file_storage` without `fsync`, and "accepted survives kill -9" stays.
 *
 * Segment files are `<name>.<n>.journal` in the journal directory, `n` increasing. A segment is
 * closed for writing at `maxSegmentBytes`, or as soon as nothing journaled waits for its fold any
 * more (then it is deleted at once, and the next append begins a new one): the journal's files hold
 * only what may still be needed, and {@linkcode QueueJournal.bytes} (what they take on disk) is
 * counted in the queue's byte bound. A record is
 * `magic (u32) | body length (u32) | CRC-32 of the body (u32) | body`, the body
 * `JSON length (u32) | {"seq", "header"} as JSON | stored bytes` for an item, or
 * `JSON length (u32) | {"acks": [seq, …]}` for items acknowledged before their fold, big-endian.
 * A record is written when it is appended, synchronously, and acknowledged only after its bytes
 * were written whole. Reading stops at the first record that is truncated or fails its CRC
 * (a write cut short by a crash, never acknowledged). A failed write is cut off again (truncate to
 * the last whole record), or, when that fails too, the segment is closed and a new one begun.
 *
 * @module
 */
import { join } from "node:path";
import { crc32 } from "node:zlib";
import type { JournalLocation } from "../storage/client.ts";
import type { Logger } from "../telemetry/logger.ts";
import { headerProblem, type QueueHeader } from "./_queue_codec.ts";

const MAGIC = 0x544a5231; // "TJR1"
const FRAME_BYTES = 12;

/** A segment past this size is closed and a new one begun (the default of `maxSegmentBytes`). */
export const JOURNAL_SEGMENT_BYTES = 8 * 1024 * 1024;

/** Options of {@linkcode openJournal}. */
export interface JournalOptions {
  /** Segment size past which a new segment begins. @default JOURNAL_SEGMENT_BYTES */
  readonly maxSegmentBytes?: number;
  /** Told every change of {@linkcode QueueJournal.bytes} (bytes written, segments deleted). */
  readonly onBytes?: (delta: number) => void;
}

/** One journaled item. */
export interface JournalRecord {
  readonly seq: number;
  readonly header: QueueHeader;
  /** The item's stored (possibly compressed) bytes. */
  readonly bytes: Uint8Array;
}

/** A segment file; `pending` counts its records not yet folded into Deno KV. */
export interface JournalSegment {
  readonly id: number;
  readonly path: string;
  pending: number;
}

interface OpenSegment extends JournalSegment {
  file: Deno.FsFile | undefined;
  /** Bytes of whole records written. */
  size: number;
}

interface Append {
  /** The record's bytes, in pieces written one after the other (the payload is not copied). */
  readonly parts: readonly Uint8Array[];
  /** True for an item record (counted in its segment's `pending`), false for acknowledgements. */
  readonly item: boolean;
}

/** What a journal's segments hold. */
export interface JournalContents {
  /** Item records, in order. */
  readonly records: JournalRecord[];
  /** Sequence numbers acknowledged before they were folded into Deno KV. */
  readonly acks: Set<number>;
}

/** Encodes one item record. */
export function encodeRecord(record: JournalRecord): Uint8Array {
  return joinParts(recordParts(record));
}

/** Encodes a record of acknowledged sequence numbers. */
export function encodeAcks(seqs: readonly number[]): Uint8Array {
  return joinParts(frameParts({ acks: seqs }, new Uint8Array(0)));
}

function recordParts(record: JournalRecord): Uint8Array[] {
  return frameParts({ seq: record.seq, header: record.header }, record.bytes);
}

/** A frame as its head (frame fields, JSON length, JSON) and the payload, which is not copied. */
function frameParts(meta: unknown, bytes: Uint8Array): Uint8Array[] {
  const json = new TextEncoder().encode(JSON.stringify(meta));
  const head = new Uint8Array(FRAME_BYTES + 4 + json.length);
  const view = new DataView(head.buffer);
  view.setUint32(0, MAGIC);
  view.setUint32(4, 4 + json.length + bytes.length);
  view.setUint32(FRAME_BYTES, json.length);
  head.set(json, FRAME_BYTES + 4);
  view.setUint32(8, crc32(bytes, crc32(head.subarray(FRAME_BYTES))));
  return bytes.length === 0 ? [head] : [head, bytes];
}

function joinParts(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/**
 * The whole records at the start of `data` (items, and acknowledgements added to `acks`), and how
 * many bytes they take; stops at the first truncated, damaged or malformed one.
 */
export function decodeRecords(
  data: Uint8Array,
  acks: Set<number> = new Set(),
): { records: JournalRecord[]; bytes: number } {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const records: JournalRecord[] = [];
  let at = 0;
  while (at + FRAME_BYTES <= data.length) {
    if (view.getUint32(at) !== MAGIC) break;
    const bodyBytes = view.getUint32(at + 4);
    const end = at + FRAME_BYTES + bodyBytes;
    if (bodyBytes < 4 || end > data.length) break;
    const body = data.subarray(at + FRAME_BYTES, end);
    if (crc32(body) !== view.getUint32(at + 8)) break;
    const jsonBytes = view.getUint32(at + FRAME_BYTES);
    if (4 + jsonBytes > bodyBytes) break;
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder().decode(body.subarray(4, 4 + jsonBytes)));
    } catch {
      break;
    }
    const meta = (parsed ?? {}) as { seq?: unknown; header?: unknown; acks?: unknown };
    if (Array.isArray(meta.acks)) {
      if (!meta.acks.every((n) => Number.isSafeInteger(n) && n >= 0)) break;
      for (const n of meta.acks as number[]) acks.add(n);
      at = end;
      continue;
    }
    const { seq, header } = meta;
    if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 0) break;
    if (headerProblem(header) !== undefined) break;
    records.push({ seq, header: header as QueueHeader, bytes: body.slice(4 + jsonBytes) });
    at = end;
  }
  return { records, bytes: at };
}

/**
 * Opens the journal at `location`: reads what every existing segment holds (in order) and begins
 * a new segment for appends. The old segments stay until
 * {@linkcode QueueJournal.discardRecovered}, to be called once their records are in Deno KV.
 */
export async function openJournal(
  location: JournalLocation,
  logger: Logger,
  options: JournalOptions = {},
): Promise<{ journal: QueueJournal; contents: JournalContents }> {
  await Deno.mkdir(location.directory, { recursive: true });
  const pattern = new RegExp(
    `^${location.name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\.(\\d+)\\.journal$`,
  );
  const found: Array<{ id: number; path: string }> = [];
  for await (const entry of Deno.readDir(location.directory)) {
    const match = entry.isFile ? pattern.exec(entry.name) : null;
    if (match !== null) {
      found.push({ id: Number(match[1]), path: join(location.directory, entry.name) });
    }
  }
  found.sort((a, b) => a.id - b.id);
  const records: JournalRecord[] = [];
  const acks = new Set<number>();
  for (const { path } of found) {
    const data = await Deno.readFile(path);
    const read = decodeRecords(data, acks);
    if (read.bytes < data.length) {
      logger.info("Ignoring the unwritten end of a queue journal segment (a write cut short)", {
        path,
        bytes: data.length - read.bytes,
      });
    }
    records.push(...read.records);
  }
  const next = (found.at(-1)?.id ?? -1) + 1;
  const journal = new QueueJournal(location, next, found.map((f) => f.path), logger, options);
  return { journal, contents: { records, acks } };
}

/** The append side of a queue's journal; see the module documentation. */
export class QueueJournal {
  readonly #location: JournalLocation;
  readonly #logger: Logger;
  #recovered: string[];
  #nextId: number;
  #current: OpenSegment | undefined;
  /** Segments closed for writing and not deleted yet, in the order written. */
  readonly #retired = new Set<OpenSegment>();
  #closed = false;
  /** Bytes of the segments on disk, written since open (the recovered ones not included). */
  #bytes = 0;
  readonly #maxSegmentBytes: number;
  readonly #onBytes: ((delta: number) => void) | undefined;

  /** Use {@linkcode openJournal}. */
  constructor(
    location: JournalLocation,
    nextId: number,
    recovered: string[],
    logger: Logger,
    options: JournalOptions = {},
  ) {
    this.#location = location;
    this.#nextId = nextId;
    this.#recovered = recovered;
    this.#logger = logger;
    this.#maxSegmentBytes = options.maxSegmentBytes ?? JOURNAL_SEGMENT_BYTES;
    this.#onBytes = options.onBytes;
  }

  /** What the journal's segments written since open take on disk, in bytes. */
  get bytes(): number {
    return this.#bytes;
  }

  #countBytes(delta: number): void {
    if (delta === 0) return;
    this.#bytes += delta;
    this.#onBytes?.(delta);
  }

  /** Deletes the segments found at open (their records are in Deno KV now). */
  async discardRecovered(): Promise<void> {
    const paths = this.#recovered;
    this.#recovered = [];
    for (const path of paths) await removeFile(path);
  }

  /**
   * Appends a record; resolves with its segment once written whole (in the page cache), rejects
   * when the write failed (nothing of it is then read back). Records are written in call order.
   */
  append(record: JournalRecord): Promise<JournalSegment> {
    if (this.#closed) return Promise.reject(new Error("The queue journal is closed"));
    return this.#push(recordParts(record), true);
  }

  /**
   * Appends a record of acknowledged items not yet folded (so that a restart before their fold
   * does not send them again); resolves once written.
   */
  async appendAcks(seqs: readonly number[]): Promise<void> {
    if (this.#closed) throw new Error("The queue journal is closed");
    await this.#push(frameParts({ acks: seqs }, new Uint8Array(0)), false);
  }

  /** Writes one record now (synchronously, see {@linkcode QueueJournal.#writeAll}). */
  #push(parts: readonly Uint8Array[], item: boolean): Promise<JournalSegment> {
    try {
      const segment = this.#segmentFor();
      this.#writeAll(segment, [{ parts, item }]);
      return Promise.resolve(segment);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Notes that one record of `segment` needs no journal any more (in Deno KV, or acknowledged
   * before its fold); deletes finished, closed segments, and closes (and deletes) the current one
   * when no record anywhere waits for its fold: its acknowledgement records then refer to nothing
   * left to replay.
   */
  folded(segment: JournalSegment): void {
    segment.pending--;
    this.#sweep();
    const current = this.#current;
    if (
      current !== undefined && current.pending === 0 && this.#retired.size === 0
    ) {
      this.#current = undefined;
      this.#retire(current);
    }
  }

  /**
   * Deletes closed segments whose records are all done, oldest first, up to the first that still
   * holds a record waiting for its fold: a later segment may hold the acknowledgements of that
   * one's items, so it stays as long as they may be replayed.
   */
  #sweep(): void {
    for (const segment of this.#retired) {
      if (segment.pending > 0) return;
      this.#retired.delete(segment);
      this.#delete(segment);
    }
  }

  /** Deletes a closed segment's file and stops counting its bytes. */
  #delete(segment: OpenSegment): void {
    this.#countBytes(-segment.size);
    segment.size = 0;
    void removeFile(segment.path).catch((error) => this.#warnRemove(segment.path, error));
  }

  /**
   * Stops appending and closes the current segment. Segments whose records are all folded are
   * deleted, oldest first up to the first that is not (see {@linkcode QueueJournal.#sweep}); the
   * others stay, to be read at the next start.
   */
  async close(): Promise<void> {
    this.#closed = true;
    const current = this.#current;
    this.#current = undefined;
    if (current !== undefined) this.#retire(current);
    for (const segment of [...this.#retired]) {
      if (segment.pending > 0) break;
      this.#retired.delete(segment);
      this.#countBytes(-segment.size);
      segment.size = 0;
      await removeFile(segment.path).catch((error) => this.#warnRemove(segment.path, error));
    }
  }

  /**
   * The segment to append to, a new one when there is none or it is full. Opened synchronously:
   * a new segment begins whenever the journal ran empty, on the request path, where a thread-pool
   * hop costs more than the `open(2)` itself (see {@linkcode QueueJournal.#writeAll}).
   */
  #segmentFor(): OpenSegment {
    const current = this.#current;
    if (current !== undefined && current.size < this.#maxSegmentBytes) return current;
    if (current !== undefined) this.#retire(current);
    this.#current = undefined;
    const id = this.#nextId++;
    const path = join(this.#location.directory, `${this.#location.name}.${id}.journal`);
    const file = Deno.openSync(path, { write: true, create: true, truncate: true });
    const segment: OpenSegment = { id, path, file, size: 0, pending: 0 };
    this.#current = segment;
    return segment;
  }

  /**
   * Writes the batch's records at the segment's end, piece by piece (a payload is never copied:
   * the CRC is computed over the pieces). Synchronously: a write into the
   * page cache takes microseconds, while the thread-pool hop of an asynchronous write took tens to
   * hundreds of milliseconds on a machine with a load of 20 (measured with bench/queue_profile.ts
   * and in a tfo process at 200 requests/s), and every acknowledgement waits for it.
   */
  #writeAll(segment: OpenSegment, batch: readonly Append[]): void {
    let total = 0;
    const file = segment.file!;
    try {
      for (const append of batch) {
        for (const part of append.parts) {
          let written = 0;
          while (written < part.length) written += file.writeSync(part.subarray(written));
          total += part.length;
        }
      }
    } catch (error) {
      // Cut the partial write off so later records follow whole ones; else start a new segment.
      try {
        file.truncateSync(segment.size);
        file.seekSync(segment.size, Deno.SeekMode.Start);
      } catch {
        this.#retire(segment);
        if (this.#current === segment) this.#current = undefined;
      }
      throw error;
    }
    segment.size += total;
    this.#countBytes(total);
    for (const append of batch) if (append.item) segment.pending++;
  }

  /** Closes a segment for writing; deletes it at once when nothing in it or before it waits. */
  #retire(segment: OpenSegment): void {
    try {
      segment.file?.close();
    } catch {
      // already closed
    }
    segment.file = undefined;
    this.#retired.add(segment);
    this.#sweep();
  }

  #warnRemove(path: string, error: unknown): void {
    this.#logger.warn("Cannot delete a folded queue journal segment", {
      path,
      error: error instanceof Error ? error.message : String(error),
    });
  }
}

async function removeFile(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}
