/**
 * Reads the `bench.sent_us` resource attribute of every resource group in an encoded
 * `Export*ServiceRequest` by walking only the outer protobuf framing: the sink measures latency
 * without decoding spans, data points or log records.
 *
 * @module
 */
import { SENT_KEY } from "./_payloads.ts";

const KEY = new TextEncoder().encode(SENT_KEY);

/** A cursor over protobuf bytes; `pos` advances as fields are read. */
interface Cursor {
  bytes: Uint8Array;
  view: DataView;
  pos: number;
}

function varint(c: Cursor): number {
  let result = 0;
  let shift = 0;
  for (;;) {
    const b = c.bytes[c.pos++];
    if (b === undefined) throw new RangeError("Truncated varint");
    result += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return result;
    shift += 7;
  }
}

function skip(c: Cursor, wireType: number): void {
  if (wireType === 0) varint(c);
  else if (wireType === 1) c.pos += 8;
  else if (wireType === 2) {
    const length = varint(c); // read first: `c.pos += varint(c)` would add to the old position
    c.pos += length;
  } else if (wireType === 5) c.pos += 4;
  else throw new RangeError(`Unsupported wire type ${wireType}`);
}

/** Calls `f(fieldNumber, wireType, end)` for each field in [pos, end); `f` must consume it. */
function fields(c: Cursor, end: number, f: (field: number, wire: number) => void): void {
  while (c.pos < end) {
    const tag = varint(c);
    f(tag >>> 3, tag & 7);
  }
}

function keyMatches(c: Cursor, length: number): boolean {
  if (length !== KEY.length) return false;
  for (let i = 0; i < length; i++) if (c.bytes[c.pos + i] !== KEY[i]) return false;
  return true;
}

/** The `bench.sent_us` value of a `KeyValue` in [pos, end), or undefined. */
function keyValueSent(c: Cursor, end: number): number | undefined {
  let matched = false;
  let value: number | undefined;
  fields(c, end, (field, wire) => {
    if (field === 1 && wire === 2) {
      const length = varint(c);
      matched = keyMatches(c, length);
      c.pos += length;
    } else if (field === 2 && wire === 2) {
      const valueEnd = varint(c) + c.pos;
      fields(c, valueEnd, (f, w) => {
        if (f === 4 && w === 1) {
          value = c.view.getFloat64(c.pos, true);
          c.pos += 8;
        } else skip(c, w);
      });
    } else skip(c, wire);
  });
  return matched ? value : undefined;
}

/**
 * The send times (microseconds since the epoch) found in the resources of an encoded
 * `ExportTraceServiceRequest`, `ExportMetricsServiceRequest` or `ExportLogsServiceRequest`: one per
 * resource group that carries `bench.sent_us`.
 */
export function sentTimes(bytes: Uint8Array): number[] {
  const c: Cursor = {
    bytes,
    view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    pos: 0,
  };
  const out: number[] = [];
  fields(c, bytes.length, (field, wire) => {
    if (field !== 1 || wire !== 2) return skip(c, wire);
    const groupEnd = varint(c) + c.pos;
    fields(c, groupEnd, (gf, gw) => {
      if (gf !== 1 || gw !== 2) return skip(c, gw);
      const resourceEnd = varint(c) + c.pos;
      fields(c, resourceEnd, (rf, rw) => {
        if (rf !== 1 || rw !== 2) return skip(c, rw);
        const kvEnd = varint(c) + c.pos;
        const sent = keyValueSent(c, kvEnd);
        c.pos = kvEnd;
        if (sent !== undefined) out.push(sent);
      });
    });
    c.pos = groupEnd;
  });
  return out;
}
