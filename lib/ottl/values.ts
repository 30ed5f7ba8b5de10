/**
 * Runtime values of OTTL. Telemetry values are pdata {@linkcode AnyValue}s (string, boolean, int as
 * `bigint`, double as `number`, bytes, list, key/value list); `undefined` is `nil`. Times and
 * durations, which only converters and some paths produce, are {@linkcode OttlTime} and
 * {@linkcode OttlDuration} (nanoseconds as `bigint`).
 *
 * @module
 */
import type { AnyValue, KeyValue, KeyValueList } from "../pdata/types.ts";
import { formatDouble } from "../processing/value.ts";
import { OttlRuntimeError } from "./errors.ts";

/** A point in time, Unix nanoseconds. */
export class OttlTime {
  readonly ns: bigint;
  constructor(ns: bigint) {
    this.ns = ns;
  }
}

/** A duration in nanoseconds. */
export class OttlDuration {
  readonly ns: bigint;
  constructor(ns: bigint) {
    this.ns = ns;
  }
}

/**
 * A trace or span ID read from a path or made by `TraceID`/`SpanID`: bytes, but rendered by
 * `String` as a JSON array of numbers, as the Collector renders its fixed-size ID arrays.
 */
export class OttlId extends Uint8Array {}

/** Any value an OTTL expression can produce. */
export type Value = AnyValue | OttlTime | OttlDuration;

/** True for a key/value list (an OTTL map). */
export function isMap(v: unknown): v is KeyValueList {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) &&
    "kvlist" in v;
}

/** Bound for walking nested values: deeper values are refused, never overflow the stack. */
export const MAX_VALUE_DEPTH = 128;

/** A deep copy of a value (maps and lists copied, scalars shared). Iterative in spirit: bounded. */
export function copyValue(v: AnyValue, depth = 0): AnyValue {
  if (depth > MAX_VALUE_DEPTH) throw new OttlRuntimeError("value nests too deeply");
  if (Array.isArray(v)) return v.map((x) => copyValue(x, depth + 1));
  if (isMap(v)) {
    return {
      kvlist: v.kvlist.map((kv) => ({ key: kv.key, value: copyValue(kv.value, depth + 1) })),
    };
  }
  return v;
}

/** Converts a value produced by an expression into something storable in pdata. */
export function toStorable(v: Value): AnyValue {
  if (v instanceof OttlTime || v instanceof OttlDuration) {
    throw new OttlRuntimeError("a time or duration cannot be stored as a telemetry value");
  }
  return copyValue(v);
}

/** Hex of bytes, lowercase. */
export function hex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

/** The type name of a value, for error messages. */
export function typeName(v: Value): string {
  if (v === undefined) return "nil";
  if (v instanceof OttlTime) return "time";
  if (v instanceof OttlDuration) return "duration";
  if (v instanceof Uint8Array) return "bytes";
  if (Array.isArray(v)) return "slice";
  switch (typeof v) {
    case "string":
      return "string";
    case "boolean":
      return "bool";
    case "bigint":
      return "int";
    case "number":
      return "double";
  }
  return "map";
}

// ---------------------------------------------------------------------------------------------
// JSON, as the Collector renders maps and slices in String()/Concat (encoding/json of AsRaw)

function jsonString(s: string): string {
  // Go's encoding/json escapes <, > and & as \u003c etc.
  return JSON.stringify(s).replace(
    /[<>&\u2028\u2029]/g,
    (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"),
  );
}

/** A value as Go's `json.Marshal(value.AsRaw())` writes it (map keys sorted). */
export function toJson(v: AnyValue, depth = 0): string {
  if (depth > MAX_VALUE_DEPTH) throw new OttlRuntimeError("value nests too deeply");
  if (v === undefined) return "null";
  if (typeof v === "string") return jsonString(v);
  if (typeof v === "boolean" || typeof v === "bigint") return String(v);
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw new OttlRuntimeError("json: unsupported value");
    return jsonNumber(v);
  }
  if (v instanceof Uint8Array) return jsonString(btoa(String.fromCharCode(...v)));
  if (Array.isArray(v)) return "[" + v.map((x) => toJson(x, depth + 1)).join(",") + "]";
  const entries = [...v.kvlist].sort((a, b) => a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
  return "{" +
    entries.map((kv) => jsonString(kv.key) + ":" + toJson(kv.value, depth + 1)).join(",") +
    "}";
}

function jsonNumber(v: number): string {
  // encoding/json: exponent form below 1e-6 and at or above 1e21, like JavaScript.
  const abs = Math.abs(v);
  if (abs !== 0 && (abs < 1e-6 || abs >= 1e21)) {
    return String(v).replace(/e([+-])(\d)$/, "e$10$2");
  }
  return formatDouble(v);
}

/** The string form of a value for `String`, `Concat` and friends; `undefined` for nil. */
export function stringLike(v: Value): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v === "string") return v;
  if (typeof v === "boolean" || typeof v === "bigint") return String(v);
  if (typeof v === "number") return formatDouble(v);
  if (v instanceof OttlId) return "[" + v.join(",") + "]";
  if (v instanceof Uint8Array) return hex(v);
  if (v instanceof OttlTime || v instanceof OttlDuration) return String(v.ns);
  return toJson(v);
}

