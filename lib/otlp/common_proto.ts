/**
 * Protobuf codecs of the messages every signal shares (`opentelemetry.proto.common.v1` and
 * `resource.v1`): `AnyValue`, `KeyValue`, `InstrumentationScope`, `Resource`, and the
 * `partial_success` of the export responses.
 *
 * @module
 */
import type { AnyValue, InstrumentationScope, KeyValue, Resource } from "../pdata/types.ts";
import { OtlpDecodeError } from "./errors.ts";
import type { ProtoReader } from "./_proto_reader.ts";
import type { ProtoWriter } from "./_proto_writer.ts";

/** A bit set of field numbers, for {@linkcode ProtoReader.skip}. */
export function fields(...numbers: number[]): number {
  let mask = 0;
  for (const n of numbers) mask |= 1 << n;
  return mask;
}

/** The outcome of an export as the server reports it (`Export*ServiceResponse.partial_success`). */
export interface ExportPartialSuccess {
  /** Spans, data points or log records the server rejected (`rejected_*`, int64). */
  rejectedItems: bigint;
  /** Why, for the client's logs. */
  errorMessage: string;
}

/** The deepest nesting of arrays and key/value lists a decoder accepts. */
export const MAX_DEPTH = 64;

// ---------------------------------------------------------------------------------------------
// Decoding

const ANY_VALUE_FIELDS = fields(1, 2, 3, 4, 5, 6, 7);

/** Decodes an `AnyValue` whose content ends at `end`. */
export function readAnyValue(r: ProtoReader, end: number, depth: number): AnyValue {
  let value: AnyValue = undefined;
  while (r.pos < end) {
    const tag = r.uint32();
    switch (tag) {
      case 10: // string_value
        value = r.string(end);
        break;
      case 16: // bool_value
        value = r.bool();
        break;
      case 24: // int_value
        value = r.int64();
        break;
      case 33: // double_value
        value = r.double();
        break;
      case 42: { // array_value
        if (depth >= MAX_DEPTH) throw tooDeep();
        const e = r.end(end);
        value = readArrayValue(r, e, depth + 1);
        r.checkEnd(e);
        break;
      }
      case 50: { // kvlist_value
        if (depth >= MAX_DEPTH) throw tooDeep();
        const e = r.end(end);
        const kvlist: KeyValue[] = [];
        while (r.pos < e) {
          const t = r.uint32();
          if (t === 10) {
            const ee = r.end(e);
            kvlist.push(readKeyValue(r, ee, depth + 1));
            r.checkEnd(ee);
          } else r.skip(t, 2, e);
        }
        r.checkEnd(e);
        value = { kvlist };
        break;
      }
      case 58: // bytes_value
        value = r.bytes(end);
        break;
      default:
        r.skip(tag, ANY_VALUE_FIELDS, end);
    }
  }
  return value;
}

function readArrayValue(r: ProtoReader, end: number, depth: number): AnyValue[] {
  const values: AnyValue[] = [];
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === 10) {
      const e = r.end(end);
      values.push(readAnyValue(r, e, depth));
      r.checkEnd(e);
    } else r.skip(tag, 2, end);
  }
  return values;
}

function tooDeep(): OtlpDecodeError {
  return new OtlpDecodeError(`AnyValue nests deeper than ${MAX_DEPTH} levels`);
}

/** Decodes a `KeyValue` whose content ends at `end`. */
export function readKeyValue(r: ProtoReader, end: number, depth = 0): KeyValue {
  let key = "";
  let value: AnyValue = undefined;
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === 10) key = r.string(end);
    else if (tag === 18) {
      const e = r.end(end);
      value = readAnyValue(r, e, depth);
      r.checkEnd(e);
    } else r.skip(tag, 6, end);
  }
  return { key, value };
}

/** Decodes one element of a `repeated KeyValue` field (after its tag) and appends it. */
export function readAttribute(r: ProtoReader, limit: number, out: KeyValue[]): void {
  const e = r.end(limit);
  out.push(readKeyValue(r, e));
  r.checkEnd(e);
}

const RESOURCE_FIELDS = fields(1, 2);

/** Decodes a `Resource` field (after its tag). Field 3 (`entity_refs`) is skipped. */
export function readResource(r: ProtoReader, limit: number): Resource {
  const end = r.end(limit);
  const attributes: KeyValue[] = [];
  let droppedAttributesCount = 0;
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === 10) readAttribute(r, end, attributes);
    else if (tag === 16) droppedAttributesCount = r.uint32();
    else r.skip(tag, RESOURCE_FIELDS, end);
  }
  r.checkEnd(end);
  return { attributes, droppedAttributesCount };
}

const SCOPE_FIELDS = fields(1, 2, 3, 4);

/** Decodes an `InstrumentationScope` field (after its tag). */
export function readScope(r: ProtoReader, limit: number): InstrumentationScope {
  const end = r.end(limit);
  let name = "";
  let version = "";
  const attributes: KeyValue[] = [];
  let droppedAttributesCount = 0;
  while (r.pos < end) {
    const tag = r.uint32();
    switch (tag) {
      case 10:
        name = r.string(end);
        break;
      case 18:
        version = r.string(end);
        break;
      case 26:
        readAttribute(r, end, attributes);
        break;
      case 32:
        droppedAttributesCount = r.uint32();
        break;
      default:
        r.skip(tag, SCOPE_FIELDS, end);
    }
  }
  r.checkEnd(end);
  return { name, version, attributes, droppedAttributesCount };
}

