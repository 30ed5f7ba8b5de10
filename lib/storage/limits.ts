/**
 * The limits Deno KV enforces on one write, measured on Deno 2.9.6 (`deno_kv` rejects a commit that
 * breaks one with a `TypeError`), and the byte size of a key as the KV counts it.
 *
 * | limit | value |
 * | --- | --- |
 * | one value | 65 536 bytes (a `Uint8Array` counts its length) |
 * | one key | 2 048 bytes |
 * | mutations in one atomic commit | 1 000 |
 * | keys + values of one atomic commit | 819 200 bytes (800 KiB) |
 * | keys of one atomic commit | 81 920 bytes (80 KiB) |
 * | checks in one atomic commit | 100 |
 * | keys in one `getMany` | 10 |
 *
 * (The old limit of 10 mutations per commit is gone; the size limits are what binds.)
 *
 * @module
 */

/** The largest value Deno KV stores, in bytes. */
export const KV_MAX_VALUE_BYTES = 65_536;
/** The largest key Deno KV writes, in bytes. */
export const KV_MAX_KEY_BYTES = 2_048;
/** The most mutations one atomic commit may hold. */
export const KV_MAX_MUTATIONS = 1_000;
/** The most bytes (keys and values) one atomic commit may hold. */
export const KV_MAX_COMMIT_BYTES = 819_200;
/** The most key bytes one atomic commit may hold. */
export const KV_MAX_COMMIT_KEY_BYTES = 81_920;

const encoder = new TextEncoder();

/**
 * An upper bound of the bytes a key takes in Deno KV's tuple encoding: a tag and a terminator per
 * string or byte part (each zero byte escaped as two), nine bytes per number, and a generous bound
 * for the rest.
 */
/** True when every character of `text` is ASCII other than NUL: its UTF-8 length is its length. */
function plainAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0 || c > 0x7f) return false;
  }
  return true;
}

export function keySize(key: Deno.KvKey): number {
  let size = 0;
  for (const part of key) {
    if (typeof part === "string") {
      if (plainAscii(part)) {
        size += 2 + part.length; // the usual key part: no encoding needed to know its size
        continue;
      }
      const bytes = encoder.encode(part);
      size += 2 + bytes.length + countZeros(bytes);
    } else if (part instanceof Uint8Array) {
      size += 2 + part.length + countZeros(part);
    } else if (typeof part === "number") {
      size += 9;
    } else if (typeof part === "bigint") {
      size += 2 + Math.ceil(part.toString(16).length / 2);
    } else {
      size += 1;
    }
  }
  return size;
}

function countZeros(bytes: Uint8Array): number {
  let n = 0;
  for (const b of bytes) if (b === 0) n++;
  return n;
}
