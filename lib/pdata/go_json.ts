/**
 * JSON of pdata values as the Collector's Go code writes it with `encoding/json` (what backends
 * that take the Collector's documents expect): `AnyValue`s as `AsRaw()` marshals them (ints
 * exact, bytes in base64, an empty value `null`, map keys sorted, `<`, `>`, `&` escaped), IDs in
 * lower-case hex, times as RFC 3339 with trimmed nanoseconds.
 *
 * @module
 */
import type { AnyValue, KeyValue } from "./types.ts";

/** Lower-case hex of an ID; "" when it is empty or all zero (not set). */
export function idHex(id: Uint8Array): string {
  // V8's native `toHex` is 1.5-3x faster than joining a table's two-digit strings, and gives
  // a flat string.
  for (let i = 0; i < id.length; i++) if (id[i] !== 0) return id.toHex();
  return "";
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
const HAS_HTML_UNSAFE = /[<>&\u2028\u2029]/;
const HTML_ESCAPES: Record<string, string> = {
  "<": "\\u003c",
  ">": "\\u003e",
  "&": "\\u0026",
  "\u2028": "\\u2028",
  "\u2029": "\\u2029",
};

/** A JSON string literal as Go's `encoding/json` writes it (HTML characters escaped). */
export function jsonString(s: string): string {
  // Fast path: printable ASCII that needs no escape at all.
  let plain = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (
      c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c || c === 0x3c || c === 0x3e || c === 0x26
    ) {
      plain = false;
      break;
    }
  }
  if (plain) return `"${s}"`;
  const quoted = JSON.stringify(s);
  return HAS_HTML_UNSAFE.test(quoted)
    ? quoted.replace(HTML_UNSAFE, (c) => HTML_ESCAPES[c]!)
    : quoted;
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
  const n = attributes.length;
  if (n === 0) return "{}";
  if (n === 1) {
    const kv = attributes[0]!;
    return `{${jsonString(kv.key)}:${anyValueJson(kv.value)}}`;
  }
  const sorted = sortedUnique(attributes);
  let out = "{";
  for (let i = 0; i < sorted.length; i++) {
    const kv = sorted[i]!;
    if (i > 0) out += ",";
    out += jsonString(kv.key) + ":" + anyValueJson(kv.value);
  }
  return out + "}";
}

/** The attributes sorted by key, a later duplicate key winning (as a Go map keeps it). */
export function sortedUnique(attributes: readonly KeyValue[]): KeyValue[] {
  // Stable sort, then keep the last of each run of equal keys. Attribute lists are short: an
  // insertion sort (stable) beats `Array.prototype.sort` with a comparator on them.
  const sorted = attributes.slice();
  if (sorted.length <= 16) {
    for (let i = 1; i < sorted.length; i++) {
      const kv = sorted[i]!;
      let j = i - 1;
      while (j >= 0 && sorted[j]!.key > kv.key) {
        sorted[j + 1] = sorted[j]!;
        j--;
      }
      sorted[j + 1] = kv;
    }
  } else {
    sorted.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }
  let duplicates = false;
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.key === sorted[i - 1]!.key) {
      duplicates = true;
      break;
    }
  }
  if (!duplicates) return sorted;
  const out: KeyValue[] = [];
  for (let i = 0; i < sorted.length; i++) {
    const next = sorted[i + 1];
    if (next !== undefined && next.key === sorted[i]!.key) continue;
    out.push(sorted[i]!);
  }
  return out;
}

let lastSeconds = Number.NaN;
let lastPrefix = "";

/**
 * A time in nanoseconds since the epoch as Go's `time.Time` marshals it in UTC (RFC 3339,
 * nanoseconds with trailing zeros trimmed). The seconds' text is reused while they repeat.
 */
export function rfc3339Nano(unixNano: bigint): string {
  const seconds = Number(unixNano / 1_000_000_000n);
  let nanos = Number(unixNano - BigInt(seconds) * 1_000_000_000n);
  let whole = seconds;
  if (nanos < 0) {
    nanos += 1_000_000_000;
    whole -= 1;
  }
  if (whole !== lastSeconds) {
    lastSeconds = whole;
    lastPrefix = new Date(whole * 1000).toISOString().slice(0, 19);
  }
  if (nanos === 0) return `${lastPrefix}Z`;
  let digits = String(nanos).padStart(9, "0");
  let end = 9;
  while (digits.charCodeAt(end - 1) === 0x30) end--;
  digits = digits.slice(0, end);
  return `${lastPrefix}.${digits}Z`;
}
