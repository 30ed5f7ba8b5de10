/**
 * Protobuf codec of `ExportMetricsServiceRequest` (the same bytes as `MetricsData`) and
 * `ExportMetricsServiceResponse`.
 *
 * @module
 */
import type {
  Exemplar,
  ExponentialBuckets,
  ExponentialHistogramDataPoint,
  HistogramDataPoint,
  KeyValue,
  Metric,
  MetricData,
  MetricsData,
  NumberDataPoint,
  ResourceMetrics,
  ScopeMetrics,
  SummaryDataPoint,
  ValueAtQuantile,
} from "../pdata/types.ts";
import type { ProtoDecoder } from "../pdata/payload.ts";
import {
  DATA_POINT,
  type FieldSet,
  type ItemIndex,
  type KeyBytes,
  lookupItem,
} from "../pdata/fields.ts";
import {
  fillItem,
  indexWhole,
  type ItemCodec,
  offsetOf,
  type PartialDecode,
  readItemPartial,
  writeItemPartial,
} from "./_partial.ts";
import { OtlpDecodeError } from "./errors.ts";
import { ProtoReader } from "./_proto_reader.ts";
import { type ItemSpec, POINT_SPECS, validateMetricsRequest } from "./validate.ts";
import { encodeMessage, type ProtoWriter } from "./_proto_writer.ts";
import {
  emptyResource,
  emptyScope,
  type ExportPartialSuccess,
  fields,
  readAttribute,
  readExportResponse,
  readResource,
  readScope,
  writeAttributes,
  writeExportResponse,
  writeResource,
  writeScope,
} from "./common_proto.ts";

const EMPTY: Uint8Array = new Uint8Array(0);

// ---------------------------------------------------------------------------------------------
// Decoding

const RESOURCE_METRICS_FIELDS = fields(1, 2, 3);
const METRIC_FIELDS = fields(1, 2, 3, 5, 7, 9, 10, 11, 12);
const DATA_FIELDS = fields(1, 2, 3);
const NUMBER_FIELDS = fields(2, 3, 4, 5, 6, 7, 8);
const HISTOGRAM_FIELDS = fields(2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12);
const EXP_HISTOGRAM_FIELDS = fields(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14);
const BUCKETS_FIELDS = fields(1, 2);
const SUMMARY_FIELDS = fields(2, 3, 4, 5, 6, 7, 8);
const QUANTILE_FIELDS = fields(1, 2);
const EXEMPLAR_FIELDS = fields(2, 3, 4, 5, 6, 7);

function readExemplar(r: ProtoReader, limit: number): Exemplar {
  const end = r.end(limit);
  const filteredAttributes: KeyValue[] = [];
  let timeUnixNano = 0n;
  let value: number | bigint | undefined;
  let spanId = EMPTY;
  let traceId = EMPTY;
  while (r.pos < end) {
    const tag = r.uint32();
    switch (tag) {
      case 58:
        readAttribute(r, end, filteredAttributes);
        break;
      case 17:
        timeUnixNano = r.fixed64();
        break;
      case 25:
        value = r.double();
        break;
      case 49:
        value = r.sfixed64();
        break;
      case 34:
        spanId = r.bytes(end);
        break;
      case 42:
        traceId = r.bytes(end);
        break;
      default:
        r.skip(tag, EXEMPLAR_FIELDS, end);
    }
  }
  r.checkEnd(end);
  return { filteredAttributes, timeUnixNano, value, spanId, traceId };
}

function readNumberPoint(r: ProtoReader, limit: number): NumberDataPoint {
  const end = r.end(limit);
  const attributes: KeyValue[] = [];
  let startTimeUnixNano = 0n;
  let timeUnixNano = 0n;
  let value: number | bigint | undefined;
  const exemplars: Exemplar[] = [];
  let flags = 0;
  while (r.pos < end) {
    const tag = r.uint32();
    switch (tag) {
      case 58:
        readAttribute(r, end, attributes);
        break;
      case 17:
        startTimeUnixNano = r.fixed64();
        break;
      case 25:
        timeUnixNano = r.fixed64();
        break;
      case 33:
        value = r.double();
        break;
      case 49:
        value = r.sfixed64();
        break;
      case 42:
        exemplars.push(readExemplar(r, end));
        break;
      case 64:
        flags = r.uint32();
        break;
      default:
        r.skip(tag, NUMBER_FIELDS, end);
    }
  }
  r.checkEnd(end);
  return { attributes, startTimeUnixNano, timeUnixNano, value, exemplars, flags };
}

