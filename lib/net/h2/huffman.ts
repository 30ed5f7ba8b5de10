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

/** {@linkcode NIBBLE_SYM} values that are not symbols: EOS decoded, or a code not in the tree. */
const EOS_SEEN = -2;
const NO_CODE = -3;

/**
 * The tree as a state machine stepping four bits at a time (the shortest code is five bits, so a
 * step completes at most one symbol): from node `n`, nibble `v` leads to node
 * `NIBBLE_NEXT[n * 16 + v]` and completes symbol `NIBBLE_SYM[n * 16 + v]` (-1: none, or
 * {@linkcode EOS_SEEN} / {@linkcode NO_CODE}). `DEPTH` is each node's distance from the root, and
 * `ONES` marks the nodes reached from it by ones only: valid padding ends on the root or on one of
 * those at most 7 deep.
 */
const NIBBLE_NEXT = new Uint16Array(LEFT.length * 16);
const NIBBLE_SYM = new Int16Array(LEFT.length * 16);
const DEPTH = new Uint8Array(LEFT.length);
const ONES = new Uint8Array(LEFT.length);
(function buildNibbles() {
  const visit = (node: number, depth: number, ones: boolean) => {
    DEPTH[node] = depth;
    ONES[node] = ones ? 1 : 0;
    for (const [child, one] of [[LEFT[node]!, false], [RIGHT[node]!, true]] as const) {
      if (child > 0) visit(child, depth + 1, ones && one);
    }
  };
  visit(0, 0, true);
  for (let start = 0; start < LEFT.length; start++) {
    for (let v = 0; v < 16; v++) {
      let node = start;
      let sym = -1;
      for (let bit = 3; bit >= 0 && sym >= -1; bit--) {
        const child = ((v >> bit) & 1) === 1 ? RIGHT[node]! : LEFT[node]!;
        if (child < 0) {
          sym = -child - 1 === 256 ? EOS_SEEN : -child - 1;
          node = 0;
        } else if (child === 0) {
          sym = NO_CODE;
        } else {
          node = child;
        }
      }
      NIBBLE_NEXT[start * 16 + v] = node;
      NIBBLE_SYM[start * 16 + v] = sym;
    }
  }
})();

/**
 * Decodes Huffman-coded bytes, four bits a step.
 *
 * @throws {HuffmanError} on EOS in the data, a padding over 7 bits or one not all ones.
 */
export function huffmanDecode(bytes: Uint8Array): Uint8Array {
  // The shortest code is 5 bits, so the output is at most 8/5 of the input.
  const out = new Uint8Array(Math.ceil((bytes.length * 8) / 5));
  let n = 0;
  let node = 0;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    for (let shift = 4; shift >= 0; shift -= 4) {
      const at = node * 16 + ((byte >> shift) & 0xf);
      const sym = NIBBLE_SYM[at]!;
      node = NIBBLE_NEXT[at]!;
      if (sym >= 0) out[n++] = sym;
      else if (sym === EOS_SEEN) throw new HuffmanError("Huffman data contains EOS");
      else if (sym === NO_CODE) throw new HuffmanError("Invalid Huffman code");
    }
  }
  if (DEPTH[node]! > 7) throw new HuffmanError("Huffman padding is longer than 7 bits");
  if (ONES[node] !== 1) throw new HuffmanError("Huffman padding is not the EOS prefix");
  return out.subarray(0, n);
}