// ---------------------------------------------------------------------------------------------
// Comparison (LANGUAGE.md "Comparison Rules")

function cmp<T extends string | number | bigint>(a: T, b: T): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function bytesCompare(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** Deep equality of maps and slices (maps irrespective of order, as Go's map equality). */
export function deepEqual(a: AnyValue, b: AnyValue, depth = 0): boolean {
  if (depth > MAX_VALUE_DEPTH) throw new OttlRuntimeError("value nests too deeply");
  if (a === b) return true;
  if (typeof a !== typeof b || a === undefined || b === undefined) return false;
  if (typeof a === "number") return false;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    return a instanceof Uint8Array && b instanceof Uint8Array && bytesCompare(a, b) === 0;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i], depth + 1)) return false;
    return true;
  }
  if (typeof a !== "object" || typeof b !== "object") return false;
  const am = a as KeyValueList, bm = b as KeyValueList;
  if (am.kvlist.length !== bm.kvlist.length) return false;
  for (const kv of am.kvlist) {
    const other = bm.kvlist.find((x: KeyValue) => x.key === kv.key);
    if (other === undefined || !deepEqual(kv.value, other.value, depth + 1)) return false;
  }
  return true;
}

/**
 * Compares two values with an OTTL operator. Values of different kinds are "not equal": `!=` is
 * true, every other operator false. Ints and doubles compare numerically; `false < true`; strings
 * and bytes compare bytewise; maps and slices support `==`/`!=` only.
 */
export function compare(a: Value, b: Value, op: string): boolean {
  let c: number | undefined; // undefined: only equality is defined (and holds when eq)
  let eq: boolean;
  if (a === undefined || b === undefined) {
    eq = a === b || (a instanceof Uint8Array && a.length === 0) ||
      (b instanceof Uint8Array && b.length === 0);
    return op === "==" ? eq : op === "!=" ? !eq : false;
  }
  const ta = typeof a, tb = typeof b;
  if ((ta === "bigint" || ta === "number") && (tb === "bigint" || tb === "number")) {
    if (ta === tb) c = cmp(a as number, b as number);
    else {
      const x = Number(a as number | bigint), y = Number(b as number | bigint);
      if (Number.isNaN(x) || Number.isNaN(y)) return op === "!=";
      c = cmp(x, y);
    }
    if (ta === "number" && tb === "number" && (Number.isNaN(a) || Number.isNaN(b))) {
      return op === "!=";
    }
  } else if (ta === "string" && tb === "string") c = cmp(a as string, b as string);
  else if (ta === "boolean" && tb === "boolean") c = cmp(Number(a), Number(b));
  else if (a instanceof Uint8Array && b instanceof Uint8Array) c = bytesCompare(a, b);
  else if (a instanceof OttlTime && b instanceof OttlTime) {
    eq = a.ns === b.ns;
    return op === "==" ? eq : op === "!=" ? !eq : false;
  } else if (a instanceof OttlDuration && b instanceof OttlDuration) c = cmp(a.ns, b.ns);
  else if (
    (Array.isArray(a) && Array.isArray(b)) || (isMap(a) && isMap(b))
  ) {
    eq = deepEqual(a as AnyValue, b as AnyValue);
    return op === "==" ? eq : op === "!=" ? !eq : false;
  } else return op === "!=";
  switch (op) {
    case "==":
      return c === 0;
    case "!=":
      return c !== 0;
    case "<":
      return c < 0;
    case "<=":
      return c <= 0;
    case ">":
      return c > 0;
    default:
      return c >= 0;
  }
}
