/**
 * What counts as a secret in a config, and masking it for output.
 *
 * @module
 */

import { isSecretKey, REDACTED } from "../lib/telemetry/secrets.ts";

export { isSecretKey, REDACTED } from "../lib/telemetry/secrets.ts";

/**
 * True when the value at this path must not be shown: some key on the path is secret-like, or the
 * value is inside a `headers` map (header values often carry credentials).
 */
export function isSecretPath(path: readonly (string | number)[]): boolean {
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    if (typeof seg !== "string") continue;
    if (isSecretKey(seg)) return true;
    if (seg.toLowerCase() === "headers" && i + 1 < path.length) return true;
  }
  return false;
}

/**
 * A copy of a plain config value with secret values replaced by `[REDACTED]`: values of keys named
 * like secrets, passwords, tokens or keys, `authorization`, and every header value.
 */
export function redactConfig(value: unknown): unknown {
  return redact(value, []);
}

function redact(value: unknown, path: (string | number)[]): unknown {
  if (Array.isArray(value)) return value.map((v, i) => redact(v, [...path, i]));
  if (value instanceof Map) {
    return new Map([...value].map(([k, v]) => [k, redact(v, [...path, String(k)])]));
  }
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      Object.defineProperty(out, k, {
        value: redact(v, [...path, k]),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  if (value === null || value === undefined || value === "") return value;
  return isSecretPath(path) ? REDACTED : value;
}

/** Replaces every occurrence of a secret value in a message with "the value". */
export function scrubMessage(message: string, secret: unknown): string {
  if (typeof secret !== "string" || secret === "") return message;
  message = message.replaceAll(`"${secret}"`, "the value").replaceAll(
    JSON.stringify(secret),
    "the value",
  );
  // A very short value would match inside ordinary words; only quoted occurrences are replaced.
  return secret.length >= 4 ? message.replaceAll(secret, "the value") : message;
}