/** Reads a packed `repeated fixed64` (after its tag) onto `out`. */
function readPackedFixed64(r: ProtoReader, limit: number, out: bigint[]): void {
  const end = r.end(limit);
  if ((end - r.pos) % 8 !== 0) {
    throw new OtlpDecodeError(`Packed fixed64 field of ${end - r.pos} bytes at offset ${r.pos}`);
  }
  while (r.pos < end) out.push(r.fixed64());
}

/** Reads a packed `repeated double` (after its tag) onto `out`. */
function readPackedDouble(r: ProtoReader, limit: number, out: number[]): void {
  const end = r.end(limit);
  if ((end - r.pos) % 8 !== 0) {
    throw new OtlpDecodeError(`Packed double field of ${end - r.pos} bytes at offset ${r.pos}`);
  }
  while (r.pos < end) out.push(r.double());
}

function readHistogramPoint(r: ProtoReader, limit: number): HistogramDataPoint {
  const end = r.end(limit);
  const attributes: KeyValue[] = [];
  let startTimeUnixNano = 0n;
  let timeUnixNano = 0n;
  let count = 0n;
  let sum: number | undefined;
  const bucketCounts: bigint[] = [];
  const explicitBounds: number[] = [];
  const exemplars: Exemplar[] = [];
  let flags = 0;
  let min: number | undefined;
  let max: number | undefined;
  while (r.pos < end) {
    const tag = r.uint32();
    switch (tag) {
      case 74:
        readAttribute(r, end, attributes);
        break;
      case 17:
        startTimeUnixNano = r.fixed64();
        break;
      case 25:
        timeUnixNano = r.fixed64();
        break;
      case 33:
        count = r.fixed64();
        break;
      case 41:
        sum = r.double();
        break;
      case 50:
        readPackedFixed64(r, end, bucketCounts);
        break;
      case 49:
        bucketCounts.push(r.fixed64());
        break;
      case 58:
        readPackedDouble(r, end, explicitBounds);
        break;
      case 57:
        explicitBounds.push(r.double());
        break;
      case 66:
        exemplars.push(readExemplar(r, end));
        break;
      case 80:
        flags = r.uint32();
        break;
      case 89:
        min = r.double();
        break;
      case 97:
        max = r.double();
        break;
      default:
        r.skip(tag, HISTOGRAM_FIELDS, end);
    }
  }
  r.checkEnd(end);
  const p: HistogramDataPoint = {
    attributes,
    startTimeUnixNano,
    timeUnixNano,
    count,
    bucketCounts,
    explicitBounds,
    exemplars,
    flags,
  };
  if (sum !== undefined) p.sum = sum;
  if (min !== undefined) p.min = min;
  if (max !== undefined) p.max = max;
  return p;
}

function readBuckets(r: ProtoReader, limit: number): ExponentialBuckets {
  const end = r.end(limit);
  let offset = 0;
  const bucketCounts: bigint[] = [];
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === 18) {
      const e = r.end(end);
      while (r.pos < e) bucketCounts.push(r.uint64());
      r.checkEnd(e);
    } else if (tag === 8) offset = r.sint32();
    else if (tag === 16) bucketCounts.push(r.uint64());
    else r.skip(tag, BUCKETS_FIELDS, end);
  }
  r.checkEnd(end);
  return { offset, bucketCounts };
}

