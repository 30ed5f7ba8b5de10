/**
 * HPACK (RFC 7541): the header compression of HTTP/2. A decoder with the static and dynamic
 * tables, dynamic table size updates bounded by our SETTINGS_HEADER_TABLE_SIZE, Huffman strings
 * and a header list size limit; and an encoder that indexes what repeats, Huffman-codes a string
 * only when that is shorter, and announces table size changes the peer asked for.
 *
 * Header names and values are strings; bytes outside ASCII are read and written as UTF-8.
 *
 * @module
 */
import { ErrorCode, H2Error } from "./frames.ts";
import { huffmanDecode, huffmanEncodeInto, HuffmanError, huffmanLength } from "./huffman.ts";

/** One header field. */
export type HeaderField = readonly [name: string, value: string];

/** The static table (RFC 7541 Appendix A), index 1 first. */
export const STATIC_TABLE: readonly HeaderField[] = [
  [":authority", ""],
  [":method", "GET"],
  [":method", "POST"],
  [":path", "/"],
  [":path", "/index.html"],
  [":scheme", "http"],
  [":scheme", "https"],
  [":status", "200"],
  [":status", "204"],
  [":status", "206"],
  [":status", "304"],
  [":status", "400"],
  [":status", "404"],
  [":status", "500"],
  ["accept-charset", ""],
  ["accept-encoding", "gzip, deflate"],
  ["accept-language", ""],
  ["accept-ranges", ""],
  ["accept", ""],
  ["access-control-allow-origin", ""],
  ["age", ""],
  ["allow", ""],
  ["authorization", ""],
  ["cache-control", ""],
  ["content-disposition", ""],
  ["content-encoding", ""],
  ["content-language", ""],
  ["content-length", ""],
  ["content-location", ""],
  ["content-range", ""],
  ["content-type", ""],
  ["cookie", ""],
  ["date", ""],
  ["etag", ""],
  ["expect", ""],
  ["expires", ""],
  ["from", ""],
  ["host", ""],
  ["if-match", ""],
  ["if-modified-since", ""],
  ["if-none-match", ""],
  ["if-range", ""],
  ["if-unmodified-since", ""],
  ["last-modified", ""],
  ["link", ""],
  ["location", ""],
  ["max-forwards", ""],
  ["proxy-authenticate", ""],
  ["proxy-authorization", ""],
  ["range", ""],
  ["referer", ""],
  ["refresh", ""],
  ["retry-after", ""],
  ["server", ""],
  ["set-cookie", ""],
  ["strict-transport-security", ""],
  ["transfer-encoding", ""],
  ["user-agent", ""],
  ["vary", ""],
  ["via", ""],
  ["www-authenticate", ""],
];

const STATIC_FULL = new Map<string, number>();
const STATIC_NAME = new Map<string, number>();
STATIC_TABLE.forEach(([name, value], i) => {
  STATIC_FULL.set(`${name}\0${value}`, i + 1);
  if (!STATIC_NAME.has(name)) STATIC_NAME.set(name, i + 1);
});

/** The size of an entry as RFC 7541 section 4.1 counts it. */
export function entrySize(name: string, value: string): number {
  return byteLength(name) + byteLength(value) + 32;
}

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

function byteLength(s: string): number {
  return isAscii(s) ? s.length : utf8.encode(s).length;
}

