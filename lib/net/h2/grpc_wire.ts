/**
 * The parts of the gRPC over HTTP/2 protocol that servers and clients share: message framing
 * (the 5-byte prefix), `grpc-timeout`, `grpc-message` percent-encoding, binary metadata and the
 * HTTP status to gRPC code mapping.
 *
 * @module
 */
import type { BufferLease } from "../../pdata/buffer_pool.ts";
import type { SlabPool } from "../../pdata/slab_pool.ts";
import { writeU32 } from "./frames.ts";

/** The gRPC codings tfo decodes and encodes, as sent in `grpc-accept-encoding`. */
export const GRPC_ACCEPT_ENCODING = "identity,gzip,deflate,zstd";

/** The largest message length the 5-byte prefix can carry (its length field is 32 bits). */
export const MAX_GRPC_MESSAGE_BYTES = 0xffff_ffff;

/**
 * The 5-byte prefix of a message of `length` bytes: the compressed flag and the 32-bit length.
 * Sent before the message's bytes (in one piece or as parts), so they need not be copied behind it.
 */
export function messagePrefix(length: number, compressed: boolean): Uint8Array {
  if (!Number.isInteger(length) || length < 0 || length > MAX_GRPC_MESSAGE_BYTES) {
    throw new RangeError(`Cannot frame a gRPC message of ${length} bytes`);
  }
  const out = new Uint8Array(5);
  out[0] = compressed ? 1 : 0;
  writeU32(out, 1, length);
  return out;
}

/** Frames one message: the compressed flag, the 32-bit length, the bytes. */
export function frameMessage(message: Uint8Array, compressed: boolean): Uint8Array {
  const out = new Uint8Array(5 + message.length);
  out[0] = compressed ? 1 : 0;
  writeU32(out, 1, message.length);
  out.set(message, 5);
  return out;
}

const TIMEOUT_UNITS: Readonly<Record<string, number>> = {
  H: 3_600_000,
  M: 60_000,
  S: 1000,
  m: 1,
  u: 0.001,
  n: 0.000_001,
};

/**
 * Parses `grpc-timeout` (at most 8 digits and a unit `H M S m u n`) into milliseconds; undefined
 * when malformed.
 */
export function parseGrpcTimeout(value: string): number | undefined {
  const m = /^(\d{1,8})([HMSmun])$/.exec(value);
  if (m === null) return undefined;
  return Number(m[1]) * TIMEOUT_UNITS[m[2]!]!;
}

/** Formats a deadline in milliseconds as `grpc-timeout`, rounded up to keep 8 digits. */
export function formatGrpcTimeout(ms: number): string {
  const units: [string, number][] = [["m", 1], ["S", 1000], ["M", 60_000], ["H", 3_600_000]];
  if (ms < 100_000) return `${Math.max(1, Math.ceil(ms * 1000))}u`;
  for (const [unit, size] of units) {
    const n = Math.ceil(ms / size);
    if (n < 100_000_000) return `${n}${unit}`;
  }
  return "99999999H";
}

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

