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
import { ProtoReader } from "./_proto_reader.ts";
import { validateLogsRequest } from "./validate.ts";
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

function readScopeLogs(r: ProtoReader, limit: number): ScopeLogs {
  const end = r.end(limit);
  let scope = undefined;
  const logRecords: LogRecord[] = [];
  let schemaUrl = "";
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === 18) logRecords.push(readLogRecord(r, end));
    else if (tag === 10) scope = readScope(r, end);
    else if (tag === 26) schemaUrl = r.string(end);
    else r.skip(tag, RESOURCE_LOGS_FIELDS, end);
  }
  r.checkEnd(end);
  return { scope: scope ?? emptyScope(), logRecords, schemaUrl };
}

function readResourceLogs(r: ProtoReader, limit: number): ResourceLogs {
  const end = r.end(limit);
  let resource = undefined;
  const scopeLogs: ScopeLogs[] = [];
  let schemaUrl = "";
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === 18) scopeLogs.push(readScopeLogs(r, end));
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
  const r = new ProtoReader(bytes);
  const len = r.len;
  const resourceLogs: ResourceLogs[] = [];
  while (r.pos < len) {
    const tag = r.uint32();
    if (tag === 10) resourceLogs.push(readResourceLogs(r, len));
    else r.skip(tag, 2, len);
  }
  return { resourceLogs };
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

function writeLogsData(w: ProtoWriter, data: LogsData): void {
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
        w.forkLarge(2);
        writeLogRecord(w, records[k]!);
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
};
