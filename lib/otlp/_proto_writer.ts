/**
 * A protobuf wire-format writer that writes in one pass into a reused scratch buffer. A nested
 * message's length prefix is reserved (one byte, or two with `forkLarge` for spans, log records
 * and histogram points) and the content shifted with `copyWithin` (a memmove) only when the length
 * needs a different number of bytes. The result is copied out once at its exact size.
 *
 * Measured against a two-pass design (size everything, allocate once, write), walking the model
 * once was 1.2-1.7x faster: the walk, not the byte moving, dominates.
 *
 * Scalar methods follow proto3: they write nothing for the default value. The `...Always` variants
 * write unconditionally, for `oneof` members and `optional` fields that are present.
 *
 * @module
 */
const TWO_32 = 4294967296;
const utf8 = new TextEncoder();

/** Strings at least this long are written by `TextEncoder.encodeInto` rather than a loop. */
const ENCODE_INTO_MIN = 48;

const WT_VARINT = 0;
const WT_I64 = 1;
const WT_LEN = 2;
const WT_I32 = 5;

/** The number of bytes a varint of an unsigned 32-bit value takes. */
export function varintSize(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

/** Splits a bigint into unsigned 32-bit halves of its 64-bit two's complement form. */
let splitHi = 0;
function splitLo(v: bigint): number {
  const n = Number(v);
  if (n <= Number.MAX_SAFE_INTEGER && n >= Number.MIN_SAFE_INTEGER) {
    splitHi = Math.floor(n / TWO_32) >>> 0;
    return n >>> 0;
  }
  const u = BigInt.asUintN(64, v);
  splitHi = Number(u >> 32n);
  return Number(u & 0xffffffffn);
}

/** Single-pass writing state. One instance is reused across calls; see {@linkcode encodeMessage}. */
export class ProtoWriter {
  /** Bytes written so far. */
  pos = 0;
  /** The scratch buffer, grown on demand. */
  buf: Uint8Array;
  /** A view over {@linkcode ProtoWriter.buf} for fixed-width writes. */
  view: DataView;
  #stack: Int32Array = new Int32Array(128);
  #depth = 0;
  /** The attached source (see {@linkcode ProtoWriter.attach}), kept at the end of `buf`. */
  #source: Uint8Array | undefined;
  /** Where the attached source starts in `buf`; `buf.length` when none is attached. */
  #sourceAt: number;
  /** True while an encode runs (guards against re-entrant use). */
  busy = false;

  constructor(capacity = 64 * 1024) {
    this.buf = new Uint8Array(capacity);
    this.view = new DataView(this.buf.buffer);
    this.#sourceAt = capacity;
  }

  /** Starts a new message (and detaches any source). */
  reset(): void {
    this.pos = 0;
    this.#depth = 0;
    this.detach();
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    if (this.pos + n <= this.#sourceAt) return;
    this.#grow(this.pos + n);
  }

  /** Grows the buffer to hold `used` bytes of output and the attached source. */
  #grow(used: number): void {
    const source = this.#source;
    const size = source === undefined ? 0 : source.length;
    let cap = this.buf.length * 2;
    while (cap < used + size) cap *= 2;
    const grown = new Uint8Array(cap);
    grown.set(this.buf.subarray(0, this.pos));
    if (source !== undefined) grown.set(source, cap - size);
    this.buf = grown;
    this.view = new DataView(grown.buffer);
    this.#sourceAt = cap - size;
  }

  /**
   * Keeps a copy of `source` at the end of the buffer, so that {@linkcode ProtoWriter.copy} can
   * copy its byte ranges with `copyWithin` (a memmove) instead of a `subarray` view and a `set`
   * per range: the partial encoders copy most of an item's bytes this way. Room is made for an
   * output a quarter longer than `source`; the buffer grows past that as usual.
   */
  attach(source: Uint8Array): void {
    this.detach();
    const n = source.length;
    if (this.pos + n + (n >> 2) + 1024 + n > this.buf.length) {
      this.#grow(this.pos + n + (n >> 2) + 1024 + n);
    }
    this.#source = source;
    this.#sourceAt = this.buf.length - n;
    this.buf.set(source, this.#sourceAt);
  }

  /** Forgets the attached source. */
  detach(): void {
    this.#source = undefined;
    this.#sourceAt = this.buf.length;
  }

  /** Copies bytes `[start, end)` of the attached source as they are (already encoded fields). */
  copy(start: number, end: number): void {
    const n = end - start;
    if (n <= 0) return;
    this.ensure(n);
    const buf = this.buf;
    const pos = this.pos;
    const from = this.#sourceAt + start;
    if (n <= 16) {
      for (let i = 0; i < n; i++) buf[pos + i] = buf[from + i]!;
    } else {
      buf.copyWithin(pos, from, from + n);
    }
    this.pos = pos + n;
  }

  /** Writes a raw unsigned 32-bit varint (room must have been ensured). */
  rawVarint(v: number): void {
    const buf = this.buf;
    let pos = this.pos;
    while (v > 0x7f) {
      buf[pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[pos++] = v;
    this.pos = pos;
  }

  #rawVarint64(lo: number, hi: number): void {
    if (hi === 0) {
      this.rawVarint(lo);
      return;
    }
    const buf = this.buf;
    let pos = this.pos;
    for (let i = 0; i < 4; i++) {
      buf[pos++] = (lo & 0x7f) | 0x80;
      lo >>>= 7;
    }
    // Byte 5 holds the top 4 bits of lo and the low 3 bits of hi.
    const b = lo | ((hi & 0x7) << 4);
    hi >>>= 3;
    if (hi === 0) {
      buf[pos++] = b;
      this.pos = pos;
      return;
    }
    buf[pos++] = b | 0x80;
    while (hi > 0x7f) {
      buf[pos++] = (hi & 0x7f) | 0x80;
      hi >>>= 7;
    }
    buf[pos++] = hi;
    this.pos = pos;
  }

  /** Ensures room for a tag plus `n` bytes and writes the tag. */
  #tag(field: number, wt: number, n: number): void {
    this.ensure(n + 5);
    const t = (field << 3) | wt;
    if (t < 0x80) this.buf[this.pos++] = t;
    else this.rawVarint(t);
  }

  /** Opens a nested message (or packed field) as field `field`; close it with `join`. */
  fork(field: number): void {
    this.#tag(field, WT_LEN, 1);
    if (this.#depth === this.#stack.length) {
      const grown = new Int32Array(this.#stack.length * 2);
      grown.set(this.#stack);
      this.#stack = grown;
    }
    this.pos++; // one byte reserved for the length
    this.#stack[this.#depth++] = this.pos;
  }

  /**
   * Like `fork`, but reserves two bytes for the length: for messages that are usually 128 bytes
   * to 16 KiB long (spans, log records, data points), so that no content moves.
   */
  forkLarge(field: number): void {
    this.fork(field);
    this.pos++;
    this.#stack[this.#depth - 1] = -this.pos; // negative: two bytes reserved
  }

  /** Closes the innermost message opened by `fork` or `forkLarge`, writing its length prefix. */
  join(): void {
    const start = this.#stack[--this.#depth]!;
    if (start > 0) {
      this.#prefix(start, this.pos - start);
      return;
    }
    const s = -start;
    const len = this.pos - s;
    if (len >= 0x80 && len < 0x4000) {
      this.buf[s - 2] = (len & 0x7f) | 0x80;
      this.buf[s - 1] = len >>> 7;
      return;
    }
    // Give back the second reserved byte, then proceed as with one.
    this.buf.copyWithin(s - 1, s, this.pos);
    this.pos--;
    this.#prefix(s - 1, len);
  }

  /** Writes length `len` before the content at `[start, pos)`, where one byte was reserved. */
  #prefix(start: number, len: number): void {
    if (len < 0x80) {
      this.buf[start - 1] = len;
      return;
    }
    const extra = varintSize(len) - 1;
    this.ensure(extra);
    const buf = this.buf;
    buf.copyWithin(start + extra, start, this.pos);
    let p = start - 1;
    let v = len;
    while (v > 0x7f) {
      buf[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[p] = v;
    this.pos += extra;
  }

  /** Writes a string field unless it is empty. */
  string(field: number, s: string): void {
    if (s.length !== 0) this.stringAlways(field, s);
  }

  /** Writes a string field, even an empty one. */
  stringAlways(field: number, s: string): void {
    const len = s.length;
    this.#tag(field, WT_LEN, len * 3 + 5);
    const buf = this.buf;
    let pos = this.pos + 1; // one byte reserved for the length
    const start = pos;
    let i = 0;
    // Long strings (log bodies) go to the native encoder whole: it beats this loop ~2x there.
    if (len < ENCODE_INTO_MIN) {
      for (; i < len; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[pos++] = c;
      }
    }
    if (i < len) {
      pos += utf8.encodeInto(i === 0 ? s : s.slice(i), buf.subarray(pos)).written;
    }
    this.pos = pos;
    this.#prefix(start, pos - start);
  }

  /** Copies bytes `[start, end)` of `src` as they are (already encoded fields). */
  raw(src: Uint8Array, start: number, end: number): void {
    const n = end - start;
    if (n <= 0) return;
    this.ensure(n);
    const buf = this.buf;
    const pos = this.pos;
    if (n <= 32) {
      for (let i = 0; i < n; i++) buf[pos + i] = src[start + i]!;
    } else {
      buf.set(src.subarray(start, end), pos);
    }
    this.pos = pos + n;
  }

  /** Writes a bytes field unless it is empty. */
  bytes(field: number, b: Uint8Array): void {
    if (b.length !== 0) this.bytesAlways(field, b);
  }

  /** Writes a bytes field, even an empty one. */
  bytesAlways(field: number, b: Uint8Array): void {
    const n = b.length;
    this.#tag(field, WT_LEN, n + 5);
    this.rawVarint(n);
    const buf = this.buf;
    const pos = this.pos;
    if (n <= 16) {
      for (let i = 0; i < n; i++) buf[pos + i] = b[i]!;
    } else {
      buf.set(b, pos);
    }
    this.pos = pos + n;
  }

  /** Writes a `uint32` field unless it is 0. */
  uint32(field: number, v: number): void {
    if (v === 0) return;
    this.#tag(field, WT_VARINT, 5);
    this.rawVarint(v >>> 0);
  }

  /** Writes an `int32` or enum field unless it is 0 (negative values take 10 bytes). */
  int32(field: number, v: number): void {
    if (v === 0) return;
    if (v > 0) {
      this.uint32(field, v);
      return;
    }
    this.#tag(field, WT_VARINT, 10);
    this.#rawVarint64(v >>> 0, 0xffffffff);
  }

  /** Writes a `sint32` field unless it is 0. */
  sint32(field: number, v: number): void {
    if (v === 0) return;
    this.uint32(field, ((v << 1) ^ (v >> 31)) >>> 0);
  }

  /** Writes a `bool` field unless it is false. */
  bool(field: number, v: boolean): void {
    if (v) this.boolAlways(field, v);
  }

  /** Writes a `bool` field, even `false`. */
  boolAlways(field: number, v: boolean): void {
    this.#tag(field, WT_VARINT, 1);
    this.buf[this.pos++] = v ? 1 : 0;
  }

  /** Writes an `int64` field, even 0. */
  int64Always(field: number, v: bigint): void {
    this.#tag(field, WT_VARINT, 10);
    const lo = splitLo(v);
    this.#rawVarint64(lo, splitHi);
  }

  /** Writes an `int64` field unless it is 0. */
  int64(field: number, v: bigint): void {
    if (v !== 0n) this.int64Always(field, v);
  }

  /** Writes a `fixed32` field unless it is 0. */
  fixed32(field: number, v: number): void {
    if (v === 0) return;
    this.#tag(field, WT_I32, 4);
    this.view.setUint32(this.pos, v >>> 0, true);
    this.pos += 4;
  }

  /** Writes a `fixed64` field unless it is 0. */
  fixed64(field: number, v: bigint): void {
    if (v === 0n) return;
    this.#tag(field, WT_I64, 8);
    this.view.setBigUint64(this.pos, v, true);
    this.pos += 8;
  }

  /** Writes an `sfixed64` field, even 0. */
  sfixed64Always(field: number, v: bigint): void {
    this.#tag(field, WT_I64, 8);
    this.view.setBigInt64(this.pos, v, true);
    this.pos += 8;
  }

  /** Writes a `double` field unless it is +0 (-0 is written, so it survives a round trip). */
  double(field: number, v: number): void {
    if (v === 0 && 1 / v > 0) return;
    this.doubleAlways(field, v);
  }

  /** Writes a `double` field, even 0. */
  doubleAlways(field: number, v: number): void {
    this.#tag(field, WT_I64, 8);
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  /** Writes a packed `repeated fixed64` field unless it is empty. */
  packedFixed64(field: number, values: readonly bigint[]): void {
    const n = values.length;
    if (n === 0) return;
    const len = n * 8;
    this.#tag(field, WT_LEN, len + 5);
    this.rawVarint(len);
    const view = this.view;
    let pos = this.pos;
    for (let i = 0; i < n; i++, pos += 8) view.setBigUint64(pos, values[i]!, true);
    this.pos = pos;
  }

  /** Writes a packed `repeated double` field unless it is empty. */
  packedDouble(field: number, values: readonly number[]): void {
    const n = values.length;
    if (n === 0) return;
    const len = n * 8;
    this.#tag(field, WT_LEN, len + 5);
    this.rawVarint(len);
    const view = this.view;
    let pos = this.pos;
    for (let i = 0; i < n; i++, pos += 8) view.setFloat64(pos, values[i]!, true);
    this.pos = pos;
  }

  /** Writes a packed `repeated uint64` field unless it is empty. */
  packedUint64(field: number, values: readonly bigint[]): void {
    const n = values.length;
    if (n === 0) return;
    this.fork(field);
    this.ensure(n * 10);
    for (let i = 0; i < n; i++) {
      const lo = splitLo(values[i]!);
      this.#rawVarint64(lo, splitHi);
    }
    this.join();
  }
}

/** Scratch buffers above this size are not kept between calls. */
const KEEP_LIMIT = 8 * 1024 * 1024;
let shared: ProtoWriter | undefined;

/**
 * Encodes `value` with `write` into the shared scratch buffer and returns an exact-size copy.
 */
export function encodeMessage<T>(value: T, write: (w: ProtoWriter, value: T) => void): Uint8Array {
  let w = shared;
  if (w === undefined || w.busy) w = new ProtoWriter();
  if (shared === undefined) shared = w;
  w.busy = true;
  try {
    w.reset();
    write(w, value);
    return w.buf.slice(0, w.pos);
  } finally {
    w.busy = false;
    if (w.buf.length > KEEP_LIMIT) {
      w.buf = new Uint8Array(64 * 1024);
      w.view = new DataView(w.buf.buffer);
    }
    w.detach();
  }
}
