/**
 * A MessagePack decoder for stream protocols (the Fluent Forward protocol): it decodes one value
 * from a buffer that may hold only part of it, telling "need more bytes" ({@linkcode Incomplete})
 * apart from "this is not MessagePack" ({@linkcode MsgpackError}), so a TCP reader can wait for
 * the rest of a frame or refuse the connection. Maps decode to arrays of `[key, value]` pairs (keys
 * may be binary or repeated, and no key can reach an object's prototype); integers beyond 2^53
 * decode to `bigint`; binaries are views of the input; extension values keep their type and bytes.
 *
 * Declared lengths are checked against `maxBytes` before anything is allocated, and nesting is
 * bounded, so a hostile length prefix or a deep nesting bomb costs nothing.
 *
 * @module
 */

/** A MessagePack map: its entries in wire order. */
export interface MsgpackMap {
  readonly entries: ReadonlyArray<readonly [MsgpackValue, MsgpackValue]>;
}

/** A MessagePack extension value. */
export interface MsgpackExt {
  readonly ext: number;
  readonly data: Uint8Array;
}

/** A decoded value. */
export type MsgpackValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | MsgpackValue[]
  | MsgpackMap
  | MsgpackExt;

/** The buffer ends inside the value: read more and try again. */
export class Incomplete extends Error {
  constructor() {
    super("incomplete MessagePack value");
    this.name = "Incomplete";
  }
}

/** The bytes are not valid MessagePack, or break a limit. */
export class MsgpackError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MsgpackError";
  }
}

/** Limits of {@linkcode decodeOne}. */
export interface DecodeLimits {
  /** The most bytes one value may span. @default 16 MiB */
  readonly maxBytes?: number;
  /** The deepest nesting of arrays and maps. @default 64 */
  readonly maxDepth?: number;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** True for a decoded map. */
export function isMap(value: MsgpackValue): value is MsgpackMap {
  return typeof value === "object" && value !== null && "entries" in value;
}

/** True for a decoded extension value. */
export function isExt(value: MsgpackValue): value is MsgpackExt {
  return typeof value === "object" && value !== null && "ext" in value;
}

/** One reused array of char codes per length up to 64, for building a string in one call. */
const CODES: number[][] = Array.from({ length: 65 }, (_, n) => new Array<number>(n).fill(0));
const KEY_CACHE_BITS = 10;
/** Recent short ASCII strings (map keys, levels, tags repeat record after record), by hash. */
const keyCache: string[] = new Array<string>(1 << KEY_CACHE_BITS).fill("");

/** ASCII bytes `[start, end)` (at most 64) as a flat string, or undefined if one is not ASCII. */
function shortAscii(bytes: Uint8Array, start: number, end: number): string | undefined {
  const n = end - start;
  let slot = -1;
  if (n <= 16) {
    const hash = bytes[start]! | (bytes[end - 1]! << 8) | (bytes[start + (n >> 1)]! << 16);
    slot = Math.imul(hash ^ n, 0x9e3779b1) >>> (32 - KEY_CACHE_BITS);
    const hit = keyCache[slot]!;
    if (hit.length === n) {
      let i = 0;
      while (i < n && hit.charCodeAt(i) === bytes[start + i]) i++;
      if (i === n) return hit;
    }
  }
  const codes = CODES[n]!;
  let or = 0;
  for (let i = 0; i < n; i++) {
    const c = bytes[start + i]!;
    or |= c;
    codes[i] = c;
  }
  if (or >= 0x80) return undefined;
  const s = String.fromCharCode.apply(null, codes);
  if (slot >= 0) keyCache[slot] = s;
  return s;
}

/**
 * A cursor over MessagePack bytes: the input, the position and the limits. {@linkcode decodeOne}
 * decodes one whole value with it; a protocol reader can also walk a known shape itself (an
 * array header, then a map header, then each key and value) without building the generic
 * {@linkcode MsgpackValue} tree for the outer levels. Every method throws {@linkcode Incomplete}
 * or {@linkcode MsgpackError} as `decodeOne` does.
 */
export class MsgpackReader {
  /** The input. */
  readonly bytes: Uint8Array;
  readonly view: DataView;
  /** Where the value being read began (for `maxBytes`). */
  start: number;
  readonly maxBytes: number;
  readonly maxDepth: number;
  /** The offset of the next byte to read. */
  pos: number;

  constructor(bytes: Uint8Array, offset = 0, limits: DecodeLimits = {}) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.start = offset;
    this.pos = offset;
    this.maxBytes = limits.maxBytes ?? 16 * 1024 * 1024;
    this.maxDepth = limits.maxDepth ?? 64;
  }

  /** Starts a new value at the current position (its `maxBytes` counts from here). */
  mark(): void {
    this.start = this.pos;
  }

  /** The element count if an array starts here (and moves past its header), else undefined. */
  arrayHeader(): number | undefined {
    this.need(1);
    const b = this.bytes[this.pos]!;
    if (b >= 0x90 && b <= 0x9f) {
      this.pos++;
      return b & 0x0f;
    }
    if (b === 0xdc || b === 0xdd) {
      this.pos++;
      return this.count(b === 0xdc ? this.u16() : this.u32(), 1);
    }
    return undefined;
  }

  /** The entry count if a map starts here (and moves past its header), else undefined. */
  mapHeader(): number | undefined {
    this.need(1);
    const b = this.bytes[this.pos]!;
    if (b >= 0x80 && b <= 0x8f) {
      this.pos++;
      return b & 0x0f;
    }
    if (b === 0xde || b === 0xdf) {
      this.pos++;
      return this.count(b === 0xde ? this.u16() : this.u32(), 2);
    }
    return undefined;
  }

