/**
 * Snappy for request bodies: the block format (what the OpenTelemetry Collector v0.16x sends as
 * `Content-Encoding: snappy`, checked against its otlp_http exporter) and the framing format
 * (`x-snappy-framed`: the stream identifier, then chunks of at most 64 KiB, each with the masked
 * CRC-32C of its uncompressed bytes).
 *
 * The block compressor is tfo's own, written from the format description: a greedy LZ77 over a
 * hash table of 4-byte sequences, as every Snappy compressor is, tuned for V8 — the table and the
 * output buffer are kept between calls (a table entry is valid only when it is above the call's
 * base, so the table is never cleared), bytes are read and compared four at a time through a
 * `DataView`, and the only allocation is the exact-size result. Against `@stablelib/snappy`
 * (pure JavaScript, which allocates a 64 KiB table and a worst-case output buffer per call and
 * compares byte by byte) it compresses remote write and OTLP requests 2-3× faster at the same or
 * a better ratio (bench/snappy_bench.ts, numbers in bench/RESULTS.md). Decompression is
 * `@stablelib/snappy`'s; only tests and benchmarks use it, so tfo's output is always checked by
 * an independent decoder. The framing is tfo's.
 *
 * @module
 */
import { decompress } from "@stablelib/snappy";

const TABLE_BITS = 15;
const TABLE_SHIFT = 32 - TABLE_BITS;
/** Copies reach at most this far back (a 2-byte offset, the 3-byte copy form). */
const MAX_OFFSET = 65535;
/** Scratch output buffers above this size are not kept between calls. */
const KEEP_OUTPUT = 4 * 1024 * 1024;
const TAG_COPY1 = 0x01;
const TAG_COPY2 = 0x02;

/** Positions of 4-byte sequences, each stored as position + {@linkcode base} of its call. */
const table = new Int32Array(1 << TABLE_BITS);
/** Added to positions of the current call: entries below it are from earlier calls. */
let base = 0;
let out = new Uint8Array(64 * 1024);

/** The most bytes Snappy's block format can take for `n` input bytes. */
function maxCompressedLength(n: number): number {
  return 32 + n + Math.ceil(n / 6);
}

function emitLiteral(
  dst: Uint8Array,
  d: number,
  src: Uint8Array,
  from: number,
  to: number,
): number {
  const n = to - from - 1;
  if (n < 60) {
    dst[d++] = n << 2;
  } else if (n < 0x100) {
    dst[d++] = 60 << 2;
    dst[d++] = n;
  } else if (n < 0x10000) {
    dst[d++] = 61 << 2;
    dst[d++] = n & 0xff;
    dst[d++] = n >>> 8;
  } else if (n < 0x1000000) {
    dst[d++] = 62 << 2;
    dst[d++] = n & 0xff;
    dst[d++] = (n >>> 8) & 0xff;
    dst[d++] = n >>> 16;
  } else {
    dst[d++] = 63 << 2;
    dst[d++] = n & 0xff;
    dst[d++] = (n >>> 8) & 0xff;
    dst[d++] = (n >>> 16) & 0xff;
    dst[d++] = n >>> 24;
  }
  if (n < 16) {
    for (let i = from; i < to; i++) dst[d++] = src[i]!;
    return d;
  }
  dst.set(src.subarray(from, to), d);
  return d + n + 1;
}

function emitCopy(dst: Uint8Array, d: number, offset: number, length: number): number {
  // 64-byte copies, keeping at least 4 bytes for the last one (a copy is 4 to 64 bytes long).
  while (length >= 68) {
    dst[d++] = (63 << 2) | TAG_COPY2;
    dst[d++] = offset & 0xff;
    dst[d++] = offset >>> 8;
    length -= 64;
  }
  if (length > 64) {
    dst[d++] = (59 << 2) | TAG_COPY2;
    dst[d++] = offset & 0xff;
    dst[d++] = offset >>> 8;
    length -= 60;
  }
  if (length < 12 && offset < 2048) {
    dst[d++] = ((offset >>> 8) << 5) | ((length - 4) << 2) | TAG_COPY1;
    dst[d++] = offset & 0xff;
    return d;
  }
  dst[d++] = ((length - 1) << 2) | TAG_COPY2;
  dst[d++] = offset & 0xff;
  dst[d++] = offset >>> 8;
  return d;
}

