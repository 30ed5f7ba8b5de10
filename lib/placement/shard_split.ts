/**
 * Splits encoded OTLP requests into one request per shard, for components placed
 * `{ sharded: … }` (`Placement` in components/component.ts): by trace ID, so every span of a
 * trace meets in one instance, or by the resource's `service.name`, so every item of a service
 * does.
 *
 * The split works on the encoded protobuf and never decodes an item: it walks the envelopes
 * (`ResourceX`, `ScopeSpans`) and, for the trace split, the top-level fields of each span to
 * find its trace ID; it copies byte ranges and writes new length prefixes. Everything that is
 * not an item — a resource, a scope, a `schema_url`, a field this OTLP version does not know — is
 * context: it is repeated in every shard that gets items it encloses, in its original order.
 *
 * Rules every split follows:
 * - the result has exactly `n` entries; a shard that gets nothing gets an empty `Uint8Array`;
 * - when everything lands in one shard, that shard gets the input itself (the same object, which
 *   may be a view into a larger buffer), and nothing is copied;
 * - otherwise every non-empty shard gets a fresh, exactly sized buffer of its own (transferable
 *   to a worker without copying);
 * - a request without items goes whole to shard 0; in the trace split, a `ResourceSpans` or
 *   `ScopeSpans` without spans goes to the shard of the request's first span;
 * - the union of the shards holds every item of the input, byte for byte, under its own resource
 *   and scope.
 *
 * Malformed framing on the levels the split walks, and a wire type the decoders refuse on a field
 * the split reads, throw {@linkcode OtlpDecodeError} (nothing is returned, nothing is half-split).
 * The content it copies is not validated: receivers validate a request when they accept it.
 *
 * No allocation per item: shard numbers and envelope sizes go to scratch typed arrays reused
 * across calls (this module is synchronous, so one set per worker is enough).
 *
 * @module
 */
import { hashRange } from "../hash.ts";
import { OtlpDecodeError } from "../otlp/errors.ts";
import { ProtoReader } from "../otlp/_proto_reader.ts";
import type { Signal } from "../pdata/types.ts";

/** Field bits (for `ProtoReader.skip`) of `ExportXServiceRequest`: field 1, the ResourceX. */
const REQUEST_FIELDS = 1 << 1;
/** `ResourceX` / `ScopeX`: 1 resource or scope, 2 the items or ScopeX, 3 schema_url. */
const ENVELOPE_FIELDS = (1 << 1) | (1 << 2) | (1 << 3);
/** Resource field bits the split reads: 1 attributes. */
const RESOURCE_READ_FIELDS = 1 << 1;
/** KeyValue: 1 key, 2 value. */
const KEY_VALUE_FIELDS = (1 << 1) | (1 << 2);

/** Tag of field 1 as length-delimited (the ResourceX of a request, a resource, a key). */
const TAG_1_LEN = 10;
/** Tag of field 2 as length-delimited (the ScopeX of a ResourceX, the items of a ScopeX). */
const TAG_2_LEN = 18;
/** Tag of field 3 as length-delimited (schema_url). */
const TAG_3_LEN = 26;

/** The bytes of the key `service.name`. */
const SERVICE_NAME = new TextEncoder().encode("service.name");

/** Copies at most this many bytes with a loop; longer ranges with `set` (a memcpy). */
const LOOP_COPY_MAX = 48;

/** Scratch arrays larger than this many entries are released after the call that grew them. */
const SCRATCH_KEEP = 1 << 16;

/** The shard of each item (span or ResourceX) of the request being split, in walk order. */
let itemShards = new Int32Array(1024);
/** Per ResourceSpans (in walk order): its shard count, then `shard, content size` pairs. */
let resourceLists = new Int32Array(1024);
/** Per ScopeSpans (in walk order): its shard count, then `shard, content size` pairs. */
let scopeLists = new Int32Array(1024);

const TWO_32 = 4294967296;

