/**
 * Turns one Fluent Forward protocol message (Message, Forward, PackedForward or
 * CompressedPackedForward mode, as the Forward Protocol Specification v1 defines them) into log
 * records, the way the Collector's `fluentforward` receiver maps them: the tag as the
 * `fluent.tag` attribute, the record's `message` (Fluentd) or `log` (Fluent Bit) field as the
 * body, every other field as an attribute, the event time (integer seconds or the EventTime
 * extension's seconds and nanoseconds) as the record's time. Fluent Bit's newer entry shape
 * `[[time, metadata], record]` is read too.
 *
 * @module
 */
import { gunzipSync } from "node:zlib";
import {
  Incomplete,
  isExt,
  isMap,
  MsgpackError,
  type MsgpackMap,
  MsgpackReader,
  type MsgpackValue,
} from "../../../lib/msgpack/decode.ts";
import type { AnyValue, KeyValue, LogRecord } from "../../../lib/pdata/types.ts";
import { newLogRecord } from "../../../lib/pdata/new.ts";

/** The attribute the tag goes to. */
export const TAG_ATTRIBUTE = "fluent.tag";

/** What one protocol message holds. */
export interface ForwardMessage {
  readonly tag: string;
  readonly records: LogRecord[];
  /** The `chunk` option: the client wants `{ack: chunk}` once the records are accepted. */
  readonly chunk: string | undefined;
}

/** A message that is valid MessagePack but not a Forward protocol message. */
export class ForwardProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ForwardProtocolError";
  }
}

const utf8 = new TextDecoder();

function asString(value: MsgpackValue): string | undefined {
  if (typeof value === "string") return value;
  if (value instanceof Uint8Array) return utf8.decode(value);
  return undefined;
}

function anyValue(value: MsgpackValue): AnyValue {
  if (value === null) return undefined;
  if (typeof value === "number") return Number.isInteger(value) ? BigInt(value) : value;
  if (typeof value === "bigint") return BigInt.asIntN(64, value);
  if (typeof value === "string" || typeof value === "boolean") return value;
  if (value instanceof Uint8Array) return utf8.decode(value);
  if (Array.isArray(value)) return value.map(anyValue);
  if (isMap(value)) return { kvlist: mapToKeyValues(value) };
  return `ext(${value.ext}):${
    [...value.data].map((b) => b.toString(16).padStart(2, "0")).join("")
  }`;
}

function mapToKeyValues(map: MsgpackMap): KeyValue[] {
  const out: KeyValue[] = [];
  for (const [k, v] of map.entries) {
    const key = asString(k) ?? String(k);
    out.push({ key, value: anyValue(v) });
  }
  return out;
}

/** Event time in Unix nanoseconds. */
function eventTime(value: MsgpackValue): bigint {
  if (typeof value === "number") {
    if (!Number.isFinite(value) || value < 0) {
      throw new ForwardProtocolError("the event time is not a valid time");
    }
    return Number.isInteger(value)
      ? BigInt(value) * 1_000_000_000n
      : BigInt(Math.round(value * 1e9));
  }
  if (typeof value === "bigint") return value * 1_000_000_000n;
  if (isExt(value) && value.ext === 0 && value.data.length === 8) {
    const view = new DataView(value.data.buffer, value.data.byteOffset, 8);
    return BigInt(view.getUint32(0)) * 1_000_000_000n + BigInt(view.getUint32(4));
  }
  // Fluent Bit 2.x: [time, metadata]
  if (Array.isArray(value) && value.length === 2) return eventTime(value[0]!);
  throw new ForwardProtocolError("the event time is neither an integer nor an EventTime");
}

function logRecord(tag: string, time: MsgpackValue, record: MsgpackValue): LogRecord {
  if (!isMap(record)) throw new ForwardProtocolError("a record is not a map");
  const attributes: KeyValue[] = [{ key: TAG_ATTRIBUTE, value: tag }];
  let body: AnyValue = undefined;
  for (const [k, v] of record.entries) {
    const key = asString(k) ?? String(k);
    if (key === "message" || key === "log") body = anyValue(v);
    else attributes.push({ key, value: anyValue(v) });
  }
  return newLogRecord({ timeUnixNano: eventTime(time), body, attributes });
}

