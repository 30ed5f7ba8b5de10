/**
 * Log lines of the `loki` exporter, in the three formats the `loki.format` hint selects, written
 * as the Collector's Loki translator writes them:
 *
 * - `json` (the default): `{"body":…,"traceid":…,"spanid":…,"severity":…,"flags":…,
 *   "attributes":{…},"resources":{…},"instrumentation_scope":{"name":…,"version":…}}`, empty
 *   members left out, map keys sorted and `<`, `>`, `&` escaped as Go's `encoding/json` does.
 * - `logfmt`: the body's own key/value pairs (a string body that parses as logfmt, the entries of
 *   a map body; else `msg=<body>`), then `traceID`, `spanID`, `severity`, `flags`,
 *   `attribute_<key>`, `resource_<key>` and `instrumentation_scope_name` / `_version`; nested
 *   maps and arrays are flattened with `_`.
 * - `raw`: the body as a string.
 *
 * @module
 */
import { anyValueToString } from "../../../lib/pdata/attributes.ts";
import {
  anyValueJson,
  attributesJson,
  base64,
  idHex,
  jsonString,
} from "../../../lib/pdata/go_json.ts";
import type {
  AnyValue,
  InstrumentationScope,
  KeyValue,
  LogRecord,
} from "../../../lib/pdata/types.ts";

/** What a line is made of: the record with its (remaining) attributes, resource and scope. */
export interface LineInput {
  readonly record: LogRecord;
  /** The record's attributes left after label promotion. */
  readonly attributes: readonly KeyValue[];
  /** The resource's attributes left after label promotion. */
  readonly resource: readonly KeyValue[];
  /** `resource` as JSON, when already made ("" for none). */
  readonly resourceJson?: string;
  readonly scope: InstrumentationScope;
  /** `scopeJson(scope)`, when already made. */
  readonly scopeJson?: string;
}

/** The `instrumentation_scope` member of a `json` line ("" for a scope without a name). */
export function scopeJson(scope: InstrumentationScope): string {
  if (scope.name === "") return "";
  const version = scope.version === "" ? "" : `,"version":${jsonString(scope.version)}`;
  return `"instrumentation_scope":{"name":${jsonString(scope.name)}${version}}`;
}

/** The `json` line (joined from its members: a flat string, cheaper to encode than a rope). */
export function jsonLine(input: LineInput): string {
  const { record } = input;
  const parts: string[] = [];
  if (record.body !== undefined) parts.push(`"body":${anyValueJson(record.body)}`);
  const traceId = idHex(record.traceId);
  if (traceId !== "") parts.push(`"traceid":"${traceId}"`);
  const spanId = idHex(record.spanId);
  if (spanId !== "") parts.push(`"spanid":"${spanId}"`);
  if (record.severityText !== "") parts.push(`"severity":${jsonString(record.severityText)}`);
  if (record.flags !== 0) parts.push(`"flags":${record.flags >>> 0}`);
  if (input.attributes.length > 0) parts.push(`"attributes":${attributesJson(input.attributes)}`);
  if (input.resource.length > 0) {
    parts.push(`"resources":${input.resourceJson || attributesJson(input.resource)}`);
  }
  const scope = input.scopeJson ?? scopeJson(input.scope);
  if (scope !== "") parts.push(scope);
  return `{${parts.join(",")}}`;
}

/** The `raw` line: the body as a string. */
export function rawLine(input: LineInput): string {
  return anyValueToString(input.record.body);
}

// ---------------------------------------------------------------------------------------------
// logfmt

/** A logfmt value: a string, a number or boolean written as is, or null. */
type LogfmtValue = string | number | bigint | boolean | null;

/** Whether a character cannot stand unquoted in a logfmt value (nor at all in a key). */
function special(ch: string): boolean {
  return ch <= " " || ch === "=" || ch === '"' || ch === "\ufffd";
}

function needsQuote(s: string): boolean {
  for (const ch of s) if (special(ch)) return true;
  return false;
}

function logfmtKey(key: string): string {
  // go-logfmt drops the runes a key cannot hold.
  if (!needsQuote(key)) return key;
  let out = "";
  for (const ch of key) if (!special(ch)) out += ch;
  return out;
}

