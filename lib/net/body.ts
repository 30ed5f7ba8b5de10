/**
 * Reading request bodies with a size limit: never more than `limit + 1` bytes are held, and a body
 * over the limit is cancelled rather than drained.
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

/** Joins chunks into one array; a single chunk is returned as is. */
export function concatChunks(chunks: readonly Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
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
  what = "Request body",
): Promise<Uint8Array> {
  if (stream === null) return new Uint8Array(0);
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > limit) throw new BodyTooLargeError(limit, what);
      chunks.push(value);
    }
  } catch (error) {
    reader.cancel().catch(() => {});
    throw error;
  } finally {
    reader.releaseLock();
  }
  return concatChunks(chunks, total);
}