function entry(tag: string, value: MsgpackValue): LogRecord {
  if (!Array.isArray(value) || value.length !== 2) {
    throw new ForwardProtocolError("an entry is not [time, record]");
  }
  return logRecord(tag, value[0]!, value[1]!);
}

function options(
  value: MsgpackValue | undefined,
): { chunk: string | undefined; compressed: string | undefined } {
  if (value === undefined || value === null) return { chunk: undefined, compressed: undefined };
  if (!isMap(value)) throw new ForwardProtocolError("the option is not a map");
  let chunk: string | undefined;
  let compressed: string | undefined;
  for (const [k, v] of value.entries) {
    const key = asString(k);
    if (key === "chunk") chunk = asString(v);
    else if (key === "compressed") compressed = asString(v);
  }
  return { chunk, compressed };
}

/**
 * Unpacks a PackedForward stream (MessagePack `[time, record]` entries back to back) straight
 * into log records: the entry array and the record map are walked in place, so only the record's
 * keys and values are built, not a generic tree per record.
 */
function packedEntries(tag: string, packed: Uint8Array, maxBytes: number): LogRecord[] {
  const records: LogRecord[] = [];
  const reader = new MsgpackReader(packed, 0, { maxBytes });
  try {
    while (reader.pos < packed.length) {
      reader.mark();
      if (reader.arrayHeader() !== 2) {
        throw new ForwardProtocolError("an entry is not [time, record]");
      }
      const time = reader.value(1);
      const fields = reader.mapHeader();
      if (fields === undefined) throw new ForwardProtocolError("a record is not a map");
      const attributes: KeyValue[] = [{ key: TAG_ATTRIBUTE, value: tag }];
      let body: AnyValue = undefined;
      for (let i = 0; i < fields; i++) {
        const k = reader.value(2);
        const key = asString(k) ?? String(k);
        const value = anyValue(reader.value(2));
        if (key === "message" || key === "log") body = value;
        else attributes.push({ key, value });
      }
      records.push(newLogRecord({ timeUnixNano: eventTime(time), body, attributes }));
    }
  } catch (error) {
    if (error instanceof Incomplete) throw new ForwardProtocolError("a packed entry is truncated");
    throw error;
  }
  return records;
}

/**
 * Reads one decoded protocol message.
 * @throws {ForwardProtocolError} when it is not one
 * @throws {MsgpackError} when packed entries are not MessagePack
 */
export function readForwardMessage(value: MsgpackValue, maxBytes: number): ForwardMessage {
  if (!Array.isArray(value) || value.length < 2 || value.length > 4) {
    throw new ForwardProtocolError("a message is not an array of 2 to 4 elements");
  }
  const tag = asString(value[0]!);
  if (tag === undefined) throw new ForwardProtocolError("the tag is not a string");
  const second = value[1]!;
  if (Array.isArray(second)) {
    // Forward mode: [tag, [[time, record], ...], option?]
    if (value.length > 3) {
      throw new ForwardProtocolError("a Forward mode message has more than 3 elements");
    }
    const { chunk } = options(value[2]);
    return { tag, records: second.map((e) => entry(tag, e)), chunk };
  }
  if (typeof second === "string" || second instanceof Uint8Array) {
    // (Compressed)PackedForward mode: [tag, entries, option?]
    if (value.length > 3) {
      throw new ForwardProtocolError("a PackedForward message has more than 3 elements");
    }
    const { chunk, compressed } = options(value[2]);
    let packed = typeof second === "string" ? new TextEncoder().encode(second) : second;
    if (compressed === "gzip") {
      try {
        packed = new Uint8Array(gunzipSync(packed, { maxOutputLength: maxBytes }));
      } catch (error) {
        throw new ForwardProtocolError(
          `the gzip entries cannot be read: ${(error as Error).message}`,
        );
      }
    } else if (compressed !== undefined && compressed !== "text") {
      throw new ForwardProtocolError(`unknown compression "${compressed}"`);
    }
    return { tag, records: packedEntries(tag, packed, maxBytes), chunk };
  }
  // Message mode: [tag, time, record, option?]
  if (value.length < 3) {
    throw new ForwardProtocolError("a Message mode message has fewer than 3 elements");
  }
  const { chunk } = options(value[3]);
  return { tag, records: [logRecord(tag, second, value[2]!)], chunk };
}

export { Incomplete, MsgpackError };
