/**
 * A writer of ClickHouse's RowBinary format: values one after another, little-endian, strings and
 * collections prefixed by their LEB128 length. One growable buffer per insert, no per-value
 * allocation; strings take an ASCII fast path.
 *
 * Types: `String` (also `LowCardinality(String)`), `UInt8`/`UInt32`/`UInt64`, `Int32`, `Float64`,
 * `Bool`, `DateTime64(9)` (an Int64 of nanoseconds), `Array(T)` and `Map(K, V)` (a length, then
 * the elements or key/value pairs).
 *
 * @module
 */

const encoder = new TextEncoder();
const MAX_U64 = (1n << 64n) - 1n;

/** How many bytes the LEB128 form of `n` takes. */
function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/** Appends RowBinary values to one buffer. */
export class RowBinaryWriter {
  #buf: Uint8Array;
  #view: DataView;
  #at = 0;

  constructor(initialBytes = 64 * 1024) {
    this.#buf = new Uint8Array(initialBytes);
    this.#view = new DataView(this.#buf.buffer);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#at;
  }

  /** The bytes written (a view, valid until the next write). */
  bytes(): Uint8Array {
    return this.#buf.subarray(0, this.#at);
  }

  #room(n: number): void {
    if (this.#at + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#at + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#at));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }

  /** An unsigned LEB128 length. */
  varint(n: number): void {
    this.#room(10);
    while (n >= 0x80) {
      this.#buf[this.#at++] = (n & 0x7f) | 0x80;
      n = Math.floor(n / 128);
    }
    this.#buf[this.#at++] = n;
  }

  /** A `String`. */
  string(s: string): void {
    const n = s.length;
    if (n < 128) {
      // Short: if it is ASCII the length byte is known before the bytes.
      this.#room(1 + n);
      const start = this.#at + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        this.#buf[start + i] = c;
      }
      if (i === n) {
        this.#buf[this.#at] = n;
        this.#at = start + n;
        return;
      }
    }
    this.#room(10 + n * 3);
    // Reserve the most varint bytes the UTF-8 length can need, then move the bytes back.
    const lengthBytes = varintSize(n * 3);
    const start = this.#at + lengthBytes;
    const { written } = encoder.encodeInto(s, this.#buf.subarray(start));
    const need = varintSize(written);
    if (need !== lengthBytes) this.#buf.copyWithin(this.#at + need, start, start + written);
    this.varint(written);
    this.#at += written;
  }

  /** A `UInt8` (also `Bool`). */
  u8(n: number): void {
    this.#room(1);
    this.#buf[this.#at++] = n & 0xff;
  }

  /** A `UInt32`. */
  u32(n: number): void {
    this.#room(4);
    this.#view.setUint32(this.#at, n >>> 0, true);
    this.#at += 4;
  }

  /** An `Int32`. */
  i32(n: number): void {
    this.#room(4);
    this.#view.setInt32(this.#at, n | 0, true);
    this.#at += 4;
  }

  /** A `UInt64` (clamped to its range). */
  u64(n: bigint): void {
    this.#room(8);
    this.#view.setBigUint64(this.#at, n < 0n ? 0n : n > MAX_U64 ? MAX_U64 : n, true);
    this.#at += 8;
  }

  /** A `DateTime64(9)`: nanoseconds since the epoch as an Int64. */
  time(unixNano: bigint): void {
    this.#room(8);
    this.#view.setBigInt64(this.#at, BigInt.asIntN(64, unixNano), true);
    this.#at += 8;
  }

  /** A `Float64`. */
  f64(n: number): void {
    this.#room(8);
    this.#view.setFloat64(this.#at, n, true);
    this.#at += 8;
  }
}
