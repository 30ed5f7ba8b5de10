/**
 * The persistent queue's stored records: the index entry (header) of an item, its chunks, and the
 * marker of a multi-commit write or delete in progress. Everything here is about layout; the
 * payload's protobuf bytes are stored as they are or zstd-compressed (see `_queue_compress.ts`) and
 * never decoded here.
 *
 * Key layout, relative to the storage client's prefix (`seq` a non-negative integer, FIFO order):
 *
 * | key | value |
 * | --- | --- |
 * | `["i", seq]` | {@linkcode QueueHeader}: the item is visible (accepted) exactly while this exists |
 * | `["c", seq, n]` | chunk `n` of the item's stored bytes, a `Uint8Array` of at most 64 KiB |
 * | `["p", seq]` | {@linkcode PendingMarker}: chunks of `seq` may exist without a header |
 *
 * Layout versions: 1 stores the payload as it is (`bytes` is both its length and the stored
 * length); 2 adds `stored` (the stored length, which the chunks hold) and `codec` (`"zstd"` when
 * compressed, absent when stored as it is). Version 1 entries are still read.
 *
 * @module
 */
import { type ClientInfo, NO_CLIENT } from "../pdata/payload.ts";
import { KV_MAX_VALUE_BYTES } from "../storage/limits.ts";

/** The bytes of one chunk (the largest KV value). */
export const CHUNK_BYTES = KV_MAX_VALUE_BYTES;

/** The layout version written in every header. */
export const HEADER_VERSION = 2;

/** The client info of a queued payload, as stored. */
export interface StoredClient {
  readonly metadata?: ReadonlyArray<readonly [string, readonly string[]]>;
  readonly auth?: ReadonlyArray<readonly [string, string]>;
  readonly address?: string;
}

/** An item's index entry. */
export interface QueueHeader {
  readonly v: number;
  /** The payload's encoded (protobuf) length. */
  readonly bytes: number;
  /** Its stored length (version 2; version 1 stores `bytes`). */
  readonly stored?: number;
  /** How the stored bytes are compressed (version 2); absent when stored as they are. */
  readonly codec?: "zstd";
  /** Its chunk count: `max(1, ceil(stored / CHUNK_BYTES))`. */
  readonly chunks: number;
  /** Its telemetry items (spans, data points, log records), for drop and corruption counts. */
  readonly items: number;
  /** Who sent it, when known. */
  readonly client?: StoredClient;
  /**
   * When it was offered, `Date.now()` ms, for the age of the oldest queued item; absent in
   * entries written before tfo recorded it (any layout version may carry it).
   */
  readonly at?: number;
}

/** Marks a write or delete that spans several commits; without `chunks`, all under `["c", seq]`. */
export interface PendingMarker {
  readonly chunks?: number;
}

/** The key of an item's index entry. */
export function headerKey(seq: number): Deno.KvKey {
  return ["i", seq];
}

/** The key of one chunk. */
export function chunkKey(seq: number, n: number): Deno.KvKey {
  return ["c", seq, n];
}

/** The key of a pending marker. */
export function markerKey(seq: number): Deno.KvKey {
  return ["p", seq];
}

/** The chunk count of an item of `bytes` bytes. */
export function chunkCount(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / CHUNK_BYTES));
}

/** Views of `bytes`, each at most {@linkcode CHUNK_BYTES}; one empty view for empty input. */
export function splitChunks(bytes: Uint8Array): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += CHUNK_BYTES) {
    chunks.push(bytes.subarray(at, Math.min(at + CHUNK_BYTES, bytes.length)));
  }
  return chunks.length === 0 ? [bytes] : chunks;
}

/** The stored form of a payload's client, or undefined when there is nothing to keep. */
export function storeClient(client: ClientInfo): StoredClient | undefined {
  if (client === NO_CLIENT) return undefined;
  const stored: {
    metadata?: Array<[string, readonly string[]]>;
    auth?: Array<[string, string]>;
    address?: string;
  } = {};
  if (client.metadata.size > 0) stored.metadata = [...client.metadata];
  if (client.auth.size > 0) stored.auth = [...client.auth];
  if (client.address !== undefined) stored.address = client.address;
  return Object.keys(stored).length === 0 ? undefined : stored;
}

/** The client info of a stored client. */
export function loadClient(stored: StoredClient | undefined): ClientInfo {
  if (stored === undefined) return NO_CLIENT;
  const client: {
    metadata: Map<string, readonly string[]>;
    auth: Map<string, string>;
    address?: string;
  } = {
    metadata: new Map(stored.metadata ?? []),
    auth: new Map(stored.auth ?? []),
  };
  if (stored.address !== undefined) client.address = stored.address;
  return client;
}

/** The bytes an item's chunks hold (its stored length). */
export function storedBytes(header: QueueHeader): number {
  return header.stored ?? header.bytes;
}

/** An upper bound of a header's stored size (V8 serialization, at most two bytes a character). */
export function headerBytes(header: QueueHeader): number {
  return 2 * JSON.stringify(header).length + 64;
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function isStringPairs(value: unknown, second: (v: unknown) => boolean): boolean {
  return Array.isArray(value) &&
    value.every((p) =>
      Array.isArray(p) && p.length === 2 && typeof p[0] === "string" && second(p[1])
    );
}

function isStoredClient(value: unknown): value is StoredClient {
  if (typeof value !== "object" || value === null) return false;
  const c = value as Record<string, unknown>;
  return (c.metadata === undefined ||
    isStringPairs(c.metadata, (v) => Array.isArray(v) && v.every((s) => typeof s === "string"))) &&
    (c.auth === undefined || isStringPairs(c.auth, (v) => typeof v === "string")) &&
    (c.address === undefined || typeof c.address === "string");
}

/** Why a stored header cannot be used, or undefined when it is sound. */
export function headerProblem(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null) return "the index entry is not a record";
  const h = value as Record<string, unknown>;
  if (h.v !== 1 && h.v !== HEADER_VERSION) return `unknown layout version ${String(h.v)}`;
  if (!isCount(h.bytes) || !isCount(h.chunks) || !isCount(h.items)) {
    return "the index entry has a bad length, chunk or item count";
  }
  let stored = h.bytes;
  if (h.v === HEADER_VERSION) {
    if (!isCount(h.stored)) return "the index entry has a bad stored length";
    if (h.codec !== undefined && h.codec !== "zstd") {
      return `unknown compression ${JSON.stringify(h.codec)}`;
    }
    if (h.codec === undefined && h.stored !== h.bytes) {
      return `${h.bytes} bytes stored uncompressed cannot take ${h.stored}`;
    }
    stored = h.stored;
  } else if (h.stored !== undefined || h.codec !== undefined) {
    return "a version 1 index entry cannot be compressed";
  }
  if (h.chunks !== chunkCount(stored)) {
    return `${stored} stored bytes cannot be ${h.chunks} chunks`;
  }
  if (h.client !== undefined && !isStoredClient(h.client)) return "the client info is malformed";
  if (h.at !== undefined && !(typeof h.at === "number" && Number.isFinite(h.at) && h.at >= 0)) {
    return "the index entry has a bad enqueue time";
  }
  return undefined;
}

/** The chunk count of a marker, or undefined when malformed. */
export function markerChunks(value: unknown): number | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const chunks = (value as Record<string, unknown>).chunks;
  return isCount(chunks) ? chunks : undefined;
}
