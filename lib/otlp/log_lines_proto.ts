/**
 * {@linkcode LogLinesEncoder}: an `ExportLogsServiceRequest` built straight from the bytes of a read
 * buffer, for a receiver whose log records are lines of text with nothing else but a shared
 * observed time and shared attributes (`filelog` without operators). No string, record object or
 * writer walk per line: the request is sized in one pass over the lines' byte ranges and written in
 * a second, the bodies copied byte for byte. The bytes equal what `encodeLogsRequest` writes for the
 * same records (one resource and one scope, both empty).
 *
 * @module
 */
import type { KeyValue } from "../pdata/types.ts";
import { writeAttributes } from "./common_proto.ts";
import { ProtoWriter, varintSize } from "./_proto_writer.ts";

/** Byte ranges of lines in one buffer: line `i` is `[starts[i], ends[i])`; `count` are in use. */
export class LineSpans {
  /** Start offsets. */
  starts: Int32Array;
  /** End offsets (exclusive). */
  ends: Int32Array;
  /** Ranges in use. */
  count = 0;

  constructor(capacity = 1024) {
    this.starts = new Int32Array(capacity);
    this.ends = new Int32Array(capacity);
  }

  /** Appends the range `[start, end)`. */
  push(start: number, end: number): void {
    if (this.count === this.starts.length) {
      const starts = new Int32Array(this.count * 2);
      starts.set(this.starts);
      this.starts = starts;
      const ends = new Int32Array(this.count * 2);
      ends.set(this.ends);
      this.ends = ends;
    }
    this.starts[this.count] = start;
    this.ends[this.count++] = end;
  }
}

/**
 * Bodies at least this long are copied with `TypedArray.set` (one view each) rather than a loop:
 * for 120-byte lines `set` took half the time of a JS loop in a micro-bench.
 */
const SET_MIN = 16;

/** Writes an unsigned 32-bit varint at `pos`; returns the position after it. */
function varint(out: Uint8Array, pos: number, v: number): number {
  while (v > 0x7f) {
    out[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  out[pos++] = v;
  return pos;
}

/** The encoded `repeated KeyValue attributes = 6` of a log record. */
function attributeBytes(attributes: readonly KeyValue[]): Uint8Array {
  if (attributes.length === 0) return new Uint8Array(0);
  const w = new ProtoWriter(256);
  writeAttributes(w, 6, attributes);
  return w.buf.slice(0, w.pos);
}

/**
 * Encodes `ExportLogsServiceRequest`s of lines that share an observed time and attributes: one
 * empty resource, one empty scope, and a log record per line whose body is the string of the
 * line's bytes. Every line must be valid UTF-8 (ASCII is), as a protobuf `string` must be.
 */
export class LogLinesEncoder {
  /** What follows the body in every record: the attributes, then the observed time. */
  readonly #tail: Uint8Array;

  /** `observedTimeUnixNano` is not written when 0. */
  constructor(observedTimeUnixNano: bigint, attributes: readonly KeyValue[]) {
    const attrs = attributeBytes(attributes);
    const hasTime = observedTimeUnixNano !== 0n;
    const tail = new Uint8Array(attrs.length + (hasTime ? 9 : 0));
    tail.set(attrs);
    if (hasTime) {
      tail[attrs.length] = 0x59; // observed_time_unix_nano = 11, fixed64
      new DataView(tail.buffer).setBigUint64(
        attrs.length + 1,
        BigInt.asUintN(64, observedTimeUnixNano),
        true,
      );
    }
    this.#tail = tail;
  }

  /** The bytes every record takes besides its body and the framing of body and record. */
  get fixedBytes(): number {
    return this.#tail.length;
  }

  /** One request of the lines `from` (inclusive) to `to` (exclusive) of `lines`, ranges of `data`. */
  encode(data: Uint8Array, lines: LineSpans, from = 0, to: number = lines.count): Uint8Array {
    const out = new Uint8Array(this.size(lines, from, to));
    this.encodeInto(out, 0, data, lines, from, to);
    return out;
  }

  /** The encoded size of the request {@linkcode encode} writes for the same lines. */
  size(lines: LineSpans, from = 0, to: number = lines.count): number {
    const fixed = this.#tail.length;
    const { starts, ends } = lines;
    let records = 0;
    for (let i = from; i < to; i++) {
      const len = ends[i]! - starts[i]!;
      const value = 1 + varintSize(len) + len;
      const record = 1 + varintSize(value) + value + fixed;
      records += 1 + varintSize(record) + record;
    }
    const scopeLogs = 2 + records; // the empty scope (tag, length 0), then the records
    const resourceLogs = 2 + 1 + varintSize(scopeLogs) + scopeLogs;
    return 1 + varintSize(resourceLogs) + resourceLogs;
  }

  /**
   * Writes the request of the lines `from` to `to` into `out` at `pos` (which must have
   * {@linkcode size} bytes free there): several requests can share one buffer, so one allocation
   * serves a whole read. Returns the position after it.
   */
  encodeInto(
    out: Uint8Array,
    pos: number,
    data: Uint8Array,
    lines: LineSpans,
    from = 0,
    to: number = lines.count,
  ): number {
    const tail = this.#tail;
    const fixed = tail.length;
    const { starts, ends } = lines;
    // The sizes again (cheaper than keeping them): the framing needs the total first.
    let records = 0;
    for (let i = from; i < to; i++) {
      const len = ends[i]! - starts[i]!;
      const value = 1 + varintSize(len) + len;
      const record = 1 + varintSize(value) + value + fixed;
      records += 1 + varintSize(record) + record;
    }
    const scopeLogs = 2 + records;
    const resourceLogs = 2 + 1 + varintSize(scopeLogs) + scopeLogs;
    out[pos++] = 0x0a; // resource_logs = 1
    pos = varint(out, pos, resourceLogs);
    out[pos++] = 0x0a; // resource = 1, empty
    out[pos++] = 0;
    out[pos++] = 0x12; // scope_logs = 2
    pos = varint(out, pos, scopeLogs);
    out[pos++] = 0x0a; // scope = 1, empty
    out[pos++] = 0;
    // The records, fields in field-number order as `encodeLogsRequest` writes them.
    for (let i = from; i < to; i++) {
      const start = starts[i]!;
      const len = ends[i]! - start;
      const value = 1 + varintSize(len) + len;
      const record = 1 + varintSize(value) + value + fixed;
      out[pos++] = 0x12; // log_records = 2
      pos = varint(out, pos, record);
      out[pos++] = 0x2a; // body = 5
      pos = varint(out, pos, value);
      out[pos++] = 0x0a; // string_value = 1
      pos = varint(out, pos, len);
      if (len >= SET_MIN) {
        out.set(data.subarray(start, start + len), pos);
      } else {
        for (let j = 0; j < len; j++) out[pos + j] = data[start + j]!;
      }
      pos += len;
      out.set(tail, pos);
      pos += fixed;
    }
    return pos;
  }
}
