/**
 * Spans held in their encoded form. An arriving `ExportTraceServiceRequest` is split by trace
 * without being decoded: each resource entry becomes, per trace ID in it, one compact encoded
 * `ResourceSpans` message (the resource, the scopes and that trace's spans, byte for byte), and
 * the few fields the common policies read — start and end time, status code, flags, whether a
 * span is a root — are read on the way into typed arrays. Spans are passed on by concatenating
 * those messages into a request (never re-encoded); a policy that reads attributes decodes the
 * trace's messages when it runs.
 *
 * @module
 */
import { decodeTracesRequest } from "../../../lib/otlp/traces_proto.ts";
import type { ResourceSpans } from "../../../lib/pdata/types.ts";

/** The fields of one arrival's spans that the light policies read, one slot per span. */
export interface LightSpans {
  readonly count: number;
  readonly start: BigUint64Array;
  readonly end: BigUint64Array;
  /** Status codes (0 unset, 1 ok, 2 error). */
  readonly code: Uint8Array;
  readonly flags: Uint32Array;
}

/** The spans of one trace from one resource entry, encoded. */
export interface TraceGroup {
  /** The trace ID as a 16-character string (one char per byte), for map keys. */
  readonly key: string;
  readonly id: Uint8Array;
  /** The encoded `ResourceSpans` message (without its tag and length). */
  readonly body: Uint8Array;
  readonly spanCount: number;
  /** True when a span without a parent (a root) is among them. */
  readonly hasRoot: boolean;
  readonly light: LightSpans;
}

/** Malformed protobuf (which the receiver's validation lets through only from other sources). */
export class EncodedSpansError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EncodedSpansError";
  }
}

class Reader {
  pos: number;
  constructor(readonly b: Uint8Array, start: number, readonly end: number) {
    this.pos = start;
  }
  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new EncodedSpansError("truncated varint");
      const byte = this.b[this.pos++]!;
      result += (byte & 0x7f) * mul;
      if (byte < 0x80) return result;
      mul *= 128;
    }
    throw new EncodedSpansError("varint too long");
  }
  /** Skips a field's value. */
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) {
      const n = this.varint(); // read first: `pos += varint()` would add to the old position
      this.pos += n;
    } else if (wire === 5) this.pos += 4;
    else throw new EncodedSpansError(`unsupported wire type ${wire}`);
    if (this.pos > this.end) throw new EncodedSpansError("truncated field");
  }
  len(): [number, number] {
    const n = this.varint();
    const start = this.pos;
    if (start + n > this.end) throw new EncodedSpansError("truncated length-delimited field");
    this.pos = start + n;
    return [start, start + n];
  }
}

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

