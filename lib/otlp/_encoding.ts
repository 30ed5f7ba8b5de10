/**
 * Hex and base64 for OTLP/JSON: trace and span IDs are hex, every other bytes field is base64.
 *
 * @module
 */
import { OtlpDecodeError } from "./errors.ts";

const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push(i.toString(16).padStart(2, "0"));

const HEX_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) HEX_VALUE[48 + i] = i;
for (let i = 0; i < 6; i++) {
  HEX_VALUE[65 + i] = 10 + i;
  HEX_VALUE[97 + i] = 10 + i;
}

/** Lower-case hex of `b`. */
export function toHex(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += HEX[b[i]!];
  return s;
}

/** Bytes from hex (either case). */
export function fromHex(s: string, what: string): Uint8Array {
  const n = s.length;
  if (n % 2 !== 0) throw new OtlpDecodeError(`${what}: hex string of odd length ${n}`);
  const out = new Uint8Array(n / 2);
  for (let i = 0; i < n; i += 2) {
    const a = s.charCodeAt(i);
    const b = s.charCodeAt(i + 1);
    const hi = a < 128 ? HEX_VALUE[a]! : -1;
    const lo = b < 128 ? HEX_VALUE[b]! : -1;
    if (hi < 0 || lo < 0) throw new OtlpDecodeError(`${what}: invalid hex "${s}"`);
    out[i >> 1] = (hi << 4) | lo;
  }
  return out;
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) B64_VALUE[B64.charCodeAt(i)] = i;
B64_VALUE["-".charCodeAt(0)] = 62; // URL-safe alphabet, accepted when decoding
B64_VALUE["_".charCodeAt(0)] = 63;

/** Standard base64 (with padding) of `b`. */
export function toBase64(b: Uint8Array): string {
  let s = "";
  const n = b.length;
  let i = 0;
  for (; i + 2 < n; i += 3) {
    const v = (b[i]! << 16) | (b[i + 1]! << 8) | b[i + 2]!;
    s += B64[v >> 18]! + B64[(v >> 12) & 63]! + B64[(v >> 6) & 63]! + B64[v & 63]!;
  }
  if (i < n) {
    const v = (b[i]! << 16) | (i + 1 < n ? b[i + 1]! << 8 : 0);
    s += B64[v >> 18]! + B64[(v >> 12) & 63]!;
    s += i + 1 < n ? B64[(v >> 6) & 63]! + "=" : "==";
  }
  return s;
}

/** Bytes from base64 (standard or URL-safe alphabet, padding optional). */
export function fromBase64(s: string, what: string): Uint8Array {
  let n = s.length;
  while (n > 0 && s.charCodeAt(n - 1) === 61) n--;
  if (s.length - n > 2 || n % 4 === 1) {
    throw new OtlpDecodeError(`${what}: invalid base64 "${s.slice(0, 40)}"`);
  }
  const out = new Uint8Array(Math.floor((n * 3) / 4));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    const v = c < 128 ? B64_VALUE[c]! : -1;
    if (v < 0) throw new OtlpDecodeError(`${what}: invalid base64 "${s.slice(0, 40)}"`);
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}
