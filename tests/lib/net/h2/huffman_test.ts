/**
 * The nibble-stepping Huffman decoder against a reference that reads one bit at a time straight
 * from the code table (RFC 7541 Appendix B): the same output, or the same error, for encoded
 * strings of every byte and for random bytes (mostly invalid).
 */
import assert from "node:assert/strict";
import { HUFFMAN_CODES, HUFFMAN_LENGTHS } from "../../../../lib/net/h2/_huffman_table.ts";
import { huffmanDecode, huffmanEncode } from "../../../../lib/net/h2/huffman.ts";

/** Code (as a bit string) → symbol. */
const BY_CODE = new Map<string, number>();
for (let sym = 0; sym <= 256; sym++) {
  BY_CODE.set(HUFFMAN_CODES[sym]!.toString(2).padStart(HUFFMAN_LENGTHS[sym]!, "0"), sym);
}

function reference(bytes: Uint8Array): number[] | string {
  const out: number[] = [];
  let pending = "";
  for (const byte of bytes) {
    for (let bit = 7; bit >= 0; bit--) {
      pending += (byte >> bit) & 1;
      const sym = BY_CODE.get(pending);
      if (sym === undefined) continue;
      if (sym === 256) return "EOS";
      out.push(sym);
      pending = "";
    }
  }
  if (pending.length > 7) return "longer";
  if (pending.includes("0")) return "EOS prefix";
  return out;
}

function decoded(bytes: Uint8Array): number[] | string {
  try {
    return [...huffmanDecode(bytes)];
  } catch (error) {
    const m = String(error);
    return m.includes("EOS prefix") ? "EOS prefix" : m.includes("longer") ? "longer" : "EOS";
  }
}

/** A deterministic pseudo-random sequence (xorshift32). */
function random(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

Deno.test("huffman decoder matches a bit-at-a-time reference on valid and random input", () => {
  const next = random(0x9e3779b9);
  for (let i = 0; i < 3000; i++) {
    const length = Math.floor(next() * 40);
    const plain = Uint8Array.from({ length }, () => Math.floor(next() * 256));
    const encoded = huffmanEncode(plain);
    assert.deepEqual(decoded(encoded), [...plain]);
    assert.deepEqual(decoded(encoded), reference(encoded));
    const noise = Uint8Array.from({ length: Math.floor(next() * 12) }, () => {
      // Mostly ones, as long codes and padding are, so EOS and padding errors come up.
      return next() < 0.5 ? 0xff : Math.floor(next() * 256);
    });
    assert.deepEqual(decoded(noise), reference(noise), `noise ${[...noise]}`);
  }
});
