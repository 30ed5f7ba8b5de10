/**
 * Reading request bodies with a size limit: never more than `limit + 1` bytes are held, and a body
 * over the limit is cancelled rather than drained.
 *
 * Bytes are copied into one buffer of their own as they arrive ({@linkcode ByteCollector}), never
 * kept as the stream's chunks: a chunk can be a view of a much larger buffer, so a client sending a
 * body one byte per chunk would otherwise pin 64 KiB per byte.
 *
 * @module
 */

/** A body (or its decompressed form) larger than the configured limit. */
export class BodyTooLargeError extends Error {
  /** The limit that was exceeded, in bytes. */
  readonly limit: number;

  /** Creates the error for a body over `limit` bytes. */
  constructor(limit: number, what = "Request body") {
    super(`${what} is larger than the limit: over ${limit} bytes`);
    this.name = "BodyTooLargeError";
    this.limit = limit;
  }
}

/** A body whose next chunk the reader's `admit` refused (a bound on bytes held was reached). */
export class BodyRefusedError extends Error {
  /** Creates the error. */
  constructor(what = "Request body") {
    super(`${what} does not fit the bytes in flight now`);
    this.name = "BodyRefusedError";
  }
}

/** The first buffer of a collector that was given no size hint. */
const INITIAL_CAPACITY = 16 * 1024;

/**
 * Bytes gathered into one growing buffer (doubling, never past the limit), bounded by a limit.
 * What it holds is its own copy: the arrays given to {@linkcode ByteCollector.push} are not kept.
 */
export class ByteCollector {
  #buffer: Uint8Array;
  #length = 0;
  readonly #limit: number;
  readonly #what: string;

  /**
   * @param limit the most bytes it holds; one more throws {@linkcode BodyTooLargeError}
   * @param sizeHint the expected total (a declared Content-Length), for the first buffer
   */
  constructor(limit: number, sizeHint = 0, what = "Request body") {
    this.#limit = limit;
    this.#what = what;
    const first = sizeHint > 0 ? sizeHint : INITIAL_CAPACITY;
    this.#buffer = new Uint8Array(Math.max(0, Math.min(first, limit)));
  }

  /** Bytes held. */
  get length(): number {
    return this.#length;
  }

  /**
   * Copies `chunk` in.
   * @throws {BodyTooLargeError} when the total would exceed the limit.
   */
  push(chunk: Uint8Array): void {
    const needed = this.#length + chunk.length;
    if (needed > this.#limit) throw new BodyTooLargeError(this.#limit, this.#what);
    if (needed > this.#buffer.length) {
      let capacity = Math.max(this.#buffer.length * 2, INITIAL_CAPACITY);
      while (capacity < needed) capacity *= 2;
      const grown = new Uint8Array(Math.min(capacity, this.#limit));
      grown.set(this.#buffer.subarray(0, this.#length));
      this.#buffer = grown;
    }
    this.#buffer.set(chunk, this.#length);
    this.#length = needed;
  }

  /** The bytes gathered: a view of the collector's buffer, which it no longer writes to. */
  bytes(): Uint8Array {
    return this.#buffer.subarray(0, this.#length);
  }
}

/** Options of {@linkcode readLimited}. */
export interface ReadLimitedOptions {
  /** Names the data in the error. @default "Request body" */
  what?: string;
  /** The expected size (a declared Content-Length), to allocate once. @default 0 */
  sizeHint?: number;
  /**
   * Told each chunk's length before it is kept; `false` stops reading with
   * {@linkcode BodyRefusedError} (the rest is not read). @default everything admitted
   */
  admit?: (bytes: number) => boolean;
}

/**
 * Reads a whole stream, failing as soon as more than `limit` bytes arrived. On failure the stream
 * is cancelled, so a client cannot make the server buffer more than one chunk past the limit.
 *
 * @throws {BodyTooLargeError} when the stream holds more than `limit` bytes.
 */
export async function readLimited(
  stream: ReadableStream<Uint8Array> | null,
  limit: number,
  options: ReadLimitedOptions = {},
): Promise<Uint8Array> {
  if (stream === null) return new Uint8Array(0);
  const reader = stream.getReader();
  const collected = new ByteCollector(limit, options.sizeHint ?? 0, options.what);
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      if (options.admit?.(value.length) === false) throw new BodyRefusedError(options.what);
      collected.push(value);
    }
  } catch (error) {
    reader.cancel().catch(() => {});
    throw error;
  } finally {
    reader.releaseLock();
  }
  return collected.bytes();
}
