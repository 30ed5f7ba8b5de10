/**
 * Schema building blocks for component configs: Go-style durations and byte sizes, endpoints, and a
 * strict object that rejects unknown keys. Durations become milliseconds.
 *
 * @module
 */
import { z } from "./z.js";

const DURATION_UNITS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const DURATION_PART = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;

/** Parses a Go duration (`200ms`, `1m30s`, `-1.5h`, `0`) into milliseconds, or undefined. */
export function parseDuration(text: string): number | undefined {
  let s = text.trim();
  let sign = 1;
  if (s.startsWith("-") || s.startsWith("+")) {
    if (s[0] === "-") sign = -1;
    s = s.slice(1);
  }
  if (s === "0") return 0;
  if (s === "") return undefined;
  let total = 0;
  DURATION_PART.lastIndex = 0;
  while (DURATION_PART.lastIndex < s.length) {
    const m = DURATION_PART.exec(s);
    if (m === null) return undefined;
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
  }
  return sign * total;
}

/** Formats milliseconds as a Go duration. */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

function durationSchema() {
  return z.union([z.string(), z.literal(0)]).transform((value, ctx) => {
    if (value === 0) return 0;
    const ms = parseDuration(value);
    if (ms === undefined || ms < 0) {
      ctx.addIssue({
        code: "custom",
        message: `must be a duration such as "200ms", "5s" or "1m30s", got "${value}"`,
      });
      return z.NEVER;
    }
    return ms;
  });
}

/** A required duration: a Go duration string (`5s`, `1m30s`) or the number 0. Yields milliseconds. */
export function duration(): ReturnType<typeof durationSchema>;
/**
 * A duration with a default: a Go duration string (`5s`, `1m30s`) or the number 0. Yields
 * milliseconds.
 * @param defaultValue the default, as a Go duration string
 */
export function duration(defaultValue: string): z.ZodDefault<ReturnType<typeof durationSchema>>;
export function duration(defaultValue?: string) {
  const schema = durationSchema();
  return defaultValue === undefined ? schema : schema.default(parseDuration(defaultValue)!);
}

const SIZE_UNITS: Readonly<Record<string, number>> = {
  "": 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

/** Parses a byte size (`512`, `64KiB`, `4MiB`, `1GB`) into bytes, or undefined. */
export function parseByteSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (m === null) return undefined;
  const unit = SIZE_UNITS[m[2]!.toLowerCase()];
  return unit === undefined ? undefined : Math.round(Number(m[1]) * unit);
}

/** A byte size: a non-negative number of bytes or a string such as `64KiB`. Yields bytes. */
export function byteSize() {
  return z.union([z.number().int().nonnegative(), z.string()]).transform((value, ctx) => {
    if (typeof value === "number") return value;
    const bytes = parseByteSize(value);
    if (bytes === undefined) {
      ctx.addIssue({ code: "custom", message: `must be a size such as "64KiB", got "${value}"` });
      return z.NEVER;
    }
    return bytes;
  });
}

/** A `host:port` endpoint (host may be empty, a name, IPv4 or bracketed IPv6). */
export function hostPort() {
  return z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[^\s:/]*):\d{1,5}$/, {
    message: 'must be "host:port", for example "0.0.0.0:4318"',
  });
}

/** Splits a `host:port` endpoint; an empty host means all interfaces. */
export function splitHostPort(endpoint: string): { hostname: string; port: number } {
  const colon = endpoint.lastIndexOf(":");
  let hostname = endpoint.slice(0, colon);
  if (hostname.startsWith("[") && hostname.endsWith("]")) hostname = hostname.slice(1, -1);
  return {
    hostname: hostname === "" ? "0.0.0.0" : hostname,
    port: Number(endpoint.slice(colon + 1)),
  };
}

/** An absolute http(s) URL. */
export function httpUrl() {
  return z.string().refine((s) => {
    try {
      const u = new URL(s);
      return u.protocol === "http:" || u.protocol === "https:";
    } catch {
      return false;
    }
  }, { message: 'must be an http or https URL, for example "https://collector:4318"' });
}
