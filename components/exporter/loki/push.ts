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
 * The protobuf is written in two passes: every string is UTF-8 encoded once and every length
 * known before one buffer of the exact size is filled.
 *
 * @module
 */
import type { LokiRequest } from "./convert.ts";

const utf8 = new TextEncoder();

function varintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

class Writer {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}

  varint(v: number): void {
    const buf = this.buf;
    while (v >= 0x80) {
      buf[this.pos++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    buf[this.pos++] = v;
  }

  tag(field: number, wireType: number): void {
    this.buf[this.pos++] = (field << 3) | wireType;
  }

  bytes(field: number, b: Uint8Array): void {
    this.tag(field, 2);
    this.varint(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
}

interface SizedEntry {
  seconds: number;
  nanos: number;
  line: Uint8Array;
  /** Size of the Timestamp message. */
  tsSize: number;
  /** Size of the EntryAdapter message. */
  size: number;
}

/** Encodes `request` as a `logproto.PushRequest` (not compressed). */
export function encodePushRequest(request: LokiRequest): Uint8Array {
  let total = 0;
  const streams = request.streams.map((stream) => {
    const labels = utf8.encode(stream.labels);
    let size = 1 + varintSize(labels.length) + labels.length;
    const entries: SizedEntry[] = stream.entries.map((e) => {
      const seconds = Number(e.timeUnixNano / 1_000_000_000n);
      const nanos = Number(e.timeUnixNano % 1_000_000_000n);
      const line = utf8.encode(e.line);
      const tsSize = (seconds > 0 ? 1 + varintSize(seconds) : 0) +
        (nanos > 0 ? 1 + varintSize(nanos) : 0);
      const entrySize = 1 + varintSize(tsSize) + tsSize +
        (line.length > 0 ? 1 + varintSize(line.length) + line.length : 0);
      size += 1 + varintSize(entrySize) + entrySize;
      return { seconds, nanos, line, tsSize, size: entrySize };
    });
    total += 1 + varintSize(size) + size;
    return { labels, entries, size };
  });
  const w = new Writer(new Uint8Array(total));
  for (const stream of streams) {
    w.tag(1, 2);
    w.varint(stream.size);
    w.bytes(1, stream.labels);
    for (const e of stream.entries) {
      w.tag(2, 2);
      w.varint(e.size);
      w.tag(1, 2);
      w.varint(e.tsSize);
      if (e.seconds > 0) {
        w.tag(1, 0);
        w.varint(e.seconds);
      }
      if (e.nanos > 0) {
        w.tag(2, 0);
        w.varint(e.nanos);
      }
      if (e.line.length > 0) w.bytes(2, e.line);
    }
  }
  return w.buf;
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
