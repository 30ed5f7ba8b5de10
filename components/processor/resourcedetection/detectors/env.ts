/**
 * The `env` detector: resource attributes from `OTEL_RESOURCE_ATTRIBUTES` (or the older
 * `OTEL_RESOURCE`), a comma-separated list of `key=value` pairs whose values are percent-encoded.
 * A malformed list yields nothing and an error (the Collector does the same).
 *
 * @module
 */
import type { KeyValue } from "../../../../lib/pdata/types.ts";
import type { DetectorContext } from "./_detector.ts";

/**
 * Parses a `key1=value1,key2=value2` list. Keys and values are trimmed; values are percent-decoded
 * (`+` stays a plus sign, as the OpenTelemetry specification says; the Collector's Go decoder turns
 * it into a space). Throws on a pair without `=`, an empty key or a bad percent escape.
 */
export function parseResourceAttributes(text: string): KeyValue[] {
  const out: KeyValue[] = [];
  for (const part of text.split(",")) {
    if (part.trim() === "") continue;
    const eq = part.indexOf("=");
    const key = eq < 0 ? "" : part.slice(0, eq).trim();
    if (key === "") {
      throw new Error(`Invalid resource attribute "${part.trim()}": expected key=value`);
    }
    const raw = part.slice(eq + 1).trim();
    let value: string;
    try {
      value = decodeURIComponent(raw);
    } catch {
      throw new Error(`Invalid resource attribute "${part.trim()}": bad percent-encoding`);
    }
    const existing = out.findIndex((kv) => kv.key === key);
    if (existing >= 0) out[existing]!.value = value;
    else out.push({ key, value });
  }
  return out;
}

/** Detects the attributes given by `OTEL_RESOURCE_ATTRIBUTES` (or `OTEL_RESOURCE`). */
export function detectEnv(ctx: DetectorContext): Promise<KeyValue[]> {
  let text = ctx.env("OTEL_RESOURCE_ATTRIBUTES")?.trim() ?? "";
  if (text === "") text = ctx.env("OTEL_RESOURCE")?.trim() ?? "";
  return Promise.resolve(text === "" ? [] : parseResourceAttributes(text));
}
