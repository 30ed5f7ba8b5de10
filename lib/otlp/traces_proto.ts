/**
 * Protobuf codec of `ExportTraceServiceRequest` (the same bytes as `TracesData`) and
 * `ExportTraceServiceResponse`.
 *
 * @module
 */
import type {
  KeyValue,
  ResourceSpans,
  ScopeSpans,
  Span,
  SpanEvent,
  SpanLink,
  Status,
  TracesData,
} from "../pdata/types.ts";
import type { ProtoDecoder } from "../pdata/payload.ts";
import { type FieldSet, type ItemIndex, type KeyBytes, lookupItem, SPAN } from "../pdata/fields.ts";
import {
  fillItems,
  type ItemCodec,
  type PartialDecode,
  readItemPartial,
  writeItemPartial,
} from "./_partial.ts";
import { ProtoReader } from "./_proto_reader.ts";
import { SPAN_SPEC, validateTracesRequest } from "./validate.ts";
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

const SPAN_FIELDS = fields(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);
const EVENT_FIELDS = fields(1, 2, 3, 4);
const LINK_FIELDS = fields(1, 2, 3, 4, 5, 6);
const STATUS_FIELDS = fields(2, 3);
const RESOURCE_SPANS_FIELDS = fields(1, 2, 3);

function readEvent(r: ProtoReader, limit: number): SpanEvent {
  const end = r.end(limit);
  let timeUnixNano = 0n;
  let name = "";
  const attributes: KeyValue[] = [];
  let droppedAttributesCount = 0;
  while (r.pos < end) {
    const tag = r.uint32();
    switch (tag) {
      case 9:
        timeUnixNano = r.fixed64();
        break;
      case 18:
        name = r.string(end);
        break;
      case 26:
        readAttribute(r, end, attributes);
        break;
      case 32:
        droppedAttributesCount = r.uint32();
        break;
      default:
        r.skip(tag, EVENT_FIELDS, end);
    }
  }
  r.checkEnd(end);
  return { timeUnixNano, name, attributes, droppedAttributesCount };
}

function readLink(r: ProtoReader, limit: number): SpanLink {
  const end = r.end(limit);
  let traceId = EMPTY;
  let spanId = EMPTY;
  let traceState = "";
  const attributes: KeyValue[] = [];
  let droppedAttributesCount = 0;
  let flags = 0;
  while (r.pos < end) {
    const tag = r.uint32();
    switch (tag) {
      case 10:
        traceId = r.bytes(end);
        break;
      case 18:
        spanId = r.bytes(end);
        break;
      case 26:
        traceState = r.string(end);
        break;
      case 34:
        readAttribute(r, end, attributes);
        break;
      case 40:
        droppedAttributesCount = r.uint32();
        break;
      case 53:
        flags = r.fixed32();
        break;
      default:
        r.skip(tag, LINK_FIELDS, end);
    }
  }
  r.checkEnd(end);
  return { traceId, spanId, traceState, attributes, droppedAttributesCount, flags };
}

function readStatus(r: ProtoReader, limit: number): Status {
  const end = r.end(limit);
  let message = "";
  let code = 0;
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === 18) message = r.string(end);
    else if (tag === 24) code = r.int32();
    else r.skip(tag, STATUS_FIELDS, end);
  }
  r.checkEnd(end);
  return { message, code };
}

