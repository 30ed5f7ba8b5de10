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
  const maxBytes = limits.maxBytes ?? 16 * 1024 * 1024;
  const maxDepth = limits.maxDepth ?? 64;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const start = offset;
  let pos = offset;

  const need = (n: number) => {
    if (pos + n - start > maxBytes) {
      throw new MsgpackError(`a MessagePack value is larger than ${maxBytes} bytes`);
    }
    if (pos + n > bytes.length) throw new Incomplete();
  };
  const u8 = () => {
    need(1);
    return bytes[pos++]!;
  };
  const u16 = () => {
    need(2);
    const v = view.getUint16(pos);
    pos += 2;
    return v;
  };
  const u32 = () => {
    need(4);
    const v = view.getUint32(pos);
    pos += 4;
    return v;
  };
  const take = (n: number) => {
    need(n);
    const out = bytes.subarray(pos, pos + n);
    pos += n;
    return out;
  };
  const str = (n: number) => {
    try {
      return utf8.decode(take(n));
    } catch (error) {
      if (error instanceof Incomplete || error instanceof MsgpackError) throw error;
      throw new MsgpackError("a MessagePack string is not valid UTF-8");
    }
  };
  const int64 = (signed: boolean): number | bigint => {
    need(8);
    const v = signed ? view.getBigInt64(pos) : view.getBigUint64(pos);
    pos += 8;
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(v)
      : v;
  };
  const count = (n: number, minBytesEach: number) => {
    // Every element takes at least one byte: a count beyond what the limit allows is refused
    // before anything is allocated.
    if (n * minBytesEach > maxBytes) {
      throw new MsgpackError(`a MessagePack container declares ${n} elements`);
    }
    return n;
  };

  function value(depth: number): MsgpackValue {
    const b = u8();
    if (b <= 0x7f) return b;
    if (b >= 0xe0) return b - 0x100;
    if (b >= 0xa0 && b <= 0xbf) return str(b & 0x1f);
    if (b >= 0x90 && b <= 0x9f) return array(b & 0x0f, depth);
    if (b >= 0x80 && b <= 0x8f) return map(b & 0x0f, depth);
    switch (b) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xc4:
        return take(u8());
      case 0xc5:
        return take(u16());
      case 0xc6:
        return take(u32());
      case 0xc7:
        return ext(u8());
      case 0xc8:
        return ext(u16());
      case 0xc9:
        return ext(u32());
      case 0xca: {
        need(4);
        const v = view.getFloat32(pos);
        pos += 4;
        return v;
      }
      case 0xcb: {
        need(8);
        const v = view.getFloat64(pos);
        pos += 8;
        return v;
      }
      case 0xcc:
        return u8();
      case 0xcd:
        return u16();
      case 0xce:
        return u32();
      case 0xcf:
        return int64(false);
      case 0xd0: {
        const v = u8();
        return v > 0x7f ? v - 0x100 : v;
      }
      case 0xd1: {
        const v = u16();
        return v > 0x7fff ? v - 0x10000 : v;
      }
      case 0xd2: {
        need(4);
        const v = view.getInt32(pos);
        pos += 4;
        return v;
      }
      case 0xd3:
        return int64(true);
      case 0xd4:
        return ext(1);
      case 0xd5:
        return ext(2);
      case 0xd6:
        return ext(4);
      case 0xd7:
        return ext(8);
      case 0xd8:
        return ext(16);
      case 0xd9:
        return str(u8());
      case 0xda:
        return str(u16());
      case 0xdb:
        return str(u32());
      case 0xdc:
        return array(u16(), depth);
      case 0xdd:
        return array(u32(), depth);
      case 0xde:
        return map(u16(), depth);
      case 0xdf:
        return map(u32(), depth);
      default:
        throw new MsgpackError(`0x${b.toString(16)} is not a MessagePack type`);
    }
  }

  function ext(n: number): MsgpackExt {
    const type = u8();
    return { ext: type > 0x7f ? type - 0x100 : type, data: take(n) };
  }

  function array(n: number, depth: number): MsgpackValue[] {
    if (depth >= maxDepth) throw new MsgpackError(`MessagePack nested deeper than ${maxDepth}`);
    const out: MsgpackValue[] = new Array(count(n, 1));
    for (let i = 0; i < n; i++) out[i] = value(depth + 1);
    return out;
  }

  function map(n: number, depth: number): MsgpackMap {
    if (depth >= maxDepth) throw new MsgpackError(`MessagePack nested deeper than ${maxDepth}`);
    const entries: Array<[MsgpackValue, MsgpackValue]> = new Array(count(n, 2));
    for (let i = 0; i < n; i++) entries[i] = [value(depth + 1), value(depth + 1)];
    return { entries };
  }

  const decoded = value(0);
  return { value: decoded, end: pos };
}
