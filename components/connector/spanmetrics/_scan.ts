/**
 * A pruned, streaming read of an encoded `ExportTraceServiceRequest` for span metrics: resources
 * and scopes in full, and of each span only what the series need (IDs, trace state, name, kind,
 * times, status code, and the attributes whose keys a named dimension asks for), into one span
 * object reused for every span. Events, links and every other attribute are skipped without being
 * decoded, which is most of a span's bytes, and no per-span objects are left for the collector.
 *
 * The payload was validated when it was received (it decodes exactly as the full decoder would),
 * so fields are read as the decoder reads them and unknown ones skipped by wire type.
 *
 * @module
 */
import { ProtoReader } from "../../../lib/otlp/_proto_reader.ts";
import { readKeyValue, readResource, readScope } from "../../../lib/otlp/common_proto.ts";
import type { InstrumentationScope, KeyValue, Resource, Span } from "../../../lib/pdata/types.ts";

const EMPTY: Uint8Array = new Uint8Array(0);
// Shared by every pruned span (nothing reads them as mutable): fewer allocations per span.
const NO_EVENTS: Span["events"] = Object.freeze([]) as unknown as Span["events"];
const NO_LINKS: Span["links"] = Object.freeze([]) as unknown as Span["links"];
const STATUSES: readonly Span["status"][] = [0, 1, 2].map((code) =>
  Object.freeze({ message: "", code })
);

function emptyResource(): Resource {
  return { attributes: [], droppedAttributesCount: 0 };
}

function emptyScope(): InstrumentationScope {
  return { name: "", version: "", attributes: [], droppedAttributesCount: 0 };
}

/** Span attribute keys to keep, as UTF-8 bytes, so a key is compared without decoding it. */
export type WantedKeys = readonly Uint8Array[];

/** The UTF-8 bytes of each key. */
export function wantedKeys(keys: Iterable<string>): WantedKeys {
  const encoder = new TextEncoder();
  return [...new Set(keys)].map((k) => encoder.encode(k));
}

function keyIsWanted(buf: Uint8Array, start: number, end: number, wanted: WantedKeys): boolean {
  const n = end - start;
  for (let w = 0; w < wanted.length; w++) {
    const key = wanted[w]!;
    if (key.length !== n) continue;
    let i = 0;
    while (i < n && key[i] === buf[start + i]) i++;
    if (i === n) return true;
  }
  return false;
}

/** Reads one span attribute when its key is wanted; otherwise skips it. */
function readWantedAttribute(
  r: ProtoReader,
  limit: number,
  wanted: WantedKeys,
  out: KeyValue[],
): void {
  const end = r.end(limit);
  const start = r.pos;
  let hit = false;
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === 10) {
      const keyEnd = r.end(end);
      hit = keyIsWanted(r.buf, r.pos, keyEnd, wanted);
      r.pos = keyEnd;
    } else r.skip(tag, 0, end);
  }
  if (hit) {
    r.pos = start;
    out.push(readKeyValue(r, end));
  }
  r.pos = end;
}

function readStatusCode(r: ProtoReader, limit: number): number {
  const end = r.end(limit);
  let code = 0;
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === 24) code = r.int32();
    else r.skip(tag, 0, end);
  }
  return code;
}

/** What a scan reports: each resource, then each of its spans. */
export interface SpanVisitor<R> {
  /** Called once per resource before its spans; undefined skips its spans. */
  resource(attributes: KeyValue[]): R | undefined;
  /**
   * Called per span. The span object (and its attribute list) is reused for the next span: read
   * it, keep nothing of it but copies.
   */
  span(resource: R, scope: InstrumentationScope, span: Span): void;
}