function readSpan(r: ProtoReader, limit: number): Span {
  const end = r.end(limit);
  let traceId = EMPTY;
  let spanId = EMPTY;
  let traceState = "";
  let parentSpanId = EMPTY;
  let flags = 0;
  let name = "";
  let kind = 0;
  let startTimeUnixNano = 0n;
  let endTimeUnixNano = 0n;
  const attributes: KeyValue[] = [];
  let droppedAttributesCount = 0;
  const events: SpanEvent[] = [];
  let droppedEventsCount = 0;
  const links: SpanLink[] = [];
  let droppedLinksCount = 0;
  let status: Status | undefined;
  while (r.pos < end) {
    const tag = r.uint32();
    switch (tag) {
      case 10:
        traceId = r.bytes(end);
        break;
      case 18:
        spanId = r.bytes(end);
        break;
      case 26:
        traceState = r.string(end);
        break;
      case 34:
        parentSpanId = r.bytes(end);
        break;
      case 42:
        name = r.string(end);
        break;
      case 48:
        kind = r.int32();
        break;
      case 57:
        startTimeUnixNano = r.fixed64();
        break;
      case 65:
        endTimeUnixNano = r.fixed64();
        break;
      case 74:
        readAttribute(r, end, attributes);
        break;
      case 80:
        droppedAttributesCount = r.uint32();
        break;
      case 90:
        events.push(readEvent(r, end));
        break;
      case 96:
        droppedEventsCount = r.uint32();
        break;
      case 106:
        links.push(readLink(r, end));
        break;
      case 112:
        droppedLinksCount = r.uint32();
        break;
      case 122:
        status = readStatus(r, end);
        break;
      case 133:
        flags = r.fixed32();
        break;
      default:
        r.skip(tag, SPAN_FIELDS, end);
    }
  }
  r.checkEnd(end);
  return {
    traceId,
    spanId,
    traceState,
    parentSpanId,
    flags,
    name,
    kind,
    startTimeUnixNano,
    endTimeUnixNano,
    attributes,
    droppedAttributesCount,
    events,
    droppedEventsCount,
    links,
    droppedLinksCount,
    status: status ?? { message: "", code: 0 },
  };
}

/** A placeholder list of a field not decoded (frozen: nobody may write it). */
const NONE = Object.freeze([]) as unknown as never[];
/** The placeholder status of a span whose status was not decoded. */
const NO_STATUS: Status = Object.freeze({ message: "", code: 0 }) as Status;

/** The `Span` message field by field, for partial decoding. */
const SPAN_CODEC: ItemCodec<Span> = {
  spec: SPAN_SPEC,
  attributesField: 9,
  maxField: 16,
  create: () => ({
    traceId: EMPTY,
    spanId: EMPTY,
    traceState: "",
    parentSpanId: EMPTY,
    flags: 0,
    name: "",
    kind: 0,
    startTimeUnixNano: 0n,
    endTimeUnixNano: 0n,
    attributes: NONE,
    droppedAttributesCount: 0,
    events: NONE,
    droppedEventsCount: 0,
    links: NONE,
    droppedLinksCount: 0,
    status: NO_STATUS,
  }),
  prepare(s, want) {
    if ((want & SPAN.attributes) !== 0) s.attributes = [];
    if ((want & SPAN.events) !== 0) s.events = [];
    if ((want & SPAN.links) !== 0) s.links = [];
    if ((want & SPAN.status) !== 0) s.status = { message: "", code: 0 };
  },
  read(r, s, tag, end) {
    switch (tag) {
      case 10:
        s.traceId = r.bytes(end);
        break;
      case 18:
        s.spanId = r.bytes(end);
        break;
      case 26:
        s.traceState = r.string(end);
        break;
      case 34:
        s.parentSpanId = r.bytes(end);
        break;
      case 42:
        s.name = r.string(end);
        break;
      case 48:
        s.kind = r.int32();
        break;
      case 57:
        s.startTimeUnixNano = r.fixed64();
        break;
      case 65:
        s.endTimeUnixNano = r.fixed64();
        break;
      case 74:
        readAttribute(r, end, s.attributes);
        break;
      case 80:
        s.droppedAttributesCount = r.uint32();
        break;
      case 90:
        s.events.push(readEvent(r, end));
        break;
      case 96:
        s.droppedEventsCount = r.uint32();
        break;
      case 106:
        s.links.push(readLink(r, end));
        break;
      case 112:
        s.droppedLinksCount = r.uint32();
        break;
      case 122:
        s.status = readStatus(r, end);
        break;
      case 133:
        s.flags = r.fixed32();
        break;
      default:
        r.skip(tag, SPAN_FIELDS, end);
    }
  },
  write: writeSpanField,
};

function readScopeSpans(r: ProtoReader, limit: number, p?: PartialDecode): ScopeSpans {
  const end = r.end(limit);
  let scope = undefined;
  const spans: Span[] = [];
  let schemaUrl = "";
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === 18) {
      spans.push(p === undefined ? readSpan(r, end) : readItemPartial(r, end, SPAN_CODEC, p));
    } else if (tag === 10) scope = readScope(r, end);
    else if (tag === 26) schemaUrl = r.string(end);
    else r.skip(tag, RESOURCE_SPANS_FIELDS, end);
  }
  r.checkEnd(end);
  return { scope: scope ?? emptyScope(), spans, schemaUrl };
}