function quote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === "\\") out += `\\${ch}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (c < 0x20) out += `\\u${c.toString(16).padStart(4, "0")}`;
    else out += ch;
  }
  return out + '"';
}

function logfmtValue(v: LogfmtValue): string {
  if (v === null) return "null";
  if (typeof v !== "string") return String(v);
  if (v === "null") return '"null"';
  return needsQuote(v) ? quote(v) : v;
}

/** Flattens a value into key/value pairs, nested keys joined with `_`. */
function valuePairs(key: string, value: AnyValue, out: [string, LogfmtValue][]): void {
  if (value === undefined) return;
  if (typeof value === "string" || typeof value === "boolean" || typeof value === "bigint") {
    out.push([key, value]);
  } else if (typeof value === "number") {
    out.push([key, value]);
  } else if (value instanceof Uint8Array) {
    out.push([key, base64(value)]);
  } else if (Array.isArray(value)) {
    const prefix = key === "" ? "" : `${key}_`;
    value.forEach((v, i) => valuePairs(`${prefix}${i}`, v, out));
  } else {
    const prefix = key === "" ? "" : `${key}_`;
    for (const kv of value.kvlist) valuePairs(`${prefix}${kv.key}`, kv.value, out);
  }
}

/**
 * Parses a logfmt line into pairs as go-logfmt's decoder does (a bare key has an empty value);
 * undefined when it is not logfmt (an unterminated quote, a stray `=` or `"`).
 */
export function parseLogfmt(line: string): [string, LogfmtValue][] | undefined {
  const out: [string, LogfmtValue][] = [];
  let i = 0;
  const n = line.length;
  const isSpace = (c: string) => c <= " ";
  while (i < n) {
    while (i < n && isSpace(line[i]!)) i++;
    if (i >= n) break;
    const keyStart = i;
    while (i < n && !isSpace(line[i]!) && line[i] !== "=") {
      if (line[i] === '"') return undefined;
      i++;
    }
    if (i === keyStart) return undefined; // "=" where a key should start
    const key = line.slice(keyStart, i);
    if (i >= n || isSpace(line[i]!)) {
      out.push([key, ""]);
      continue;
    }
    i++; // "="
    if (i < n && line[i] === '"') {
      i++;
      let value = "";
      let closed = false;
      while (i < n) {
        const c = line[i]!;
        if (c === "\\" && i + 1 < n) {
          const e = line[i + 1]!;
          value += e === "n" ? "\n" : e === "t" ? "\t" : e === "r" ? "\r" : e;
          i += 2;
        } else if (c === '"') {
          i++;
          closed = true;
          break;
        } else {
          value += c;
          i++;
        }
      }
      if (!closed) return undefined;
      if (i < n && !isSpace(line[i]!)) return undefined;
      out.push([key, value]);
      continue;
    }
    const valueStart = i;
    while (i < n && !isSpace(line[i]!)) {
      if (line[i] === "=" || line[i] === '"') return undefined;
      i++;
    }
    out.push([key, line.slice(valueStart, i)]);
  }
  return out;
}

function replaceOrAppend(pairs: [string, LogfmtValue][], key: string, value: LogfmtValue): void {
  for (const pair of pairs) {
    if (pair[0] === key) {
      pair[1] = value;
      return;
    }
  }
  pairs.push([key, value]);
}

function bodyPairs(body: AnyValue): [string, LogfmtValue][] {
  if (body === undefined) return [];
  if (typeof body === "string") return parseLogfmt(body) ?? [["msg", body]];
  const out: [string, LogfmtValue][] = [];
  if (Array.isArray(body)) valuePairs("body", body, out);
  else if (typeof body === "object" && !(body instanceof Uint8Array)) valuePairs("", body, out);
  else out.push(["msg", body instanceof Uint8Array ? base64(body) : body]);
  return out;
}

/** The `logfmt` line. */
export function logfmtLine(input: LineInput): string {
  const { record, scope } = input;
  const pairs = bodyPairs(record.body);
  const traceId = idHex(record.traceId);
  if (traceId !== "") replaceOrAppend(pairs, "traceID", traceId);
  const spanId = idHex(record.spanId);
  if (spanId !== "") replaceOrAppend(pairs, "spanID", spanId);
  if (record.severityText !== "") replaceOrAppend(pairs, "severity", record.severityText);
  if (record.flags !== 0) replaceOrAppend(pairs, "flags", record.flags >>> 0);
  for (const kv of input.attributes) valuePairs(`attribute_${kv.key}`, kv.value, pairs);
  for (const kv of input.resource) valuePairs(`resource_${kv.key}`, kv.value, pairs);
  if (scope.name !== "") {
    pairs.push(["instrumentation_scope_name", scope.name]);
    if (scope.version !== "") pairs.push(["instrumentation_scope_version", scope.version]);
  }
  const out: string[] = [];
  for (const [key, value] of pairs) {
    const k = logfmtKey(key);
    if (k === "") continue;
    out.push(`${k}=${logfmtValue(value)}`);
  }
  return out.join(" ");
}
