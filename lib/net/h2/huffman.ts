/**
 * The HPACK Huffman code (RFC 7541 section 5.2 and Appendix B): encoding, its encoded length, and
 * a decoder that rejects EOS, padding longer than 7 bits and padding that is not all ones.
 *
 * @module
 */
import { HUFFMAN_CODES, HUFFMAN_LENGTHS } from "./_huffman_table.ts";

/** The number of bytes `bytes` takes Huffman-encoded. */
export function huffmanLength(bytes: Uint8Array): number {
  let bits = 0;
  for (let i = 0; i < bytes.length; i++) bits += HUFFMAN_LENGTHS[bytes[i]!]!;
  return Math.ceil(bits / 8);
}

/** Huffman-encodes `bytes` into `out` at `offset`; returns the offset after the last byte. */
export function huffmanEncodeInto(bytes: Uint8Array, out: Uint8Array, offset: number): number {
  let acc = 0; // pending bits, right-aligned; never more than 7 + 30 bits, kept below 2^53
  let count = 0;
  for (let i = 0; i < bytes.length; i++) {
    const sym = bytes[i]!;
    const len = HUFFMAN_LENGTHS[sym]!;
    acc = acc * 2 ** len + HUFFMAN_CODES[sym]!;
    count += len;
    while (count >= 8) {
      count -= 8;
      const byte = Math.floor(acc / 2 ** count);
      out[offset++] = byte & 0xff;
      acc -= byte * 2 ** count;
    }
  }
  if (count > 0) {
    // Pad with the most significant bits of EOS (all ones).
    out[offset++] = ((acc << (8 - count)) | ((1 << (8 - count)) - 1)) & 0xff;
  }
  return offset;
}

/** Huffman-encodes `bytes`. */
export function huffmanEncode(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(huffmanLength(bytes));
  huffmanEncodeInto(bytes, out, 0);
  return out;
}

/**
 * A decoding tree flattened into arrays: node `n` has children `LEFT[n]` (bit 0) and `RIGHT[n]`
 * (bit 1); a child below 0 is a leaf holding symbol `-child - 1`.
 */
const LEFT: number[] = [0];
const RIGHT: number[] = [0];
(function build() {
  LEFT.length = 0;
  RIGHT.length = 0;
  LEFT.push(0);
  RIGHT.push(0);
  for (let sym = 0; sym <= 256; sym++) {
    const code = HUFFMAN_CODES[sym]!;
    const len = HUFFMAN_LENGTHS[sym]!;
    let node = 0;
    for (let bit = len - 1; bit >= 0; bit--) {
      const one = Math.floor(code / 2 ** bit) % 2 === 1;
      const side = one ? RIGHT : LEFT;
      if (bit === 0) {
        side[node] = -sym - 1;
      } else {
        let child = side[node]!;
        if (child === 0) {
          child = LEFT.length;
          LEFT.push(0);
          RIGHT.push(0);
          side[node] = child;
        }
        node = child;
      }
    }
  }
})();

/** A Huffman-coded string that does not decode. */
export class HuffmanError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "HuffmanError";
  }
}

/**
 * Decodes Huffman-coded bytes.
 *
 * @throws {HuffmanError} on EOS in the data, a padding over 7 bits or one not all ones.
 */
export function huffmanDecode(bytes: Uint8Array): Uint8Array {
  // The shortest code is 5 bits, so the output is at most 8/5 of the input.
  const out = new Uint8Array(Math.ceil((bytes.length * 8) / 5));
  let n = 0;
  let node = 0;
  let depth = 0; // bits since the last symbol
  let allOnes = true;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    for (let bit = 7; bit >= 0; bit--) {
      const one = (byte >> bit) & 1;
      const child = one === 1 ? RIGHT[node]! : LEFT[node]!;
      depth++;
      allOnes &&= one === 1;
      if (child < 0) {
        const sym = -child - 1;
        if (sym === 256) throw new HuffmanError("Huffman data contains EOS");
        out[n++] = sym;
        node = 0;
        depth = 0;
        allOnes = true;
      } else if (child === 0) {
        throw new HuffmanError("Invalid Huffman code");
      } else {
        node = child;
      }
    }
  }
  if (depth > 7) throw new HuffmanError("Huffman padding is longer than 7 bits");
  if (!allOnes) throw new HuffmanError("Huffman padding is not the EOS prefix");
  return out.subarray(0, n);
}