function readExpHistogramPoint(r: ProtoReader, limit: number): ExponentialHistogramDataPoint {
  const end = r.end(limit);
  const attributes: KeyValue[] = [];
  let startTimeUnixNano = 0n;
  let timeUnixNano = 0n;
  let count = 0n;
  let sum: number | undefined;
  let scale = 0;
  let zeroCount = 0n;
  let positive: ExponentialBuckets | undefined;
  let negative: ExponentialBuckets | undefined;
  let flags = 0;
  const exemplars: Exemplar[] = [];
  let min: number | undefined;
  let max: number | undefined;
  let zeroThreshold = 0;
  while (r.pos < end) {
    const tag = r.uint32();
    switch (tag) {
      case 10:
        readAttribute(r, end, attributes);
        break;
      case 17:
        startTimeUnixNano = r.fixed64();
        break;
      case 25:
        timeUnixNano = r.fixed64();
        break;
      case 33:
        count = r.fixed64();
        break;
      case 41:
        sum = r.double();
        break;
      case 48:
        scale = r.sint32();
        break;
      case 57:
        zeroCount = r.fixed64();
        break;
      case 66:
        positive = readBuckets(r, end);
        break;
      case 74:
        negative = readBuckets(r, end);
        break;
      case 80:
        flags = r.uint32();
        break;
      case 90:
        exemplars.push(readExemplar(r, end));
        break;
      case 97:
        min = r.double();
        break;
      case 105:
        max = r.double();
        break;
      case 113:
        zeroThreshold = r.double();
        break;
      default:
        r.skip(tag, EXP_HISTOGRAM_FIELDS, end);
    }
  }
  r.checkEnd(end);
  const p: ExponentialHistogramDataPoint = {
    attributes,
    startTimeUnixNano,
    timeUnixNano,
    count,
    scale,
    zeroCount,
    positive: positive ?? { offset: 0, bucketCounts: [] },
    negative: negative ?? { offset: 0, bucketCounts: [] },
    flags,
    exemplars,
    zeroThreshold,
  };
  if (sum !== undefined) p.sum = sum;
  if (min !== undefined) p.min = min;
  if (max !== undefined) p.max = max;
  return p;
}

function readQuantile(r: ProtoReader, limit: number): ValueAtQuantile {
  const end = r.end(limit);
  let quantile = 0;
  let value = 0;
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === 9) quantile = r.double();
    else if (tag === 17) value = r.double();
    else r.skip(tag, QUANTILE_FIELDS, end);
  }
  r.checkEnd(end);
  return { quantile, value };
}

function readSummaryPoint(r: ProtoReader, limit: number): SummaryDataPoint {
  const end = r.end(limit);
  const attributes: KeyValue[] = [];
  let startTimeUnixNano = 0n;
  let timeUnixNano = 0n;
  let count = 0n;
  let sum = 0;
  const quantileValues: ValueAtQuantile[] = [];
  let flags = 0;
  while (r.pos < end) {
    const tag = r.uint32();
    switch (tag) {
      case 58:
        readAttribute(r, end, attributes);
        break;
      case 17:
        startTimeUnixNano = r.fixed64();
        break;
      case 25:
        timeUnixNano = r.fixed64();
        break;
      case 33:
        count = r.fixed64();
        break;
      case 41:
        sum = r.double();
        break;
      case 50:
        quantileValues.push(readQuantile(r, end));
        break;
      case 64:
        flags = r.uint32();
        break;
      default:
        r.skip(tag, SUMMARY_FIELDS, end);
    }
  }
  r.checkEnd(end);
  return { attributes, startTimeUnixNano, timeUnixNano, count, sum, quantileValues, flags };
}

type Kind = "gauge" | "sum" | "histogram" | "exponentialHistogram" | "summary";

// ---------------------------------------------------------------------------------------------
// Partial decoding of data points: the attributes only (DATA_POINT.attributes) or all of it.

/** A placeholder list of a field not decoded (frozen: nobody may write it). */
const NONE = Object.freeze([]) as unknown as never[];
const NO_BUCKETS: ExponentialBuckets = Object.freeze({ offset: 0, bucketCounts: NONE });

type Point = { attributes: KeyValue[] };

