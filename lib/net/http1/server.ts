/**
 * tfo's own HTTP/1.1 server, on `Deno.listen` (or `Deno.listenTls`, ALPN `http/1.1`), for the
 * control that `Deno.serve` does not give: deadlines for a request's head, its body, its answer
 * and the idle time between requests (the OpenTelemetry Collector's `read_header_timeout`,
 * `read_timeout`, `write_timeout` and `keepalive::idle_timeout`), a bound on head bytes (431) and
 * on open connections, and closing a connection after an answer given before its body was read
 * (a 413 for a declared length) instead of draining it. Handlers keep the `(Request) => Response`
 * shape of `Deno.serve`.
 *
 * Measured before writing it (Deno 2.9.6): `Deno.serve` never closes a connection that sends half
 * a head, and `node:http`'s `headersTimeout` is not honoured either (a slow head was still open
 * after 6 s with a 1 s timeout).
 *
 * @module
 */
import { NOOP_LOGGER } from "../../telemetry/logger.ts";
import type { Logger } from "../../telemetry/logger.ts";
import { listenError } from "../listen_error.ts";
import { QUEUE_DRAIN_MS, registerSharedPortServer } from "../drain.ts";
import {
  type ServerConn,
  type ServerTlsContext,
  serverTlsContext,
  TlsServerConn,
} from "../tls_server_conn.ts";
import {
  type ConnectionContext,
  type ConnectionLimits,
  drainRefusal,
  Http1Connection,
  type Http1Handler,
  LINGER_MS,
} from "./_connection.ts";

export type { Http1Handler, Http1RequestInfo } from "./_connection.ts";
export { type HeaderFields, type HttpRequest, readRequestBody } from "./request.ts";

/** Default of {@linkcode Http1ServerOptions.readHeaderTimeoutMs}: the Collector's 1 minute. */
export const DEFAULT_READ_HEADER_TIMEOUT_MS = 60_000;
/** Default of {@linkcode Http1ServerOptions.writeTimeoutMs}: the Collector's 30 seconds. */
export const DEFAULT_WRITE_TIMEOUT_MS = 30_000;
/** Default of {@linkcode Http1ServerOptions.idleTimeoutMs}: the Collector's 1 minute. */
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
/** Default of {@linkcode Http1ServerOptions.maxHeaderBytes}. */
export const DEFAULT_MAX_HEADER_BYTES = 64 * 1024;
/** Default of {@linkcode Http1ServerOptions.maxConnections}. */
export const DEFAULT_MAX_CONNECTIONS = 16_384;

/** Options of {@linkcode serveHttp1}. */
export interface Http1ServerOptions {
  /** The address to bind; `0.0.0.0` for all IPv4 interfaces. */
  readonly hostname: string;
  /** 0 picks a free port. */
  readonly port: number;
  /**
   * Sets `SO_REUSEPORT` (needs `--unstable-net`): several workers listen on one port and the
   * kernel spreads connections over them. @default false
   */
  readonly reusePort?: boolean | undefined;
  /** Serve HTTPS with this PEM certificate chain and key. @default plaintext */
  readonly tls?: { readonly cert: string; readonly key: string } | undefined;
  /**
   * Time for a request's head, from its first byte (from the accept, for a connection's first
   * request); 0 uses `readTimeoutMs`. @default 60000
   */
  readonly readHeaderTimeoutMs?: number | undefined;
  /** Time for a whole request, head and body; 0 means none. @default 0 */
  readonly readTimeoutMs?: number | undefined;
  /** Time from a request's head to its answer written; 0 means none. @default 30000 */
  readonly writeTimeoutMs?: number | undefined;
  /** Time a kept-alive connection may wait for its next request; 0 uses `readTimeoutMs`. @default 60000 */
  readonly idleTimeoutMs?: number | undefined;
  /** Keep connections open between requests. @default true */
  readonly keepAlive?: boolean | undefined;
  /** The largest request head (request line and header fields); larger gets 431. @default 65536 */
  readonly maxHeaderBytes?: number | undefined;
  /** Connections open at once; more are closed as they arrive. @default 16384 */
  readonly maxConnections?: number | undefined;
  /** Where handler errors (answered 500) and connection errors are logged. @default none */
  readonly logger?: Logger | undefined;
}

/** A listening HTTP/1.1 server. */
export interface Http1Server {
  /** The address it is bound to, as resolved. */
  readonly hostname: string;
  /** The port it listens on; the real one when port 0 was asked for. */
  readonly port: number;
  /** Connections open now. */
  readonly connections: number;
  /**
   * Stops accepting, closes idle connections, lets requests in progress finish, then resolves.
   * Safe to call twice.
   */
  shutdown(): Promise<void>;
}

