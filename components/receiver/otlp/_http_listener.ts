/**
 * Serves the otlp receiver's HTTP handler with `Deno.serve` (HTTP/1.1, and HTTP/2 over TLS).
 *
 * @module
 */
import { listenError } from "../../../lib/net/listen_error.ts";
import type { Logger } from "../../../lib/telemetry/logger.ts";
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
}

function formatAddr(addr: Deno.Addr): string {
  if (addr.transport !== "tcp" && addr.transport !== "udp") return "unknown";
  return addr.hostname.includes(":")
    ? `[${addr.hostname}]:${addr.port}`
    : `${addr.hostname}:${addr.port}`;
}

/**
 * Starts serving `handler`; resolves once the port is bound.
 *
 * @throws {Error} `Cannot listen on host:port: address already in use` and the like.
 */
export function listenHttp(options: HttpListenOptions, handler: OtlpHttpHandler): HttpListener {
  const { hostname, port, logger } = options;
  const endpoint = hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname,
      port,
      ...(options.tls === undefined ? {} : { cert: options.tls.cert, key: options.tls.key }),
      onListen() {},
      onError(error) {
        logger.error("Unexpected error serving OTLP/HTTP", { error });
        return new Response("Internal error", { status: 500 });
      },
    }, (request, info) => handler(request, formatAddr(info.remoteAddr)));
  } catch (error) {
    throw listenError(endpoint, error);
  }
  let closed: Promise<void> | undefined;
  return {
    port: server.addr.port,
    shutdown() {
      closed ??= server.shutdown();
      return closed;
    },
  };
}