/** Compresses `src` into the Snappy block format; `src` is not kept. */
export function snappyCompress(src: Uint8Array): Uint8Array {
  const n = src.length;
  const bound = maxCompressedLength(n);
  if (out.length < bound) out = new Uint8Array(Math.max(bound, out.length * 2));
  const dst = out;
  let d = 0;
  for (let v = n;; v >>>= 7) { // the uncompressed length, a varint
    if (v < 0x80) {
      dst[d++] = v;
      break;
    }
    dst[d++] = (v & 0x7f) | 0x80;
  }
  let emitted = 0;
  if (n >= 16) {
    if (base > 0x7fffffff - n - 1) {
      table.fill(0);
      base = 0;
    }
    const b0 = base + 1; // entries of this call are above `base`
    base = b0 + n;
    const view = new DataView(src.buffer, src.byteOffset, n);
    // Hashing stops 4 bytes before the end (a 4-byte read); the tail is a literal.
    const last = n - 4;
    let s = 1;
    while (s <= last) {
      const cur = view.getUint32(s, true);
      const h = Math.imul(cur, 0x1e35a7bd) >>> TABLE_SHIFT;
      const cand = table[h]! - b0;
      table[h] = s + b0;
      if (cand < 0 || s - cand > MAX_OFFSET || view.getUint32(cand, true) !== cur) {
        // No match: step further the longer nothing matched (incompressible input is fast).
        s += 1 + ((s - emitted) >>> 5);
        continue;
      }
      if (emitted < s) d = emitLiteral(dst, d, src, emitted, s);
      let a = s + 4;
      let b = cand + 4;
      while (a <= last && view.getUint32(a, true) === view.getUint32(b, true)) {
        a += 4;
        b += 4;
      }
      while (a < n && src[a] === src[b]) {
        a++;
        b++;
      }
      d = emitCopy(dst, d, s - cand, a - s);
      emitted = a;
      // The position before the match's end is likely to start the next one: remember it.
      if (a - 1 <= last) {
        table[Math.imul(view.getUint32(a - 1, true), 0x1e35a7bd) >>> TABLE_SHIFT] = a - 1 + b0;
      }
      s = a;
    }
  }
  if (emitted < n) d = emitLiteral(dst, d, src, emitted, n);
  const result = dst.slice(0, d);
  if (out.length > KEEP_OUTPUT) out = new Uint8Array(64 * 1024);
  return result;
}

/** Decompresses Snappy block-format data (trusted input: tests and benchmarks). */
export function snappyUncompress(src: Uint8Array): Uint8Array {
  return decompress(src);
}

// ---------------------------------------------------------------------------------------------
// The framing format

const BLOCK = 1 << 16;

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32C (Castagnoli) of `data`. */
export function crc32c(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC32C_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function maskedCrc(data: Uint8Array): number {
  const c = crc32c(data);
  return (((c >>> 15) | (c << 17)) + 0xa282ead8) >>> 0;
}

const STREAM_ID = new Uint8Array([0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59]);

/** Compresses `src` into the Snappy framing format (`x-snappy-framed`). */
export function snappyFramedCompress(src: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [STREAM_ID];
  let size = STREAM_ID.length;
  for (let start = 0; start < src.length || start === 0; start += BLOCK) {
    const chunk = src.subarray(start, Math.min(src.length, start + BLOCK));
    const compressed = snappyCompress(chunk);
    // A chunk that does not shrink goes uncompressed (type 1), as the format allows.
    const keep = compressed.length < chunk.length;
    const body = keep ? compressed : chunk;
    const header = new Uint8Array(8);
    const len = body.length + 4;
    header[0] = keep ? 0x00 : 0x01;
    header[1] = len & 0xff;
    header[2] = (len >>> 8) & 0xff;
    header[3] = len >>> 16;
    new DataView(header.buffer).setUint32(4, maskedCrc(chunk), true);
    parts.push(header, body);
    size += header.length + body.length;
    if (src.length === 0) break;
  }
  const out = new Uint8Array(size);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