/** Percent-encodes a status message as `grpc-message` wants (UTF-8, `%XX` outside 0x20-0x7e). */
export function encodeGrpcMessage(message: string): string {
  let out = "";
  for (const b of utf8.encode(message)) {
    if (b >= 0x20 && b <= 0x7e && b !== 0x25) out += String.fromCharCode(b);
    else out += "%" + b.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

/** Decodes a `grpc-message`; malformed escapes are kept as they are. */
export function decodeGrpcMessage(value: string): string {
  if (!value.includes("%")) return value;
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (
      c === 0x25 && i + 2 < value.length + 0 && /^[0-9a-fA-F]{2}$/.test(value.slice(i + 1, i + 3))
    ) {
      bytes.push(parseInt(value.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      for (const b of utf8.encode(value[i]!)) bytes.push(b);
    }
  }
  return utf8Decoder.decode(Uint8Array.from(bytes));
}

/** Base64 without padding, as gRPC sends binary metadata. */
export function encodeBinaryHeader(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]!);
  return btoa(s).replace(/=+$/, "");
}

/** Decodes binary metadata (base64 with or without padding); undefined when malformed. */
export function decodeBinaryHeader(value: string): Uint8Array | undefined {
  const trimmed = value.trim().replace(/=+$/, "");
  const padded = trimmed + "=".repeat((4 - (trimmed.length % 4)) % 4);
  try {
    const s = atob(padded);
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  } catch {
    return undefined;
  }
}

/** The gRPC code of an HTTP status without `grpc-status` (the gRPC HTTP mapping). */
export function grpcCodeOfHttpStatus(status: number): number {
  switch (status) {
    case 400:
      return 13; // INTERNAL
    case 401:
      return 16; // UNAUTHENTICATED
    case 403:
      return 7; // PERMISSION_DENIED
    case 404:
      return 12; // UNIMPLEMENTED
    case 429:
    case 502:
    case 503:
    case 504:
      return 14; // UNAVAILABLE
    default:
      return 2; // UNKNOWN
  }
}

/** True for `application/grpc` and `application/grpc+<subtype>` (parameters allowed). */
export function isGrpcContentType(value: string | undefined): boolean {
  if (value === undefined) return false;
  const base = value.split(";")[0]!.trim().toLowerCase();
  return base === "application/grpc" || base.startsWith("application/grpc+");
}

/** A framing violation or an oversized message, with the gRPC code to answer. */
export class GrpcWireError extends Error {
  /** The gRPC status code. */
  readonly code: number;

  /** Creates the error. */
  constructor(code: number, message: string) {
    super(message);
    this.name = "GrpcWireError";
    this.code = code;
  }
}

/** One received message, still compressed when `compressed`. */
export interface WireMessage {
  readonly compressed: boolean;
  readonly data: Uint8Array;
  /** The reader's reference on the slab `data` lies in, when it was cut from one. */
  readonly lease?: BufferLease | undefined;
}

/**
 * Reassembles length-prefixed messages from body chunks. A message's buffer is allocated once its
 * length is known and only when it is within `maxBytes`, so an oversized message is refused
 * before any of it is held.
 *
 * With `slabs`, messages that fit are cut from that pool's slabs, and each message's
 * {@linkcode WireMessage.lease} (and the lease of a message being filled) is the reader's until
 * {@linkcode MessageReader.releaseLeases} gives them all back: its owner calls it once nothing
 * reads the messages' bytes any more.
 */
export class MessageReader {
  readonly #maxBytes: number;
  readonly #maxMessages: number;
  readonly #slabs: SlabPool | undefined;
  #prefix = new Uint8Array(5);
  #prefixFill = 0;
  #current: Uint8Array | undefined;
  #currentLease: BufferLease | undefined;
  #compressed = false;
  #fill = 0;
  /** Complete messages so far. */
  readonly messages: WireMessage[] = [];

  /**
   * Creates a reader for messages of at most `maxBytes`, at most `maxMessages` of them, cut from
   * `slabs` when given and they fit.
   */
  constructor(maxBytes: number, maxMessages = Infinity, slabs?: SlabPool) {
    this.#maxBytes = maxBytes;
    this.#maxMessages = maxMessages;
    this.#slabs = slabs;
  }

  /**
   * Releases the reader's lease on every message's slab and on the one being filled; the
   * messages' bytes may be reused from then on. Idempotent.
   */
  releaseLeases(): void {
    const current = this.#currentLease;
    this.#currentLease = undefined;
    current?.release();
    for (let i = 0; i < this.messages.length; i++) {
      const m = this.messages[i]!;
      if (m.lease === undefined) continue;
      this.messages[i] = { compressed: m.compressed, data: m.data };
      m.lease.release();
    }
  }

  /** Bytes allocated for messages so far (complete ones and the one being filled). */
  get allocated(): number {
    let n = this.#current?.length ?? 0;
    for (const m of this.messages) n += m.data.length;
    return n;
  }

  /** True when a message has started but not ended. */
  get partial(): boolean {
    return this.#prefixFill > 0 || this.#current !== undefined;
  }

  /**
   * Takes one chunk (copied; the chunk may be reused after the call).
   *
   * @throws {GrpcWireError} RESOURCE_EXHAUSTED for a message over the limit, INTERNAL for a
   * compressed flag other than 0 or 1 or more messages than allowed.
   */
  push(chunk: Uint8Array): void {
    let pos = 0;
    while (pos < chunk.length) {
      if (this.#current === undefined) {
        const n = Math.min(5 - this.#prefixFill, chunk.length - pos);
        this.#prefix.set(chunk.subarray(pos, pos + n), this.#prefixFill);
        this.#prefixFill += n;
        pos += n;
        if (this.#prefixFill < 5) return;
        this.#prefixFill = 0;
        const flag = this.#prefix[0]!;
        if (flag > 1) {
          throw new GrpcWireError(13, `Invalid message compressed flag ${flag}`);
        }
        if (this.messages.length >= this.#maxMessages) {
          throw new GrpcWireError(13, "More request messages than the method takes");
        }
        const p = this.#prefix;
        const length = ((p[1]! << 24) | (p[2]! << 16) | (p[3]! << 8) | p[4]!) >>> 0;
        if (length > this.#maxBytes) {
          throw new GrpcWireError(
            8,
            `Received message larger than max (${length} vs. ${this.#maxBytes})`,
          );
        }
        this.#compressed = flag === 1;
        if (length === 0) {
          this.messages.push({ compressed: this.#compressed, data: new Uint8Array(0) });
          continue;
        }
        const slice = this.#slabs?.take(length);
        this.#current = slice?.bytes ?? new Uint8Array(length);
        this.#currentLease = slice?.lease;
        this.#fill = 0;
      }
      const cur = this.#current;
      const n = Math.min(cur.length - this.#fill, chunk.length - pos);
      cur.set(chunk.subarray(pos, pos + n), this.#fill);
      this.#fill += n;
      pos += n;
      if (this.#fill === cur.length) {
        const lease = this.#currentLease;
        this.messages.push(
          lease === undefined
            ? { compressed: this.#compressed, data: cur }
            : { compressed: this.#compressed, data: cur, lease },
        );
        this.#current = undefined;
        this.#currentLease = undefined;
      }
    }
  }
}
