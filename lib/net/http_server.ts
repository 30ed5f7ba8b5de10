/**
 * A small HTTP server for endpoints given as `host:port` (health_check, the prometheus exporter,
 * tfo's own `/metrics`), on tfo's HTTP/1.1 server (`http1/server.ts`) so a slow or idle client
 * is disconnected as the OpenTelemetry Collector's servers do (head within 1 minute, answer within
 * 30 s, idle keep-alive 1 minute): it is listening once {@linkcode startHttpServer} resolves,
 * fails with a clear error when the address is taken, reports the port it really got (for port
 * 0), prints nothing, and stops with a `shutdown()` that is safe to call twice.
 *
 * @module
 */
import { gzipSync } from "node:zlib";
import { splitHostPort } from "../config/schema.ts";
import { NOOP_LOGGER } from "../telemetry/logger.ts";
import type { Logger } from "../telemetry/logger.ts";
import { type HttpRequest, serveHttp1 } from "./http1/server.ts";

export type { HttpRequest } from "./http1/server.ts";

/** Answers one request; `Request` objects are requests too. */
export type HttpHandler = (
  request: HttpRequest,
  info: { readonly remoteAddr: Deno.NetAddr },
) => Response | Promise<Response>;

/** TLS material, PEM text. */
export interface HttpServerTls {
  /** The certificate chain, PEM. */
  readonly cert: string;
  /** The private key, PEM. */
  readonly key: string;
}

/** Options of {@linkcode startHttpServer}. */
export interface HttpServerOptions {
  /** Serve HTTPS with this certificate and key. @default plaintext HTTP */
  readonly tls?: HttpServerTls | undefined;
  /** Where a handler's unexpected error is logged (the client gets a 500). @default no logging */
  readonly logger?: Logger | undefined;
}

/** A listening HTTP server. */
export interface HttpServer {
  /** The address it is bound to, as resolved (`127.0.0.1`, `::1`, `0.0.0.0`). */
  readonly hostname: string;
  /** The port it listens on; the real one when port 0 was asked for. */
  readonly port: number;
  /** `host:port` of the bound address, IPv6 hosts in brackets. */
  readonly address: string;
  /** Stops accepting, lets requests in progress finish, then closes. Safe to call twice. */
  shutdown(): Promise<void>;
}

/** `host:port`, with an IPv6 host in brackets. */
export function joinHostPort(hostname: string, port: number): string {
  return hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
}

/** Bodies smaller than this are sent as they are. */
const GZIP_MIN_BYTES = 1024;
const COMPRESSIBLE = /^(text\/|application\/(json|openmetrics-text|xml))/i;

/**
 * `response` gzipped when the client accepts gzip and the body is text worth compressing, as
 * `Deno.serve` did for these servers (a Prometheus scrape asks for gzip).
 */
async function gzipped(request: HttpRequest, response: Response): Promise<Response> {
  if (response.body === null || response.headers.has("content-encoding")) return response;
  if (!COMPRESSIBLE.test(response.headers.get("content-type") ?? "")) return response;
  if (!/\bgzip\b/i.test(request.headers.get("accept-encoding") ?? "")) return response;
  const body = await response.bytes();
  const headers = new Headers(response.headers);
  headers.append("vary", "Accept-Encoding");
  if (body.length < GZIP_MIN_BYTES) return new Response(body, { status: response.status, headers });
  headers.set("content-encoding", "gzip");
  const zipped = new Uint8Array(gzipSync(body, { level: 1 }));
  return new Response(zipped, { status: response.status, headers });
}

/**
 * Starts serving `handler` on `endpoint` (`host:port`; an empty host means all interfaces, port 0
 * picks a free port). Resolves once the port is bound.
 *
 * @throws {Error} `Cannot listen on 127.0.0.1:8888: address already in use` and the like, with the
 * runtime's error as the cause.
 */
export function startHttpServer(
  endpoint: string,
  handler: HttpHandler,
  options: HttpServerOptions = {},
): Promise<HttpServer> {
  try {
    const { hostname, port } = splitHostPort(endpoint);
    const server = serveHttp1({
      hostname,
      port,
      tls: options.tls,
      logger: options.logger ?? NOOP_LOGGER,
    }, async (request, info) => gzipped(request, await handler(request, info)));
    return Promise.resolve({
      hostname: server.hostname,
      port: server.port,
      address: joinHostPort(server.hostname, server.port),
      shutdown: () => server.shutdown(),
    });
  } catch (error) {
    return Promise.reject(error);
  }
}
