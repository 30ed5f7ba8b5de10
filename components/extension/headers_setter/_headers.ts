/**
 * The `headers_setter` actions compiled once: each request's headers are its own (the exporter's
 * static `headers`) edited in config order with values from the request context of the data sent.
 *
 * Names compare case-insensitively, as HTTP headers and gRPC metadata do; a set header replaces
 * every other spelling of its name. A header whose source has no value and no `default_value` is
 * left as it is (the Collector would send it empty). A `from_context` key with several values in
 * the request context fails the request permanently, as in the Collector (which cannot choose
 * either): retrying the same data can never give one value.
 *
 * @module
 */
import { permanentError } from "../../../lib/consumer/consumer.ts";
import type { ClientInfo } from "../../../lib/pdata/payload.ts";
import type { HeaderConfig } from "./config.ts";

/** Edits one request's headers for the data of one client. */
export type HeaderEditor = (
  base: Readonly<Record<string, string>>,
  client: ClientInfo,
) => Record<string, string>;

type Source = (client: ClientInfo) => string | undefined;

function sourceOf(h: HeaderConfig): Source {
  if (h.value !== undefined) {
    const value = h.value;
    return () => value;
  }
  const fallback = h.default_value;
  if (h.from_attribute !== undefined) {
    const name = h.from_attribute;
    return (client) => client.auth.get(name) ?? fallback;
  }
  const key = h.from_context!.toLowerCase();
  return (client) => {
    const values = client.metadata.get(key);
    if (values === undefined || values.length === 0) return fallback;
    if (values.length > 1) {
      throw permanentError(
        `${values.length} values of "${key}" found in the request context, ` +
          `cannot determine which one to use for header "${h.key}"`,
      );
    }
    return values[0];
  };
}

/** The name in `headers` that equals `lower` case-insensitively, if any. */
function findName(headers: Record<string, string>, lower: string): string | undefined {
  for (const name in headers) if (name.toLowerCase() === lower) return name;
  return undefined;
}

function removeAll(headers: Record<string, string>, lower: string): void {
  for (const name of Object.keys(headers)) {
    if (name.toLowerCase() === lower) delete headers[name];
  }
}

/** Compiles validated header entries into one editor. */
export function compileHeaders(configs: readonly HeaderConfig[]): HeaderEditor {
  const steps = configs.map((h) => ({
    key: h.key,
    lower: h.key.toLowerCase(),
    action: h.action,
    source: h.action === "delete" ? undefined : sourceOf(h),
  }));
  return (base, client) => {
    const out: Record<string, string> = { ...base };
    for (const step of steps) {
      if (step.source === undefined) {
        removeAll(out, step.lower);
        continue;
      }
      const value = step.source(client);
      if (value === undefined) continue;
      const present = findName(out, step.lower);
      if (step.action === "insert" && present !== undefined && out[present] !== "") continue;
      if (step.action === "update" && present === undefined) continue;
      removeAll(out, step.lower);
      out[step.key] = value;
    }
    return out;
  };
}
