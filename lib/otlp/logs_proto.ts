/**
 * Protobuf codec of `ExportLogsServiceRequest` (the same bytes as `LogsData`) and
 * `ExportLogsServiceResponse`.
 *
 * @module
 */
import type {
  AnyValue,
  KeyValue,
  LogRecord,
  LogsData,
  ResourceLogs,
  ScopeLogs,
} from "../pdata/types.ts";
import type { ProtoDecoder } from "../pdata/payload.ts";
import {
  type FieldSet,
  type ItemIndex,
  type KeyBytes,
  LOG_RECORD,
  lookupItem,
} from "../pdata/fields.ts";
import {
  fillItems,
  type ItemCodec,
  type PartialDecode,
  readItemPartial,
  writeItemPartial,
} from "./_partial.ts";
import { ProtoReader } from "./_proto_reader.ts";
import { LOG_RECORD_SPEC, validateLogsRequest } from "./validate.ts";
import { encodeMessage, type ProtoWriter } from "./_proto_writer.ts";
import {
  emptyResource,
  emptyScope,
  type ExportPartialSuccess,
  fields,
  readAnyValue,
  readAttribute,
  readExportResponse,
  readResource,
  readScope,
  writeAnyValueField,
  writeAttributes,
  writeExportResponse,
  writeResource,
  writeScope,
} from "./common_proto.ts";

const EMPTY: Uint8Array = new Uint8Array(0);

// ---------------------------------------------------------------------------------------------
// Decoding

const RESOURCE_LOGS_FIELDS = fields(1, 2, 3);
const LOG_RECORD_FIELDS = fields(1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12);

function readLogRecord(r: ProtoReader, limit: number): LogRecord {
  const end = r.end(limit);
  let timeUnixNano = 0n;
  let observedTimeUnixNano = 0n;
  let severityNumber = 0;
  let severityText = "";
  let body: AnyValue = undefined;
  const attributes: KeyValue[] = [];
  let droppedAttributesCount = 0;
  let flags = 0;
  let traceId = EMPTY;
  let spanId = EMPTY;
  let eventName = "";
  while (r.pos < end) {
    const tag = r.uint32();
    switch (tag) {
      case 9:
        timeUnixNano = r.fixed64();
        break;
      case 89:
        observedTimeUnixNano = r.fixed64();
        break;
      case 16:
        severityNumber = r.int32();
        break;
      case 26:
        severityText = r.string(end);
        break;
      case 42: {
        const e = r.end(end);
        body = readAnyValue(r, e, 0);
        r.checkEnd(e);
        break;
      }
      case 50:
        readAttribute(r, end, attributes);
        break;
      case 56:
        droppedAttributesCount = r.uint32();
        break;
      case 69:
        flags = r.fixed32();
        break;
      case 74:
        traceId = r.bytes(end);
        break;
      case 82:
        spanId = r.bytes(end);
        break;
      case 98:
        eventName = r.string(end);
        break;
      default:
        r.skip(tag, LOG_RECORD_FIELDS, end);
    }
  }
  r.checkEnd(end);
  return {
    timeUnixNano,
    observedTimeUnixNano,
    severityNumber,
    severityText,
    body,
    attributes,
    droppedAttributesCount,
    flags,
    traceId,
    spanId,
    eventName,
  };
}

/** A placeholder list of a field not decoded (frozen: nobody may write it). */
const NONE = Object.freeze([]) as unknown as never[];

/** The `LogRecord` message field by field, for partial decoding. */
const LOG_RECORD_CODEC: ItemCodec<LogRecord> = {
  spec: LOG_RECORD_SPEC,
  attributesField: 6,
  maxField: 12,
  create: () => ({
    timeUnixNano: 0n,
    observedTimeUnixNano: 0n,
    severityNumber: 0,
    severityText: "",
    body: undefined,
    attributes: NONE,
    droppedAttributesCount: 0,
    flags: 0,
    traceId: EMPTY,
    spanId: EMPTY,
    eventName: "",
  }),
  prepare(l, want) {
    if ((want & LOG_RECORD.attributes) !== 0) l.attributes = [];
  },
  read(r, l, tag, end) {
    switch (tag) {
      case 9:
        l.timeUnixNano = r.fixed64();
        break;
      case 89:
        l.observedTimeUnixNano = r.fixed64();
        break;
      case 16:
        l.severityNumber = r.int32();
        break;
      case 26:
        l.severityText = r.string(end);
        break;
      case 42: {
        const e = r.end(end);
        l.body = readAnyValue(r, e, 0);
        r.checkEnd(e);
        break;
      }
      case 50:
        readAttribute(r, end, l.attributes);
        break;
      case 56:
        l.droppedAttributesCount = r.uint32();
        break;
      case 69:
        l.flags = r.fixed32();
        break;
      case 74:
        l.traceId = r.bytes(end);
        break;
      case 82:
        l.spanId = r.bytes(end);
        break;
      case 98:
        l.eventName = r.string(end);
        break;
      default:
        r.skip(tag, LOG_RECORD_FIELDS, end);
    }
  },
  write: writeLogRecordField,
};

