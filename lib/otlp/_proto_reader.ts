/**
 * A protobuf wire-format reader over one buffer. It allocates nothing per tag: scalars come back
 * as numbers (64-bit values as `bigint` only where the model wants one), bytes as `subarray` views
 * into the input, strings through an ASCII fast path.
 *
 * Every read checks bounds, so truncated or malicious input throws {@linkcode OtlpDecodeError}
 * instead of reading garbage, hanging, or allocating from a bogus length. Groups (wire types 3
 * and 4, deprecated since proto2 and absent from OTLP) are rejected as malformed.
 *
 * @module
 */
import { OtlpDecodeError } from "./errors.ts";

/** Wire type of varint fields. */
export const WT_VARINT = 0;
/** Wire type of fixed64 and double fields. */
export const WT_I64 = 1;
/** Wire type of length-delimited fields. */
export const WT_LEN = 2;
/** Wire type of fixed32 and float fields. */
export const WT_I32 = 5;

const TWO_32 = 4294967296;
const EMPTY: Uint8Array = new Uint8Array(0);
const utf8 = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

/**
 * Reading state over one buffer. Fields are public for speed (hot decode loops read `pos`
 * directly); the class is private to `lib/otlp`.
 */
export class ProtoReader {
  /** The whole input. */
  readonly buf: Uint8Array;
  /** A view for fixed-width little-endian reads. */
  readonly view: DataView;
  /** The next byte to read. */
  pos = 0;
  /** The input length. */
  readonly len: number;

  constructor(buf: Uint8Array) {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.len = buf.length;
  }

  /**
   * Reads a varint and returns its low 32 bits as an unsigned number. Kept this small so that V8
   * inlines it into the decode loops: nearly every tag and length is one byte.
   */
  uint32(): number {
    const pos = this.pos;
    if (pos < this.len) {
      const b = this.buf[pos]!;
      if (b < 0x80) {
        this.pos = pos + 1;
        return b;
      }
    }
    return this.#uint32Long();
  }

