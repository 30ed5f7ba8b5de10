/**
 * Request body decompression with a size limit that defeats compression bombs: the compressed
 * bytes are fed in small slices and output is counted as it appears, so no more than about twice
 * the limit is ever held, whatever the compression ratio. gzip and deflate (zlib) use the web
 * `DecompressionStream`; zstd uses `node:zlib`'s streaming decoder.
 *
 * @module
 */
import { createZstdDecompress } from "node:zlib";
import { BodyTooLargeError, concatChunks } from "./body.ts";

/** A content coding this module decodes. */
export type ContentCoding = "identity" | "gzip" | "deflate" | "zstd";

/** Content codings accepted in `Content-Encoding` / `grpc-encoding`, by lower-case name. */
const CODINGS: ReadonlyMap<string, ContentCoding> = new Map([
  ["", "identity"],
  ["identity", "identity"],
  ["gzip", "gzip"],
  ["x-gzip", "gzip"],
  ["deflate", "deflate"],
  ["zlib", "deflate"],
  ["zstd", "zstd"],
]);

/** The content codings {@linkcode parseContentCoding} accepts, for error messages. */
export const SUPPORTED_CODINGS: readonly string[] = ["gzip", "deflate", "zlib", "zstd"];

/**
 * The coding named by a `Content-Encoding` header (absent or empty means identity), or undefined
 * when it is not supported. A list of codings (`gzip, br`) is not supported.
 */
export function parseContentCoding(header: string | null): ContentCoding | undefined {
  return CODINGS.get((header ?? "").trim().toLowerCase());
}

/** Compressed data that does not decode: corrupt, truncated or of another format. */
export class DecompressionError extends Error {
  /** Creates the error; `cause` is the decoder's own error. */
  constructor(coding: ContentCoding, options?: ErrorOptions) {
    const detail = options?.cause instanceof Error ? `: ${options.cause.message}` : "";
    super(`Cannot decompress the ${coding} body${detail}`, options);
    this.name = "DecompressionError";
  }
}

/** The largest deflate expansion per input byte (the format's theoretical bound is ~1032). */
const MAX_DEFLATE_RATIO = 1032;

/**
 * Decompresses `bytes`, failing as soon as the output exceeds `limit` bytes.
 *
 * @throws {BodyTooLargeError} when the decompressed data is larger than `limit`.
 * @throws {DecompressionError} when the data is not valid for `coding`.
 */
export function decompress(
  bytes: Uint8Array,
  coding: ContentCoding,
  limit: number,
): Promise<Uint8Array> {
  switch (coding) {
    case "identity":
      if (bytes.length > limit) return Promise.reject(new BodyTooLargeError(limit));
      return Promise.resolve(bytes);
    case "gzip":
    case "deflate":
      return decompressWeb(bytes, coding, limit);
    case "zstd":
      return decompressZstd(bytes, limit);
  }
}

function tooLarge(limit: number): BodyTooLargeError {
  return new BodyTooLargeError(limit, "Decompressed request body");
}

async function decompressWeb(
  bytes: Uint8Array,
  coding: "gzip" | "deflate",
  limit: number,
): Promise<Uint8Array> {
  // DecompressionStream inflates each written chunk completely, so the slice size bounds what
  // one write can produce: about `limit` bytes at the worst ratio.
  const slice = Math.min(65_536, Math.max(256, Math.floor(limit / MAX_DEFLATE_RATIO)));
  const stream = new DecompressionStream(coding);
  const writer = stream.writable.getWriter();
  const reader = stream.readable.getReader();
  const feeding = (async () => {
    for (let offset = 0; offset < bytes.length; offset += slice) {
      // A view of a plain ArrayBuffer in practice; the cast only satisfies BufferSource.
      await writer.write(bytes.subarray(offset, offset + slice) as Uint8Array<ArrayBuffer>);
    }
    await writer.close();
  })();
  // Errors of the writing side reappear on the reading side; this keeps them from going unhandled.
  feeding.catch(() => {});
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    while (true) {
      let result: ReadableStreamReadResult<Uint8Array>;
      try {
        result = await reader.read();
      } catch (error) {
        throw new DecompressionError(coding, { cause: error });
      }
      if (result.done) break;
      total += result.value.length;
      if (total > limit) throw tooLarge(limit);
      chunks.push(result.value);
    }
  } catch (error) {
    await reader.cancel().catch(() => {});
    writer.abort().catch(() => {});
    throw error;
  }
  return concatChunks(chunks, total);
}

function decompressZstd(bytes: Uint8Array, limit: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const decoder = createZstdDecompress();
    const chunks: Uint8Array[] = [];
    let total = 0;
    let settled = false;
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      decoder.destroy();
      reject(error);
    };
    decoder.on("data", (chunk: Uint8Array) => {
      if (settled) return;
      total += chunk.length;
      if (total > limit) return fail(tooLarge(limit));
      chunks.push(chunk);
    });
    decoder.on("error", (error: Error) => fail(new DecompressionError("zstd", { cause: error })));
    decoder.on("end", () => {
      if (settled) return;
      settled = true;
      resolve(concatChunks(chunks, total));
    });
    decoder.end(bytes);
  });
}
