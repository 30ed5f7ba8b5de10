/**
 * A nearly free OTLP/HTTP sink, run as its own process: raw HTTP/1.1 over `Deno.listen`, reads
 * each request's body into one reusable buffer per connection, counts its bytes and answers 200
 * with an empty body (a full-success OTLP response). It does not look at the items — the
 * benchmark counts them from tfo's own metrics; the byte count cross-checks them. A malformed
 * request gets a 400 and the connection is closed; the process keeps serving.
 *
 * ```sh
 * deno run -A bench/drain_sink.ts --port 34318
 * ```
 *
 * `GET /stats` returns {@linkcode DrainStats} as JSON. Prints `ready` once it listens.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { rawReader, readHead, skipBody, writeAll } from "./_raw_http.ts";

/** What the sink reports on `GET /stats`. */
export interface DrainStats {
  /** Requests answered 200 since start (`/stats` not included). */
  requests: number;
  /** Body bytes of those requests. */
  bytes: number;
  /** Malformed requests answered 400. */
  rejected: number;
}

const encoder = new TextEncoder();
const OK = encoder.encode(
  "HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n",
);
const BAD = encoder.encode(
  "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
);

function json(value: unknown): Uint8Array {
  const body = JSON.stringify(value);
  return encoder.encode(
    `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: { port: { type: "string", default: "34318" } },
  });
  const stats: DrainStats = { requests: 0, bytes: 0, rejected: 0 };
  const listener = Deno.listen({ hostname: "127.0.0.1", port: Number(values.port) });
  console.log("ready");

  async function serve(conn: Deno.Conn): Promise<void> {
    const reader = rawReader(conn, 256 * 1024);
    try {
      for (;;) {
        let head;
        try {
          head = await readHead(reader);
          if (head === undefined) return;
          const n = await skipBody(reader, head);
          if (head.target === "/stats") {
            await writeAll(conn, json(stats));
          } else {
            stats.requests++;
            stats.bytes += n;
            await writeAll(conn, OK);
          }
        } catch (error) {
          if (
            error instanceof Deno.errors.BadResource || error instanceof Deno.errors.ConnectionReset
          ) return;
          stats.rejected++;
          await writeAll(conn, BAD).catch(() => {});
          return;
        }
        if (head.close) return;
      }
    } finally {
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    }
  }

  for await (const conn of listener) {
    (conn as Deno.TcpConn).setNoDelay(true);
    serve(conn).catch(() => {});
  }
}

if (import.meta.main) await main();