/** One reusable pruned span. */
function blankSpan(): Span {
  return {
    traceId: EMPTY,
    spanId: EMPTY,
    traceState: "",
    parentSpanId: EMPTY,
    flags: 0,
    name: "",
    kind: 0,
    startTimeUnixNano: 0n,
    endTimeUnixNano: 0n,
    attributes: [],
    droppedAttributesCount: 0,
    events: NO_EVENTS,
    droppedEventsCount: 0,
    links: NO_LINKS,
    droppedLinksCount: 0,
    status: STATUSES[0]!,
  };
}

/** Reads a span into `span` (reset first). */
function readSpan(r: ProtoReader, limit: number, wanted: WantedKeys, span: Span): void {
  const end = r.end(limit);
  span.traceId = EMPTY;
  span.spanId = EMPTY;
  span.traceState = "";
  span.name = "";
  span.kind = 0;
  span.startTimeUnixNano = 0n;
  span.endTimeUnixNano = 0n;
  span.attributes.length = 0;
  let code = 0;
  while (r.pos < end) {
    const tag = r.uint32();
    switch (tag) {
      case 10:
        span.traceId = r.bytes(end);
        break;
      case 18:
        span.spanId = r.bytes(end);
        break;
      case 26:
        span.traceState = r.string(end);
        break;
      case 42:
        span.name = r.string(end);
        break;
      case 48:
        span.kind = r.int32();
        break;
      case 57:
        span.startTimeUnixNano = r.fixed64();
        break;
      case 65:
        span.endTimeUnixNano = r.fixed64();
        break;
      case 74:
        if (wanted.length > 0) readWantedAttribute(r, end, wanted, span.attributes);
        else r.skip(tag, 0, end);
        break;
      case 122:
        code = readStatusCode(r, end);
        break;
      default:
        r.skip(tag, 0, end);
    }
  }
  span.status = STATUSES[code] ?? { message: "", code };
}

/** The first field `tag` of the message `[start, end)` read with `read`, or undefined. */
function findField<T>(
  r: ProtoReader,
  start: number,
  end: number,
  tag: number,
  read: (r: ProtoReader, end: number) => T,
): T | undefined {
  r.pos = start;
  let found: T | undefined;
  while (r.pos < end) {
    const t = r.uint32();
    if (t === tag) found = read(r, end);
    else r.skip(t, 0, end);
  }
  return found;
}

function scanScopeSpans<R>(
  r: ProtoReader,
  limit: number,
  wanted: WantedKeys,
  state: R,
  visitor: SpanVisitor<R>,
  span: Span,
): void {
  const end = r.end(limit);
  const start = r.pos;
  // The scope may come after the spans: find it first (a skip per span, no decoding).
  const scope = findField(r, start, end, 10, readScope) ?? emptyScope();
  r.pos = start;
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === 18) {
      readSpan(r, end, wanted, span);
      visitor.span(state, scope, span);
    } else r.skip(tag, 0, end);
  }
}

function scanResourceSpans<R>(
  r: ProtoReader,
  limit: number,
  wanted: WantedKeys,
  visitor: SpanVisitor<R>,
  span: Span,
): void {
  const end = r.end(limit);
  const start = r.pos;
  const resource = findField(r, start, end, 10, readResource) ?? emptyResource();
  const state = visitor.resource(resource.attributes);
  if (state === undefined) {
    r.pos = end;
    return;
  }
  r.pos = start;
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === 18) scanScopeSpans(r, end, wanted, state, visitor, span);
    else r.skip(tag, 0, end);
  }
}

/**
 * Scans an encoded request, reporting each resource and each span pruned to what span metrics
 * read; `wanted` holds the span attribute keys the named dimensions look up
 * ({@linkcode wantedKeys}).
 * @throws {OtlpDecodeError} on malformed input
 */
export function scanTraces<R>(
  bytes: Uint8Array,
  wanted: WantedKeys,
  visitor: SpanVisitor<R>,
): void {
  const r = new ProtoReader(bytes);
  const span = blankSpan();
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag === 10) scanResourceSpans(r, r.len, wanted, visitor, span);
    else r.skip(tag, 0, r.len);
  }
}
