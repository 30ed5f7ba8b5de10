/**
 * Validation of encoded `Export*ServiceRequest` messages in one pass over the bytes, with no
 * allocation per field: a request passes exactly when the decoders of this folder would decode it,
 * and the walk returns its item count (spans, data points, log records) on the way.
 *
 * Receivers keep protobuf requests encoded (a pass-through pipeline never decodes them), so this is
 * what stops a request that only *looks* like OTLP — a span name sent as a number, AnyValue nested
 * past {@linkcode MAX_DEPTH}, a packed field of the wrong length — from being acknowledged and then
 * failing in an exporter or poisoning a batch. Each message is described by a table of its fields
 * (tag → what the decoder reads there); unknown fields are skipped by the protobuf rules, and a
 * known field with another wire type is malformed, as in decoding. `tests/otlp/validate_test.ts`
 * holds the validator to the decoders over many thousands of mutated requests.
 *
 * @module
 */
import { OtlpDecodeError } from "./errors.ts";
import { fields, MAX_DEPTH } from "./common_proto.ts";
import { ProtoReader } from "./_proto_reader.ts";

/** What the decoder reads at one tag. */
const enum Op {
  /** A varint scalar. */
  Varint,
  /** A fixed64 / double / sfixed64 scalar. */
  I64,
  /** A fixed32 scalar. */
  I32,
  /** A string or bytes field. */
  Len,
  /** A nested message, described by `spec`. */
  Msg,
  /** A packed `repeated fixed64` or `double`: a multiple of 8 bytes. */
  PackedI64,
  /** A packed `repeated uint64`: varints ending exactly at the field's end. */
  PackedVarint,
  /** A `KeyValue` (one attribute). */
  KeyValue,
  /** An `AnyValue` (a log record body). */
  AnyValue,
}

/** How a nested message's items add to its parent's count. */
const enum Count {
  /** Not at all. */
  None,
  /** The message is one item. */
  Item,
  /** Its items add up. */
  Sum,
  /** Its items replace the count so far (the `data` oneof of a Metric: the last one wins). */
  Replace,
}

interface Field {
  readonly op: Op;
  readonly spec?: Spec;
  readonly count?: Count;
}

interface Spec {
  /** The fields the decoder knows, as a bit set for {@linkcode ProtoReader.skip}. */
  readonly known: number;
  /** What the decoder reads, by whole tag (field number << 3 | wire type). */
  readonly tags: readonly (Field | undefined)[];
}

function spec(known: number, entries: Record<number, Field>): Spec {
  const tags: (Field | undefined)[] = [];
  for (const [tag, field] of Object.entries(entries)) tags[Number(tag)] = field;
  for (let i = 0; i < tags.length; i++) tags[i] ??= undefined;
  return { known, tags };
}

const VARINT: Field = { op: Op.Varint };
const I64: Field = { op: Op.I64 };
const I32: Field = { op: Op.I32 };
const LEN: Field = { op: Op.Len };
const KV: Field = { op: Op.KeyValue };
const msg = (s: Spec, count: Count = Count.None): Field => ({ op: Op.Msg, spec: s, count });

// Shared messages (common.proto, resource.proto).
const RESOURCE = spec(fields(1, 2), { 10: KV, 16: VARINT });
const SCOPE = spec(fields(1, 2, 3, 4), { 10: LEN, 18: LEN, 26: KV, 32: VARINT });

/** A ResourceX / ScopeX envelope around `inner` at field 2. */
function envelope(inner: Spec, count: Count): Spec {
  return spec(fields(1, 2, 3), { 10: msg(RESOURCE), 18: msg(inner, count), 26: LEN });
}
function scoped(item: Spec): Spec {
  return spec(fields(1, 2, 3), { 10: msg(SCOPE), 18: msg(item, Count.Item), 26: LEN });
}
function request(resourceX: Spec): Spec {
  return spec(fields(1), { 10: msg(resourceX, Count.Sum) });
}

// Traces (trace.proto).
const STATUS = spec(fields(2, 3), { 18: LEN, 24: VARINT });
const EVENT = spec(fields(1, 2, 3, 4), { 9: I64, 18: LEN, 26: KV, 32: VARINT });
const LINK = spec(fields(1, 2, 3, 4, 5, 6), {
  10: LEN,
  18: LEN,
  26: LEN,
  34: KV,
  40: VARINT,
  53: I32,
});
const SPAN = spec(fields(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16), {
  10: LEN,
  18: LEN,
  26: LEN,
  34: LEN,
  42: LEN,
  48: VARINT,
  57: I64,
  65: I64,
  74: KV,
  80: VARINT,
  90: msg(EVENT),
  96: VARINT,
  106: msg(LINK),
  112: VARINT,
  122: msg(STATUS),
  133: I32,
});
const TRACES_REQUEST = request(envelope(scoped(SPAN), Count.Sum));

