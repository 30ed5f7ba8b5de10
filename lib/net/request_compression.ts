/**
 * Request body compression for HTTP clients, with the OpenTelemetry Collector's `compression`
 * names (confighttp): `gzip`, `zlib` and `deflate` (both the zlib format, sent as
 * `Content-Encoding: deflate`), `zstd`, `snappy` (the block format) and `x-snappy-framed`.
 * gzip and zlib use the platform's `CompressionStream`, zstd `node:zlib`, snappy `./snappy.ts`.
 *
 * @module
 */
import { zstdCompress } from "node:zlib";
import { snappyCompress, snappyFramedCompress } from "./snappy.ts";

/** A body compression a client can use; `none` sends the body as it is. */
export type RequestCompression =
  | "none"
  | "gzip"
  | "zlib"
  | "deflate"
  | "zstd"
  | "snappy"
  | "x-snappy-framed";

/** Every name of {@linkcode RequestCompression}, for schemas. */
export const REQUEST_COMPRESSIONS: readonly RequestCompression[] = [
  "none",
  "gzip",
  "zlib",
  "deflate",
  "zstd",
  "snappy",
  "x-snappy-framed",
];

/** The `Content-Encoding` header a compression is sent with, undefined for `none`. */
export function contentEncodingOf(compression: RequestCompression): string | undefined {
  switch (compression) {
    case "none":
      return undefined;
    case "zlib":
      return "deflate";
    default:
      return compression;
  }
}

function join(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

async function viaStream(parts: readonly Uint8Array[], format: CompressionFormat) {
  const blob = new Blob(parts as Uint8Array<ArrayBuffer>[]);
  return await new Response(blob.stream().pipeThrough(new CompressionStream(format))).bytes();
}

/** Compresses a body given as one buffer or as parts (sent in order). */
export async function compressRequestBody(
  body: Uint8Array | readonly Uint8Array[],
  compression: RequestCompression,
): Promise<Uint8Array | readonly Uint8Array[]> {
  const parts = body instanceof Uint8Array ? [body] : body;
  switch (compression) {
    case "none":
      return body;
    case "gzip":
      return await viaStream(parts, "gzip");
    case "zlib":
    case "deflate":
      return await viaStream(parts, "deflate");
    case "zstd":
      return await new Promise<Uint8Array>((resolve, reject) =>
        zstdCompress(join(parts), (error, out) => error ? reject(error) : resolve(out))
      );
    case "snappy":
      return snappyCompress(join(parts));
    case "x-snappy-framed":
      return snappyFramedCompress(join(parts));
  }
}