/** A data point type's attributes field, for partial decoding and encoding. */
interface PointCodec extends ItemCodec<Point> {
  /** The field number of its attributes. */
  readonly attributesField: number;
  /** Decodes a whole point whose length prefix is at `r.pos`. */
  readonly full: (r: ProtoReader, limit: number) => Point;
}

function pointCodec(
  spec: ItemSpec,
  attributesField: number,
  known: number,
  create: () => Point,
  full: (r: ProtoReader, limit: number) => Point,
): PointCodec {
  const attributesTag = (attributesField << 3) | 2;
  return {
    spec,
    attributesField,
    full,
    maxField: 14,
    create,
    prepare(p, want) {
      if (((want >>> attributesField) & 1) === 1) p.attributes = [];
    },
    read(r, p, tag, end) {
      if (tag === attributesTag) readAttribute(r, end, p.attributes);
      else r.skip(tag, known, end);
    },
    write(w, p, f) {
      if (f === attributesField) writeAttributes(w, f, p.attributes);
    },
  };
}

const NUMBER_CODEC = pointCodec(
  POINT_SPECS.number,
  7,
  NUMBER_FIELDS,
  (): NumberDataPoint => ({
    attributes: NONE,
    startTimeUnixNano: 0n,
    timeUnixNano: 0n,
    value: undefined,
    exemplars: NONE,
    flags: 0,
  }),
  readNumberPoint,
);
const HISTOGRAM_CODEC = pointCodec(
  POINT_SPECS.histogram,
  9,
  HISTOGRAM_FIELDS,
  (): HistogramDataPoint => ({
    attributes: NONE,
    startTimeUnixNano: 0n,
    timeUnixNano: 0n,
    count: 0n,
    bucketCounts: NONE,
    explicitBounds: NONE,
    exemplars: NONE,
    flags: 0,
  }),
  readHistogramPoint,
);
const EXP_HISTOGRAM_CODEC = pointCodec(
  POINT_SPECS.exponentialHistogram,
  1,
  EXP_HISTOGRAM_FIELDS,
  (): ExponentialHistogramDataPoint => ({
    attributes: NONE,
    startTimeUnixNano: 0n,
    timeUnixNano: 0n,
    count: 0n,
    scale: 0,
    zeroCount: 0n,
    positive: NO_BUCKETS,
    negative: NO_BUCKETS,
    flags: 0,
    exemplars: NONE,
    zeroThreshold: 0,
  }),
  readExpHistogramPoint,
);
const SUMMARY_CODEC = pointCodec(
  POINT_SPECS.summary,
  7,
  SUMMARY_FIELDS,
  (): SummaryDataPoint => ({
    attributes: NONE,
    startTimeUnixNano: 0n,
    timeUnixNano: 0n,
    count: 0n,
    sum: 0,
    quantileValues: NONE,
    flags: 0,
  }),
  readSummaryPoint,
);

const POINT_CODECS: Readonly<Record<Kind, PointCodec>> = {
  gauge: NUMBER_CODEC,
  sum: NUMBER_CODEC,
  histogram: HISTOGRAM_CODEC,
  exponentialHistogram: EXP_HISTOGRAM_CODEC,
  summary: SUMMARY_CODEC,
};

/** The codec of a decoded point, told by its shape. */
function codecOf(p: object): PointCodec {
  if ("bucketCounts" in p) return HISTOGRAM_CODEC;
  if ("scale" in p) return EXP_HISTOGRAM_CODEC;
  if ("quantileValues" in p) return SUMMARY_CODEC;
  return NUMBER_CODEC;
}

/** Reads one point of type `type` partially (attributes only) or whole, and indexes it. */
function readPointPartial(r: ProtoReader, limit: number, type: Kind, p: PartialDecode): Point {
  const codec = POINT_CODECS[type];
  if ((p.want & ~DATA_POINT.attributes) === 0) {
    const want = (p.want & DATA_POINT.attributes) === 0 ? 0 : 1 << codec.attributesField;
    return readItemPartial(r, limit, codec, { want, index: p.index, keys: p.keys });
  }
  const at = r.pos;
  const point = codec.full(r, limit);
  indexWhole(p.index, point, at);
  return point;
}