function limitsOf(options: Http1ServerOptions): ConnectionLimits {
  const ms = (v: number | undefined, d: number) => (v === undefined ? d : Math.max(0, v));
  return {
    readHeaderTimeoutMs: ms(options.readHeaderTimeoutMs, DEFAULT_READ_HEADER_TIMEOUT_MS),
    readTimeoutMs: ms(options.readTimeoutMs, 0),
    writeTimeoutMs: ms(options.writeTimeoutMs, DEFAULT_WRITE_TIMEOUT_MS),
    idleTimeoutMs: ms(options.idleTimeoutMs, DEFAULT_IDLE_TIMEOUT_MS),
    keepAlive: options.keepAlive ?? true,
    maxHeaderBytes: options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES,
  };
}

/** How often deadlines are checked, in ms. */
function deadlineTick(limits: ConnectionLimits): number {
  const set = [
    limits.readHeaderTimeoutMs,
    limits.readTimeoutMs,
    limits.writeTimeoutMs,
    limits.idleTimeoutMs,
    LINGER_MS,
  ].filter((ms) => ms > 0);
  return Math.min(1000, Math.max(5, Math.floor(Math.min(...set) / 5)));
}

/**
 * Starts serving `handler`; returns once the port is bound.
 *
 * @throws {Error} `Cannot listen on 127.0.0.1:4318: address already in use` and the like.
 */
export function serveHttp1(options: Http1ServerOptions, handler: Http1Handler): Http1Server {
  const { hostname, port } = options;
  let tlsContext: ServerTlsContext | undefined;
  const endpoint = hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
  let listener: Deno.Listener;
  try {
    // TLS runs over plain TCP (tls_server_conn.ts) so that a deadline closes a stalled handshake.
    tlsContext = options.tls === undefined
      ? undefined
      : serverTlsContext({ ...options.tls, alpnProtocols: ["http/1.1"] });
    listener = Deno.listen({ hostname, port, ...(options.reusePort ? { reusePort: true } : {}) });
  } catch (error) {
    throw listenError(endpoint, error);
  }
  const addr = listener.addr as Deno.NetAddr;
  const maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  const logger = options.logger ?? NOOP_LOGGER;
  const open = new Set<Http1Connection>();
  let stopping = false;
  /** The retry delay of the refusals, once the isolate drains (shared ports only). */
  let refusing: number | undefined;
  const ctx: ConnectionContext = {
    limits: limitsOf(options),
    handler,
    logger,
    scheme: options.tls === undefined ? "http" : "https",
    stopping: () => stopping,
    refusing: () => refusing,
  };
  const closeListener = () => {
    try {
      listener.close();
    } catch {
      // Already closed.
    }
  };
  // A server on a shared port drains with its isolate: the listener closes so the kernel hands
  // new connections to the other workers, and open connections are answered 503 (drain.ts).
  const unregister = options.reusePort
    ? registerSharedPortServer({
      refuseNew(retryAfterMs) {
        refusing = retryAfterMs;
        // The accept loop takes what the kernel already queued on this listener first (a queued
        // connection is reset when its listener closes; they are answered 503 / UNAVAILABLE).
        setTimeout(closeListener, QUEUE_DRAIN_MS);
      },
      refuseInFlight(retryAfterMs) {
        for (const c of open) c.answerInFlight(drainRefusal(retryAfterMs));
      },
    })
    : undefined;

  // One clock per server checks every connection's deadlines: cheaper per request than a timer
  // per deadline, and exact to a fifth of the shortest timeout (at most a second).
  const tick = deadlineTick(ctx.limits);
  const clock = setInterval(() => {
    const now = performance.now();
    for (const c of open) c.expireIfPast(now);
  }, tick);

  const accepting = (async () => {
    while (!stopping) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (stopping || error instanceof Deno.errors.BadResource) return;
        // A failed accept (out of file descriptors, say) must not stop the server.
        logger.debug("Cannot accept an HTTP connection", { error });
        await new Promise((resolve) => setTimeout(resolve, 50));
        continue;
      }
      if (stopping || open.size >= maxConnections) {
        if (!stopping) logger.debug("Refused an HTTP connection over the connection limit");
        try {
          conn.close();
        } catch {
          // Already closed.
        }
        continue;
      }
      try {
        (conn as Deno.TcpConn).setNoDelay(true);
      } catch {
        // Not a socket option this connection has.
      }
      const served: ServerConn = tlsContext === undefined
        ? conn
        : new TlsServerConn(conn, tlsContext);
      const c = new Http1Connection(served, ctx);
      open.add(c);
      c.done.finally(() => open.delete(c));
    }
  })();

  let closed: Promise<void> | undefined;
  return {
    hostname: addr.hostname,
    port: addr.port,
    get connections() {
      return open.size;
    },
    shutdown() {
      closed ??= (async () => {
        stopping = true;
        closeListener();
        await accepting;
        for (const c of open) c.closeIfIdle();
        await Promise.all([...open].map((c) => c.done));
        clearInterval(clock);
        unregister?.();
      })();
      return closed;
    },
  };
}