function toBytes(s: string): Uint8Array {
  if (!isAscii(s)) return utf8.encode(s);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function fromBytes(b: Uint8Array): string {
  let ascii = true;
  for (let i = 0; i < b.length; i++) {
    if (b[i]! > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (!ascii) return utf8Decoder.decode(b);
  if (b.length >= 64) return utf8Decoder.decode(b);
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}

/** The dynamic table: newest entry first. */
class DynamicTable {
  entries: HeaderField[] = [];
  size = 0;
  maxSize: number;

  constructor(maxSize: number) {
    this.maxSize = maxSize;
  }

  add(name: string, value: string): void {
    const size = entrySize(name, value);
    this.evictTo(this.maxSize - size);
    if (size <= this.maxSize) {
      this.entries.unshift([name, value]);
      this.size += size;
    }
  }

  setMaxSize(max: number): void {
    this.maxSize = max;
    this.evictTo(max);
  }

  evictTo(limit: number): void {
    while (this.size > Math.max(0, limit) && this.entries.length > 0) {
      const [n, v] = this.entries.pop()!;
      this.size -= entrySize(n, v);
    }
    if (limit < 0 && this.entries.length === 0) this.size = 0;
  }
}

function compressionError(message: string): H2Error {
  return new H2Error(ErrorCode.COMPRESSION_ERROR, message);
}

/** Header list decoded from one header block. */
export interface DecodedHeaders {
  readonly headers: HeaderField[];
  /** The list's size as SETTINGS_MAX_HEADER_LIST_SIZE counts it (names + values + 32 each). */
  readonly size: number;
}

/** Decodes header blocks of one connection (the dynamic table spans blocks). */
export class HpackDecoder {
  #table: DynamicTable;
  /** The largest table size the peer may choose: our SETTINGS_HEADER_TABLE_SIZE. */
  #limit: number;

  /** Creates a decoder whose table is at most `maxTableSize` bytes. */
  constructor(maxTableSize = 4096) {
    this.#table = new DynamicTable(maxTableSize);
    this.#limit = maxTableSize;
  }

  /** The dynamic table, newest first (for tests). */
  get table(): readonly HeaderField[] {
    return this.#table.entries;
  }

  /** The dynamic table's size in bytes (for tests). */
  get tableSize(): number {
    return this.#table.size;
  }

  /**
   * Decodes one complete header block. Stops collecting (but keeps decoding, so the table stays
   * in step) once the list exceeds `maxListSize`; the returned `size` then exceeds the limit.
   *
   * @throws {H2Error} COMPRESSION_ERROR on any malformed representation.
   */
  decode(block: Uint8Array, maxListSize = Infinity): DecodedHeaders {
    const headers: HeaderField[] = [];
    let size = 0;
    let pos = 0;
    let sawField = false;
    const readInt = (prefixBits: number): number => {
      const mask = (1 << prefixBits) - 1;
      let value = block[pos++]! & mask;
      if (value < mask) return value;
      let shift = 0;
      while (true) {
        if (pos >= block.length) throw compressionError("Truncated integer");
        const b = block[pos++]!;
        value += (b & 0x7f) * 2 ** shift;
        shift += 7;
        if (value > 0xffff_ffff) throw compressionError("Integer overflow");
        if ((b & 0x80) === 0) return value;
      }
    };
    const readString = (): string => {
      if (pos >= block.length) throw compressionError("Truncated string");
      const huffman = (block[pos]! & 0x80) !== 0;
      const length = readInt(7);
      if (length > block.length - pos) throw compressionError("String longer than the block");
      const raw = block.subarray(pos, pos + length);
      pos += length;
      if (!huffman) return fromBytes(raw);
      try {
        return fromBytes(huffmanDecode(raw));
      } catch (error) {
        if (error instanceof HuffmanError) throw compressionError(error.message);
        throw error;
      }
    };
    const lookup = (index: number): HeaderField => {
      if (index === 0) throw compressionError("Index 0");
      if (index <= STATIC_TABLE.length) return STATIC_TABLE[index - 1]!;
      const entry = this.#table.entries[index - STATIC_TABLE.length - 1];
      if (entry === undefined) throw compressionError(`Index ${index} is not in the table`);
      return entry;
    };
    const emit = (field: HeaderField) => {
      sawField = true;
      size += entrySize(field[0], field[1]);
      if (size <= maxListSize) headers.push(field);
    };
    while (pos < block.length) {
      const b = block[pos]!;
      if ((b & 0x80) !== 0) {
        emit(lookup(readInt(7)));
      } else if ((b & 0xc0) === 0x40) {
        const index = readInt(6);
        const name = index === 0 ? readString() : lookup(index)[0];
        const value = readString();
        this.#table.add(name, value);
        emit([name, value]);
      } else if ((b & 0xe0) === 0x20) {
        if (sawField) throw compressionError("Table size update after a header field");
        const max = readInt(5);
        if (max > this.#limit) {
          throw compressionError(`Table size update to ${max} exceeds the limit ${this.#limit}`);
        }
        this.#table.setMaxSize(max);
      } else {
        // Literal without indexing (0000) or never indexed (0001).
        const index = readInt(4);
        const name = index === 0 ? readString() : lookup(index)[0];
        emit([name, readString()]);
      }
    }
    return { headers, size };
  }
}

/** Options of {@linkcode HpackEncoder}. */
export interface HpackEncoderOptions {
  /** Huffman-code strings when shorter (`"shorter"`), always, or never. @default "shorter" */
  readonly huffman?: "shorter" | "always" | "never";
  /** The table size both sides start with (the peer's SETTINGS_HEADER_TABLE_SIZE). @default 4096 */
  readonly tableSize?: number;
}

/** Names never added to the dynamic table: values that rarely repeat or must not be remembered. */
const NOT_INDEXED = new Set([
  ":path",
  "content-length",
  "grpc-message",
  "grpc-status-details-bin",
  "grpc-timeout",
  "authorization",
]);

/** Encodes header blocks of one connection. */
export class HpackEncoder {
  #table: DynamicTable;
  #huffman: "shorter" | "always" | "never";
  /** The smallest size since the last block and the latest, when a size update is due. */
  #pending: { smallest: number; last: number } | undefined;

  /** Creates an encoder. */
  constructor(options: HpackEncoderOptions = {}) {
    this.#huffman = options.huffman ?? "shorter";
    this.#table = new DynamicTable(Math.min(options.tableSize ?? 4096, 4096));
  }

  /** Follows the peer's SETTINGS_HEADER_TABLE_SIZE (capped at 4096 to bound our memory). */
  setMaxTableSize(size: number): void {
    const next = Math.min(size, 4096);
    if (next === this.#table.maxSize && this.#pending === undefined) return;
    const smallest = Math.min(next, this.#pending?.smallest ?? next, this.#table.maxSize);
    this.#pending = { smallest, last: next };
    this.#table.setMaxSize(smallest);
    this.#table.setMaxSize(next);
  }

  /** Encodes a header list into one block. */
  encode(headers: readonly HeaderField[]): Uint8Array {
    const out = new ByteWriter(64 + headers.length * 16);
    if (this.#pending !== undefined) {
      if (this.#pending.smallest < this.#pending.last) out.int(this.#pending.smallest, 5, 0x20);
      out.int(this.#pending.last, 5, 0x20);
      this.#pending = undefined;
    }
    for (const [name, value] of headers) {
      const full = STATIC_FULL.get(`${name}\0${value}`) ?? this.#dynamicIndex(name, value);
      if (full !== undefined) {
        out.int(full, 7, 0x80);
        continue;
      }
      const nameIndex = STATIC_NAME.get(name) ?? this.#dynamicNameIndex(name) ?? 0;
      const index = !NOT_INDEXED.has(name) &&
        entrySize(name, value) <= this.#table.maxSize / 2;
      if (index) out.int(nameIndex, 6, 0x40);
      else out.int(nameIndex, 4, 0x00);
      if (nameIndex === 0) this.#string(out, name);
      this.#string(out, value);
      if (index) this.#table.add(name, value);
    }
    return out.bytes();
  }

  #dynamicIndex(name: string, value: string): number | undefined {
    const entries = this.#table.entries;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      if (e[0] === name && e[1] === value) return STATIC_TABLE.length + 1 + i;
    }
    return undefined;
  }

  #dynamicNameIndex(name: string): number | undefined {
    const entries = this.#table.entries;
    for (let i = 0; i < entries.length; i++) {
      if (entries[i]![0] === name) return STATIC_TABLE.length + 1 + i;
    }
    return undefined;
  }

  #string(out: ByteWriter, s: string): void {
    const bytes = toBytes(s);
    const hl = this.#huffman === "never" ? Infinity : huffmanLength(bytes);
    if (this.#huffman === "always" || hl < bytes.length) {
      out.int(hl, 7, 0x80);
      out.reserve(hl);
      out.pos = huffmanEncodeInto(bytes, out.buf, out.pos);
    } else {
      out.int(bytes.length, 7, 0);
      out.raw(bytes);
    }
  }
}

/** A growable byte buffer. */
class ByteWriter {
  buf: Uint8Array;
  pos = 0;

  constructor(size: number) {
    this.buf = new Uint8Array(size);
  }

  reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    grown.set(this.buf.subarray(0, this.pos));
    this.buf = grown;
  }

  /** An HPACK integer with an N-bit prefix; `first` holds the representation's leading bits. */
  int(value: number, prefixBits: number, first: number): void {
    this.reserve(6);
    const max = (1 << prefixBits) - 1;
    if (value < max) {
      this.buf[this.pos++] = first | value;
      return;
    }
    this.buf[this.pos++] = first | max;
    value -= max;
    while (value >= 128) {
      this.buf[this.pos++] = (value % 128) | 0x80;
      value = Math.floor(value / 128);
    }
    this.buf[this.pos++] = value;
  }

  raw(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  bytes(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}