/**
 * Decodes the point fields of `more` into every point of `index` (decoded from `source`); `keys`:
 * the attributes were decoded by these keys (merged into the whole list when `more` has them).
 */
export function fillMetricsPartial(
  source: Uint8Array,
  index: ItemIndex,
  more: FieldSet,
  keys?: KeyBytes,
): void {
  const r = new ProtoReader(source);
  const attributes = (more & DATA_POINT.attributes) !== 0;
  const rest = (more & ~DATA_POINT.attributes) !== 0;
  for (let i = 0; i < index.items.length; i++) {
    const point = index.items[i] as Point;
    const entry = index.entries[i]!;
    const codec = codecOf(point);
    const at = offsetOf(index, entry);
    if (rest) {
      const kept = point.attributes;
      r.pos = at;
      Object.assign(point, codec.full(r, r.len));
      point.attributes = kept;
    }
    if (attributes) fillItem(r, codec, point, at, 1 << codec.attributesField, keys);
  }
}

/** Data points encoded partially: where their bytes are and which fields the model owns. */
interface PartialEncode {
  readonly r: ProtoReader;
  readonly index: ItemIndex;
  readonly owned: FieldSet;
  readonly keys: KeyBytes | undefined;
}

/**
 * Writes an indexed point as its bytes with the attributes from the model (when the model owns
 * nothing else of it); false when it must be written in full.
 */
function writePointPartial(w: ProtoWriter, point: Point, p: PartialEncode | undefined): boolean {
  if (p === undefined || (p.owned & ~DATA_POINT.attributes) !== 0) return false;
  const entry = lookupItem(p.index, point);
  if (entry === undefined) return false;
  const codec = codecOf(point);
  const owned = (p.owned & DATA_POINT.attributes) === 0 ? 0 : 1 << codec.attributesField;
  writeItemPartial(w, codec, point, p.r, p.index.layout, entry, owned, p.keys);
  return true;
}

/** Decodes the content of a Gauge/Sum/Histogram/ExponentialHistogram/Summary message. */
function readData(r: ProtoReader, limit: number, type: Kind, p?: PartialDecode): MetricData {
  const end = r.end(limit);
  let temporality = 0;
  let isMonotonic = false;
  // deno-lint-ignore no-explicit-any
  const points: any[] = [];
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === 10 && p !== undefined) points.push(readPointPartial(r, end, type, p));
    else if (tag === 10) {
      switch (type) {
        case "gauge":
        case "sum":
          points.push(readNumberPoint(r, end));
          break;
        case "histogram":
          points.push(readHistogramPoint(r, end));
          break;
        case "exponentialHistogram":
          points.push(readExpHistogramPoint(r, end));
          break;
        case "summary":
          points.push(readSummaryPoint(r, end));
          break;
      }
    } else if (tag === 16 && type !== "gauge" && type !== "summary") temporality = r.int32();
    else if (tag === 24 && type === "sum") isMonotonic = r.bool();
    else {
      r.skip(
        tag,
        type === "gauge" || type === "summary"
          ? fields(1)
          : type === "sum"
          ? DATA_FIELDS
          : fields(1, 2),
        end,
      );
    }
  }
  r.checkEnd(end);
  switch (type) {
    case "gauge":
      return { type, dataPoints: points };
    case "sum":
      return { type, dataPoints: points, aggregationTemporality: temporality, isMonotonic };
    case "histogram":
    case "exponentialHistogram":
      return { type, dataPoints: points, aggregationTemporality: temporality };
    case "summary":
      return { type, dataPoints: points };
  }
}

