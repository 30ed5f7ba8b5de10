/**
 * A TCP (or TLS) listener for stream protocols (Fluent Forward, syslog) and a UDP socket bound
 * beside it: one accept loop, every connection handled by its own call and tracked, and a
 * shutdown that stops accepting, closes what is open and waits for the handlers to return.
 *
 * @module
 */
import dgram from "node:dgram";
import { listenError } from "./listen_error.ts";

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
 * `handle` returns or throws.
 * @throws {Error} `Cannot listen on …` when the address cannot be bound or the TLS files read.
 */
export async function serveStream(
  endpoint: string,
  options: { hostname: string; port: number; tls?: StreamServerTls | undefined },
  handle: (conn: Deno.Conn) => Promise<void>,
): Promise<StreamServer> {
  const { hostname, port, tls } = options;
  let listener: Deno.Listener;
  try {
    if (tls !== undefined) {
      const [cert, key] = await Promise.all([
        Deno.readTextFile(tls.cert_file),
        Deno.readTextFile(tls.key_file),
      ]);
      listener = Deno.listenTls({ hostname, port, cert, key });
    } else {
      listener = Deno.listen({ hostname, port });
    }
  } catch (error) {
    throw listenError(endpoint, error);
  }
  const connections = new Set<Deno.Conn>();
  const handlers = new Set<Promise<void>>();
  const serving = (async () => {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch {
        return; // closed
      }
      connections.add(conn);
      const running = handle(conn).catch(() => {}).finally(() => {
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
