/**
 * Compression of the persistent queue's stored items: zstd at level 1 with a content checksum,
 * through `node:zlib`. OTLP protobuf typically shrinks 5–10×, and Deno KV's write rate, not the
 * CPU, bounds the queue, so fewer stored bytes mean more items a second. The checksum makes a
 * damaged stored item fail to decompress instead of decoding to garbage.
 *
 * Small items, and items that do not shrink by at least an eighth (random or already compressed
 * bytes), are stored as they are. Items of 1 MiB and more are compressed on the thread pool to keep
 * the event loop free; smaller ones synchronously, where a thread hop costs more than the work. Decompression
 * is always synchronous (about 0.6 ms a MB): Deno 2.9's asynchronous `zstdDecompress` throws a
 * failed checksum as an uncaught error instead of passing it to the callback, which would take the
 * process down on one damaged item.
 *
 * @module
 */
import { constants, zstdCompress, zstdCompressSync, zstdDecompressSync } from "node:zlib";

/** The stored form's codec name, as written in the index entry. */
export const ZSTD = "zstd";

/** Items smaller than this are stored uncompressed. */
export const MIN_COMPRESS_BYTES = 1024;

/**
 * From this size on, compression runs off the event loop. Below it, zstd at level 1 takes about a
 * millisecond per 256 KiB, less than a thread-pool hop costs on a loaded machine (where that hop
 * took tens of milliseconds); requests merged for a journaled queue stay under it.
 */
const ASYNC_BYTES = 1024 * 1024;

const COMPRESS_OPTIONS = {
  params: {
    [constants.ZSTD_c_compressionLevel]: 1,
    [constants.ZSTD_c_checksumFlag]: 1,
  },
};

/** An item as stored: its bytes and, when compressed, the codec. */
export interface StoredForm {
  readonly bytes: Uint8Array;
  readonly codec?: typeof ZSTD;
}

function asBytes(buffer: Uint8Array): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/** The stored form of `raw`: compressed when that pays (see the module notes). */
export async function compressItem(raw: Uint8Array): Promise<StoredForm> {
  if (raw.length < MIN_COMPRESS_BYTES) return { bytes: raw };
  let packed: Uint8Array;
  try {
    packed = raw.length < ASYNC_BYTES
      ? zstdCompressSync(raw, COMPRESS_OPTIONS)
      : await new Promise<Uint8Array>((resolve, reject) =>
        zstdCompress(raw, COMPRESS_OPTIONS, (error, out) => error ? reject(error) : resolve(out))
      );
  } catch {
    return { bytes: raw }; // stored as it is: compression is an optimisation, never a failure
  }
  return packed.length <= raw.length - raw.length / 8
    ? { bytes: asBytes(packed), codec: ZSTD }
    : { bytes: raw };
}

/**
 * The raw bytes of a compressed stored item of `rawBytes` bytes, or why they cannot be had
 * (damaged data, a failed checksum, or a length other than `rawBytes`). Never throws.
 */
export function decompressItem(stored: Uint8Array, rawBytes: number): Uint8Array | string {
  // One byte more than expected lets a too-long result be told apart without inflating a bomb.
  const options = { maxOutputLength: Math.max(1, rawBytes + 1) };
  let raw: Uint8Array;
  try {
    raw = zstdDecompressSync(stored, options);
  } catch (error) {
    return `the stored data does not decompress: ${
      error instanceof Error ? error.message : String(error)
    }`;
  }
  if (raw.length !== rawBytes) {
    return `the stored data decompresses to ${raw.length} bytes, not ${rawBytes}`;
  }
  return asBytes(raw);
}