function readResourceSpans(r: ProtoReader, limit: number, p?: PartialDecode): ResourceSpans {
  const end = r.end(limit);
  let resource = undefined;
  const scopeSpans: ScopeSpans[] = [];
  let schemaUrl = "";
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === 18) scopeSpans.push(readScopeSpans(r, end, p));
    else if (tag === 10) resource = readResource(r, end);
    else if (tag === 26) schemaUrl = r.string(end);
    else r.skip(tag, RESOURCE_SPANS_FIELDS, end);
  }
  r.checkEnd(end);
  return { resource: resource ?? emptyResource(), scopeSpans, schemaUrl };
}

/**
 * Decodes an `ExportTraceServiceRequest` (or `TracesData`). Bytes fields are views into `bytes`,
 * which must therefore not change while the result is in use.
 *
 * @throws {OtlpDecodeError} on malformed input.
 */
export function decodeTracesRequest(bytes: Uint8Array): TracesData {
  return readTracesData(bytes, undefined);
}

function readTracesData(bytes: Uint8Array, p: PartialDecode | undefined): TracesData {
  const r = new ProtoReader(bytes);
  const len = r.len;
  const resourceSpans: ResourceSpans[] = [];
  while (r.pos < len) {
    const tag = r.uint32();
    if (tag === 10) resourceSpans.push(readResourceSpans(r, len, p));
    else r.skip(tag, 2, len);
  }
  return { resourceSpans };
}

/**
 * Decodes an `ExportTraceServiceRequest` with only the span fields of `want` (see `_partial.ts`),
 * recording every span in `index`. Refuses exactly what {@linkcode decodeTracesRequest} refuses.
 *
 * @throws {OtlpDecodeError} on malformed input.
 */
export function decodeTracesPartial(
  bytes: Uint8Array,
  want: FieldSet,
  index: ItemIndex,
  keys?: KeyBytes,
): TracesData {
  return readTracesData(bytes, { want, index, keys });
}

/**
 * Counts the spans in an encoded request without decoding it, checking on the way that it
 * would decode: see `validate.ts`.
 *
 * @throws {OtlpDecodeError} exactly when decoding would.
 */
export const countTracesItems: (bytes: Uint8Array) => number = validateTracesRequest;

// ---------------------------------------------------------------------------------------------
// Encoding

function writeSpan(w: ProtoWriter, s: Span): void {
  w.bytes(1, s.traceId);
  w.bytes(2, s.spanId);
  w.string(3, s.traceState);
  w.bytes(4, s.parentSpanId);
  w.string(5, s.name);
  w.int32(6, s.kind);
  w.fixed64(7, s.startTimeUnixNano);
  w.fixed64(8, s.endTimeUnixNano);
  writeAttributes(w, 9, s.attributes);
  w.uint32(10, s.droppedAttributesCount);
  if (s.events.length > 0) writeEvents(w, s.events);
  w.uint32(12, s.droppedEventsCount);
  if (s.links.length > 0) writeLinks(w, s.links);
  w.uint32(14, s.droppedLinksCount);
  writeStatus(w, s.status);
  w.fixed32(16, s.flags);
}

function writeEvents(w: ProtoWriter, events: readonly SpanEvent[]): void {
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    w.fork(11);
    w.fixed64(1, e.timeUnixNano);
    w.string(2, e.name);
    writeAttributes(w, 3, e.attributes);
    w.uint32(4, e.droppedAttributesCount);
    w.join();
  }
}

function writeLinks(w: ProtoWriter, links: readonly SpanLink[]): void {
  for (let i = 0; i < links.length; i++) {
    const l = links[i]!;
    w.fork(13);
    w.bytes(1, l.traceId);
    w.bytes(2, l.spanId);
    w.string(3, l.traceState);
    writeAttributes(w, 4, l.attributes);
    w.uint32(5, l.droppedAttributesCount);
    w.fixed32(6, l.flags);
    w.join();
  }
}

function writeStatus(w: ProtoWriter, status: Status): void {
  if (status.code !== 0 || status.message !== "") {
    w.fork(15);
    w.string(2, status.message);
    w.int32(3, status.code);
    w.join();
  }
}

