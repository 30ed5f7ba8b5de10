/**
 * A fast, well-mixed 32-bit hash of bytes for placing keys (trace IDs, service names) on shards
 * and hash rings. Not for security.
 *
 * @module
 */

/**
 * FNV-1a over `[start, end)` of `buf`, finished with Murmur3's avalanche so that every input bit
 * reaches the high bits (nearby inputs spread out, and multiply-shift range reduction is uniform).
 */
export function hashRange(buf: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) {
    h ^= buf[i]!;
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
