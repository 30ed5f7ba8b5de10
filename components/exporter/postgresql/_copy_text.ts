/**
 * Values in PostgreSQL's COPY text format (one row a line, columns split by tabs, `\N` for NULL,
 * backslash escapes for `\`, tab, newline and carriage return), and pdata values as `jsonb` text.
 *
 * PostgreSQL's `text` and `jsonb` cannot hold U+0000 (nor jsonb a lone surrogate): they become
 * U+FFFD, so one such string does not make the server reject a whole batch. Doubles that are whole numbers are written with `.0`
 * (jsonb keeps a number's scale, so `1.0` reads back as a double and `1` as an int); NaN and the
 * infinities, which JSON has no numbers for, are written as the strings `"NaN"`, `"Infinity"`,
 * `"-Infinity"`; bytes as base64 strings; an empty value as `null`.
 *
 * @module
 */
import type { AnyValue, KeyValue } from "../../../lib/pdata/types.ts";
import { base64 } from "../../../lib/pdata/go_json.ts";

/** The NULL marker. */
export const NULL = "\\N";

const NEEDS_COPY_ESCAPE = /[\\\t\n\r\0]/;
const COPY_ESCAPE = /[\\\t\n\r\0]/g;
const COPY_ESCAPES: Record<string, string> = {
  "\\": "\\\\",
  "\t": "\\t",
  "\n": "\\n",
  "\r": "\\r",
  "\0": "\uFFFD",
};

/** A text value escaped for COPY text format. */
export function copyText(s: string): string {
  return NEEDS_COPY_ESCAPE.test(s) ? s.replace(COPY_ESCAPE, (c) => COPY_ESCAPES[c]!) : s;
}

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** A `bytea` in COPY text format (`\\x0a0b…`, the hex form with its backslash escaped). */
export function copyBytea(bytes: Uint8Array): string {
  let out = "\\\\x";
  for (let i = 0; i < bytes.length; i++) out += HEX[bytes[i]!];
  return out;
}

/** A double as PostgreSQL reads it (`NaN`, `Infinity`, `-Infinity` included). */
export function copyDouble(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "Infinity";
  if (value === -Infinity) return "-Infinity";
  return String(value);
}

/** A `bigint[]` or `double precision[]` array literal. */
export function copyArray(values: readonly (bigint | number)[]): string {
  let out = "{";
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ",";
    const v = values[i]!;
    out += typeof v === "bigint" ? v.toString() : copyDouble(v);
  }
  return out + "}";
}

function needsJsonEscape(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return true;
  }
  return false;
}

/**
 * A JSON string literal. U+0000 and lone surrogates, which jsonb refuses (the whole batch with
 * them), become U+FFFD.
 */
export function jsonText(s: string): string {
  if (!needsJsonEscape(s)) return `"${s}"`;
  const well = s.isWellFormed() ? s : s.toWellFormed();
  return JSON.stringify(well.includes("\0") ? well.replaceAll("\0", "\uFFFD") : well);
}

function jsonDouble(value: number): string {
  if (!Number.isFinite(value)) {
    return Number.isNaN(value) ? '"NaN"' : value > 0 ? '"Infinity"' : '"-Infinity"';
  }
  if (Number.isInteger(value)) {
    const text = String(value);
    return text.includes("e") ? text : `${text}.0`;
  }
  return String(value);
}

/** An OTLP value as JSON for a `jsonb` column. */
export function anyValueJsonb(value: AnyValue): string {
  if (value === undefined) return "null";
  switch (typeof value) {
    case "string":
      return jsonText(value);
    case "boolean":
      return value ? "true" : "false";
    case "bigint":
      return value.toString();
    case "number":
      return jsonDouble(value);
  }
  if (value instanceof Uint8Array) return `"${base64(value)}"`;
  if (Array.isArray(value)) {
    let out = "[";
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ",";
      out += anyValueJsonb(value[i]);
    }
    return out + "]";
  }
  return attributesJsonb(value.kvlist);
}

/** Attributes as a JSON object (a later duplicate key wins, as jsonb keeps it). */
export function attributesJsonb(attributes: readonly KeyValue[]): string {
  if (attributes.length === 0) return "{}";
  let out = "{";
  for (let i = 0; i < attributes.length; i++) {
    const kv = attributes[i]!;
    if (i > 0) out += ",";
    out += jsonText(kv.key) + ":" + anyValueJsonb(kv.value);
  }
  return out + "}";
}
