/**
 * A TCP (or TLS) listener for stream protocols (Fluent Forward, syslog) and a UDP socket bound
 * beside it: one accept loop, every connection handled by its own call and tracked, and a
 * shutdown that stops accepting, closes what is open and waits for the handlers to return.
 *
 * @module
 */
import dgram from "node:dgram";
import { listenError } from "./listen_error.ts";
import {
  type ServerConn,
  type ServerTlsContext,
  serverTlsContext,
  TlsServerConn,
} from "./tls_server_conn.ts";

export type { ServerConn } from "./tls_server_conn.ts";

/** Default of the `handshakeTimeoutMs` option of {@linkcode serveStream}. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;

/** TLS for a listener, as PEM file paths. */
export interface StreamServerTls {
  readonly cert_file: string;
  readonly key_file: string;
}

/** A listening stream server. */
export interface StreamServer {
  /** The bound address (the real port when 0 was asked for). */
  readonly addr: Deno.NetAddr;
  /** Stops accepting, closes open connections, waits for their handlers. Safe to call twice. */
  shutdown(): Promise<void>;
}

function closeQuietly(closable: { close(): void }): void {
  try {
    closable.close();
  } catch {
    // already closed
  }
}

/**
 * Listens on `hostname:port` and runs `handle` for each connection; the connection is closed when
 * `handle` returns or throws. With `tls`, `handle` gets a connection whose handshake is done; one
 * not done within `handshakeTimeoutMs` of the accept is closed (its socket really: see
 * `tls_server_conn.ts`).
 * @throws {Error} `Cannot listen on …` when the address cannot be bound or the TLS files read.
 */
export async function serveStream(
  endpoint: string,
  options: {
    hostname: string;
    port: number;
    tls?: StreamServerTls | undefined;
    /** @default 10000 */
    handshakeTimeoutMs?: number | undefined;
  },
  handle: (conn: ServerConn) => Promise<void>,
): Promise<StreamServer> {
  const { hostname, port, tls } = options;
  const handshakeTimeoutMs = options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  let listener: Deno.Listener;
  let context: ServerTlsContext | undefined;
  try {
    if (tls !== undefined) {
      const [cert, key] = await Promise.all([
        Deno.readTextFile(tls.cert_file),
        Deno.readTextFile(tls.key_file),
      ]);
      context = serverTlsContext({ cert, key });
    }
    listener = Deno.listen({ hostname, port });
  } catch (error) {
    throw listenError(endpoint, error);
  }
  const connections = new Set<ServerConn>();
  const handlers = new Set<Promise<void>>();
  const serveOne = async (conn: ServerConn): Promise<void> => {
    if (conn instanceof TlsServerConn) {
      const timer = setTimeout(() => conn.close(), handshakeTimeoutMs);
      try {
        await conn.handshake();
      } finally {
        clearTimeout(timer);
      }
    }
    await handle(conn);
  };
  const serving = (async () => {
    for (;;) {
      let tcp: Deno.Conn;
      try {
        tcp = await listener.accept();
      } catch {
        return; // closed
      }
      const conn: ServerConn = context === undefined ? tcp : new TlsServerConn(tcp, context);
      connections.add(conn);
      const running = serveOne(conn).catch(() => {}).finally(() => {
        connections.delete(conn);
        closeQuietly(conn);
      });
      handlers.add(running);
      void running.finally(() => handlers.delete(running));
    }
  })();
  let stopping: Promise<void> | undefined;
  return {
    addr: listener.addr as Deno.NetAddr,
    shutdown() {
      stopping ??= (async () => {
        closeQuietly(listener);
        await serving;
        for (const conn of connections) closeQuietly(conn);
        await Promise.all(handlers);
      })();
      return stopping;
    },
  };
}

/**
 * A UDP socket bound to `hostname:port` (IPv6 when the host is).
 * @throws {Error} `Cannot listen on …` when it cannot be bound.
 */
export async function bindUdp(
  endpoint: string,
  hostname: string,
  port: number,
): Promise<dgram.Socket> {
  const socket = dgram.createSocket(hostname.includes(":") ? "udp6" : "udp4");
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(port, hostname || undefined, () => {
        socket.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    closeQuietly(socket);
    throw listenError(endpoint, error);
  }
  return socket;
}
