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

/** The value of `key`, or `undefined` when absent (or set to an empty value). */
export function getAttribute(attributes: readonly KeyValue[], key: string): AnyValue {
  const i = indexOfAttribute(attributes, key);
  return i < 0 ? undefined : attributes[i]!.value;
}

/** True when `key` is present. */
export function hasAttribute(attributes: readonly KeyValue[], key: string): boolean {
  return indexOfAttribute(attributes, key) >= 0;
}

/** Sets `key` to `value`, replacing an existing value or appending (upsert). */
export function setAttribute(attributes: KeyValue[], key: string, value: AnyValue): void {
  const i = indexOfAttribute(attributes, key);
  if (i < 0) attributes.push({ key, value });
  else attributes[i]!.value = value;
}

/** Removes `key`; true when it was present. */
export function removeAttribute(attributes: KeyValue[], key: string): boolean {
  const i = indexOfAttribute(attributes, key);
  if (i < 0) return false;
  attributes.splice(i, 1);
  return true;
}

/** Attributes from a plain record of strings, numbers (doubles), bigints (ints) and booleans. */
export function attributesOf(
  record: Readonly<Record<string, string | number | bigint | boolean>>,
): KeyValue[] {
  return Object.entries(record).map(([key, value]) => ({ key, value }));
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
