/**
 * The stanza entry: the working form of one log record while operators run. Values are plain
 * JavaScript values (string, number, boolean, bigint, null, arrays, plain objects, bytes), as the
 * Collector's stanza works on `map[string]any`; {@linkcode entryToLogRecord} turns an entry into an
 * OTLP log record once the operators are done.
 *
 * @module
 */
import { newLogRecord } from "../pdata/new.ts";
import type { AnyValue, KeyValue, LogRecord } from "../pdata/types.ts";

/** A plain map value inside an entry. */
export type EntryMap = Record<string, unknown>;

/** One log entry as operators see it. */
export interface Entry {
  /** The body: a string as read, or a map once parsed into it. */
  body: unknown;
  /** Log record attributes. */
  attributes: EntryMap;
  /** Resource attributes (entries with equal resources are grouped together). */
  resource: EntryMap;
  /** The event time in Unix nanoseconds; 0n when not parsed. */
  timestamp: bigint;
  /** When the entry was read, in Unix nanoseconds. */
  observedTimestamp: bigint;
  /** The OTLP severity number (0 = unspecified). */
  severity: number;
  /** The severity text. */
  severityText: string;
}

/** A new entry with this body and no attributes. */
export function newEntry(body: unknown, observedTimestamp: bigint): Entry {
  return {
    body,
    attributes: {},
    resource: {},
    timestamp: 0n,
    observedTimestamp,
    severity: 0,
    severityText: "",
  };
}

/** True for a plain map value (not an array, bytes or null). */
export function isMap(value: unknown): value is EntryMap {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    !(value instanceof Uint8Array);
}

/** A deep copy of a value (maps and arrays are copied, scalars and bytes shared). */
export function copyValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(copyValue);
  if (isMap(value)) {
    const out: EntryMap = {};
    for (const key in value) out[key] = copyValue(value[key]);
    return out;
  }
  return value;
}

/** A deep copy of an entry. */
export function copyEntry(entry: Entry): Entry {
  return {
    body: copyValue(entry.body),
    attributes: copyValue(entry.attributes) as EntryMap,
    resource: copyValue(entry.resource) as EntryMap,
    timestamp: entry.timestamp,
    observedTimestamp: entry.observedTimestamp,
    severity: entry.severity,
    severityText: entry.severityText,
  };
}

/**
 * A plain value as an OTLP `AnyValue`. Numbers become doubles (JSON numbers are doubles, as in the
 * Collector), bigints ints, null an empty value.
 */
export function toAnyValue(value: unknown): AnyValue {
  switch (typeof value) {
    case "string":
    case "boolean":
    case "bigint":
    case "number":
      return value;
    case "undefined":
      return undefined;
    default:
      if (value === null) return undefined;
      if (value instanceof Uint8Array) return value;
      if (Array.isArray(value)) return value.map(toAnyValue);
      if (isMap(value)) return { kvlist: toKeyValues(value) };
      return String(value);
  }
}

/** A map as OTLP key/value pairs, in insertion order. */
export function toKeyValues(map: EntryMap): KeyValue[] {
  const out: KeyValue[] = [];
  for (const key in map) out.push({ key, value: toAnyValue(map[key]) });
  return out;
}

/** The log record an entry stands for (its resource is handled by the caller). */
export function entryToLogRecord(entry: Entry): LogRecord {
  return newLogRecord({
    timeUnixNano: entry.timestamp,
    observedTimeUnixNano: entry.observedTimestamp,
    severityNumber: entry.severity,
    severityText: entry.severityText,
    body: toAnyValue(entry.body),
    attributes: toKeyValues(entry.attributes),
  });
}
