/**
 * A typed, order-independent key for a list of attributes (the role of the Collector's
 * `pdatautil.MapHash`): equal for the same keys with the same typed values in any order.
 *
 * @module
 */
import type { AnyValue, KeyValue } from "../../lib/pdata/types.ts";

/** The key of a list of attributes. */
export function attributesKey(attributes: readonly KeyValue[]): string {
  if (attributes.length === 0) return "";
  if (attributes.length === 1) {
    const kv = attributes[0]!;
    return `${kv.key}\u0001${typedValue(kv.value)}`;
  }
  const parts = attributes.map((kv) => `${kv.key}\u0001${typedValue(kv.value)}`);
  parts.sort();
  return parts.join("\u0000");
}

function typedValue(v: AnyValue): string {
  if (typeof v === "string") return `s${v}`;
  if (typeof v === "bigint") return `i${v}`;
  if (typeof v === "number") return `d${v}`;
  if (typeof v === "boolean") return `b${v}`;
  if (v === undefined) return "e";
  if (v instanceof Uint8Array) return `y${Array.from(v).join(",")}`;
  if (Array.isArray(v)) return `a[${v.map(typedValue).join("\u0002")}]`;
  return `m{${attributesKey(v.kvlist)}}`;
}
