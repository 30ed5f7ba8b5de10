/**
 * A pruned decode of an encoded `ExportTraceServiceRequest` for span metrics: resources and
 * scopes in full, and of each span only what the series need (IDs, trace state, name, kind,
 * times, status code, and the attributes whose keys a named dimension asks for). Events, links and
 * every other attribute are skipped without being decoded, which is most of a span's bytes.
 *
 * The payload was validated when it was received (it decodes exactly as the full decoder would),
 * so fields are read as the decoder reads them and unknown ones skipped by wire type.
 *
 * @module
 */
import { ProtoReader } from "../../../lib/otlp/_proto_reader.ts";
import { readKeyValue, readResource, readScope } from "../../../lib/otlp/common_proto.ts";
import type {
  InstrumentationScope,
  KeyValue,
  Resource,
  ResourceSpans,
  ScopeSpans,
  Span,
  TracesData,
} from "../../../lib/pdata/types.ts";

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

function readSpan(r: ProtoReader, limit: number, wanted: WantedKeys): Span {
  const end = r.end(limit);
  let traceId = EMPTY;
  let spanId = EMPTY;
  let traceState = "";
  let name = "";
  let kind = 0;
  let start = 0n;
  let stop = 0n;
  let code = 0;
  const attributes: KeyValue[] = [];
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
      case 42:
        name = r.string(end);
        break;
      case 48:
        kind = r.int32();
        break;
      case 57:
        start = r.fixed64();
        break;
      case 65:
        stop = r.fixed64();
        break;
      case 74:
        if (wanted.length > 0) readWantedAttribute(r, end, wanted, attributes);
        else r.skip(tag, 0, end);
        break;
      case 122:
        code = readStatusCode(r, end);
        break;
      default:
        r.skip(tag, 0, end);
    }
  }
  return {
    traceId,
    spanId,
    traceState,
    parentSpanId: EMPTY,
    flags: 0,
    name,
    kind,
    startTimeUnixNano: start,
    endTimeUnixNano: stop,
    attributes,
    droppedAttributesCount: 0,
    events: NO_EVENTS,
    droppedEventsCount: 0,
    links: NO_LINKS,
    droppedLinksCount: 0,
    status: STATUSES[code] ?? { message: "", code },
  };
}

function readScopeSpans(r: ProtoReader, limit: number, wanted: WantedKeys): ScopeSpans {
  const end = r.end(limit);
  let scope: InstrumentationScope | undefined;
  const spans: Span[] = [];
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === 18) spans.push(readSpan(r, end, wanted));
    else if (tag === 10) scope = readScope(r, end);
    else r.skip(tag, 0, end);
  }
  return { scope: scope ?? emptyScope(), spans, schemaUrl: "" };
}

function readResourceSpans(
  r: ProtoReader,
  limit: number,
  wanted: WantedKeys,
): ResourceSpans {
  const end = r.end(limit);
  let resource: Resource | undefined;
  const scopeSpans: ScopeSpans[] = [];
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === 18) scopeSpans.push(readScopeSpans(r, end, wanted));
    else if (tag === 10) resource = readResource(r, end);
    else r.skip(tag, 0, end);
  }
  return { resource: resource ?? emptyResource(), scopeSpans, schemaUrl: "" };
}

/**
 * The traces of an encoded request with spans pruned to what span metrics read; `wanted` holds
 * the span attribute keys the named dimensions look up ({@linkcode wantedKeys}).
 * @throws {OtlpDecodeError} on malformed input
 */
export function scanTraces(bytes: Uint8Array, wanted: WantedKeys): TracesData {
  const r = new ProtoReader(bytes);
  const resourceSpans: ResourceSpans[] = [];
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag === 10) resourceSpans.push(readResourceSpans(r, r.len, wanted));
    else r.skip(tag, 0, r.len);
  }
  return { resourceSpans };
}