// Logs (logs.proto).
const LOG_RECORD = spec(fields(1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12), {
  9: I64,
  89: I64,
  16: VARINT,
  26: LEN,
  42: { op: Op.AnyValue },
  50: KV,
  56: VARINT,
  69: I32,
  74: LEN,
  82: LEN,
  98: LEN,
});
const LOGS_REQUEST = request(envelope(scoped(LOG_RECORD), Count.Sum));

// Metrics (metrics.proto).
const EXEMPLAR = spec(fields(2, 3, 4, 5, 6, 7), {
  58: KV,
  17: I64,
  25: I64,
  49: I64,
  34: LEN,
  42: LEN,
});
const NUMBER_POINT = spec(fields(2, 3, 4, 5, 6, 7, 8), {
  58: KV,
  17: I64,
  25: I64,
  33: I64,
  49: I64,
  42: msg(EXEMPLAR),
  64: VARINT,
});
const HISTOGRAM_POINT = spec(fields(2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12), {
  74: KV,
  17: I64,
  25: I64,
  33: I64,
  41: I64,
  50: { op: Op.PackedI64 },
  49: I64,
  58: { op: Op.PackedI64 },
  57: I64,
  66: msg(EXEMPLAR),
  80: VARINT,
  89: I64,
  97: I64,
});
const BUCKETS = spec(fields(1, 2), { 8: VARINT, 18: { op: Op.PackedVarint }, 16: VARINT });
const EXP_HISTOGRAM_POINT = spec(fields(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14), {
  10: KV,
  17: I64,
  25: I64,
  33: I64,
  41: I64,
  48: VARINT,
  57: I64,
  66: msg(BUCKETS),
  74: msg(BUCKETS),
  80: VARINT,
  90: msg(EXEMPLAR),
  97: I64,
  105: I64,
  113: I64,
});
const QUANTILE = spec(fields(1, 2), { 9: I64, 17: I64 });
const SUMMARY_POINT = spec(fields(2, 3, 4, 5, 6, 7, 8), {
  58: KV,
  17: I64,
  25: I64,
  33: I64,
  41: I64,
  50: msg(QUANTILE),
  64: VARINT,
});
const GAUGE = spec(fields(1), { 10: msg(NUMBER_POINT, Count.Item) });
const SUM = spec(fields(1, 2, 3), {
  10: msg(NUMBER_POINT, Count.Item),
  16: VARINT,
  24: VARINT,
});
const HISTOGRAM = spec(fields(1, 2), { 10: msg(HISTOGRAM_POINT, Count.Item), 16: VARINT });
const EXP_HISTOGRAM = spec(fields(1, 2), {
  10: msg(EXP_HISTOGRAM_POINT, Count.Item),
  16: VARINT,
});
const SUMMARY = spec(fields(1), { 10: msg(SUMMARY_POINT, Count.Item) });
const METRIC = spec(fields(1, 2, 3, 5, 7, 9, 10, 11, 12), {
  10: LEN,
  18: LEN,
  26: LEN,
  42: msg(GAUGE, Count.Replace),
  58: msg(SUM, Count.Replace),
  74: msg(HISTOGRAM, Count.Replace),
  82: msg(EXP_HISTOGRAM, Count.Replace),
  90: msg(SUMMARY, Count.Replace),
  98: KV,
});
const SCOPE_METRICS = spec(fields(1, 2, 3), {
  10: msg(SCOPE),
  18: msg(METRIC, Count.Sum),
  26: LEN,
});
const METRICS_REQUEST = request(envelope(SCOPE_METRICS, Count.Sum));

// ---------------------------------------------------------------------------------------------

function fixed(r: ProtoReader, n: number): void {
  if (r.pos + n > r.len) {
    throw new OtlpDecodeError(`Truncated message: fixed-width field at offset ${r.pos}`);
  }
  r.pos += n;
}

function tooDeep(): OtlpDecodeError {
  return new OtlpDecodeError(`AnyValue nests deeper than ${MAX_DEPTH} levels`);
}

const ANY_VALUE_FIELDS = fields(1, 2, 3, 4, 5, 6, 7);

/** An AnyValue's content, ending at `end`, as `readAnyValue` reads it. */
function anyValue(r: ProtoReader, end: number, depth: number): void {
  while (r.pos < end) {
    const tag = r.uint32();
    switch (tag) {
      case 10:
      case 58:
        r.pos = r.end(end);
        break;
      case 16:
      case 24:
        r.uint32();
        break;
      case 33:
        fixed(r, 8);
        break;
      case 42:
      case 50: {
        if (depth >= MAX_DEPTH) throw tooDeep();
        const e = r.end(end);
        while (r.pos < e) {
          const t = r.uint32();
          if (t !== 10) {
            r.skip(t, 2, e);
            continue;
          }
          const ee = r.end(e);
          if (tag === 42) anyValue(r, ee, depth + 1);
          else keyValue(r, ee, depth + 1);
          r.checkEnd(ee);
        }
        r.checkEnd(e);
        break;
      }
      default:
        r.skip(tag, ANY_VALUE_FIELDS, end);
    }
  }
}