/** A resource with nothing set (the value of an absent `resource` field). */
export function emptyResource(): Resource {
  return { attributes: [], droppedAttributesCount: 0 };
}

/** A scope with nothing set (the value of an absent `scope` field). */
export function emptyScope(): InstrumentationScope {
  return { name: "", version: "", attributes: [], droppedAttributesCount: 0 };
}

/** Decodes an `Export*ServiceResponse` message (all three signals share the layout). */
export function readExportResponse(r: ProtoReader): ExportPartialSuccess | undefined {
  const len = r.len;
  let result: ExportPartialSuccess | undefined;
  while (r.pos < len) {
    const tag = r.uint32();
    if (tag !== 10) {
      r.skip(tag, 2, len);
      continue;
    }
    const end = r.end(len);
    let rejectedItems = 0n;
    let errorMessage = "";
    while (r.pos < end) {
      const t = r.uint32();
      if (t === 8) rejectedItems = r.int64();
      else if (t === 18) errorMessage = r.string(end);
      else r.skip(t, 6, end);
    }
    r.checkEnd(end);
    result = { rejectedItems, errorMessage };
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Encoding

/** Writes the content of an `AnyValue` (the `oneof` member, written even when zero or empty). */
export function writeAnyValueContent(w: ProtoWriter, v: AnyValue): void {
  switch (typeof v) {
    case "string":
      w.stringAlways(1, v);
      return;
    case "boolean":
      w.boolAlways(2, v);
      return;
    case "bigint":
      w.int64Always(3, v);
      return;
    case "number":
      w.doubleAlways(4, v);
      return;
    case "undefined":
      return;
  }
  if (v instanceof Uint8Array) {
    w.bytesAlways(7, v);
  } else if (Array.isArray(v)) {
    w.fork(5);
    for (let i = 0; i < v.length; i++) {
      w.fork(1);
      writeAnyValueContent(w, v[i]);
      w.join();
    }
    w.join();
  } else {
    w.fork(6);
    writeAttributes(w, 1, v.kvlist);
    w.join();
  }
}

/** Writes a `repeated KeyValue` field. */
export function writeAttributes(w: ProtoWriter, field: number, attrs: readonly KeyValue[]): void {
  for (let i = 0; i < attrs.length; i++) writeAttribute(w, field, attrs[i]!);
}

/**
 * The last string attribute written, and its bytes once it was written twice in a row: an editor
 * that sets one attribute on every item (`set(span.attributes["k"], "v")`) writes the same key and
 * value for each, and copying 30-odd bytes is cheaper than encoding two strings and two length
 * prefixes. Other attributes cost two string compares (identical strings compare by pointer).
 */
let memoField = 0;
let memoKey = "";
let memoValue = "";
let memoLen = 0;
const MEMO = new Uint8Array(64);

/** Writes one element of a `repeated KeyValue` field. */
export function writeAttribute(w: ProtoWriter, field: number, kv: KeyValue): void {
  const v = kv.value;
  if (typeof v !== "string") {
    writeAttributeAlways(w, field, kv);
    return;
  }
  const repeat = field === memoField && kv.key === memoKey && v === memoValue;
  if (repeat && memoLen > 0) {
    // A byte loop: `raw` would make a subarray view for anything over 32 bytes.
    const n = memoLen;
    w.ensure(n);
    const buf = w.buf;
    const pos = w.pos;
    for (let i = 0; i < n; i++) buf[pos + i] = MEMO[i]!;
    w.pos = pos + n;
    return;
  }
  const start = w.pos;
  writeAttributeAlways(w, field, kv);
  const n = w.pos - start;
  if (repeat && n <= MEMO.length) {
    const buf = w.buf;
    for (let i = 0; i < n; i++) MEMO[i] = buf[start + i]!;
    memoLen = n;
  } else if (!repeat) {
    memoField = field;
    memoKey = kv.key;
    memoValue = v;
    memoLen = 0;
  }
}

function writeAttributeAlways(w: ProtoWriter, field: number, kv: KeyValue): void {
  w.fork(field);
  w.string(1, kv.key);
  const v = kv.value;
  if (v !== undefined) {
    w.fork(2);
    writeAnyValueContent(w, v);
    w.join();
  }
  w.join();
}

/** Writes an `AnyValue` message field unless the value is empty (log record bodies). */
export function writeAnyValueField(w: ProtoWriter, field: number, v: AnyValue): void {
  if (v === undefined) return;
  w.fork(field);
  writeAnyValueContent(w, v);
  w.join();
}

/** Writes a `Resource` field. */
export function writeResource(w: ProtoWriter, field: number, r: Resource): void {
  w.fork(field);
  writeAttributes(w, 1, r.attributes);
  w.uint32(2, r.droppedAttributesCount);
  w.join();
}

/** Writes an `InstrumentationScope` field. */
export function writeScope(w: ProtoWriter, field: number, s: InstrumentationScope): void {
  w.fork(field);
  w.string(1, s.name);
  w.string(2, s.version);
  writeAttributes(w, 3, s.attributes);
  w.uint32(4, s.droppedAttributesCount);
  w.join();
}

/** Writes an `Export*ServiceResponse` message. */
export function writeExportResponse(w: ProtoWriter, p: ExportPartialSuccess | undefined): void {
  if (p === undefined) return;
  w.fork(1);
  w.int64(1, p.rejectedItems);
  w.string(2, p.errorMessage);
  w.join();
}
