/**
 * A small MessagePack encoder for protocol replies (Fluent Forward acks, HELO and PONG): nil,
 * booleans, safe integers, doubles, strings, binaries, arrays and string-keyed maps.
 *
 * @module
 */

/** What {@linkcode encode} takes. */
export type Encodable =
  | null
  | boolean
  | number
  | string
  | Uint8Array
  | Encodable[]
  | { readonly [key: string]: Encodable };

const utf8 = new TextEncoder();

/** Encodes `value` as MessagePack. */
export function encode(value: Encodable): Uint8Array {
  const out: number[] = [];
  const u16 = (n: number) => out.push(n >> 8, n & 0xff);
  const u32 = (n: number) => out.push(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
  const bytes = (b: Uint8Array) => {
    for (const x of b) out.push(x);
  };
  const header = (
    n: number,
    fix: number,
    fixMax: number,
    c8: number | undefined,
    c16: number,
    c32: number,
  ) => {
    if (n <= fixMax) out.push(fix | n);
    else if (c8 !== undefined && n <= 0xff) out.push(c8, n);
    else if (n <= 0xffff) {
      out.push(c16);
      u16(n);
    } else {
      out.push(c32);
      u32(n);
    }
  };
  const write = (v: Encodable): void => {
    if (v === null) out.push(0xc0);
    else if (v === true) out.push(0xc3);
    else if (v === false) out.push(0xc2);
    else if (typeof v === "number") {
      if (Number.isInteger(v) && v >= 0 && v <= 0x7f) out.push(v);
      else if (Number.isInteger(v) && v < 0 && v >= -32) out.push(v + 0x100);
      else if (Number.isInteger(v) && v >= 0 && v <= 0xffffffff) {
        out.push(0xce);
        u32(v);
      } else if (Number.isInteger(v) && v >= -0x80000000 && v < 0) {
        out.push(0xd2);
        u32(v >>> 0);
      } else {
        const b = new Uint8Array(8);
        new DataView(b.buffer).setFloat64(0, v);
        out.push(0xcb);
        bytes(b);
      }
    } else if (typeof v === "string") {
      const b = utf8.encode(v);
      header(b.length, 0xa0, 31, 0xd9, 0xda, 0xdb);
      bytes(b);
    } else if (v instanceof Uint8Array) {
      header(v.length, 0, -1, 0xc4, 0xc5, 0xc6);
      bytes(v);
    } else if (Array.isArray(v)) {
      header(v.length, 0x90, 15, undefined, 0xdc, 0xdd);
      for (const item of v) write(item);
    } else {
      const entries = Object.entries(v);
      header(entries.length, 0x80, 15, undefined, 0xde, 0xdf);
      for (const [k, item] of entries) {
        write(k);
        write(item);
      }
    }
  };
  write(value);
  return Uint8Array.from(out);
}
