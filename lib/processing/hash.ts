/**
 * The `hash` action's digest: SHA-256 in lower-case hex, over the same bytes the OpenTelemetry
 * Collector hashes (it moved from SHA-1 to SHA-256 in v0.75.0): a string's UTF-8 bytes, a bool as
 * one byte (1 or 0), an int as 8 little-endian bytes of its two's complement, a double as the 8
 * little-endian bytes of its IEEE 754 bits. Other values, and the empty string, hash to `""`.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { AnyValue } from "../pdata/types.ts";

const scratch = new DataView(new ArrayBuffer(8));
const scratchBytes = new Uint8Array(scratch.buffer);
const ONE = new Uint8Array([1]);
const ZERO = new Uint8Array([0]);

/** The hex SHA-256 of a value, as the Collector's `hash` action computes it. */
export function hashValue(value: AnyValue): string {
  const h = createHash("sha256");
  switch (typeof value) {
    case "string":
      if (value.length === 0) return "";
      h.update(value, "utf8");
      break;
    case "boolean":
      h.update(value ? ONE : ZERO);
      break;
    case "bigint":
      scratch.setBigUint64(0, BigInt.asUintN(64, value), true);
      h.update(scratchBytes);
      break;
    case "number":
      scratch.setFloat64(0, value, true);
      h.update(scratchBytes);
      break;
    default:
      return "";
  }
  return h.digest("hex");
}