function readMetric(r: ProtoReader, limit: number, p?: PartialDecode): Metric {
  const end = r.end(limit);
  let name = "";
  let description = "";
  let unit = "";
  const metadata: KeyValue[] = [];
  let data: MetricData = undefined;
  while (r.pos < end) {
    const tag = r.uint32();
    switch (tag) {
      case 10:
        name = r.string(end);
        break;
      case 18:
        description = r.string(end);
        break;
      case 26:
        unit = r.string(end);
        break;
      case 42:
        data = readData(r, end, "gauge", p);
        break;
      case 58:
        data = readData(r, end, "sum", p);
        break;
      case 74:
        data = readData(r, end, "histogram", p);
        break;
      case 82:
        data = readData(r, end, "exponentialHistogram", p);
        break;
      case 90:
        data = readData(r, end, "summary", p);
        break;
      case 98:
        readAttribute(r, end, metadata);
        break;
      default:
        r.skip(tag, METRIC_FIELDS, end);
    }
  }
  r.checkEnd(end);
  return { name, description, unit, metadata, data };
}

function readScopeMetrics(r: ProtoReader, limit: number, p?: PartialDecode): ScopeMetrics {
  const end = r.end(limit);
  let scope = undefined;
  const metrics: Metric[] = [];
  let schemaUrl = "";
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === 18) metrics.push(readMetric(r, end, p));
    else if (tag === 10) scope = readScope(r, end);
    else if (tag === 26) schemaUrl = r.string(end);
    else r.skip(tag, RESOURCE_METRICS_FIELDS, end);
  }
  r.checkEnd(end);
  return { scope: scope ?? emptyScope(), metrics, schemaUrl };
}

function readResourceMetrics(r: ProtoReader, limit: number, p?: PartialDecode): ResourceMetrics {
  const end = r.end(limit);
  let resource = undefined;
  const scopeMetrics: ScopeMetrics[] = [];
  let schemaUrl = "";
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === 18) scopeMetrics.push(readScopeMetrics(r, end, p));
    else if (tag === 10) resource = readResource(r, end);
    else if (tag === 26) schemaUrl = r.string(end);
    else r.skip(tag, RESOURCE_METRICS_FIELDS, end);
  }
  r.checkEnd(end);
  return { resource: resource ?? emptyResource(), scopeMetrics, schemaUrl };
}

/**
 * Decodes an `ExportMetricsServiceRequest` (or `MetricsData`). Bytes fields are views into
 * `bytes`, which must therefore not change while the result is in use.
 *
 * @throws {OtlpDecodeError} on malformed input.
 */
export function decodeMetricsRequest(bytes: Uint8Array): MetricsData {
  return readMetricsData(bytes, undefined);
}

function readMetricsData(bytes: Uint8Array, p: PartialDecode | undefined): MetricsData {
  const r = new ProtoReader(bytes);
  const len = r.len;
  const resourceMetrics: ResourceMetrics[] = [];
  while (r.pos < len) {
    const tag = r.uint32();
    if (tag === 10) resourceMetrics.push(readResourceMetrics(r, len, p));
    else r.skip(tag, 2, len);
  }
  return { resourceMetrics };
}

/**
 * Decodes an `ExportMetricsServiceRequest` with only the data point fields of `want` (the
 * attributes, or everything), recording every point in `index`. Metrics, resources and scopes are
 * decoded whole. Refuses exactly what {@linkcode decodeMetricsRequest} refuses.
 *
 * @throws {OtlpDecodeError} on malformed input.
 */
export function decodeMetricsPartial(
  bytes: Uint8Array,
  want: FieldSet,
  index: ItemIndex,
  keys?: KeyBytes,
): MetricsData {
  return readMetricsData(bytes, { want, index, keys });
}

/**
 * Counts the data points (of each metric's last data field) in an encoded request without decoding it, checking on the way that it
 * would decode: see `validate.ts`.
 *
 * @throws {OtlpDecodeError} exactly when decoding would.
 */
export const countMetricsItems: (bytes: Uint8Array) => number = validateMetricsRequest;

// ---------------------------------------------------------------------------------------------
// Encoding