/** Writes field number `f` of a span (nothing when it holds its default). */
function writeSpanField(w: ProtoWriter, s: Span, f: number): void {
  switch (f) {
    case 1:
      return w.bytes(1, s.traceId);
    case 2:
      return w.bytes(2, s.spanId);
    case 3:
      return w.string(3, s.traceState);
    case 4:
      return w.bytes(4, s.parentSpanId);
    case 5:
      return w.string(5, s.name);
    case 6:
      return w.int32(6, s.kind);
    case 7:
      return w.fixed64(7, s.startTimeUnixNano);
    case 8:
      return w.fixed64(8, s.endTimeUnixNano);
    case 9:
      return writeAttributes(w, 9, s.attributes);
    case 10:
      return w.uint32(10, s.droppedAttributesCount);
    case 11:
      return writeEvents(w, s.events);
    case 12:
      return w.uint32(12, s.droppedEventsCount);
    case 13:
      return writeLinks(w, s.links);
    case 14:
      return w.uint32(14, s.droppedLinksCount);
    case 15:
      return writeStatus(w, s.status);
    case 16:
      return w.fixed32(16, s.flags);
  }
}

/** Spans encoded partially: where their bytes are and which fields the model owns. */
interface PartialEncode {
  readonly r: ProtoReader;
  readonly index: ItemIndex;
  readonly owned: FieldSet;
  readonly keys: KeyBytes | undefined;
}

function writeTracesData(w: ProtoWriter, data: TracesData, p?: PartialEncode): void {
  const rss = data.resourceSpans;
  for (let i = 0; i < rss.length; i++) {
    const rs = rss[i]!;
    w.fork(1);
    writeResource(w, 1, rs.resource);
    const sss = rs.scopeSpans;
    for (let j = 0; j < sss.length; j++) {
      const ss = sss[j]!;
      w.fork(2);
      writeScope(w, 1, ss.scope);
      const spans = ss.spans;
      for (let k = 0; k < spans.length; k++) {
        const span = spans[k]!;
        w.forkLarge(2);
        const at = p === undefined ? undefined : lookupItem(p.index, span);
        if (at === undefined) writeSpan(w, span);
        else writeItemPartial(w, SPAN_CODEC, span, p!.r, p!.index.layout, at, p!.owned, p!.keys);
        w.join();
      }
      w.string(3, ss.schemaUrl);
      w.join();
    }
    w.string(3, rs.schemaUrl);
    w.join();
  }
}

/** Encodes an `ExportTraceServiceRequest` (the same bytes as `TracesData`). */
export function encodeTracesRequest(data: TracesData): Uint8Array {
  return encodeMessage(data, writeTracesData);
}

/**
 * Encodes data decoded by {@linkcode decodeTracesPartial} from `source`: each span of `index`
 * with the fields of `owned` from the model and every other field copied from `source`; spans
 * not in `index` (added since) in full.
 */
export function encodeTracesPartial(
  data: TracesData,
  source: Uint8Array,
  index: ItemIndex,
  owned: FieldSet,
  keys?: KeyBytes,
): Uint8Array {
  const p: PartialEncode = { r: new ProtoReader(source), index, owned, keys };
  index.cursor = 0;
  return encodeMessage(data, (w, d) => {
    // The items' bytes are copied from the writer's own buffer (see ProtoWriter.attach).
    w.attach(source);
    writeTracesData(w, d, p);
  });
}

/** Decodes the span fields of `more` into every span of `index` (decoded from `source`). */
export function fillTracesPartial(
  source: Uint8Array,
  index: ItemIndex,
  more: FieldSet,
  keys?: KeyBytes,
): void {
  fillItems(SPAN_CODEC, source, index, more, keys);
}

/**
 * Decodes an `ExportTraceServiceResponse`: its `partial_success` (`rejected_spans` as
 * `rejectedItems`), or `undefined` when absent.
 *
 * @throws {OtlpDecodeError} on malformed input.
 */
export function decodeTracesResponse(bytes: Uint8Array): ExportPartialSuccess | undefined {
  return readExportResponse(new ProtoReader(bytes));
}

/** Encodes an `ExportTraceServiceResponse`; `undefined` gives the empty (full success) message. */
export function encodeTracesResponse(partial: ExportPartialSuccess | undefined): Uint8Array {
  return encodeMessage(partial, writeExportResponse);
}

/** The traces {@linkcode ProtoDecoder} for `Payload.fromProto`. */
export const TRACES_PROTO: ProtoDecoder<"traces"> = {
  decode: decodeTracesRequest,
  countItems: countTracesItems,
  partial: {
    attributes: SPAN.attributes,
    decode: decodeTracesPartial,
    fill: fillTracesPartial,
    encode: encodeTracesPartial,
  },
};
