/**
 * CORS for the otlp receiver's HTTP protocol: preflight answers and the headers of actual
 * responses, for the configured origins (with `*` wildcards) and request headers.
 *
 * @module
 */
import type { HttpRequest } from "../../../lib/net/http1/request.ts";

/** The CORS settings. */
export interface CorsSettings {
  readonly allowed_origins: readonly string[];
  readonly allowed_headers: readonly string[];
  readonly max_age: number;
}

/** Request headers always allowed (the CORS-safelisted ones, and what OTLP clients send). */
const ALWAYS_ALLOWED = [
  "accept",
  "accept-language",
  "content-language",
  "content-type",
  "content-encoding",
  "origin",
  "x-requested-with",
];

/** A compiled CORS policy. */
export interface CorsPolicy {
  /** The `Access-Control-Allow-Origin` value for this origin, or undefined if not allowed. */
  allowOrigin(origin: string | null): string | undefined;
  /** The answer to a preflight request (always 204; CORS headers only when allowed). */
  preflight(request: HttpRequest): Response;
  /** Adds the CORS headers of an actual response for the request's origin. */
  decorate(request: HttpRequest, headers: Headers): void;
}

function originMatcher(pattern: string): (origin: string) => boolean {
  const p = pattern.toLowerCase();
  const star = p.indexOf("*");
  if (star < 0) return (o) => o === p;
  const prefix = p.slice(0, star);
  const suffix = p.slice(star + 1).replaceAll("*", "");
  return (o) =>
    o.length >= prefix.length + suffix.length && o.startsWith(prefix) && o.endsWith(suffix);
}

/** Compiles the CORS settings. */
export function corsPolicy(settings: CorsSettings): CorsPolicy {
  const any = settings.allowed_origins.includes("*");
  const matchers = settings.allowed_origins.map(originMatcher);
  const anyHeader = settings.allowed_headers.includes("*");
  const headers = new Set([
    ...ALWAYS_ALLOWED,
    ...settings.allowed_headers.map((h) => h.toLowerCase()),
  ]);

  function allowOrigin(origin: string | null): string | undefined {
    if (origin === null || origin === "") return undefined;
    if (any) return "*";
    const o = origin.toLowerCase();
    return matchers.some((m) => m(o)) ? origin : undefined;
  }

  function preflight(request: HttpRequest): Response {
    const out = new Headers({ vary: "Origin, Access-Control-Request-Method" });
    const origin = allowOrigin(request.headers.get("origin"));
    const method = (request.headers.get("access-control-request-method") ?? "").toUpperCase();
    const requested = (request.headers.get("access-control-request-headers") ?? "")
      .split(",").map((h) => h.trim().toLowerCase()).filter((h) => h !== "");
    const headersOk = anyHeader || requested.every((h) => headers.has(h));
    if (origin !== undefined && method === "POST" && headersOk) {
      out.set("access-control-allow-origin", origin);
      out.set("access-control-allow-methods", "POST");
      if (requested.length > 0) out.set("access-control-allow-headers", requested.join(", "));
      if (settings.max_age > 0) out.set("access-control-max-age", String(settings.max_age));
    }
    return new Response(null, { status: 204, headers: out });
  }

  function decorate(request: HttpRequest, out: Headers): void {
    const origin = allowOrigin(request.headers.get("origin"));
    if (origin === undefined) return;
    out.set("access-control-allow-origin", origin);
    out.append("vary", "Origin");
  }

  return { allowOrigin, preflight, decorate };
}
