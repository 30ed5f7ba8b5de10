/**
 * Minimal HTTP/1.1 message reading over a raw `Deno.Conn`, for the cheap benchmark harness
 * (`raw_gen.ts`, `drain_sink.ts`): one reusable buffer per connection, the head parsed as text
 * (one small string per message), the body skipped and counted, never kept. `Content-Length` and
 * `chunked` bodies; no trailers, no pipelining beyond what the buffer already holds.
 *
 * @module
 */

/** One connection's read state: a reusable buffer and the unread bytes in it. */
export interface RawReader {
  readonly conn: Deno.Conn;
  readonly buf: Uint8Array;
  /** The first unread byte. */
  start: number;
  /** One past the last unread byte. */
  end: number;
}

/** The parts of a message head the harness needs. */
export interface RawHead {
  /** The status code of a response, or 0 for a request. */
  readonly status: number;
  /** The request target of a request, or "" for a response. */
  readonly target: string;
  /** `Content-Length`, or -1 when absent. */
  readonly contentLength: number;
  readonly chunked: boolean;
  /** `Connection: close` was sent. */
  readonly close: boolean;
}

const decoder = new TextDecoder("latin1");

/** A reader over `conn` with a buffer of `size` bytes (the longest head it accepts). */
export function rawReader(conn: Deno.Conn, size = 64 * 1024): RawReader {
  return { conn, buf: new Uint8Array(size), start: 0, end: 0 };
}

/** Reads more bytes into the buffer (compacting it first); false at end of stream. */
async function fill(r: RawReader): Promise<boolean> {
  if (r.start === r.end) {
    r.start = 0;
    r.end = 0;
  } else if (r.end === r.buf.length) {
    if (r.start === 0) throw new Error("HTTP head longer than the read buffer");
    r.buf.copyWithin(0, r.start, r.end);
    r.end -= r.start;
    r.start = 0;
  }
  const n = await r.conn.read(r.buf.subarray(r.end));
  if (n === null) return false;
  r.end += n;
  return true;
}

/** The index just past the next CRLF at or after `from`, or -1. */
function lineEnd(r: RawReader, from: number): number {
  for (let i = from; i + 1 < r.end; i++) {
    if (r.buf[i] === 13 && r.buf[i + 1] === 10) return i + 2;
  }
  return -1;
}

/** The index just past the next CRLFCRLF at or after `r.start`, or -1. */
function headEnd(r: RawReader): number {
  const b = r.buf;
  for (let i = r.start; i + 3 < r.end; i++) {
    if (b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) return i + 4;
  }
  return -1;
}

/**
 * Reads the next message head; resolves to undefined when the peer closed the connection before
 * sending one. Throws on a malformed head.
 */
export async function readHead(r: RawReader): Promise<RawHead | undefined> {
  let end = headEnd(r);
  while (end < 0) {
    if (!await fill(r)) {
      if (r.start === r.end) return undefined;
      throw new Error("connection closed inside an HTTP head");
    }
    end = headEnd(r);
  }
  const text = decoder.decode(r.buf.subarray(r.start, end - 4));
  r.start = end;
  const lines = text.split("\r\n");
  const first = lines[0]!.split(" ");
  const response = first[0]!.startsWith("HTTP/");
  const status = response ? Number(first[1]) : 0;
  if (response && !(status >= 100 && status < 600)) throw new Error(`bad status line ${lines[0]}`);
  let contentLength = -1;
  let chunked = false;
  let close = false;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(":");
    if (colon < 0) throw new Error(`bad header line ${line}`);
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim().toLowerCase();
    if (name === "content-length") {
      contentLength = Number(value);
      if (!Number.isSafeInteger(contentLength) || contentLength < 0) {
        throw new Error(`bad content-length ${value}`);
      }
    } else if (name === "transfer-encoding") chunked = value.includes("chunked");
    else if (name === "connection") close = value.includes("close");
  }
  return { status, target: response ? "" : first[1] ?? "", contentLength, chunked, close };
}

/** Skips `n` body bytes; throws when the stream ends first. */
async function skip(r: RawReader, n: number): Promise<void> {
  let left = n;
  for (;;) {
    const take = Math.min(left, r.end - r.start);
    r.start += take;
    left -= take;
    if (left === 0) return;
    if (!await fill(r)) throw new Error("connection closed inside an HTTP body");
  }
}

/** Reads up to and past the next CRLF; resolves to the line without it. */
async function readLine(r: RawReader): Promise<string> {
  let end = lineEnd(r, r.start);
  while (end < 0) {
    if (!await fill(r)) throw new Error("connection closed inside a chunked body");
    end = lineEnd(r, r.start);
  }
  const line = decoder.decode(r.buf.subarray(r.start, end - 2));
  r.start = end;
  return line;
}

/**
 * Skips the body of a message with `head` (a request without length or chunking has none);
 * resolves to the body's length in bytes.
 */
export async function skipBody(r: RawReader, head: RawHead): Promise<number> {
  if (!head.chunked) {
    const n = Math.max(0, head.contentLength);
    await skip(r, n);
    return n;
  }
  let total = 0;
  for (;;) {
    const size = parseInt(await readLine(r), 16);
    if (!Number.isSafeInteger(size) || size < 0) throw new Error("bad chunk size");
    if (size === 0) {
      // No trailers: the empty line that ends the body.
      while ((await readLine(r)) !== "");
      return total;
    }
    await skip(r, size + 2);
    total += size;
  }
}

/** Writes all of `bytes` to `conn`. */
export async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}