  /** {@linkcode ProtoReader.uint32} for varints of more than one byte (or at the end). */
  #uint32Long(): number {
    const buf = this.buf;
    let pos = this.pos;
    if (pos + 10 > this.len) return this.#uint32Slow();
    let b = buf[pos++]!;
    let v = b & 0x7f;
    if (b < 0x80) {
      this.pos = pos;
      return v;
    }
    b = buf[pos++]!;
    v |= (b & 0x7f) << 7;
    if (b < 0x80) {
      this.pos = pos;
      return v;
    }
    b = buf[pos++]!;
    v |= (b & 0x7f) << 14;
    if (b < 0x80) {
      this.pos = pos;
      return v;
    }
    b = buf[pos++]!;
    v |= (b & 0x7f) << 21;
    if (b < 0x80) {
      this.pos = pos;
      return v;
    }
    b = buf[pos++]!;
    v |= (b & 0x0f) << 28;
    // Bytes 6..10 carry bits above 32: skip them, but a varint never exceeds 10 bytes.
    for (let i = 0; b >= 0x80; i++) {
      if (i === 5) throw new OtlpDecodeError(`Varint longer than 10 bytes at offset ${this.pos}`);
      b = buf[pos++]!;
    }
    this.pos = pos;
    return v >>> 0;
  }

  #uint32Slow(): number {
    const buf = this.buf;
    let pos = this.pos;
    let v = 0;
    for (let i = 0;; i++) {
      if (pos >= this.len) throw truncated(this.pos, "varint");
      if (i === 10) throw new OtlpDecodeError(`Varint longer than 10 bytes at offset ${this.pos}`);
      const b = buf[pos++]!;
      if (i < 4) v |= (b & 0x7f) << (7 * i);
      else if (i === 4) v |= (b & 0x0f) << 28;
      if (b < 0x80) break;
    }
    this.pos = pos;
    return v >>> 0;
  }

  /** Reads a varint as a signed 32-bit number (`int32` and enum fields). */
  int32(): number {
    return this.uint32() | 0;
  }

  /** Reads a zigzag varint (`sint32`). */
  sint32(): number {
    const v = this.uint32();
    return (v >>> 1) ^ -(v & 1);
  }

  /** Reads a varint as a boolean. */
  bool(): boolean {
    return this.uint32() !== 0;
  }

  /** Reads a varint as a signed 64-bit `bigint` (`int64`). */
  int64(): bigint {
    const lo = this.#varint64();
    const hi = this.#hi;
    const n = (hi | 0) * TWO_32 + lo;
    if (n <= Number.MAX_SAFE_INTEGER && n >= Number.MIN_SAFE_INTEGER) return BigInt(n);
    return BigInt.asIntN(64, (BigInt(hi >>> 0) << 32n) | BigInt(lo));
  }

  /** Reads a varint as an unsigned 64-bit `bigint` (`uint64`). */
  uint64(): bigint {
    const lo = this.#varint64();
    const hi = this.#hi >>> 0;
    const n = hi * TWO_32 + lo;
    if (n <= Number.MAX_SAFE_INTEGER) return BigInt(n);
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  #hi = 0;

  /** Reads a 64-bit varint; returns the unsigned low half and leaves the high half in `#hi`. */
  #varint64(): number {
    const buf = this.buf;
    let pos = this.pos;
    let lo = 0;
    let hi = 0;
    for (let i = 0;; i++) {
      if (pos >= this.len) throw truncated(this.pos, "varint");
      if (i === 10) throw new OtlpDecodeError(`Varint longer than 10 bytes at offset ${this.pos}`);
      const b = buf[pos++]!;
      if (i < 4) lo |= (b & 0x7f) << (7 * i);
      else if (i === 4) {
        lo |= (b & 0x0f) << 28;
        hi |= (b & 0x7f) >> 4;
      } else hi |= (b & 0x7f) << (7 * i - 32);
      if (b < 0x80) break;
    }
    this.pos = pos;
    this.#hi = hi;
    return lo >>> 0;
  }

  /** Reads a little-endian `fixed32`. */
  fixed32(): number {
    const pos = this.pos;
    if (pos + 4 > this.len) throw truncated(pos, "fixed32");
    this.pos = pos + 4;
    return this.view.getUint32(pos, true);
  }

  /** Reads a `fixed64` as an unsigned `bigint`. */
  fixed64(): bigint {
    const pos = this.pos;
    if (pos + 8 > this.len) throw truncated(pos, "fixed64");
    this.pos = pos + 8;
    const view = this.view;
    const hi = view.getUint32(pos + 4, true);
    if (hi < 0x200000) return BigInt(hi * TWO_32 + view.getUint32(pos, true));
    return view.getBigUint64(pos, true);
  }

  /** Reads an `sfixed64` as a signed `bigint`. */
  sfixed64(): bigint {
    const pos = this.pos;
    if (pos + 8 > this.len) throw truncated(pos, "sfixed64");
    this.pos = pos + 8;
    const view = this.view;
    const hi = view.getInt32(pos + 4, true);
    if (hi < 0x200000 && hi >= -0x200000) {
      return BigInt(hi * TWO_32 + view.getUint32(pos, true));
    }
    return view.getBigInt64(pos, true);
  }

  /** Reads a little-endian `double`. */
  double(): number {
    const pos = this.pos;
    if (pos + 8 > this.len) throw truncated(pos, "double");
    this.pos = pos + 8;
    return this.view.getFloat64(pos, true);
  }

  /**
   * Reads the length prefix of a length-delimited field and returns where its content ends,
   * checked against `limit` (the end of the enclosing message).
   */
  end(limit: number): number {
    const start = this.pos;
    const n = this.uint32();
    const end = this.pos + n;
    if (end > limit) throw pastEnd(n, start, limit);
    return end;
  }

  /** Reads a length-delimited field as a view into the input (bytes fields). */
  bytes(limit: number): Uint8Array {
    const end = this.end(limit);
    const start = this.pos;
    this.pos = end;
    return end === start ? EMPTY : this.buf.subarray(start, end);
  }

  /** Reads a length-delimited field as a UTF-8 string. */
  string(limit: number): string {
    const end = this.end(limit);
    const start = this.pos;
    this.pos = end;
    return decodeUtf8(this.buf, start, end);
  }

  /**
   * Skips the value of an unknown field. `known` is a bit set of the field numbers (below 32) the
   * enclosing message defines: a known field arriving with an unexpected wire type is malformed.
   */
  skip(tag: number, known: number, limit: number): void {
    const field = tag >>> 3;
    const wt = tag & 7;
    if (field === 0) throw new OtlpDecodeError(`Invalid field number 0 at offset ${this.pos}`);
    if (field < 32 && ((known >>> field) & 1) === 1) {
      throw new OtlpDecodeError(
        `Field ${field} has wire type ${wt}, which its type does not use, before offset ${this.pos}`,
      );
    }
    switch (wt) {
      case WT_VARINT:
        this.#varint64();
        break;
      case WT_I64:
        this.#advance(8, limit);
        break;
      case WT_LEN:
        this.pos = this.end(limit);
        break;
      case WT_I32:
        this.#advance(4, limit);
        break;
      default:
        throw new OtlpDecodeError(
          `Unsupported wire type ${wt} (field ${field}) before offset ${this.pos}`,
        );
    }
    if (this.pos > limit) throw truncated(this.pos, `field ${field}`);
  }

  #advance(n: number, limit: number): void {
    if (this.pos + n > limit) throw truncated(this.pos, "fixed-width field");
    this.pos += n;
  }

  /** Throws unless a message ended exactly where its length said. */
  checkEnd(end: number): void {
    if (this.pos !== end) {
      throw new OtlpDecodeError(`A field runs past the end of its message at offset ${end}`);
    }
  }
}

