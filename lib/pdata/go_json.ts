/**
 * JSON of pdata values as the Collector's Go code writes it with `encoding/json` (what backends
 * that take the Collector's documents expect): `AnyValue`s as `AsRaw()` marshals them (ints
 * exact, bytes in base64, an empty value `null`, map keys sorted, `<`, `>`, `&` escaped), IDs in
 * lower-case hex, times as RFC 3339 with trimmed nanoseconds.
 *
 * @module
 */
import type { AnyValue, KeyValue } from "./types.ts";

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** Lower-case hex of an ID; "" when it is empty or all zero (not set). */
export function idHex(id: Uint8Array): string {
  let zero = true;
  let out = "";
  for (let i = 0; i < id.length; i++) {
    if (id[i] !== 0) zero = false;
    out += HEX[id[i]!];
  }
  return zero ? "" : out;
}

/** Standard base64 of bytes (what Go's encoder writes for `[]byte`). */
export function base64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

const HTML_UNSAFE = /[<>&\u2028\u2029]/g;
const HTML_ESCAPES: Record<string, string> = {
  "<": "\\u003c",
  ">": "\\u003e",
  "&": "\\u0026",
  "\u2028": "\\u2028",
  "\u2029": "\\u2029",
};

/** A JSON string literal as Go's `encoding/json` writes it (HTML characters escaped). */
export function jsonString(s: string): string {
  return JSON.stringify(s).replace(HTML_UNSAFE, (c) => HTML_ESCAPES[c]!);
}

/**
 * An attribute value as JSON, as `json.Marshal(value.AsRaw())` writes it: ints exact, bytes in
 * base64, an empty value `null`, map keys sorted. Non-finite doubles cannot be written.
 * @throws {Error} for NaN and infinite doubles (Go's encoder refuses them; the record is dropped)
 */
export function anyValueJson(value: AnyValue): string {
  if (value === undefined) return "null";
  switch (typeof value) {
    case "string":
      return jsonString(value);
    case "boolean":
      return value ? "true" : "false";
    case "bigint":
      return value.toString();
    case "number":
      if (!Number.isFinite(value)) throw new Error(`unsupported value: ${value}`);
      return String(value);
  }
  if (value instanceof Uint8Array) return `"${base64(value)}"`;
  if (Array.isArray(value)) return `[${value.map(anyValueJson).join(",")}]`;
  return attributesJson(value.kvlist);
}

/** Attributes as a JSON object with sorted keys (a later duplicate key wins). */
export function attributesJson(attributes: readonly KeyValue[]): string {
  if (attributes.length === 0) return "{}";
  const byKey = new Map<string, AnyValue>();
  for (const kv of attributes) byKey.set(kv.key, kv.value);
  const keys = [...byKey.keys()].sort();
  let out = "{";
  for (let i = 0; i < keys.length; i++) {
    if (i > 0) out += ",";
    out += `${jsonString(keys[i]!)}:${anyValueJson(byKey.get(keys[i]!))}`;
  }
  return out + "}";
}

/** A time in nanoseconds since the epoch as Go's `time.Time` marshals it in UTC (RFC 3339, nanoseconds trimmed). */
export function rfc3339Nano(unixNano: bigint): string {
  const ms = unixNano / 1_000_000n;
  const iso = new Date(Number(ms)).toISOString(); // 2006-01-02T15:04:05.000Z
  const nanos = Number(((unixNano % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n);
  const base = iso.slice(0, 19);
  if (nanos === 0) return `${base}Z`;
  return `${base}.${String(nanos).padStart(9, "0").replace(/0+$/, "")}Z`;
}
