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
  /**
   * Time from a request's head to its answer written; 0 means none (long-lived answers: event
   * streams, profiles of N seconds). @default 30000, the Collector's
   */
  readonly writeTimeoutMs?: number | undefined;
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
      writeTimeoutMs: options.writeTimeoutMs,
    }, handler);
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