function pastEnd(n: number, start: number, limit: number): OtlpDecodeError {
  return new OtlpDecodeError(
    `Length ${n} at offset ${start} runs past the end of its enclosing message at ${limit}`,
  );
}

function truncated(pos: number, what: string): OtlpDecodeError {
  return new OtlpDecodeError(`Truncated message: ${what} at offset ${pos} runs past the end`);
}

const CACHE_BITS = 12;
/**
 * Recently decoded short ASCII strings, by a hash of their bytes. Attribute keys and many values
 * repeat across a request (and across requests), so a hit returns an existing string with no
 * allocation; a miss costs one compare. Only ASCII strings enter, so comparing char codes with
 * bytes is exact.
 */
const cache: string[] = new Array<string>(1 << CACHE_BITS).fill("");

/** One reused array of char codes per length up to 64, for building flat strings in one call. */
const CODES: number[][] = Array.from({ length: 65 }, (_, n) => new Array<number>(n).fill(0));

/**
 * Builds an ASCII string (at most 64 bytes) in one call, so it is flat (a string built by `+=`
 * is a tree that the first regex or encode must flatten); `undefined` if a byte is not ASCII.
 */
function ascii(buf: Uint8Array, start: number, end: number): string | undefined {
  const n = end - start;
  const codes = CODES[n]!;
  let or = 0;
  for (let i = 0; i < n; i++) {
    const c = buf[start + i]!;
    or |= c;
    codes[i] = c;
  }
  return or < 0x80 ? String.fromCharCode.apply(null, codes) : undefined;
}

/**
 * Decodes UTF-8 bytes `[start, end)`: short ASCII strings through a cache, ASCII strings up to 64
 * bytes in one call, anything else (and long strings) through `TextDecoder`.
 */
export function decodeUtf8(buf: Uint8Array, start: number, end: number): string {
  const n = end - start;
  if (n === 0) return "";
  if (n <= 32) {
    const key = buf[start]! | (buf[start + (n >> 1)]! << 8) | (buf[end - 1]! << 16) |
      (buf[start + (n >> 2)]! << 24);
    const slot = Math.imul(key ^ n, 0x9e3779b1) >>> (32 - CACHE_BITS);
    const hit = cache[slot]!;
    if (hit.length === n) {
      let i = 0;
      while (i < n && hit.charCodeAt(i) === buf[start + i]) i++;
      if (i === n) return hit;
    }
    const s = ascii(buf, start, end);
    if (s === undefined) return utf8.decode(buf.subarray(start, end));
    cache[slot] = s;
    return s;
  }
  if (n <= 64) {
    const s = ascii(buf, start, end);
    if (s !== undefined) return s;
  }
  return utf8.decode(buf.subarray(start, end));
}
