/**
 * FNV-1a hashes as Go's `hash/fnv` computes them: 32 bits (the probabilistic sampler's
 * `hash_seed` mode) and 64 bits (the tail sampler's `probabilistic` policy).
 *
 * @module
 */

const FNV32_OFFSET = 0x811c9dc5;
const FNV32_PRIME = 0x01000193;

/** FNV-1a 32 over the parts, one after the other (as repeated `Write` calls). */
export function fnv1a32(...parts: readonly Uint8Array[]): number {
  let h = FNV32_OFFSET;
  for (const part of parts) {
    for (let i = 0; i < part.length; i++) {
      h ^= part[i]!;
      h = Math.imul(h, FNV32_PRIME);
    }
  }
  return h >>> 0;
}

/**
 * FNV-1a 64 over the parts, as an unsigned `bigint`. The state is kept as four 16-bit limbs so
 * that no `bigint` arithmetic runs per byte.
 */
export function fnv1a64(...parts: readonly Uint8Array[]): bigint {
  const h: number[] = [0, 0, 0, 0];
  fnv1a64Into(h, ...parts);
  return (BigInt(h[3]!) << 48n) | (BigInt(h[2]!) << 32n) | (BigInt(h[1]!) << 16n) | BigInt(h[0]!);
}

/** A 64-bit value as four 16-bit limbs, low to high (the form {@linkcode fnv1a64Into} writes). */
export function fnv64Limbs(v: bigint): number[] {
  return [0, 1, 2, 3].map((i) => Number((v >> BigInt(16 * i)) & 0xffffn));
}

/** FNV-1a 64 over the parts into `out` as four 16-bit limbs, low to high; no allocation. */
export function fnv1a64Into(out: number[], ...parts: readonly Uint8Array[]): void {
  // offset basis 0xcbf29ce484222325, limbs low to high
  let h0 = 0x2325, h1 = 0x8422, h2 = 0x9ce4, h3 = 0xcbf2;
  // prime 0x100000001b3: limbs p0 = 0x01b3, p2 = 0x0100 (p1 = p3 = 0)
  for (const part of parts) {
    for (let i = 0; i < part.length; i++) {
      h0 ^= part[i]!;
      // (h * prime) mod 2^64, limb by limb
      const t0 = h0 * 0x01b3;
      const t1 = h1 * 0x01b3 + (t0 >>> 16);
      const t2 = h2 * 0x01b3 + h0 * 0x0100 + Math.floor(t1 / 65536);
      const t3 = h3 * 0x01b3 + h1 * 0x0100 + Math.floor(t2 / 65536);
      h0 = t0 & 0xffff;
      h1 = t1 & 0xffff;
      h2 = t2 & 0xffff;
      h3 = t3 & 0xffff;
    }
  }
  out[0] = h0;
  out[1] = h1;
  out[2] = h2;
  out[3] = h3;
}

/** `seed` as 4 little-endian bytes (Go's `binary.LittleEndian.PutUint32`). */
export function uint32LE(seed: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, seed >>> 0, true);
  return b;
}
