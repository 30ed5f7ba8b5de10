/**
 * Values in attribute processing: config values turned into {@linkcode AnyValue}s, typed equality,
 * and the string form the OpenTelemetry Collector's `AsString` gives (doubles in plain decimal).
 *
 * @module
 */
import { anyValueToString } from "../pdata/attributes.ts";
import type { AnyValue, KeyValue } from "../pdata/types.ts";

/**
 * An {@linkcode AnyValue} from a config value: integers become ints (`bigint`), other numbers
 * doubles, arrays arrays and plain objects key/value lists. `null` and `undefined` give
 * `undefined`; anything else (functions, symbols, non-finite JSON) gives an error message.
 */
export function configValueToAnyValue(raw: unknown): { value: AnyValue } | { error: string } {
  if (raw === null || raw === undefined) return { value: undefined };
  switch (typeof raw) {
    case "string":
    case "boolean":
    case "bigint":
      return { value: raw };
    case "number":
      return { value: Number.isSafeInteger(raw) ? BigInt(raw) : raw };
    case "object": {
      if (raw instanceof Uint8Array) return { value: raw };
      if (Array.isArray(raw)) {
        const out: AnyValue[] = [];
        for (const item of raw) {
          const r = configValueToAnyValue(item);
          if ("error" in r) return r;
          out.push(r.value);
        }
        return { value: out };
      }
      const kvlist: KeyValue[] = [];
      for (const [key, item] of Object.entries(raw)) {
        const r = configValueToAnyValue(item);
        if ("error" in r) return r;
        kvlist.push({ key, value: r.value });
      }
      return { value: { kvlist } };
    }
    default:
      return { error: `cannot be used as an attribute value (${typeof raw})` };
  }
}

/** True when two values have the same type and the same content (the Collector's `Equal`). */
export function anyValueEquals(a: AnyValue, b: AnyValue): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === undefined || b === undefined) return false;
  if (typeof a === "number") return Number.isNaN(a) && Number.isNaN(b);
  if (typeof a !== "object" || typeof b !== "object") return false;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array && b instanceof Uint8Array) || a.length !== b.length) {
      return false;
    }
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!(Array.isArray(a) && Array.isArray(b)) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!anyValueEquals(a[i], b[i])) return false;
    return true;
  }
  if (a.kvlist.length !== b.kvlist.length) return false;
  for (let i = 0; i < a.kvlist.length; i++) {
    const x = a.kvlist[i]!;
    const y = b.kvlist[i]!;
    if (x.key !== y.key || !anyValueEquals(x.value, y.value)) return false;
  }
  return true;
}

const EXPONENT_FORM = /^(-?)(\d+)(?:\.(\d+))?e([+-]\d+)$/;

/**
 * A double in Go's `strconv.FormatFloat(v, 'f', -1, 64)` form: the shortest digits that round-trip,
 * never in exponent notation (`1e21` → `"1000000000000000000000"`, `1e-7` → `"0.0000001"`).
 */
export function formatDouble(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  if (v === 0) return Object.is(v, -0) ? "-0" : "0";
  const s = String(v);
  const m = EXPONENT_FORM.exec(s);
  if (m === null) return s;
  const digits = m[2]! + (m[3] ?? "");
  const point = m[2]!.length + Number(m[4]);
  let body: string;
  if (point <= 0) body = "0." + "0".repeat(-point) + digits;
  else if (point >= digits.length) body = digits + "0".repeat(point - digits.length);
  else body = digits.slice(0, point) + "." + digits.slice(point);
  return m[1] + body;
}

/** A value as a string, the way the Collector's `AsString` renders it. */
export function valueAsString(value: AnyValue): string {
  return typeof value === "number" ? formatDouble(value) : anyValueToString(value);
}
