/**
 * Raw TCP clients for HTTP/1.1 server tests: send exact bytes, read what comes back, and tell
 * whether the server closed the connection (as opposed to the test giving up waiting).
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What a raw read saw. */
export interface RawResult {
  /** Everything read, as text. */
  readonly text: string;
  /** The server closed (or reset) the connection; false when the wait ran out first. */
  readonly closedByServer: boolean;
}

/** Opens a TCP connection to 127.0.0.1:`port`. */
export function connect(port: number): Promise<Deno.TcpConn> {
  return Deno.connect({ hostname: "127.0.0.1", port });
}

/** Writes text (or bytes) to `conn`. */
export async function send(conn: Deno.Conn, data: string | Uint8Array): Promise<void> {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

/**
 * Reads until the server closes the connection or `waitMs` pass (then the test closes it).
 * `until`, when given, stops reading early once the text read so far satisfies it.
 */
export async function readUntilClosed(
  conn: Deno.Conn,
  waitMs: number,
  until?: (text: string) => boolean,
): Promise<RawResult> {
  let text = "";
  let gaveUp = false;
  const timer = setTimeout(() => {
    gaveUp = true;
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  }, waitMs);
  const buf = new Uint8Array(64 * 1024);
  try {
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += decoder.decode(buf.subarray(0, n));
      if (until?.(text)) {
        clearTimeout(timer);
        return { text, closedByServer: false };
      }
    }
  } catch {
    // A reset by the server, or the close by the timer.
  } finally {
    clearTimeout(timer);
  }
  return { text, closedByServer: !gaveUp };
}

/** Closes `conn`, ignoring a connection already closed. */
export function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}

/** The status codes of the responses in `text`, in order. */
export function statuses(text: string): number[] {
  return [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
}