/** A KeyValue's content, ending at `end`, as `readKeyValue` reads it. */
function keyValue(r: ProtoReader, end: number, depth: number): void {
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === 10) r.pos = r.end(end);
    else if (tag === 18) {
      const e = r.end(end);
      anyValue(r, e, depth);
      r.checkEnd(e);
    } else r.skip(tag, 6, end);
  }
}

/** Walks one message's fields up to `end`; returns the items it holds. */
function walk(r: ProtoReader, s: Spec, end: number): number {
  const tags = s.tags;
  let items = 0;
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag < tags.length ? tags[tag] : undefined;
    if (field === undefined) {
      r.skip(tag, s.known, end);
      continue;
    }
    if (field.op !== Op.Msg) {
      value(r, field.op, end);
      continue;
    }
    const e = r.end(end);
    const inner = walk(r, field.spec!, e);
    r.checkEnd(e);
    switch (field.count) {
      case Count.Item:
        items++;
        break;
      case Count.Sum:
        items += inner;
        break;
      case Count.Replace:
        items = inner;
        break;
    }
  }
  return items;
}

/** Checks and skips the value of a field that is not a nested message described by a spec. */
function value(r: ProtoReader, op: Op, end: number): void {
  switch (op) {
    case Op.Varint:
      r.uint32();
      break;
    case Op.I64:
      fixed(r, 8);
      break;
    case Op.I32:
      fixed(r, 4);
      break;
    case Op.Len:
      r.pos = r.end(end);
      break;
    case Op.PackedI64: {
      const e = r.end(end);
      if ((e - r.pos) % 8 !== 0) {
        throw new OtlpDecodeError(`Packed 64-bit field of ${e - r.pos} bytes at offset ${r.pos}`);
      }
      r.pos = e;
      break;
    }
    case Op.PackedVarint: {
      const e = r.end(end);
      while (r.pos < e) r.uint32();
      r.checkEnd(e);
      break;
    }
    case Op.KeyValue: {
      const e = r.end(end);
      keyValue(r, e, 0);
      r.checkEnd(e);
      break;
    }
    case Op.AnyValue: {
      const e = r.end(end);
      anyValue(r, e, 0);
      r.checkEnd(e);
      break;
    }
  }
}

/** The field table of one item message, for {@linkcode checkField}. */
export type ItemSpec = Spec;

/** The `Span` message. */
export const SPAN_SPEC: ItemSpec = SPAN;
/** The `LogRecord` message. */
export const LOG_RECORD_SPEC: ItemSpec = LOG_RECORD;
/** The data point messages: number, histogram, exponential histogram, summary. */
export const POINT_SPECS: {
  readonly number: ItemSpec;
  readonly histogram: ItemSpec;
  readonly exponentialHistogram: ItemSpec;
  readonly summary: ItemSpec;
} = {
  number: NUMBER_POINT,
  histogram: HISTOGRAM_POINT,
  exponentialHistogram: EXP_HISTOGRAM_POINT,
  summary: SUMMARY_POINT,
};

/**
 * Checks the content of an `AnyValue` (an attribute's value) ending at `end` as decoding it would.
 *
 * @throws {OtlpDecodeError} when decoding it would.
 */
export function checkAnyValue(r: ProtoReader, end: number): void {
  anyValue(r, end, 0);
  r.checkEnd(end);
}

/**
 * Checks one field of an item message whose tag was just read, exactly as decoding it would, and
 * moves past it without building anything: partial decoders call it for the fields they skip.
 *
 * @throws {OtlpDecodeError} when decoding the field would.
 */
export function checkField(r: ProtoReader, s: ItemSpec, tag: number, end: number): void {
  const tags = s.tags;
  const field = tag < tags.length ? tags[tag] : undefined;
  if (field === undefined) r.skip(tag, s.known, end);
  else if (field.op !== Op.Msg) value(r, field.op, end);
  else {
    const e = r.end(end);
    walk(r, field.spec!, e);
    r.checkEnd(e);
  }
}

function validate(s: Spec, bytes: Uint8Array): number {
  const r = new ProtoReader(bytes);
  const items = walk(r, s, r.len);
  r.checkEnd(r.len);
  return items;
}

/**
 * Checks an encoded `ExportTraceServiceRequest` and counts its spans.
 *
 * @throws {OtlpDecodeError} exactly when `decodeTracesRequest` would.
 */
export function validateTracesRequest(bytes: Uint8Array): number {
  return validate(TRACES_REQUEST, bytes);
}

/**
 * Checks an encoded `ExportMetricsServiceRequest` and counts its data points (of each metric's
 * last data field, as decoding keeps it).
 *
 * @throws {OtlpDecodeError} exactly when `decodeMetricsRequest` would.
 */
export function validateMetricsRequest(bytes: Uint8Array): number {
  return validate(METRICS_REQUEST, bytes);
}

/**
 * Checks an encoded `ExportLogsServiceRequest` and counts its log records.
 *
 * @throws {OtlpDecodeError} exactly when `decodeLogsRequest` would.
 */
export function validateLogsRequest(bytes: Uint8Array): number {
  return validate(LOGS_REQUEST, bytes);
}