  need(n: number): void {
    if (this.pos + n - this.start > this.maxBytes) {
      throw new MsgpackError(`a MessagePack value is larger than ${this.maxBytes} bytes`);
    }
    if (this.pos + n > this.bytes.length) throw new Incomplete();
  }

  u8(): number {
    this.need(1);
    return this.bytes[this.pos++]!;
  }

  u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }

  take(n: number): Uint8Array {
    this.need(n);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  str(n: number): string {
    this.need(n);
    const at = this.pos;
    this.pos += n;
    if (n === 0) return "";
    if (n <= 64) {
      const s = shortAscii(this.bytes, at, at + n);
      if (s !== undefined) return s;
    }
    try {
      return utf8.decode(this.bytes.subarray(at, at + n));
    } catch {
      throw new MsgpackError("a MessagePack string is not valid UTF-8");
    }
  }

  int64(signed: boolean): number | bigint {
    this.need(8);
    const v = signed ? this.view.getBigInt64(this.pos) : this.view.getBigUint64(this.pos);
    this.pos += 8;
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(v)
      : v;
  }

  count(n: number, minBytesEach: number): number {
    // Every element takes at least one byte: a count beyond what the limit allows is refused
    // before anything is allocated.
    if (n * minBytesEach > this.maxBytes) {
      throw new MsgpackError(`a MessagePack container declares ${n} elements`);
    }
    return n;
  }

  value(depth: number): MsgpackValue {
    const b = this.u8();
    if (b <= 0x7f) return b;
    if (b >= 0xe0) return b - 0x100;
    if (b >= 0xa0 && b <= 0xbf) return this.str(b & 0x1f);
    if (b >= 0x90 && b <= 0x9f) return this.array(b & 0x0f, depth);
    if (b >= 0x80 && b <= 0x8f) return this.map(b & 0x0f, depth);
    switch (b) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xc4:
        return this.take(this.u8());
      case 0xc5:
        return this.take(this.u16());
      case 0xc6:
        return this.take(this.u32());
      case 0xc7:
        return this.ext(this.u8());
      case 0xc8:
        return this.ext(this.u16());
      case 0xc9:
        return this.ext(this.u32());
      case 0xca: {
        this.need(4);
        const v = this.view.getFloat32(this.pos);
        this.pos += 4;
        return v;
      }
      case 0xcb: {
        this.need(8);
        const v = this.view.getFloat64(this.pos);
        this.pos += 8;
        return v;
      }
      case 0xcc:
        return this.u8();
      case 0xcd:
        return this.u16();
      case 0xce:
        return this.u32();
      case 0xcf:
        return this.int64(false);
      case 0xd0: {
        const v = this.u8();
        return v > 0x7f ? v - 0x100 : v;
      }
      case 0xd1: {
        const v = this.u16();
        return v > 0x7fff ? v - 0x10000 : v;
      }
      case 0xd2: {
        this.need(4);
        const v = this.view.getInt32(this.pos);
        this.pos += 4;
        return v;
      }
      case 0xd3:
        return this.int64(true);
      case 0xd4:
        return this.ext(1);
      case 0xd5:
        return this.ext(2);
      case 0xd6:
        return this.ext(4);
      case 0xd7:
        return this.ext(8);
      case 0xd8:
        return this.ext(16);
      case 0xd9:
        return this.str(this.u8());
      case 0xda:
        return this.str(this.u16());
      case 0xdb:
        return this.str(this.u32());
      case 0xdc:
        return this.array(this.u16(), depth);
      case 0xdd:
        return this.array(this.u32(), depth);
      case 0xde:
        return this.map(this.u16(), depth);
      case 0xdf:
        return this.map(this.u32(), depth);
      default:
        throw new MsgpackError(`0x${b.toString(16)} is not a MessagePack type`);
    }
  }

  ext(n: number): MsgpackExt {
    const type = this.u8();
    return { ext: type > 0x7f ? type - 0x100 : type, data: this.take(n) };
  }

  array(n: number, depth: number): MsgpackValue[] {
    if (depth >= this.maxDepth) {
      throw new MsgpackError(`MessagePack nested deeper than ${this.maxDepth}`);
    }
    const out: MsgpackValue[] = new Array(this.count(n, 1));
    for (let i = 0; i < n; i++) out[i] = this.value(depth + 1);
    return out;
  }

  map(n: number, depth: number): MsgpackMap {
    if (depth >= this.maxDepth) {
      throw new MsgpackError(`MessagePack nested deeper than ${this.maxDepth}`);
    }
    const entries: Array<[MsgpackValue, MsgpackValue]> = new Array(this.count(n, 2));
    for (let i = 0; i < n; i++) entries[i] = [this.value(depth + 1), this.value(depth + 1)];
    return { entries };
  }
}

/**
 * Decodes the value starting at `offset`; returns it and the offset after it.
 * @throws {Incomplete} when the buffer ends first
 * @throws {MsgpackError} for invalid bytes or a broken limit
 */
export function decodeOne(
  bytes: Uint8Array,
  offset = 0,
  limits: DecodeLimits = {},
): { value: MsgpackValue; end: number } {
  const reader = new MsgpackReader(bytes, offset, limits);
  const value = reader.value(0);
  return { value, end: reader.pos };
}
