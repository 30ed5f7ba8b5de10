/**
 * Prometheus remote write messages, written straight from tfo's series model into protobuf:
 *
 * - 1.0: `prometheus.WriteRequest` (`timeseries` = 1: labels, samples, exemplars, native
 *   histograms; `metadata` = 3);
 * - 2.0: `io.prometheus.write.v2.Request` (`symbols` = 4, the first one `""`; `timeseries` = 5:
 *   label references into the symbols, samples, histograms, exemplars and the series' metadata).
 *
 * Each encoder splits the series into requests of at most `maxBytes` encoded bytes (a series
 * larger than that goes alone), as the Collector's exporter splits by `max_batch_size_bytes`, and
 * hands each request to `finish` while it is still a view into a scratch buffer (the default
 * copies it; the exporter snappy-compresses it, which saves the copy). A
 * 1.0 request is a run of consecutive `timeseries` fields, so every series is written once into
 * one buffer and each request is a slice of it; a 2.0 request has its own symbol table.
 *
 * @module
 */
import { ProtoWriter } from "../otlp/_proto_writer.ts";

/** One sample. */
export interface RwSample {
  value: number;
  /** Milliseconds since the epoch. */
  timestampMs: number;
  /** 2.0 only: when the cumulative series started (0: unknown). */
  startMs?: number;
}

/** One exemplar. */
export interface RwExemplar {
  /** Label pairs, in the order they are written. */
  labels: readonly (readonly [string, string])[];
  value: number;
  timestampMs: number;
}

/** A native (exponential) histogram sample, in Prometheus' span/delta layout. */
export interface RwHistogram {
  /** The count; a stale marker's count is the StaleNaN bit pattern, as the Collector writes it. */
  count: bigint;
  sum: number;
  schema: number;
  zeroThreshold: number;
  zeroCount: bigint;
  negativeSpans: readonly (readonly [number, number])[];
  negativeDeltas: readonly bigint[];
  positiveSpans: readonly (readonly [number, number])[];
  positiveDeltas: readonly bigint[];
  timestampMs: number;
  /** 2.0 only: when the cumulative histogram started (0: unknown). */
  startMs?: number;
}

/** The metric types of remote write metadata (1.0 and 2.0 share the numbers). */
export const RW_METRIC_TYPE = {
  unknown: 0,
  counter: 1,
  gauge: 2,
  histogram: 3,
  gaugehistogram: 4,
  summary: 5,
  info: 6,
  stateset: 7,
} as const;

/** A remote write metric type. */
export type RwMetricType = keyof typeof RW_METRIC_TYPE;

/** What 2.0 carries with each series (and 1.0 with `send_metadata`, per metric family). */
export interface RwMetadata {
  type: RwMetricType;
  help: string;
  unit: string;
}

/** One series: its labels (sorted by name, `__name__` among them) and what it carries. */
export interface RwSeries {
  labels: readonly (readonly [string, string])[];
  samples: RwSample[];
  histograms: RwHistogram[];
  exemplars: RwExemplar[];
  metadata: RwMetadata;
  /**
   * A holder for the series' encoded 1.0 labels, shared by the same series in later requests: the
   * encoder fills it the first time and copies it after that. Its labels must not change.
   */
  labelBytes?: LabelMemo;
}

/**
 * What the encoders remember of a series' labels between requests (its labels must not change):
 * the encoded 1.0 labels, and the 2.0 encoder's string IDs of its label names and values.
 */
export interface LabelMemo {
  bytes?: Uint8Array;
  /** Interned string IDs, name and value of each label in turn. */
  symbolIds?: Int32Array;
  /** The interner generation `symbolIds` belong to. */
  symbolEpoch?: number;
}

/** 1.0 metadata of one metric family. */
export interface RwFamilyMetadata extends RwMetadata {
  family: string;
}

/** The StaleNaN marker Prometheus reads as "this series ended". */
export const STALE_NAN: number = (() => {
  const v = new DataView(new ArrayBuffer(8));
  v.setUint32(0, 0x7ff00000);
  v.setUint32(4, 0x00000002);
  return v.getFloat64(0);
})();

/** The StaleNaN bit pattern as an unsigned integer (a stale native histogram's count). */
export const STALE_NAN_BITS = 0x7ff0000000000002n;