function readScopeLogs(r: ProtoReader, limit: number, p?: PartialDecode): ScopeLogs {
  const end = r.end(limit);
  let scope = undefined;
  const logRecords: LogRecord[] = [];
  let schemaUrl = "";
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === 18) {
      logRecords.push(
        p === undefined ? readLogRecord(r, end) : readItemPartial(r, end, LOG_RECORD_CODEC, p),
      );
    } else if (tag === 10) scope = readScope(r, end);
    else if (tag === 26) schemaUrl = r.string(end);
    else r.skip(tag, RESOURCE_LOGS_FIELDS, end);
  }
  r.checkEnd(end);
  return { scope: scope ?? emptyScope(), logRecords, schemaUrl };
}

function readResourceLogs(r: ProtoReader, limit: number, p?: PartialDecode): ResourceLogs {
  const end = r.end(limit);
  let resource = undefined;
  const scopeLogs: ScopeLogs[] = [];
  let schemaUrl = "";
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === 18) scopeLogs.push(readScopeLogs(r, end, p));
    else if (tag === 10) resource = readResource(r, end);
    else if (tag === 26) schemaUrl = r.string(end);
    else r.skip(tag, RESOURCE_LOGS_FIELDS, end);
  }
  r.checkEnd(end);
  return { resource: resource ?? emptyResource(), scopeLogs, schemaUrl };
}

/**
 * Decodes an `ExportLogsServiceRequest` (or `LogsData`). Bytes fields are views into `bytes`,
 * which must therefore not change while the result is in use.
 *
 * @throws {OtlpDecodeError} on malformed input.
 */
export function decodeLogsRequest(bytes: Uint8Array): LogsData {
  return readLogsData(bytes, undefined);
}

function readLogsData(bytes: Uint8Array, p: PartialDecode | undefined): LogsData {
  const r = new ProtoReader(bytes);
  const len = r.len;
  const resourceLogs: ResourceLogs[] = [];
  while (r.pos < len) {
    const tag = r.uint32();
    if (tag === 10) resourceLogs.push(readResourceLogs(r, len, p));
    else r.skip(tag, 2, len);
  }
  return { resourceLogs };
}

/**
 * Decodes an `ExportLogsServiceRequest` with only the log record fields of `want` (see
 * `_partial.ts`), recording every record in `index`. Refuses exactly what
 * {@linkcode decodeLogsRequest} refuses.
 *
 * @throws {OtlpDecodeError} on malformed input.
 */
export function decodeLogsPartial(
  bytes: Uint8Array,
  want: FieldSet,
  index: ItemIndex,
  keys?: KeyBytes,
): LogsData {
  return readLogsData(bytes, { want, index, keys });
}

/**
 * Counts the log records in an encoded request without decoding it, checking on the way that it
 * would decode: see `validate.ts`.
 *
 * @throws {OtlpDecodeError} exactly when decoding would.
 */
export const countLogsItems: (bytes: Uint8Array) => number = validateLogsRequest;

// ---------------------------------------------------------------------------------------------
// Encoding

function writeLogRecord(w: ProtoWriter, l: LogRecord): void {
  w.fixed64(1, l.timeUnixNano);
  w.int32(2, l.severityNumber);
  w.string(3, l.severityText);
  writeAnyValueField(w, 5, l.body);
  writeAttributes(w, 6, l.attributes);
  w.uint32(7, l.droppedAttributesCount);
  w.fixed32(8, l.flags);
  w.bytes(9, l.traceId);
  w.bytes(10, l.spanId);
  w.fixed64(11, l.observedTimeUnixNano);
  w.string(12, l.eventName);
}