/** Maps a 32-bit hash onto `[0, n)` by multiply-shift (uniform, no modulo bias). */
function reduce(hash: number, n: number): number {
  return Math.floor((hash * n) / TWO_32);
}

function checkShardCount(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > 65536) {
    throw new RangeError(`The shard count must be an integer from 1 to 65536: got ${n}`);
  }
}

/**
 * The shard, in `[0, n)`, of a trace ID: a stable hash (FNV-1a with a murmur3 finalizer over all
 * of its bytes), uniform for random IDs, the same in every worker and process. An empty ID has a
 * shard like any other.
 *
 * @throws {RangeError} unless `n` is an integer from 1 to 65536.
 */
export function shardOfTraceId(id: Uint8Array, n: number): number {
  checkShardCount(n);
  return reduce(hashRange(id, 0, id.length), n);
}

/**
 * The shard, in `[0, n)`, of a `service.name` string value given as its UTF-8 bytes: the shard
 * {@linkcode splitByResourceService} sends that service's resources to.
 *
 * @throws {RangeError} unless `n` is an integer from 1 to 65536.
 */
export function shardOfService(name: Uint8Array, n: number): number {
  checkShardCount(n);
  return reduce(hashRange(name, 0, name.length), n);
}

function growShards(count: number): void {
  const grown = new Int32Array(Math.max(count, itemShards.length * 2));
  grown.set(itemShards);
  itemShards = grown;
}

function releaseScratch(): void {
  if (itemShards.length > SCRATCH_KEEP) itemShards = new Int32Array(1024);
  if (resourceLists.length > SCRATCH_KEEP) resourceLists = new Int32Array(1024);
  if (scopeLists.length > SCRATCH_KEEP) scopeLists = new Int32Array(1024);
}

/** Skips a context field whose tag was just read (a known length-delimited one, or unknown). */
function skipContext(r: ProtoReader, tag: number, known: number, limit: number): void {
  if (tag === TAG_1_LEN || tag === TAG_3_LEN) r.pos = r.end(limit);
  else r.skip(tag, known, limit);
}