function writeExemplars(w: ProtoWriter, field: number, exemplars: readonly Exemplar[]): void {
  for (let i = 0; i < exemplars.length; i++) {
    const e = exemplars[i]!;
    w.fork(field);
    w.fixed64(2, e.timeUnixNano);
    const v = e.value;
    if (typeof v === "number") w.doubleAlways(3, v);
    else if (typeof v === "bigint") w.sfixed64Always(6, v);
    w.bytes(4, e.spanId);
    w.bytes(5, e.traceId);
    writeAttributes(w, 7, e.filteredAttributes);
    w.join();
  }
}

function writeNumberPoint(w: ProtoWriter, p: NumberDataPoint): void {
  w.fixed64(2, p.startTimeUnixNano);
  w.fixed64(3, p.timeUnixNano);
  const v = p.value;
  if (typeof v === "number") w.doubleAlways(4, v);
  else if (typeof v === "bigint") w.sfixed64Always(6, v);
  writeExemplars(w, 5, p.exemplars);
  writeAttributes(w, 7, p.attributes);
  w.uint32(8, p.flags);
}

function writeHistogramPoint(w: ProtoWriter, p: HistogramDataPoint): void {
  w.fixed64(2, p.startTimeUnixNano);
  w.fixed64(3, p.timeUnixNano);
  w.fixed64(4, p.count);
  if (p.sum !== undefined) w.doubleAlways(5, p.sum);
  w.packedFixed64(6, p.bucketCounts);
  w.packedDouble(7, p.explicitBounds);
  writeExemplars(w, 8, p.exemplars);
  writeAttributes(w, 9, p.attributes);
  w.uint32(10, p.flags);
  if (p.min !== undefined) w.doubleAlways(11, p.min);
  if (p.max !== undefined) w.doubleAlways(12, p.max);
}

function writeBuckets(w: ProtoWriter, field: number, b: ExponentialBuckets): void {
  if (b.offset === 0 && b.bucketCounts.length === 0) return;
  w.fork(field);
  w.sint32(1, b.offset);
  w.packedUint64(2, b.bucketCounts);
  w.join();
}

function writeExpHistogramPoint(w: ProtoWriter, p: ExponentialHistogramDataPoint): void {
  writeAttributes(w, 1, p.attributes);
  w.fixed64(2, p.startTimeUnixNano);
  w.fixed64(3, p.timeUnixNano);
  w.fixed64(4, p.count);
  if (p.sum !== undefined) w.doubleAlways(5, p.sum);
  w.sint32(6, p.scale);
  w.fixed64(7, p.zeroCount);
  writeBuckets(w, 8, p.positive);
  writeBuckets(w, 9, p.negative);
  w.uint32(10, p.flags);
  writeExemplars(w, 11, p.exemplars);
  if (p.min !== undefined) w.doubleAlways(12, p.min);
  if (p.max !== undefined) w.doubleAlways(13, p.max);
  w.double(14, p.zeroThreshold);
}

function writeSummaryPoint(w: ProtoWriter, p: SummaryDataPoint): void {
  w.fixed64(2, p.startTimeUnixNano);
  w.fixed64(3, p.timeUnixNano);
  w.fixed64(4, p.count);
  w.double(5, p.sum);
  const qs = p.quantileValues;
  for (let i = 0; i < qs.length; i++) {
    const q = qs[i]!;
    w.fork(6);
    w.double(1, q.quantile);
    w.double(2, q.value);
    w.join();
  }
  writeAttributes(w, 7, p.attributes);
  w.uint32(8, p.flags);
}

