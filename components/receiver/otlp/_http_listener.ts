/**
 * Serves the otlp receiver's HTTP handler on tfo's own HTTP/1.1 server (`lib/net/http1/`), with
 * the protocol's deadlines: a client that sends its head or body too slowly, or idles past the
 * keep-alive time, is disconnected.
 *
 * @module
 */
import { serveHttp1 } from "../../../lib/net/http1/server.ts";
import type { Logger } from "../../../lib/telemetry/logger.ts";
import type { HttpServerTimeouts } from "./config.ts";
import type { OtlpHttpHandler } from "./_http_handler.ts";

/** A listening HTTP server. */
export interface HttpListener {
  /** The port it listens on. */
  readonly port: number;
  /** Stops accepting, lets requests in progress finish, then closes. Safe to call twice. */
  shutdown(): Promise<void>;
}

/** Options of {@linkcode listenHttp}. */
export interface HttpListenOptions {
  readonly hostname: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** PEM certificate and key; plaintext when absent. */
  readonly tls?: { readonly cert: string; readonly key: string } | undefined;
  readonly logger: Logger;
  /** Deadlines and keep-alive, from the protocol's config. */
  readonly timeouts: HttpServerTimeouts;
  /** Share the port with other workers (`SO_REUSEPORT`). @default false */
  readonly reusePort?: boolean;
}

function formatAddr(addr: Deno.NetAddr): string {
  return addr.hostname.includes(":")
    ? `[${addr.hostname}]:${addr.port}`
    : `${addr.hostname}:${addr.port}`;
}

/**
 * Starts serving `handler`; returns once the port is bound.
 *
 * @throws {Error} `Cannot listen on host:port: address already in use` and the like.
 */
export function listenHttp(options: HttpListenOptions, handler: OtlpHttpHandler): HttpListener {
  const { hostname, port, logger, timeouts } = options;
  const server = serveHttp1({
    hostname,
    port,
    tls: options.tls,
    reusePort: options.reusePort,
    logger,
    ...timeouts,
  }, (request, info) => handler(request, formatAddr(info.remoteAddr)));
  return { port: server.port, shutdown: () => server.shutdown() };
}
