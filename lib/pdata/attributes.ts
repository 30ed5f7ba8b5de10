/**
 * Attribute list access: OTLP keeps attributes as a list of key/value pairs; these helpers read and
 * change one in place without building maps on the hot path.
 *
 * @module
 */
import type { AnyValue, KeyValue } from "./types.ts";

/** The index of `key` in `attributes`, or -1. */
export function indexOfAttribute(attributes: readonly KeyValue[], key: string): number {
  for (let i = 0; i < attributes.length; i++) if (attributes[i]!.key === key) return i;
  return -1;
}

/** Sets `key` to `value`, replacing an existing value or appending (upsert). */
export function setAttribute(attributes: KeyValue[], key: string, value: AnyValue): void {
  const i = indexOfAttribute(attributes, key);
  if (i < 0) attributes.push({ key, value });
  else attributes[i]!.value = value;
}

/** A value rendered as a string the way the Collector's `AsString` does (for matching, labels). */
export function anyValueToString(value: AnyValue): string {
  if (value === undefined) return "";
  if (typeof value === "string") return value;
  if (typeof value === "bigint" || typeof value === "boolean") return String(value);
  if (typeof value === "number") return Number.isInteger(value) ? value.toFixed(0) : String(value);
  if (value instanceof Uint8Array) return btoa(String.fromCharCode(...value));
  return JSON.stringify(anyValueToJson(value));
}

function anyValueToJson(value: AnyValue): unknown {
  if (value === undefined) return null;
  if (typeof value === "bigint") return Number(value);
  if (value instanceof Uint8Array) return btoa(String.fromCharCode(...value));
  if (Array.isArray(value)) return value.map(anyValueToJson);
  if (typeof value === "object") {
    return Object.fromEntries(value.kvlist.map((kv) => [kv.key, anyValueToJson(kv.value)]));
  }
  return value;
}