/** Scratch buffers above this size are not kept between calls. */
const KEEP_LIMIT = 16 * 1024 * 1024;
let shared: ProtoWriter | undefined;

/** The shared scratch writer (encoding is synchronous, so one is enough), reset. */
function scratch(): ProtoWriter {
  const w = shared ?? new ProtoWriter(256 * 1024);
  shared = undefined;
  w.reset();
  return w;
}

function release(w: ProtoWriter): void {
  if (w.buf.length <= KEEP_LIMIT) shared = w;
}

const WT_VARINT = 0;
const WT_I64 = 1;

function tag(w: ProtoWriter, field: number, wt: number): void {
  w.ensure(16);
  w.rawVarint((field << 3) | wt);
}

/** A varint of a non-negative integer below 2^53, or of a negative one as 10 bytes. */
function varintNumber(w: ProtoWriter, v: number): void {
  if (v < 0) {
    varintBig(w, BigInt.asUintN(64, BigInt(v)));
    return;
  }
  w.ensure(10);
  const buf = w.buf;
  let pos = w.pos;
  if (v > 0x7fffffff) {
    // Below 2^53: the low 28 bits in four bytes by bit operations, the rest (< 2^25) likewise.
    let lo = v % 0x10000000;
    const hi = (v - lo) / 0x10000000;
    for (let i = 0; i < 4; i++) {
      buf[pos++] = (lo & 0x7f) | 0x80;
      lo >>>= 7;
    }
    v = hi;
  }
  while (v > 0x7f) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[pos++] = v;
  w.pos = pos;
}

function varintBig(w: ProtoWriter, v: bigint): void {
  w.ensure(10);
  const buf = w.buf;
  let pos = w.pos;
  while (v >= 0x80n) {
    buf[pos++] = Number(v & 0x7fn) | 0x80;
    v >>= 7n;
  }
  buf[pos++] = Number(v);
  w.pos = pos;
}

/** An `int64` field of a millisecond timestamp (written even when 0). */
function int64Number(w: ProtoWriter, field: number, v: number): void {
  tag(w, field, WT_VARINT);
  varintNumber(w, v);
}

function uint64Big(w: ProtoWriter, field: number, v: bigint): void {
  tag(w, field, WT_VARINT);
  varintBig(w, v);
}

function doubleField(w: ProtoWriter, field: number, v: number): void {
  tag(w, field, WT_I64);
  w.view.setFloat64(w.pos, v, true);
  w.pos += 8;
}

function packedSint64(w: ProtoWriter, field: number, values: readonly bigint[]): void {
  if (values.length === 0) return;
  w.fork(field);
  for (const v of values) varintBig(w, v >= 0n ? v << 1n : ((-v) << 1n) - 1n);
  w.join();
}

function spans(w: ProtoWriter, field: number, list: readonly (readonly [number, number])[]): void {
  for (const [offset, length] of list) {
    w.fork(field);
    w.sint32(1, offset);
    w.uint32(2, length);
    w.join();
  }
}

/** A native histogram (the same message in 1.0 and 2.0, which adds the start time). */
function histogram(w: ProtoWriter, field: number, h: RwHistogram, v2: boolean): void {
  w.fork(field);
  uint64Big(w, 1, h.count);
  if (h.sum !== 0 || 1 / h.sum < 0) doubleField(w, 3, h.sum);
  w.sint32(4, h.schema);
  if (h.zeroThreshold !== 0) doubleField(w, 5, h.zeroThreshold);
  uint64Big(w, 6, h.zeroCount);
  spans(w, 8, h.negativeSpans);
  packedSint64(w, 9, h.negativeDeltas);
  spans(w, 11, h.positiveSpans);
  packedSint64(w, 12, h.positiveDeltas);
  if (h.timestampMs !== 0) int64Number(w, 15, h.timestampMs);
  if (v2 && h.startMs !== undefined && h.startMs !== 0) int64Number(w, 17, h.startMs);
  w.join();
}

function sample(w: ProtoWriter, field: number, s: RwSample, v2: boolean): void {
  w.fork(field);
  if (s.value !== 0 || 1 / s.value < 0) doubleField(w, 1, s.value);
  if (s.timestampMs !== 0) int64Number(w, 2, s.timestampMs);
  if (v2 && s.startMs !== undefined && s.startMs !== 0) int64Number(w, 3, s.startMs);
  w.join();
}

