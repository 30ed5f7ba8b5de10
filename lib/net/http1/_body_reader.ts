/**
 * One request's body as its connection reads it for the handler: Content-Length bodies straight
 * from the socket (into one buffer of the declared length when read whole), chunked bodies through
 * {@linkcode ChunkedDecoder}, `100 Continue` sent on the first read of a client that waits for it.
 *
 * @module
 */
import { ChunkedDecoder } from "./_chunked.ts";
import type { RequestHead } from "./_head.ts";
import type { BodySource } from "./request.ts";

/** The largest body chunk read from the socket at once. */
export const BODY_CHUNK = 64 * 1024;
const CONTINUE = new TextEncoder().encode("HTTP/1.1 100 Continue\r\n\r\n");

/** The connection was closed under a pending read or write (deadline, shutdown, or the peer). */
export class ConnectionClosed extends Error {
  /** Creates the error. */
  constructor(message = "Connection closed") {
    super(message);
    this.name = "ConnectionClosed";
  }
}

/** What a body reader needs of its connection. */
export interface BodyWire {
  /** Buffered request bytes not consumed yet. */
  readonly buffered: number;
  /** Takes up to `max` buffered bytes, as a copy. */
  take(max: number): Uint8Array;
  /** Moves buffered bytes into `into` (as many as fit); returns how many. */
  takeInto(into: Uint8Array): number;
  /** Drops `n` buffered bytes. */
  skip(n: number): void;
  /** Runs a chunked decoder over the buffered bytes; returns the body data it yields (a copy). */
  decodeBuffered(decoder: ChunkedDecoder): Uint8Array | undefined;
  /** Reads more bytes into the buffer; false at end of stream. */
  fill(): Promise<boolean>;
  /** Reads body bytes straight from the socket into `into`; null at end of stream. */
  readDirect(into: Uint8Array): Promise<number | null>;
  /** Writes all of `bytes`. */
  write(bytes: Uint8Array): Promise<void>;
  /** The body was read to its end: the whole-request deadline no longer applies. */
  bodyDone(): void;
}

/** One request's body, read from its connection as the handler asks for it. */
export class BodyReader implements BodySource {
  readonly #conn: BodyWire;
  /** Body bytes left, for a Content-Length body. */
  #remaining: number;
  readonly #chunked: ChunkedDecoder | undefined;
  #continued: boolean;
  #complete: boolean;
  readonly sizeHint: number;

  /** Reads the body that `head` declares from `conn`. */
  constructor(conn: BodyWire, head: RequestHead) {
    this.#conn = conn;
    this.#remaining = head.contentLength ?? 0;
    this.sizeHint = this.#remaining;
    this.#chunked = head.chunked ? new ChunkedDecoder(4 * 1024) : undefined;
    this.#complete = this.#chunked === undefined && this.#remaining === 0;
    // A client waiting for 100 Continue sends nothing before it; once bytes are here, it is not.
    this.#continued = !head.expectContinue || conn.buffered > 0;
    if (this.#complete) conn.bodyDone();
  }

  /** The body was read to its end, so the next request starts right after it. */
  get complete(): boolean {
    return this.#complete;
  }

  #finish(): void {
    this.#complete = true;
    this.#conn.bodyDone();
  }

  /** Completes a Content-Length body whose rest is all buffered by skipping it. */
  skipBuffered(): void {
    if (this.#complete || this.#chunked !== undefined || !this.#continued) return;
    if (this.#conn.buffered < this.#remaining) return;
    this.#conn.skip(this.#remaining);
    this.#remaining = 0;
    this.#finish();
  }

  /** The rest of a Content-Length body in one buffer of its length, read straight into it. */
  rest(): Promise<Uint8Array> | undefined {
    if (this.#chunked !== undefined) return undefined;
    return this.#rest();
  }

  async #rest(): Promise<Uint8Array> {
    const out = new Uint8Array(this.#remaining);
    if (out.length === 0) return out;
    if (!this.#continued) {
      this.#continued = true;
      await this.#conn.write(CONTINUE);
    }
    let filled = this.#conn.takeInto(out);
    while (filled < out.length) {
      const n = await this.#conn.readDirect(out.subarray(filled));
      if (n === null) throw new ConnectionClosed("Connection closed before the body ended");
      filled += n;
    }
    this.#remaining = 0;
    this.#finish();
    return out;
  }

  /** The next chunk of the body (a copy or a buffer of its own), null at its end. */
  async next(): Promise<Uint8Array | null> {
    if (this.#complete) return null;
    if (!this.#continued) {
      this.#continued = true;
      await this.#conn.write(CONTINUE);
    }
    if (this.#chunked !== undefined) return await this.#nextChunked(this.#chunked) ?? null;
    let chunk: Uint8Array;
    if (this.#conn.buffered > 0) {
      chunk = this.#conn.take(this.#remaining);
    } else {
      const into = new Uint8Array(Math.min(this.#remaining, BODY_CHUNK));
      const n = await this.#conn.readDirect(into);
      if (n === null) throw new ConnectionClosed("Connection closed before the body ended");
      // A small read is copied out, so a body sent a few bytes at a time pins no big buffers.
      chunk = n < into.length / 2 ? into.slice(0, n) : into.subarray(0, n);
    }
    this.#remaining -= chunk.length;
    if (this.#remaining === 0) this.#finish();
    return chunk;
  }

  async #nextChunked(decoder: ChunkedDecoder): Promise<Uint8Array | undefined> {
    for (;;) {
      if (this.#conn.buffered > 0) {
        const data = this.#conn.decodeBuffered(decoder);
        if (decoder.done) this.#finish();
        if (data !== undefined) return data;
      }
      if (decoder.done) {
        this.#finish();
        return undefined;
      }
      if (!(await this.#conn.fill())) {
        throw new ConnectionClosed("Connection closed before the body ended");
      }
    }
  }
}