function writeVarint(out: Uint8Array, pos: number, n: number): number {
  while (n >= 0x80) {
    out[pos++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  out[pos++] = n;
  return pos;
}

/** A trace ID as a map key. */
export function traceKey(id: Uint8Array, start = 0, end = id.length): string {
  let s = "";
  for (let i = start; i < start + 16; i++) s += String.fromCharCode(i < end ? id[i]! : 0);
  return s;
}

/** The right half of a trace ID (the decision caches' key, as the Collector's). */
export function cacheKey(key: string): string {
  return key.slice(8);
}

/** A map key back to the trace ID bytes. */
export function keyToId(key: string): Uint8Array {
  const id = new Uint8Array(16);
  for (let i = 0; i < 16; i++) id[i] = key.charCodeAt(i);
  return id;
}

/** Hex of a trace key (for storage keys and logs). */
export function keyHex(key: string): string {
  let s = "";
  for (let i = 0; i < key.length; i++) s += key.charCodeAt(i).toString(16).padStart(2, "0");
  return s;
}

/** Hex back to a trace key. */
export function hexKey(hex: string): string {
  let s = "";
  for (let i = 0; i + 1 < hex.length; i += 2) {
    s += String.fromCharCode(parseInt(hex.slice(i, i + 2), 16));
  }
  return s;
}

interface SpanRef {
  start: number;
  end: number;
  t0: bigint;
  t1: bigint;
  code: number;
  flags: number;
  root: boolean;
}

interface ScopeRef {
  /** Byte ranges of the ScopeSpans fields other than `spans` (scope, schema_url), tags included. */
  prefix: [number, number][];
  spans: SpanRef[];
}

interface Building {
  key: string;
  id: Uint8Array;
  scopes: Map<ScopeRef, SpanRef[]>;
  count: number;
}

function readSpan(
  r: Reader,
  view: DataView,
  start: number,
  end: number,
  ref: SpanRef,
): [number, number] {
  const b = r.b;
  const sr = new Reader(b, start, end);
  let idStart = -1;
  let idEnd = -1;
  let parentEmpty = true;
  while (sr.pos < sr.end) {
    const tag = sr.varint();
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (field === 1 && wire === 2) {
      [idStart, idEnd] = sr.len();
    } else if (field === 4 && wire === 2) {
      const [s, e] = sr.len();
      for (let i = s; i < e; i++) if (b[i] !== 0) parentEmpty = false;
    } else if (field === 7 && wire === 1) {
      ref.t0 = view.getBigUint64(sr.pos, true);
      sr.pos += 8;
    } else if (field === 8 && wire === 1) {
      ref.t1 = view.getBigUint64(sr.pos, true);
      sr.pos += 8;
    } else if (field === 16 && wire === 5) {
      ref.flags = view.getUint32(sr.pos, true);
      sr.pos += 4;
    } else if (field === 15 && wire === 2) {
      const [s, e] = sr.len();
      const st = new Reader(b, s, e);
      while (st.pos < st.end) {
        const t = st.varint();
        if (t === 24) ref.code = st.varint();
        else st.skip(t & 7);
      }
    } else {
      sr.skip(wire);
    }
    if (sr.pos > sr.end) throw new EncodedSpansError("truncated span");
  }
  ref.root = parentEmpty;
  return [idStart, idEnd];
}

/** Splits an encoded request by resource entry and trace, in arrival order. */
export function splitRequest(bytes: Uint8Array): TraceGroup[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: TraceGroup[] = [];
  const r = new Reader(bytes, 0, bytes.length);
  while (r.pos < r.end) {
    const tag = r.varint();
    if (tag !== 10) {
      r.skip(tag & 7);
      continue;
    }
    const [rsStart, rsEnd] = r.len();
    splitResourceSpans(bytes, view, rsStart, rsEnd, out);
  }
  return out;
}

/** Splits one resource entry (the bytes of a `ResourceSpans` message) by trace. */
function splitResourceSpans(
  b: Uint8Array,
  view: DataView,
  start: number,
  end: number,
  out: TraceGroup[],
): void {
  const prefix: [number, number][] = [];
  const scopes: ScopeRef[] = [];
  const rr = new Reader(b, start, end);
  const byTrace = new Map<string, Building>();
  const order: Building[] = [];
  let lastKey = "";
  let lastStart = -1;
  let lastBuilding: Building | undefined;
  while (rr.pos < rr.end) {
    const fieldStart = rr.pos;
    const tag = rr.varint();
    if (tag !== 18) {
      rr.skip(tag & 7);
      prefix.push([fieldStart, rr.pos]);
      continue;
    }
    const [ssStart, ssEnd] = rr.len();
    const scope: ScopeRef = { prefix: [], spans: [] };
    scopes.push(scope);
    const sr = new Reader(b, ssStart, ssEnd);
    while (sr.pos < sr.end) {
      const fs = sr.pos;
      const t = sr.varint();
      if (t !== 18) {
        sr.skip(t & 7);
        scope.prefix.push([fs, sr.pos]);
        continue;
      }
      const [spanStart, spanEnd] = sr.len();
      const ref: SpanRef = {
        start: spanStart,
        end: spanEnd,
        t0: 0n,
        t1: 0n,
        code: 0,
        flags: 0,
        root: true,
      };
      const [idStart, idEnd] = readSpan(sr, view, spanStart, spanEnd, ref);
      // Spans of one trace usually come one after another: reuse the key while the ID repeats.
      let same = lastStart >= 0 && idEnd - idStart === 16;
      if (same) {
        for (let i = 0; i < 16; i++) {
          if (b[idStart + i] !== b[lastStart + i]) {
            same = false;
            break;
          }
        }
      }
      let building: Building | undefined;
      if (same) {
        building = lastBuilding!;
      } else {
        const key = idStart < 0 ? traceKey(new Uint8Array(0)) : traceKey(b, idStart, idEnd);
        building = byTrace.get(key);
        if (building === undefined) {
          const id = new Uint8Array(16);
          if (idStart >= 0) id.set(b.subarray(idStart, Math.min(idEnd, idStart + 16)));
          building = { key, id, scopes: new Map(), count: 0 };
          byTrace.set(key, building);
          order.push(building);
        }
        lastKey = key;
        lastStart = idEnd - idStart === 16 ? idStart : -1;
      }
      lastBuilding = building;
      void lastKey;
      let list = building.scopes.get(scope);
      if (list === undefined) building.scopes.set(scope, list = []);
      list.push(ref);
      building.count++;
    }
  }
  for (const building of order) out.push(finish(b, prefix, building));
}

function rangesSize(ranges: readonly [number, number][]): number {
  let n = 0;
  for (const [s, e] of ranges) n += e - s;
  return n;
}

/** Writes the trace's own `ResourceSpans` message and its light fields. */
function finish(b: Uint8Array, prefix: [number, number][], t: Building): TraceGroup {
  let size = rangesSize(prefix);
  const scopeSizes: number[] = [];
  for (const [scope, spans] of t.scopes) {
    let s = rangesSize(scope.prefix);
    for (const span of spans) {
      const n = span.end - span.start;
      s += 1 + varintSize(n) + n;
    }
    scopeSizes.push(s);
    size += 1 + varintSize(s) + s;
  }
  const body = new Uint8Array(size);
  let pos = 0;
  for (const [s, e] of prefix) {
    body.set(b.subarray(s, e), pos);
    pos += e - s;
  }
  const light = {
    count: t.count,
    start: new BigUint64Array(t.count),
    end: new BigUint64Array(t.count),
    code: new Uint8Array(t.count),
    flags: new Uint32Array(t.count),
  };
  let hasRoot = false;
  let i = 0;
  let k = 0;
  for (const [scope, spans] of t.scopes) {
    body[pos++] = 18;
    pos = writeVarint(body, pos, scopeSizes[k++]!);
    for (const [s, e] of scope.prefix) {
      body.set(b.subarray(s, e), pos);
      pos += e - s;
    }
    for (const span of spans) {
      body[pos++] = 18;
      pos = writeVarint(body, pos, span.end - span.start);
      body.set(b.subarray(span.start, span.end), pos);
      pos += span.end - span.start;
      light.start[i] = span.t0;
      light.end[i] = span.t1;
      light.code[i] = span.code;
      light.flags[i] = span.flags;
      if (span.root) hasRoot = true;
      i++;
    }
  }
  return { key: t.key, id: t.id, body, spanCount: t.count, hasRoot, light };
}

/** The light fields of a stored `ResourceSpans` message (after a restart). */
export function regroup(body: Uint8Array): TraceGroup[] {
  const out: TraceGroup[] = [];
  splitResourceSpans(
    body,
    new DataView(body.buffer, body.byteOffset, body.byteLength),
    0,
    body.length,
    out,
  );
  return out;
}

/** A `TracesData` message of these `ResourceSpans` messages. */
export function requestOf(bodies: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const body of bodies) size += 1 + varintSize(body.length) + body.length;
  const out = new Uint8Array(size);
  let pos = 0;
  for (const body of bodies) {
    out[pos++] = 10;
    pos = writeVarint(out, pos, body.length);
    out.set(body, pos);
    pos += body.length;
  }
  return out;
}

/** The decoded resource entries of these messages. */
export function decodeBodies(bodies: readonly Uint8Array[]): ResourceSpans[] {
  return decodeTracesRequest(requestOf(bodies)).resourceSpans;
}

/** Memory a held group takes: its bytes, its light fields and the objects around them. */
export function heldBytes(group: TraceGroup): number {
  return group.body.length + group.spanCount * 21 + 400;
}