function label(w: ProtoWriter, field: number, name: string, value: string): void {
  w.fork(field);
  w.string(1, name);
  w.string(2, value);
  w.join();
}

/**
 * Where each label pair object was first written in this request buffer: a pair shared by many
 * series (a point's attributes, repeated on each of its histogram buckets) is encoded once and
 * copied after that.
 */
type LabelCache = Map<readonly [string, string], number>;

/** Pairs written for the first time in the series being written, with their offsets. */
const fresh: { pair: readonly [string, string]; at: number }[] = [];

function labelCached(w: ProtoWriter, pair: readonly [string, string], cache: LabelCache): void {
  const at = cache.get(pair);
  if (at !== undefined) {
    const len = w.buf[at + 1]!;
    if (len < 0x80) {
      w.ensure(len + 2);
      w.buf.copyWithin(w.pos, at, at + len + 2);
      w.pos += len + 2;
      return;
    }
  }
  const start = w.pos;
  label(w, 1, pair[0], pair[1]);
  if (at === undefined) fresh.push({ pair, at: start });
}

/** The varint of the last timestamp written (samples of a request mostly share one). */
const tsBytes = new Uint8Array(10);
let tsLength = 0;
let tsValue = -1;

/** Sets `tsBytes` to the varint of `v` (a millisecond timestamp, 0 ≤ v < 2^53). */
function timestampVarint(v: number): void {
  if (v === tsValue) return;
  tsValue = v;
  let n = 0;
  if (v > 0x7fffffff) {
    let lo = v % 0x10000000;
    const hi = (v - lo) / 0x10000000;
    for (let i = 0; i < 4; i++) {
      tsBytes[n++] = (lo & 0x7f) | 0x80;
      lo >>>= 7;
    }
    v = hi;
  }
  while (v > 0x7f) {
    tsBytes[n++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  tsBytes[n++] = v;
  tsLength = n;
}

/** The content length of a 1.0 sample whose timestamp varint is in `tsBytes`. */
function sampleContent(x: RwSample): number {
  return (x.value !== 0 || 1 / x.value < 0 ? 9 : 0) + (x.timestampMs !== 0 ? 1 + tsLength : 0);
}

/**
 * A 1.0 series of samples only, with its encoded labels known, written without forking: the
 * lengths are summed first. Returns false (and writes nothing) when it cannot be done that way.
 */
function plainSeriesV1(w: ProtoWriter, s: RwSeries, labels: Uint8Array): boolean {
  const samples = s.samples;
  if (samples.length !== 1 || s.exemplars.length > 0 || s.histograms.length > 0) return false;
  const x = samples[0]!;
  const t = x.timestampMs;
  if (t < 0 || t > Number.MAX_SAFE_INTEGER) return false;
  timestampVarint(t);
  const content = sampleContent(x);
  const len = labels.length + 2 + content;
  if (len >= 0x4000) return false;
  w.ensure(len + 3);
  const buf = w.buf;
  let pos = w.pos;
  buf[pos++] = 0x0a; // field 1, length-delimited
  if (len < 0x80) {
    buf[pos++] = len;
  } else {
    buf[pos++] = (len & 0x7f) | 0x80;
    buf[pos++] = len >>> 7;
  }
  buf.set(labels, pos);
  pos += labels.length;
  buf[pos++] = 0x12; // field 2, length-delimited
  buf[pos++] = content;
  if (x.value !== 0 || 1 / x.value < 0) {
    buf[pos++] = 0x09; // field 1, 64-bit
    w.view.setFloat64(pos, x.value, true);
    pos += 8;
  }
  if (t !== 0) {
    buf[pos++] = 0x10; // field 2, varint
    for (let i = 0; i < tsLength; i++) buf[pos++] = tsBytes[i]!;
  }
  w.pos = pos;
  return true;
}

function seriesV1(w: ProtoWriter, s: RwSeries, cache: LabelCache): void {
  const holder = s.labelBytes;
  const known = holder?.bytes;
  if (known !== undefined && plainSeriesV1(w, s, known)) return;
  w.forkLarge(1);
  fresh.length = 0;
  if (known !== undefined) {
    w.ensure(known.length);
    w.buf.set(known, w.pos);
    w.pos += known.length;
  } else {
    const start = w.pos;
    for (const pair of s.labels) labelCached(w, pair, cache);
    if (holder !== undefined) holder.bytes = w.buf.slice(start, w.pos);
  }
  for (const x of s.samples) sample(w, 2, x, false);
  for (const e of s.exemplars) {
    w.fork(3);
    for (const [name, value] of e.labels) label(w, 1, name, value);
    if (e.value !== 0 || 1 / e.value < 0) doubleField(w, 2, e.value);
    if (e.timestampMs !== 0) int64Number(w, 3, e.timestampMs);
    w.join();
  }
  for (const h of s.histograms) histogram(w, 4, h, false);
  const contentEnd = w.pos;
  w.join();
  // Joining may have moved the content (its length prefix took one or three bytes, not two).
  const shift = w.pos - contentEnd;
  for (const f of fresh) cache.set(f.pair, f.at + shift);
}

function metadataV1(w: ProtoWriter, m: RwFamilyMetadata): void {
  w.fork(3);
  w.uint32(1, RW_METRIC_TYPE[m.type]);
  w.string(2, m.family);
  w.string(4, m.help);
  w.string(5, m.unit);
  w.join();
}

/**
 * Encodes 1.0 `WriteRequest`s of at most `maxBytes` each (uncompressed): the series first, then
 * the metadata in requests of their own, as the Collector sends them.
 */
export function encodeWriteRequestsV1(
  series: readonly RwSeries[],
  metadata: readonly RwFamilyMetadata[],
  maxBytes: number,
  finish: (request: Uint8Array) => Uint8Array = copy,
): Uint8Array[] {
  const w = scratch();
  const cuts: number[] = [0];
  const cache: LabelCache = new Map();
  let start = 0;
  for (const s of series) {
    const before = w.pos;
    seriesV1(w, s, cache);
    if (w.pos - start >= maxBytes && before > start) {
      cuts.push(before);
      start = before;
    }
  }
  const seriesEnd = w.pos;
  if (seriesEnd > start) cuts.push(seriesEnd);
  start = seriesEnd;
  for (const m of metadata) {
    const before = w.pos;
    metadataV1(w, m);
    if (w.pos - start >= maxBytes && before > start) {
      cuts.push(before);
      start = before;
    }
  }
  if (w.pos > start) cuts.push(w.pos);
  const out: Uint8Array[] = [];
  for (let i = 1; i < cuts.length; i++) out.push(finish(w.buf.subarray(cuts[i - 1]!, cuts[i]!)));
  release(w);
  return out;
}

function copy(b: Uint8Array): Uint8Array {
  return b.slice();
}

/**
 * Strings by ID, kept between requests, so that a series remembers its labels as IDs and a
 * request's symbol table is indexed by ID instead of hashing every label name and value of every
 * series. Bounded: past `MAX_INTERNED` strings it starts over under a new epoch, and series
 * remembering IDs of an older epoch look them up again.
 */
const MAX_INTERNED = 500_000;
const interned = new Map<string, number>([["", 0]]);
const internedList: string[] = [""];
let internEpoch = 0;

function intern(s: string): number {
  let id = interned.get(s);
  if (id === undefined) {
    id = internedList.length;
    internedList.push(s);
    interned.set(s, id);
  }
  return id;
}

/** Starts the interned strings over when there are too many (between requests only). */
function trimInterned(): void {
  if (internedList.length <= MAX_INTERNED) return;
  interned.clear();
  interned.set("", 0);
  internedList.length = 1;
  internEpoch++;
}

/** The label names and values of `s` as interned IDs, remembered with the series. */
function labelIds(s: RwSeries): Int32Array {
  const memo = s.labelBytes;
  if (memo?.symbolIds !== undefined && memo.symbolEpoch === internEpoch) return memo.symbolIds;
  const ids = new Int32Array(s.labels.length * 2);
  let i = 0;
  for (const [name, value] of s.labels) {
    ids[i++] = intern(name);
    ids[i++] = intern(value);
  }
  if (memo !== undefined) {
    memo.symbolIds = ids;
    memo.symbolEpoch = internEpoch;
  }
  return ids;
}

/** Per interned ID: its index in the current request's symbols, valid when its stamp is. */
let symbolIndex = new Int32Array(1024);
let symbolStamp = new Int32Array(1024);
let stamp = 0;

/** A 2.0 symbol table: `""` first, each string once. */
class Symbols {
  /** Interned IDs of the symbols, in order (the first is `""`). */
  readonly ids: number[] = [0];
  /** The encoded size of the strings (an upper bound). */
  bytes = 0;
  #stamp: number;

  constructor() {
    if (stamp >= 0x7fffffff) {
      symbolStamp.fill(0);
      stamp = 0;
    }
    this.#stamp = ++stamp;
    this.#mark(0, 0);
  }

  get length(): number {
    return this.ids.length;
  }

  #mark(id: number, index: number): void {
    if (id >= symbolStamp.length) {
      let n = symbolStamp.length * 2;
      while (n <= id) n *= 2;
      const stamps = new Int32Array(n);
      stamps.set(symbolStamp);
      symbolStamp = stamps;
      const indices = new Int32Array(n);
      indices.set(symbolIndex);
      symbolIndex = indices;
    }
    symbolStamp[id] = this.#stamp;
    symbolIndex[id] = index;
  }

  /** The index of interned string `id`, added on first use. */
  refId(id: number): number {
    if (id < symbolStamp.length && symbolStamp[id] === this.#stamp) return symbolIndex[id]!;
    const i = this.ids.length;
    this.ids.push(id);
    this.#mark(id, i);
    this.bytes += internedList[id]!.length * 3 + 2;
    return i;
  }

  ref(s: string): number {
    return this.refId(intern(s));
  }

  /** Forgets the strings added after `count` (a series that moved to the next request). */
  truncate(count: number, bytes: number): void {
    for (let i = count; i < this.ids.length; i++) symbolStamp[this.ids[i]!] = 0;
    this.ids.length = count;
    this.bytes = bytes;
  }
}

function seriesV2(w: ProtoWriter, s: RwSeries, sym: Symbols): void {
  w.forkLarge(5);
  w.fork(1);
  const ids = labelIds(s);
  w.ensure(ids.length * 5);
  for (let i = 0; i < ids.length; i++) w.rawVarint(sym.refId(ids[i]!));
  w.join();
  for (const x of s.samples) sample(w, 2, x, true);
  for (const h of s.histograms) histogram(w, 3, h, true);
  for (const e of s.exemplars) {
    w.fork(4);
    w.fork(1);
    for (const [name, value] of e.labels) {
      w.ensure(10);
      w.rawVarint(sym.ref(name));
      w.rawVarint(sym.ref(value));
    }
    w.join();
    if (e.value !== 0 || 1 / e.value < 0) doubleField(w, 2, e.value);
    if (e.timestampMs !== 0) int64Number(w, 3, e.timestampMs);
    w.join();
  }
  w.fork(5);
  w.uint32(1, RW_METRIC_TYPE[s.metadata.type]);
  w.uint32(3, sym.ref(s.metadata.help));
  w.uint32(4, sym.ref(s.metadata.unit));
  w.join();
  w.join();
}

function finishV2(series: Uint8Array, sym: Symbols): Uint8Array {
  const w = new ProtoWriter(series.length + sym.bytes + 64);
  for (const id of sym.ids) w.stringAlways(4, internedList[id]!);
  w.ensure(series.length);
  w.buf.set(series, w.pos);
  w.pos += series.length;
  return w.buf.slice(0, w.pos);
}

/**
 * Encodes 2.0 `Request`s of at most `maxBytes` each (uncompressed, symbols included), each with
 * its own symbol table.
 */
export function encodeWriteRequestsV2(
  series: readonly RwSeries[],
  maxBytes: number,
  finish: (request: Uint8Array) => Uint8Array = (b) => b,
): Uint8Array[] {
  const out: Uint8Array[] = [];
  trimInterned();
  const w = scratch();
  let sym = new Symbols();
  for (const s of series) {
    const before = w.pos;
    const count = sym.length;
    const bytes = sym.bytes;
    seriesV2(w, s, sym);
    if (w.pos + sym.bytes >= maxBytes && before > 0) {
      sym.truncate(count, bytes);
      out.push(finish(finishV2(w.buf.subarray(0, before), sym)));
      w.reset();
      sym = new Symbols();
      seriesV2(w, s, sym);
    }
  }
  if (w.pos > 0) out.push(finish(finishV2(w.buf.subarray(0, w.pos), sym)));
  release(w);
  return out;
}
