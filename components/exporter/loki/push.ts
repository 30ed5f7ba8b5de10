/**
 * Loki push request bodies: the protobuf `logproto.PushRequest` (then snappy-compressed, block
 * format, as Loki's `/loki/api/v1/push` takes it with `Content-Type: application/x-protobuf`) and
 * Loki's JSON push format.
 *
 * ```proto
 * message PushRequest { repeated StreamAdapter streams = 1; }
 * message StreamAdapter { string labels = 1; repeated EntryAdapter entries = 2; uint64 hash = 3; }
 * message EntryAdapter { google.protobuf.Timestamp timestamp = 1; string line = 2; }
 * message Timestamp { int64 seconds = 1; int32 nanos = 2; }
 * ```
 *
 * The protobuf is written in one pass into a scratch buffer kept between calls (an entry's
 * lengths are summed before it is written, since a line of ASCII text is as many bytes as
 * characters; other lines are UTF-8 encoded first) and handed to `finish` while it is still a
 * view into that buffer: the exporter snappy-compresses it, which saves a copy.
 *
 * @module
 */
import { ProtoWriter } from "../../../lib/otlp/_proto_writer.ts";
import type { LokiRequest } from "./convert.ts";

const utf8 = new TextEncoder();
/** Scratch buffers above this size are not kept between calls. */
const KEEP_LIMIT = 16 * 1024 * 1024;
let shared: ProtoWriter | undefined;

function varintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

function writeVarint(buf: Uint8Array, pos: number, v: number): number {
  while (v >= 0x80) {
    buf[pos++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[pos++] = v;
  return pos;
}

/** One `EntryAdapter` as field 2 of its stream. */
function writeEntry(w: ProtoWriter, timeUnixNano: bigint, line: string): void {
  const secondsBig = timeUnixNano / 1_000_000_000n;
  const seconds = Number(secondsBig);
  const nanos = Number(timeUnixNano - secondsBig * 1_000_000_000n);
  const tsSize = (seconds > 0 ? 1 + varintSize(seconds) : 0) +
    (nanos > 0 ? 1 + varintSize(nanos) : 0);
  // Sized as if the line were ASCII (as many bytes as characters): right for most lines; a line
  // that turns out longer in UTF-8 is written again with its real length.
  let lineLength = line.length;
  let bytes: Uint8Array | undefined;
  for (;;) {
    const size = 1 + varintSize(tsSize) + tsSize +
      (lineLength > 0 ? 1 + varintSize(lineLength) + lineLength : 0);
    w.ensure(1 + 5 + size);
    const buf = w.buf;
    let pos = w.pos;
    buf[pos++] = 0x12; // entries = 2
    pos = writeVarint(buf, pos, size);
    buf[pos++] = 0x0a; // timestamp = 1
    pos = writeVarint(buf, pos, tsSize);
    if (seconds > 0) {
      buf[pos++] = 0x08;
      pos = writeVarint(buf, pos, seconds);
    }
    if (nanos > 0) {
      buf[pos++] = 0x10;
      pos = writeVarint(buf, pos, nanos);
    }
    if (lineLength > 0) {
      buf[pos++] = 0x12; // line = 2
      pos = writeVarint(buf, pos, lineLength);
      if (bytes !== undefined) {
        buf.set(bytes, pos);
      } else {
        const { read, written } = utf8.encodeInto(line, buf.subarray(pos, pos + lineLength));
        if (read !== line.length || written !== lineLength) {
          bytes = utf8.encode(line);
          lineLength = bytes.length;
          continue;
        }
      }
      pos += lineLength;
    }
    w.pos = pos;
    return;
  }
}

function copy(b: Uint8Array): Uint8Array {
  return b.slice();
}

/**
 * Encodes `request` as a `logproto.PushRequest` (not compressed) and returns what `finish` makes
 * of it (by default a copy); `finish` gets a view into a scratch buffer that it must not keep.
 */
export function encodePushRequest(
  request: LokiRequest,
  finish: (body: Uint8Array) => Uint8Array = copy,
): Uint8Array {
  const w = shared ?? new ProtoWriter(256 * 1024);
  shared = undefined;
  w.reset();
  for (const stream of request.streams) {
    w.forkLarge(1);
    w.stringAlways(1, stream.labels);
    for (const e of stream.entries) writeEntry(w, e.timeUnixNano, e.line);
    w.join();
  }
  const out = finish(w.buf.subarray(0, w.pos));
  if (w.buf.length <= KEEP_LIMIT) shared = w;
  return out;
}

/** Encodes `request` in Loki's JSON push format: `{"streams":[{"stream":{…},"values":[…]}]}`. */
export function encodePushJson(request: LokiRequest): Uint8Array {
  const streams = request.streams.map((stream) => {
    const labels = Object.fromEntries(stream.labelPairs);
    const values = stream.entries.map((e) =>
      `[${JSON.stringify(String(e.timeUnixNano))},${JSON.stringify(e.line)}]`
    );
    return `{"stream":${JSON.stringify(labels)},"values":[${values.join(",")}]}`;
  });
  return utf8.encode(`{"streams":[${streams.join(",")}]}`);
}
