/**
 * The protobuf size the Collector computes for spans (`TracesSize`, `ResourceSpansSize`). Go's
 * pdata always writes a span's `status` (an empty one as two bytes) where tfo's encoder leaves an
 * empty status out, so the size is tfo's encoding re-measured with those two bytes added per span
 * (and every enclosing length prefix grown to fit).
 *
 * @module
 */
import { encodeTracesRequest } from "../../../lib/otlp/traces_proto.ts";
import type { ResourceSpans } from "../../../lib/pdata/types.ts";

function varintLen(n: number): number {
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

function readVarint(b: Uint8Array, pos: number): [number, number] {
  let result = 0;
  let mul = 1;
  for (;;) {
    const byte = b[pos++]!;
    result += (byte & 0x7f) * mul;
    if (byte < 0x80) return [result, pos];
    mul *= 128;
  }
}

/** Size of a message's fields with `child` messages (by field number) re-measured by `measure`. */
function measure(
  b: Uint8Array,
  start: number,
  end: number,
  children: ReadonlyMap<number, (s: number, e: number) => number>,
  extra: (sawStatus: boolean) => number = () => 0,
): number {
  let size = 0;
  let pos = start;
  let sawStatus = false;
  while (pos < end) {
    const tagStart = pos;
    const [tag, afterTag] = readVarint(b, pos);
    pos = afterTag;
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (field === 15) sawStatus = true;
    if (wire === 2) {
      const [len, afterLen] = readVarint(b, pos);
      const child = children.get(field);
      if (child !== undefined) {
        const inner = child(afterLen, afterLen + len);
        size += (afterTag - tagStart) + varintLen(inner) + inner;
      } else {
        size += afterLen + len - tagStart;
      }
      pos = afterLen + len;
    } else if (wire === 0) {
      pos = readVarint(b, pos)[1];
      size += pos - tagStart;
    } else if (wire === 1) {
      pos += 8;
      size += pos - tagStart;
    } else {
      pos += 4;
      size += pos - tagStart;
    }
  }
  return size + extra(sawStatus);
}

const span = (b: Uint8Array) => (s: number, e: number) =>
  measure(b, s, e, new Map(), (saw) => (saw ? 0 : 2));
const scopeSpans = (b: Uint8Array) => (s: number, e: number) =>
  measure(b, s, e, new Map([[2, span(b)]]));
const resourceSpans = (b: Uint8Array) => (s: number, e: number) =>
  measure(b, s, e, new Map([[2, scopeSpans(b)]]));

/** What Go's `ProtoMarshaler.TracesSize` gives for these resource entries. */
export function goTracesSize(batches: ResourceSpans[]): number {
  const b = encodeTracesRequest({ resourceSpans: batches });
  return measure(b, 0, b.length, new Map([[1, resourceSpans(b)]]));
}

/** What Go's `ProtoMarshaler.ResourceSpansSize` gives for one resource entry. */
export function goResourceSpansSize(rs: ResourceSpans): number {
  const b = encodeTracesRequest({ resourceSpans: [rs] });
  const [, afterTag] = readVarint(b, 0);
  const [len, afterLen] = readVarint(b, afterTag);
  return resourceSpans(b)(afterLen, afterLen + len);
}
