/**
 * An incremental decoder of the chunked transfer coding (RFC 9112 section 7.1): it is fed
 * whatever bytes have arrived and says how many it consumed and which of them are body data.
 * Chunk-size lines and the trailer section are bounded, so a client cannot make it buffer
 * without end; chunk extensions are skipped and trailer fields dropped.
 *
 * @module
 */

/** Malformed chunked framing. */
export class ChunkedError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "ChunkedError";
  }
}

/** The longest chunk-size line, extensions included. */
const MAX_SIZE_LINE = 4096;
/** The most chunk-size hex digits: 13 keep sizes below 2^52. */
const MAX_HEX_DIGITS = 13;

/** One step of {@linkcode ChunkedDecoder.step}. */
export interface ChunkedStep {
  /** Bytes of the input consumed (framing and data). */
  readonly consumed: number;
  /** Body data: `[from, to)` in the input, within the consumed bytes; empty when from === to. */
  readonly from: number;
  readonly to: number;
}

const enum State {
  /** Reading a chunk-size line. */
  Size,
  /** Inside chunk data. */
  Data,
  /** Expecting the CRLF after chunk data. */
  DataEnd,
  /** Reading trailer lines after the last chunk. */
  Trailer,
  /** The body ended. */
  Done,
}

/** Decodes one chunked body. */
export class ChunkedDecoder {
  #state = State.Size;
  /** Data bytes left in the current chunk. */
  #remaining = 0;
  /** Bytes of the current line seen so far (size line or trailer line). */
  #line = 0;
  /** Trailer bytes seen so far. */
  #trailer = 0;
  /** The current line has a CR waiting for its LF. */
  #cr = false;
  /** The size of the chunk whose size line is being read. */
  #size = 0;
  #digits = 0;
  /** The size line reached its extensions (or whitespace): no more digits. */
  #inExtension = false;
  readonly #maxTrailer: number;

  /** @param maxTrailerBytes the largest trailer section accepted */
  constructor(maxTrailerBytes: number) {
    this.#maxTrailer = maxTrailerBytes;
  }

  /** The body's last chunk and trailer section have been read. */
  get done(): boolean {
    return this.#state === State.Done;
  }

  /**
   * Consumes bytes of `buf[start, end)` up to and including the next data run (if any).
   *
   * @throws {ChunkedError} on malformed framing or over-long lines.
   */
  step(buf: Uint8Array, start: number, end: number): ChunkedStep {
    let i = start;
    while (i < end) {
      switch (this.#state) {
        case State.Data: {
          const n = Math.min(this.#remaining, end - i);
          this.#remaining -= n;
          if (this.#remaining === 0) this.#state = State.DataEnd;
          return { consumed: i + n - start, from: i, to: i + n };
        }
        case State.Size:
          i = this.#sizeByte(buf[i]!, i);
          break;
        case State.DataEnd: {
          const c = buf[i++]!;
          if (!this.#cr) {
            if (c !== 13) throw new ChunkedError("Missing CRLF after chunk data");
            this.#cr = true;
          } else {
            if (c !== 10) throw new ChunkedError("Missing CRLF after chunk data");
            this.#cr = false;
            this.#state = State.Size;
          }
          break;
        }
        case State.Trailer:
          i = this.#trailerByte(buf[i]!, i);
          break;
        case State.Done:
          return { consumed: i - start, from: i, to: i };
      }
    }
    return { consumed: i - start, from: i, to: i };
  }

  /** Handles one byte of a size line at `i`; returns the next index. */
  #sizeByte(c: number, i: number): number {
    if (++this.#line > MAX_SIZE_LINE) throw new ChunkedError("Chunk-size line too long");
    if (this.#cr) {
      if (c !== 10) throw new ChunkedError("Bare CR in chunk-size line");
      if (this.#digits === 0) throw new ChunkedError("Missing chunk size");
      this.#cr = false;
      this.#line = 0;
      this.#digits = 0;
      this.#inExtension = false;
      this.#remaining = this.#size;
      this.#state = this.#size === 0 ? State.Trailer : State.Data;
      this.#size = 0;
      return i + 1;
    }
    if (c === 13) {
      this.#cr = true;
      return i + 1;
    }
    if (c === 10) throw new ChunkedError("Bare LF in chunk-size line");
    if (this.#inExtension) return i + 1;
    const digit = hexValue(c);
    if (digit >= 0) {
      if (++this.#digits > MAX_HEX_DIGITS) throw new ChunkedError("Chunk size too large");
      this.#size = this.#size * 16 + digit;
      return i + 1;
    }
    if (this.#digits === 0) throw new ChunkedError("Malformed chunk size");
    if (c === 0x3b /* ; */ || c === 0x20 || c === 0x09) {
      this.#inExtension = true;
      return i + 1;
    }
    throw new ChunkedError("Malformed chunk size");
  }

  /** Handles one byte of the trailer section at `i`; returns the next index. */
  #trailerByte(c: number, i: number): number {
    if (++this.#trailer > this.#maxTrailer) throw new ChunkedError("Trailer section too large");
    if (this.#cr) {
      if (c !== 10) throw new ChunkedError("Bare CR in trailer section");
      this.#cr = false;
      if (this.#line === 0) this.#state = State.Done;
      this.#line = 0;
      return i + 1;
    }
    if (c === 13) {
      this.#cr = true;
      return i + 1;
    }
    if (c === 10) throw new ChunkedError("Bare LF in trailer section");
    this.#line++;
    return i + 1;
  }
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}