function writeMetric(w: ProtoWriter, m: Metric, e?: PartialEncode): void {
  w.string(1, m.name);
  w.string(2, m.description);
  w.string(3, m.unit);
  const d = m.data;
  if (d !== undefined) {
    switch (d.type) {
      case "gauge":
        w.fork(5);
        for (const p of d.dataPoints) {
          w.fork(1);
          if (!writePointPartial(w, p, e)) writeNumberPoint(w, p);
          w.join();
        }
        w.join();
        break;
      case "sum":
        w.fork(7);
        for (const p of d.dataPoints) {
          w.fork(1);
          if (!writePointPartial(w, p, e)) writeNumberPoint(w, p);
          w.join();
        }
        w.int32(2, d.aggregationTemporality);
        w.bool(3, d.isMonotonic);
        w.join();
        break;
      case "histogram":
        w.fork(9);
        for (const p of d.dataPoints) {
          w.forkLarge(1);
          if (!writePointPartial(w, p, e)) writeHistogramPoint(w, p);
          w.join();
        }
        w.int32(2, d.aggregationTemporality);
        w.join();
        break;
      case "exponentialHistogram":
        w.fork(10);
        for (const p of d.dataPoints) {
          w.forkLarge(1);
          if (!writePointPartial(w, p, e)) writeExpHistogramPoint(w, p);
          w.join();
        }
        w.int32(2, d.aggregationTemporality);
        w.join();
        break;
      case "summary":
        w.fork(11);
        for (const p of d.dataPoints) {
          w.forkLarge(1);
          if (!writePointPartial(w, p, e)) writeSummaryPoint(w, p);
          w.join();
        }
        w.join();
        break;
    }
  }
  writeAttributes(w, 12, m.metadata);
}

function writeMetricsData(w: ProtoWriter, data: MetricsData, e?: PartialEncode): void {
  const rms = data.resourceMetrics;
  for (let i = 0; i < rms.length; i++) {
    const rm = rms[i]!;
    w.fork(1);
    writeResource(w, 1, rm.resource);
    const sms = rm.scopeMetrics;
    for (let j = 0; j < sms.length; j++) {
      const sm = sms[j]!;
      w.fork(2);
      writeScope(w, 1, sm.scope);
      const metrics = sm.metrics;
      for (let k = 0; k < metrics.length; k++) {
        w.fork(2);
        writeMetric(w, metrics[k]!, e);
        w.join();
      }
      w.string(3, sm.schemaUrl);
      w.join();
    }
    w.string(3, rm.schemaUrl);
    w.join();
  }
}

/** Encodes an `ExportMetricsServiceRequest` (the same bytes as `MetricsData`). */
export function encodeMetricsRequest(data: MetricsData): Uint8Array {
  return encodeMessage(data, writeMetricsData);
}

/**
 * Encodes data decoded by {@linkcode decodeMetricsPartial} from `source`: each point of `index`
 * as the bytes it arrived as, with its attributes from the model when `owned` holds them (in full
 * when `owned` holds more); everything else from the model.
 */
export function encodeMetricsPartial(
  data: MetricsData,
  source: Uint8Array,
  index: ItemIndex,
  owned: FieldSet,
  keys?: KeyBytes,
): Uint8Array {
  const e: PartialEncode = { r: new ProtoReader(source), index, owned, keys };
  index.cursor = 0;
  return encodeMessage(data, (w, d) => {
    // The items' bytes are copied from the writer's own buffer (see ProtoWriter.attach).
    w.attach(source);
    writeMetricsData(w, d, e);
  });
}

/**
 * Decodes an `ExportMetricsServiceResponse`: its `partial_success` (`rejected_data_points` as
 * `rejectedItems`), or `undefined` when absent.
 *
 * @throws {OtlpDecodeError} on malformed input.
 */
export function decodeMetricsResponse(bytes: Uint8Array): ExportPartialSuccess | undefined {
  return readExportResponse(new ProtoReader(bytes));
}

/** Encodes an `ExportMetricsServiceResponse`; `undefined` gives the empty (full success) message. */
export function encodeMetricsResponse(partial: ExportPartialSuccess | undefined): Uint8Array {
  return encodeMessage(partial, writeExportResponse);
}

/** The metrics {@linkcode ProtoDecoder} for `Payload.fromProto`. */
export const METRICS_PROTO: ProtoDecoder<"metrics"> = {
  decode: decodeMetricsRequest,
  countItems: countMetricsItems,
  partial: {
    attributes: DATA_POINT.attributes,
    decode: decodeMetricsPartial,
    fill: fillMetricsPartial,
    encode: encodeMetricsPartial,
  },
};
