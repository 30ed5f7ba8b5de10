/**
 * Request body decompression with a size limit that defeats compression bombs: output is counted
 * as it appears and the decoder is destroyed as soon as it passes the limit, so no more than the
 * limit plus one output chunk is ever held, whatever the compression ratio. gzip (every member of a
 * multi-member stream, RFC 1952), deflate (zlib, RFC 1950, its adler32 trailer checked) and zstd
 * use `node:zlib`'s streaming decoders; the output is copied into one buffer as it arrives
 * (`ByteCollector`). A zstd body must consist of whole frames, all of which are decoded: the
 * decoder itself returns what it got of a truncated frame, and stops after the first frame, so the
 * frames' block headers are walked first and each frame is decoded on its own.
 *
 * @module
 */
import { createGunzip, createInflate, createZstdDecompress } from "node:zlib";
import { BodyTooLargeError, ByteCollector } from "./body.ts";
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
    case "zstd":
      return inflateZstd(bytes, limit);
    default:
      return inflate(bytes, coding, newOutput(limit)).then((out) => out.bytes());
  }
}

function newOutput(limit: number): ByteCollector {
  return new ByteCollector(limit, 0, "Decompressed request body");
}

/** Inflates each data frame on its own: the decoder stops after the first frame it reads. */
async function inflateZstd(bytes: Uint8Array, limit: number): Promise<Uint8Array> {
  const frames = zstdFrames(bytes);
  if (typeof frames === "string") {
    throw new DecompressionError("zstd", { cause: new Error(frames) });
  }
  const out = newOutput(limit);
  for (const [start, end] of frames) await inflate(bytes.subarray(start, end), "zstd", out);
  return out.bytes();
}

function decoderFor(coding: "gzip" | "deflate" | "zstd") {
  switch (coding) {
    case "gzip":
      return createGunzip();
    case "deflate":
      return createInflate();
    case "zstd":
      return createZstdDecompress();
  }
}

/** Inflates `bytes` onto `out`. */
function inflate(
  bytes: Uint8Array,
  coding: "gzip" | "deflate" | "zstd",
  out: ByteCollector,
): Promise<ByteCollector> {
  return new Promise((resolve, reject) => {
    const decoder = decoderFor(coding);
    let settled = false;
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      decoder.destroy();
      reject(error);
    };
    decoder.on("data", (chunk: Uint8Array) => {
      if (settled) return;
      try {
        out.push(chunk);
      } catch (error) {
        fail(error as Error);
      }
    });
    decoder.on("error", (error: Error) => fail(new DecompressionError(coding, { cause: error })));
    decoder.on("end", () => {
      if (settled) return;
      settled = true;
      resolve(out);
    });
    decoder.end(bytes);
  });
}

const ZSTD_MAGIC = 0xfd2fb528;
const DICTIONARY_ID_BYTES = [0, 1, 2, 4];
const CONTENT_SIZE_BYTES = [0, 2, 4, 8];

/**
 * The data frames of `bytes` as `[start, end)` offsets, or why it is not a sequence of whole zstd
 * frames and skippable frames (RFC 8878). Only headers are read: block contents are the decoder's
 * business.
 */
export function zstdFrames(bytes: Uint8Array): [number, number][] | string {
  const frames: [number, number][] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const len = bytes.length;
  if (len === 0) return "empty body";
  let pos = 0;
  while (pos < len) {
    if (pos + 4 > len) return `truncated frame magic at offset ${pos}`;
    const magic = view.getUint32(pos, true);
    if ((magic & 0xfffffff0) === 0x184d2a50) {
      if (pos + 8 > len) return `truncated skippable frame at offset ${pos}`;
      pos += 8 + view.getUint32(pos + 4, true);
      continue;
    }
    if (magic !== ZSTD_MAGIC) return `not a zstd frame at offset ${pos}`;
    const frameStart = pos;
    pos += 4;
    if (pos >= len) return "truncated frame header";
    const descriptor = bytes[pos]!;
    const singleSegment = (descriptor >> 5) & 1;
    const contentSizeFlag = descriptor >> 6;
    const contentSizeBytes = contentSizeFlag === 0
      ? singleSegment
      : CONTENT_SIZE_BYTES[contentSizeFlag]!;
    pos += 1 + (singleSegment ? 0 : 1) + DICTIONARY_ID_BYTES[descriptor & 3]! + contentSizeBytes;
    for (;;) {
      if (pos + 3 > len) return `truncated block header at offset ${pos}`;
      const header = bytes[pos]! | (bytes[pos + 1]! << 8) | (bytes[pos + 2]! << 16);
      const type = (header >> 1) & 3;
      if (type === 3) return `reserved block type at offset ${pos}`;
      pos += 3 + (type === 1 ? 1 : header >>> 3);
      if ((header & 1) === 1) break;
    }
    if ((descriptor >> 2) & 1) pos += 4;
    if (pos > len) return "truncated frame";
    frames.push([frameStart, pos]);
  }
  if (pos !== len) return "truncated skippable frame";
  return frames.length > 0 ? frames : "no data frame";
}
