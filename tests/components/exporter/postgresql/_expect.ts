/**
 * What the SQL exporters' tests expect to read back: pdata values as the JSON a `jsonb` column
 * parses to, IDs as hex.
 */
import type { AnyValue, KeyValue } from "../../../../lib/pdata/types.ts";

/** An OTLP value as `JSON.parse` of its jsonb column gives it back. */
export function jsonOf(value: AnyValue): unknown {
  if (value === undefined) return null;
  if (typeof value === "bigint") return Number(value);
  if (typeof value === "number") {
    if (Number.isNaN(value)) return "NaN";
    if (!Number.isFinite(value)) return value > 0 ? "Infinity" : "-Infinity";
    return value;
  }
  if (value instanceof Uint8Array) return btoa(String.fromCharCode(...value));
  if (Array.isArray(value)) return value.map(jsonOf);
  if (typeof value === "object") return attributesOf(value.kvlist);
  return value;
}

/** Attributes as a plain object. */
export function attributesOf(attributes: readonly KeyValue[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of attributes) out[kv.key] = jsonOf(kv.value);
  return out;
}

/** Lower-case hex of bytes. */
export function hexOf(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
