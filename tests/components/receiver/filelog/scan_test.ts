import assert from "node:assert/strict";
import { ReadScratch, scanAsciiLines } from "../../../../components/receiver/filelog/_reader.ts";

/** The newline offsets as a plain loop finds them, or -1 when a byte is not ASCII. */
function reference(data: Uint8Array): number[] | -1 {
  const out: number[] = [];
  for (let i = 0; i < data.length; i++) {
    if (data[i]! >= 0x80) return -1;
    if (data[i] === 10) out.push(i);
  }
  return out;
}

function scanned(data: Uint8Array, scratch: ReadScratch): number[] | -1 {
  const n = scanAsciiLines(data, scratch);
  return n < 0 ? -1 : Array.from(scratch.newlines.subarray(0, n));
}

Deno.test("scanAsciiLines finds every newline at every alignment and offset, like a plain loop", () => {
  // A small initial capacity so that growing is exercised too.
  const scratch = new ReadScratch(true);
  scratch.newlines = new Int32Array(2);
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  for (let round = 0; round < 300; round++) {
    const buffer = new Uint8Array(200);
    for (let i = 0; i < buffer.length; i++) {
      const r = random();
      // Bytes near the newline (9, 11, 0x0b) and above it catch a wrong zero-byte test.
      buffer[i] = r < 0.15 ? 10 : r < 0.25 ? 9 + Math.floor(random() * 3) : 32 + (i % 90);
    }
    if (round % 3 === 0) buffer[Math.floor(random() * buffer.length)] = 0x80 + (round % 128);
    const from = round % 5;
    const data = buffer.subarray(from, from + Math.floor(random() * (buffer.length - from)));
    assert.deepEqual(scanned(data, scratch), reference(data), `round ${round}`);
  }
});

Deno.test("scanAsciiLines rejects a non-ASCII byte in the bytes after the last whole word", () => {
  const scratch = new ReadScratch(true);
  // 12 ASCII bytes (three whole words), then one byte that is not ASCII.
  const data = new Uint8Array([...new TextEncoder().encode("abc\ndefg\nhij"), 0xff]);
  assert.equal(scanAsciiLines(data, scratch), -1);
  assert.equal(scanAsciiLines(data.subarray(0, 12), scratch), 2);
  assert.deepEqual(Array.from(scratch.newlines.subarray(0, 2)), [3, 8]);
});