/** Writes field number `f` of a log record (nothing when it holds its default). */
function writeLogRecordField(w: ProtoWriter, l: LogRecord, f: number): void {
  switch (f) {
    case 1:
      return w.fixed64(1, l.timeUnixNano);
    case 2:
      return w.int32(2, l.severityNumber);
    case 3:
      return w.string(3, l.severityText);
    case 5:
      return writeAnyValueField(w, 5, l.body);
    case 6:
      return writeAttributes(w, 6, l.attributes);
    case 7:
      return w.uint32(7, l.droppedAttributesCount);
    case 8:
      return w.fixed32(8, l.flags);
    case 9:
      return w.bytes(9, l.traceId);
    case 10:
      return w.bytes(10, l.spanId);
    case 11:
      return w.fixed64(11, l.observedTimeUnixNano);
    case 12:
      return w.string(12, l.eventName);
  }
}

/** Log records encoded partially: where their bytes are and which fields the model owns. */
interface PartialEncode {
  readonly r: ProtoReader;
  readonly index: ItemIndex;
  readonly owned: FieldSet;
  readonly keys: KeyBytes | undefined;
}

function writeLogsData(w: ProtoWriter, data: LogsData, p?: PartialEncode): void {
  const rls = data.resourceLogs;
  for (let i = 0; i < rls.length; i++) {
    const rl = rls[i]!;
    w.fork(1);
    writeResource(w, 1, rl.resource);
    const sls = rl.scopeLogs;
    for (let j = 0; j < sls.length; j++) {
      const sl = sls[j]!;
      w.fork(2);
      writeScope(w, 1, sl.scope);
      const records = sl.logRecords;
      for (let k = 0; k < records.length; k++) {
        const record = records[k]!;
        w.forkLarge(2);
        const at = p === undefined ? undefined : lookupItem(p.index, record);
        if (at === undefined) writeLogRecord(w, record);
        else {writeItemPartial(
            w,
            LOG_RECORD_CODEC,
            record,
            p!.r,
            p!.index.layout,
            at,
            p!.owned,
            p!.keys,
          );}
        w.join();
      }
      w.string(3, sl.schemaUrl);
      w.join();
    }
    w.string(3, rl.schemaUrl);
    w.join();
  }
}

/** Encodes an `ExportLogsServiceRequest` (the same bytes as `LogsData`). */
export function encodeLogsRequest(data: LogsData): Uint8Array {
  return encodeMessage(data, writeLogsData);
}

/**
 * Encodes data decoded by {@linkcode decodeLogsPartial} from `source`: each record of `index`
 * with the fields of `owned` from the model and every other field copied from `source`; records
 * not in `index` (added since) in full.
 */
export function encodeLogsPartial(
  data: LogsData,
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
    writeLogsData(w, d, p);
  });
}

/** Decodes the record fields of `more` into every record of `index` (decoded from `source`). */
export function fillLogsPartial(
  source: Uint8Array,
  index: ItemIndex,
  more: FieldSet,
  keys?: KeyBytes,
): void {
  fillItems(LOG_RECORD_CODEC, source, index, more, keys);
}

/**
 * Decodes an `ExportLogsServiceResponse`: its `partial_success` (`rejected_log_records` as
 * `rejectedItems`), or `undefined` when absent.
 *
 * @throws {OtlpDecodeError} on malformed input.
 */
export function decodeLogsResponse(bytes: Uint8Array): ExportPartialSuccess | undefined {
  return readExportResponse(new ProtoReader(bytes));
}

/** Encodes an `ExportLogsServiceResponse`; `undefined` gives the empty (full success) message. */
export function encodeLogsResponse(partial: ExportPartialSuccess | undefined): Uint8Array {
  return encodeMessage(partial, writeExportResponse);
}

/** The logs {@linkcode ProtoDecoder} for `Payload.fromProto`. */
export const LOGS_PROTO: ProtoDecoder<"logs"> = {
  decode: decodeLogsRequest,
  countItems: countLogsItems,
  partial: {
    attributes: LOG_RECORD.attributes,
    decode: decodeLogsPartial,
    fill: fillLogsPartial,
    encode: encodeLogsPartial,
  },
};