function varintSize(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

/** Writes `v` (an unsigned 32-bit value) as a varint at `p`; returns the position after it. */
function writeVarint(out: Uint8Array, p: number, v: number): number {
  while (v >= 0x80) {
    out[p++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  out[p++] = v;
  return p;
}

/** Copies `src[start, end)` to `out` at `p`; returns the position after it. */
function copy(src: Uint8Array, start: number, end: number, out: Uint8Array, p: number): number {
  const n = end - start;
  if (n <= LOOP_COPY_MAX) {
    for (let i = 0; i < n; i++) out[p + i] = src[start + i]!;
  } else out.set(src.subarray(start, end), p);
  return p + n;
}

/** `n` shards where `whole` goes to shard `at` and the others are empty. */
function oneShard(whole: Uint8Array, at: number, n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let s = 0; s < n; s++) out.push(s === at ? whole : new Uint8Array(0));
  return out;
}

function splitError(signal: Signal, error: unknown): unknown {
  if (!(error instanceof OtlpDecodeError)) return error;
  return new OtlpDecodeError(`Cannot split the ${signal} request: ${error.message}`, {
    cause: error,
  });
}

// ---------------------------------------------------------------------------------------------
// By trace ID

/** Where {@linkcode scanTraceId} found the last trace_id: `[idStart, idEnd)`, empty if none. */
let idStart = 0;
let idEnd = 0;

function malformedSpan(at: number, what: string): OtlpDecodeError {
  return new OtlpDecodeError(`Malformed span at offset ${at}: ${what}`);
}

/**
 * Walks the fields of the span whose content is `[r.pos, end)`, sets `idStart` and `idEnd` to
 * its last trace_id (as decoding keeps it) and leaves `r.pos` at `end`. Inlined wire-format skipping: a span has a dozen or more top-level fields and
 * this walk is most of the split's cost. Checks what `ProtoReader.skip` checks.
 */
function scanTraceId(r: ProtoReader, end: number): void {
  const buf = r.buf;
  const at = r.pos;
  let p = at;
  idStart = 0;
  idEnd = 0;
  while (p < end) {
    let tag = buf[p]!;
    if (tag < 0x80) p++;
    else {
      r.pos = p;
      tag = r.uint32();
      p = r.pos;
    }
    const wt = tag & 7;
    if (tag < 8) throw malformedSpan(at, `invalid field number 0 before offset ${p}`);
    if (wt === 2) {
      if (p >= end) throw malformedSpan(at, "truncated length");
      let len = buf[p]!;
      if (len < 0x80) p++;
      else {
        r.pos = p;
        len = r.uint32();
        p = r.pos;
      }
      if (p + len > end) throw malformedSpan(at, `length ${len} runs past the span's end`);
      if (tag === TAG_1_LEN) {
        idStart = p;
        idEnd = p + len;
      }
      p += len;
    } else if (tag >>> 3 === 1) {
      throw malformedSpan(at, `trace_id has wire type ${wt}`);
    } else if (wt === 1) p += 8;
    else if (wt === 5) p += 4;
    else if (wt === 0) {
      for (let i = 0;; i++) {
        if (p >= end || i === 10) throw malformedSpan(at, "truncated or overlong varint");
        if (buf[p++]! < 0x80) break;
      }
    } else throw malformedSpan(at, `unsupported wire type ${wt} before offset ${p}`);
  }
  if (p !== end) throw malformedSpan(at, "a field runs past the span's end");
  r.pos = end;
}

/**
 * Pass 1: the shard of every span into `itemShards`, checking the framing of every level down to
 * the spans' fields. Returns the span count.
 */
function scanSpanShards(bytes: Uint8Array, n: number): number {
  const r = new ProtoReader(bytes);
  const len = r.len;
  let count = 0;
  while (r.pos < len) {
    const tag = r.uint32();
    if (tag !== TAG_1_LEN) {
      r.skip(tag, REQUEST_FIELDS, len);
      continue;
    }
    const rsEnd = r.end(len);
    while (r.pos < rsEnd) {
      const t = r.uint32();
      if (t !== TAG_2_LEN) {
        skipContext(r, t, ENVELOPE_FIELDS, rsEnd);
        continue;
      }
      const ssEnd = r.end(rsEnd);
      while (r.pos < ssEnd) {
        const t2 = r.uint32();
        if (t2 !== TAG_2_LEN) {
          skipContext(r, t2, ENVELOPE_FIELDS, ssEnd);
          continue;
        }
        const spanEnd = r.end(ssEnd);
        scanTraceId(r, spanEnd);
        if (count === itemShards.length) growShards(count + 1);
        itemShards[count++] = reduce(hashRange(bytes, idStart, idEnd), n);
      }
      r.checkEnd(ssEnd);
    }
    r.checkEnd(rsEnd);
  }
  return count;
}

/** Grows an envelope list to hold `length` entries; returns it, or its larger copy. */
function ensure(list: Int32Array<ArrayBuffer>, length: number): Int32Array<ArrayBuffer> {
  if (length <= list.length) return list;
  const grown = new Int32Array(Math.max(length, list.length * 2));
  grown.set(list);
  return grown;
}

/**
 * Pass 2: which shards every ResourceSpans and ScopeSpans goes to and its content size there,
 * into `resourceLists` and `scopeLists` (in walk order, each envelope as its shard count followed
 * by `shard, size` pairs: memory in proportion to the envelopes and spans, not to `n`), and each
 * shard's total size into `totals`.
 */
function sizeSpanShards(bytes: Uint8Array, n: number, home: number, totals: Int32Array): void {
  const r = new ProtoReader(bytes);
  const len = r.len;
  // Dense per-shard accumulators (-1: absent) and the shards touched, for one scope and one
  // resource at a time.
  const scopeAcc = new Int32Array(n).fill(-1);
  const scopeTouched = new Int32Array(n);
  const resAcc = new Int32Array(n).fill(-1);
  const resTouched = new Int32Array(n);
  let rl = 0;
  let sl = 0;
  let k = 0;
  let top = 0;
  while (r.pos < len) {
    const at = r.pos;
    const tag = r.uint32();
    if (tag !== TAG_1_LEN) {
      r.skip(tag, REQUEST_FIELDS, len);
      top += r.pos - at;
      continue;
    }
    const rsEnd = r.end(len);
    let rContext = 0;
    let rt = 0;
    while (r.pos < rsEnd) {
      const at1 = r.pos;
      const t = r.uint32();
      if (t !== TAG_2_LEN) {
        skipContext(r, t, ENVELOPE_FIELDS, rsEnd);
        rContext += r.pos - at1;
        continue;
      }
      const ssEnd = r.end(rsEnd);
      let sContext = 0;
      let st = 0;
      while (r.pos < ssEnd) {
        const at2 = r.pos;
        const t2 = r.uint32();
        if (t2 !== TAG_2_LEN) {
          skipContext(r, t2, ENVELOPE_FIELDS, ssEnd);
          sContext += r.pos - at2;
          continue;
        }
        r.pos = r.end(ssEnd);
        const shard = itemShards[k++]!;
        const v = scopeAcc[shard]!;
        if (v < 0) scopeTouched[st++] = shard;
        scopeAcc[shard] = (v < 0 ? 0 : v) + (r.pos - at2);
      }
      // A ScopeSpans without spans goes with the request's first span.
      if (st === 0) {
        scopeAcc[home] = 0;
        scopeTouched[st++] = home;
      }
      scopeLists = ensure(scopeLists, sl + 1 + 2 * st);
      scopeLists[sl++] = st;
      for (let i = 0; i < st; i++) {
        const shard = scopeTouched[i]!;
        const size = scopeAcc[shard]! + sContext;
        scopeAcc[shard] = -1;
        scopeLists[sl++] = shard;
        scopeLists[sl++] = size;
        const rv = resAcc[shard]!;
        if (rv < 0) resTouched[rt++] = shard;
        resAcc[shard] = (rv < 0 ? 0 : rv) + 1 + varintSize(size) + size;
      }
    }
    // A ResourceSpans without ScopeSpans goes where empty ScopeSpans go.
    if (rt === 0) {
      resAcc[home] = 0;
      resTouched[rt++] = home;
    }
    resourceLists = ensure(resourceLists, rl + 1 + 2 * rt);
    resourceLists[rl++] = rt;
    for (let i = 0; i < rt; i++) {
      const shard = resTouched[i]!;
      const size = resAcc[shard]! + rContext;
      resAcc[shard] = -1;
      resourceLists[rl++] = shard;
      resourceLists[rl++] = size;
      totals[shard] = totals[shard]! + 1 + varintSize(size) + size;
    }
  }
  for (let s = 0; s < n; s++) if (totals[s]! > 0) totals[s] = totals[s]! + top;
}

/** Writes the tag and length of an envelope into each of its shards (list entry at `at`). */
function writeHeads(
  list: Int32Array,
  at: number,
  tag: number,
  outs: Uint8Array[],
  pos: Int32Array,
): void {
  const count = list[at]!;
  for (let i = 0; i < count; i++) {
    const shard = list[at + 1 + 2 * i]!;
    const out = outs[shard]!;
    let p = pos[shard]!;
    out[p++] = tag;
    pos[shard] = writeVarint(out, p, list[at + 2 + 2 * i]!);
  }
}

/** Copies `bytes[start, end)` into each shard of the envelope whose list entry is at `at`. */
function copyToAll(
  list: Int32Array,
  at: number,
  bytes: Uint8Array,
  start: number,
  end: number,
  outs: Uint8Array[],
  pos: Int32Array,
): void {
  const count = list[at]!;
  for (let i = 0; i < count; i++) {
    const shard = list[at + 1 + 2 * i]!;
    pos[shard] = copy(bytes, start, end, outs[shard]!, pos[shard]!);
  }
}

/** Pass 3: writes every shard's request into `outs` (sized by pass 2). */
function writeSpanShards(bytes: Uint8Array, n: number, outs: Uint8Array[]): void {
  const r = new ProtoReader(bytes);
  const len = r.len;
  const resources = resourceLists;
  const scopes = scopeLists;
  const pos = new Int32Array(n);
  let k = 0;
  let rl = 0;
  let sl = 0;
  while (r.pos < len) {
    const at = r.pos;
    const tag = r.uint32();
    if (tag !== TAG_1_LEN) {
      r.skip(tag, REQUEST_FIELDS, len);
      for (let s = 0; s < n; s++) {
        const out = outs[s]!;
        if (out.length > 0) pos[s] = copy(bytes, at, r.pos, out, pos[s]!);
      }
      continue;
    }
    const rsEnd = r.end(len);
    const rAt = rl;
    rl += 1 + 2 * resources[rAt]!;
    writeHeads(resources, rAt, TAG_1_LEN, outs, pos);
    while (r.pos < rsEnd) {
      const at1 = r.pos;
      const t = r.uint32();
      if (t !== TAG_2_LEN) {
        skipContext(r, t, ENVELOPE_FIELDS, rsEnd);
        copyToAll(resources, rAt, bytes, at1, r.pos, outs, pos);
        continue;
      }
      const ssEnd = r.end(rsEnd);
      const sAt = sl;
      sl += 1 + 2 * scopes[sAt]!;
      writeHeads(scopes, sAt, TAG_2_LEN, outs, pos);
      // Consecutive spans of one shard are copied as one run.
      let runStart = 0;
      let runEnd = 0;
      let runShard = -1;
      while (r.pos < ssEnd) {
        const at2 = r.pos;
        const t2 = r.uint32();
        if (t2 !== TAG_2_LEN) {
          skipContext(r, t2, ENVELOPE_FIELDS, ssEnd);
          if (runShard >= 0) {
            pos[runShard] = copy(bytes, runStart, runEnd, outs[runShard]!, pos[runShard]!);
            runShard = -1;
          }
          copyToAll(scopes, sAt, bytes, at2, r.pos, outs, pos);
          continue;
        }
        r.pos = r.end(ssEnd);
        const s = itemShards[k++]!;
        if (s === runShard) runEnd = r.pos;
        else {
          if (runShard >= 0) {
            pos[runShard] = copy(bytes, runStart, runEnd, outs[runShard]!, pos[runShard]!);
          }
          runShard = s;
          runStart = at2;
          runEnd = r.pos;
        }
      }
      if (runShard >= 0) {
        pos[runShard] = copy(bytes, runStart, runEnd, outs[runShard]!, pos[runShard]!);
      }
    }
  }
  for (let s = 0; s < n; s++) {
    if (pos[s] !== outs[s]!.length) {
      throw new Error(`Shard ${s} was sized ${outs[s]!.length} bytes but ${pos[s]} were written`);
    }
  }
}

/**
 * Splits an encoded `ExportTraceServiceRequest` into `n` requests by trace ID
 * ({@linkcode shardOfTraceId}), so that every span of a trace lands in one shard. Each shard's
 * spans keep their resource and scope (repeated in each shard that gets spans of them) and their
 * order; see the module documentation for the rules.
 *
 * @throws {OtlpDecodeError} on malformed framing (see the module documentation).
 * @throws {RangeError} unless `n` is an integer from 1 to 65536.
 */
export function splitTracesByTraceId(bytes: Uint8Array, n: number): Uint8Array[] {
  checkShardCount(n);
  try {
    const count = scanSpanShards(bytes, n);
    if (count === 0) return oneShard(bytes, 0, n);
    const home = itemShards[0]!;
    let same = true;
    for (let i = 1; i < count; i++) {
      if (itemShards[i] !== home) {
        same = false;
        break;
      }
    }
    if (same) return oneShard(bytes, home, n);
    const totals = new Int32Array(n);
    sizeSpanShards(bytes, n, home, totals);
    const outs: Uint8Array[] = [];
    for (let s = 0; s < n; s++) outs.push(new Uint8Array(totals[s]!));
    writeSpanShards(bytes, n, outs);
    return outs;
  } catch (error) {
    throw splitError("traces", error);
  } finally {
    releaseScratch();
  }
}

// ---------------------------------------------------------------------------------------------
// By service

/**
 * The shard of the ResourceX whose content is `[r.pos, end)`: its (last) resource's first
 * `service.name` attribute — a string value by its UTF-8 bytes, any other value by its encoded
 * bytes — or `missing` when it has none. Leaves `r.pos` at `end`.
 */
function resourceShard(r: ProtoReader, end: number, n: number, missing: number): number {
  const buf = r.buf;
  let resStart = -1;
  let resEnd = -1;
  while (r.pos < end) {
    const t = r.uint32();
    if (t === TAG_1_LEN) {
      // The resource: decoding keeps the last one.
      const e = r.end(end);
      resStart = r.pos;
      resEnd = e;
      r.pos = e;
    } else if (t === TAG_2_LEN || t === TAG_3_LEN) r.pos = r.end(end);
    else r.skip(t, ENVELOPE_FIELDS, end);
  }
  r.checkEnd(end);
  if (resStart < 0) return missing;
  r.pos = resStart;
  let shard = -1;
  while (r.pos < resEnd) {
    const t = r.uint32();
    if (t !== TAG_1_LEN) {
      r.skip(t, RESOURCE_READ_FIELDS, resEnd);
      continue;
    }
    const kvEnd = r.end(resEnd);
    if (shard >= 0) {
      r.pos = kvEnd;
      continue;
    }
    let keyStart = -1;
    let keyEnd = -1;
    let valueStart = -1;
    let valueEnd = -1;
    while (r.pos < kvEnd) {
      const kt = r.uint32();
      if (kt === TAG_1_LEN || kt === TAG_2_LEN) {
        const e = r.end(kvEnd);
        if (kt === TAG_1_LEN) {
          keyStart = r.pos;
          keyEnd = e;
        } else {
          valueStart = r.pos;
          valueEnd = e;
        }
        r.pos = e;
      } else r.skip(kt, KEY_VALUE_FIELDS, kvEnd);
    }
    r.checkEnd(kvEnd);
    if (!isServiceName(buf, keyStart, keyEnd)) continue;
    shard = valueShard(r, valueStart, valueEnd, n);
    r.pos = kvEnd;
  }
  r.checkEnd(resEnd);
  r.pos = end;
  return shard >= 0 ? shard : missing;
}

function isServiceName(buf: Uint8Array, start: number, end: number): boolean {
  const n = SERVICE_NAME.length;
  if (end - start !== n) return false;
  for (let i = 0; i < n; i++) if (buf[start + i] !== SERVICE_NAME[i]) return false;
  return true;
}

/** The shard of the AnyValue `[start, end)`: a string by its bytes, another value by its own. */
function valueShard(r: ProtoReader, start: number, end: number, n: number): number {
  if (start < 0) return reduce(hashRange(r.buf, 0, 0), n);
  r.pos = start;
  let strStart = -1;
  let strEnd = -1;
  while (r.pos < end) {
    const t = r.uint32();
    if (t === TAG_1_LEN) {
      const e = r.end(end);
      strStart = r.pos;
      strEnd = e;
      r.pos = e;
    } else {
      strStart = -1;
      r.skip(t, 1 << 1, end);
    }
  }
  r.checkEnd(end);
  return strStart >= 0
    ? reduce(hashRange(r.buf, strStart, strEnd), n)
    : reduce(hashRange(r.buf, start, end), n);
}

/**
 * Splits an encoded `ExportTraceServiceRequest`, `ExportMetricsServiceRequest` or
 * `ExportLogsServiceRequest` into `n` requests by the `service.name` attribute of each
 * resource ({@linkcode shardOfService}), so that all of a service's data lands in one shard. A
 * resource without `service.name` goes to shard 0. Each `ResourceX` is copied whole, in order;
 * see the module documentation for the rules.
 *
 * @throws {OtlpDecodeError} on malformed framing of the request, its `ResourceX` envelopes and
 *   their resources.
 * @throws {RangeError} unless `n` is an integer from 1 to 65536.
 */
export function splitByResourceService(
  signal: Signal,
  bytes: Uint8Array,
  n: number,
): Uint8Array[] {
  checkShardCount(n);
  try {
    const r = new ProtoReader(bytes);
    const len = r.len;
    const totals = new Int32Array(n);
    let count = 0;
    let top = 0;
    let same = true;
    while (r.pos < len) {
      const at = r.pos;
      const tag = r.uint32();
      if (tag !== TAG_1_LEN) {
        r.skip(tag, REQUEST_FIELDS, len);
        top += r.pos - at;
        continue;
      }
      const end = r.end(len);
      const s = resourceShard(r, end, n, 0);
      if (count === itemShards.length) growShards(count + 1);
      if (count > 0 && s !== itemShards[0]) same = false;
      itemShards[count++] = s;
      totals[s] = totals[s]! + (end - at);
    }
    if (count === 0) return oneShard(bytes, 0, n);
    if (same) return oneShard(bytes, itemShards[0]!, n);
    const outs: Uint8Array[] = [];
    for (let s = 0; s < n; s++) {
      outs.push(new Uint8Array(totals[s]! > 0 ? totals[s]! + top : 0));
    }
    const pos = new Int32Array(n);
    r.pos = 0;
    let k = 0;
    while (r.pos < len) {
      const at = r.pos;
      const tag = r.uint32();
      if (tag !== TAG_1_LEN) {
        r.skip(tag, REQUEST_FIELDS, len);
        for (let s = 0; s < n; s++) {
          const out = outs[s]!;
          if (out.length > 0) pos[s] = copy(bytes, at, r.pos, out, pos[s]!);
        }
        continue;
      }
      r.pos = r.end(len);
      const s = itemShards[k++]!;
      pos[s] = copy(bytes, at, r.pos, outs[s]!, pos[s]!);
    }
    return outs;
  } catch (error) {
    throw splitError(signal, error);
  } finally {
    releaseScratch();
  }
}

// ---------------------------------------------------------------------------------------------
// By a placement's key

/** What a `{ sharded: key }` placement shards by (the key of `Placement` in the components). */
export type ShardKey = "trace_id" | "service";

/**
 * Splits an encoded request of `signal` into `n` shards by `key`, for a component placed
 * `{ sharded: key }`: {@linkcode splitTracesByTraceId} for `"trace_id"` (traces only),
 * {@linkcode splitByResourceService} for `"service"`.
 *
 * @throws {OtlpDecodeError} on malformed framing.
 * @throws {RangeError} for `"trace_id"` with metrics or logs, or a bad `n`.
 */
export function splitByShardKey(
  key: ShardKey,
  signal: Signal,
  bytes: Uint8Array,
  n: number,
): Uint8Array[] {
  if (key === "service") return splitByResourceService(signal, bytes, n);
  if (signal !== "traces") {
    throw new RangeError(`Cannot shard ${signal} by trace ID: only traces carry one`);
  }
  return splitTracesByTraceId(bytes, n);
}
