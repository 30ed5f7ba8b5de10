/**
 * The `convert` action: a value to `int`, `double` or `string` the way the OpenTelemetry
 * Collector converts it. A value that cannot be converted is left as it is.
 *
 * @module
 */
import type { AnyValue } from "../pdata/types.ts";
import { valueAsString } from "./value.ts";

/** The types the `convert` action converts to. */
export type ConvertedType = "int" | "double" | "string";

const INT_TEXT = /^[+-]?\d+$/;
const FLOAT_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const SPECIAL_FLOAT = /^[+-]?(?:inf|infinity|nan)$/i;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/** Parses base-10 int64 text as Go's `strconv.ParseInt(s, 10, 64)`; undefined when it fails. */
export function parseInt64(text: string): bigint | undefined {
  if (!INT_TEXT.test(text)) return undefined;
  const n = BigInt(text);
  return n < INT64_MIN || n > INT64_MAX ? undefined : n;
}

/** Parses decimal float text as Go's `strconv.ParseFloat(s, 64)`; undefined when it fails. */
export function parseFloat64(text: string): number | undefined {
  if (FLOAT_TEXT.test(text)) {
    const n = Number(text);
    return Number.isFinite(n) ? n : undefined; // out of range is an error in Go
  }
  if (SPECIAL_FLOAT.test(text)) {
    const lower = text.toLowerCase();
    if (lower.endsWith("nan")) return NaN;
    return lower.startsWith("-") ? -Infinity : Infinity;
  }
  return undefined;
}

/**
 * The value converted to `to`, or the value itself when it is already of that type or cannot be
 * converted (a non-numeric string, a non-finite or out-of-range double to int, bytes, arrays, maps).
 * Doubles convert to int by truncation toward zero; bools to 1 or 0.
 */
export function convertValue(value: AnyValue, to: ConvertedType): AnyValue {
  switch (to) {
    case "string":
      return typeof value === "string" ? value : valueAsString(value);
    case "int":
      switch (typeof value) {
        case "number": {
          if (!Number.isFinite(value)) return value;
          const n = BigInt(Math.trunc(value));
          return n < INT64_MIN || n > INT64_MAX ? value : n;
        }
        case "boolean":
          return value ? 1n : 0n;
        case "string":
          return parseInt64(value) ?? value;
        default:
          return value;
      }
    case "double":
      switch (typeof value) {
        case "bigint":
          return Number(value);
        case "boolean":
          return value ? 1 : 0;
        case "string":
          return parseFloat64(value) ?? value;
        default:
          return value;
      }
  }
}
