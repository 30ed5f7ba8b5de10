/**
 * tfo's Snappy block compressor against two independent decoders (`@stablelib/snappy` and
 * `snappyjs`): every input, from empty to larger than the copy window, incompressible or made of
 * long repeats, must come back byte for byte, and compressible input must shrink.
 */
import assert from "node:assert/strict";
import * as snappyjs from "snappyjs";
import { decompress } from "@stablelib/snappy";
import { snappyCompress, snappyFramedCompress } from "../../../lib/net/snappy.ts";

function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

function roundTrip(input: Uint8Array, what: string): Uint8Array {
  const compressed = snappyCompress(input);
  const a = decompress(compressed);
  assert.deepEqual(a, input, `@stablelib/snappy decodes ${what}`);
  const b = new Uint8Array(snappyjs.uncompress(compressed) as Uint8Array);
  assert.deepEqual(b, input, `snappyjs decodes ${what}`);
  return compressed;
}

Deno.test("snappy compressor round-trips short inputs of every length up to 64 bytes", () => {
  const r = rng(1);
  for (let n = 0; n <= 64; n++) {
    roundTrip(Uint8Array.from({ length: n }, () => Math.floor(r() * 256)), `${n} random bytes`);
    roundTrip(new Uint8Array(n).fill(7), `${n} equal bytes`);
  }
});

Deno.test("snappy compressor round-trips random, repetitive and mixed inputs", () => {
  const r = rng(2);
  const random = Uint8Array.from({ length: 200_000 }, () => Math.floor(r() * 256));
  const c = roundTrip(random, "200,000 random bytes");
  assert.ok(c.length <= 32 + random.length + random.length / 6, "stays within the bound");

  const zeros = new Uint8Array(300_000);
  assert.ok(roundTrip(zeros, "300,000 zeros").length < 20_000, "zeros shrink");

  // Text-like: words from a small vocabulary, so matches at all distances and lengths.
  const words = ["alpha", "beta", "gamma", "__name__", "http_route", "/api/v1/items/", "GET"];
  const parts: string[] = [];
  for (let i = 0; i < 40_000; i++) {
    parts.push(words[Math.floor(r() * words.length)]!, String(i % 97));
  }
  const text = new TextEncoder().encode(parts.join(" "));
  const ct = roundTrip(text, "text of repeated words");
  assert.ok(ct.length < text.length / 2, `text shrinks (${ct.length} of ${text.length})`);

  // Repeats further apart than a copy can reach (64 KiB), then close again.
  const block = random.subarray(0, 70_000);
  const far = new Uint8Array(block.length * 3);
  far.set(block, 0);
  far.set(block, block.length);
  far.set(block.subarray(0, 1000), 2 * block.length);
  roundTrip(far, "repeats 70,000 bytes apart");

  // Runs of every copy length around the encoding's limits (4-12, 60-68, 64+).
  const runs: number[] = [];
  for (let len = 1; len <= 140; len++) {
    for (let i = 0; i < len; i++) runs.push(i % 251);
    runs.push(255, 254, 253, 252, 251);
  }
  roundTrip(Uint8Array.from(runs), "runs of every length");
});

Deno.test("snappy compressor reads only its view of a larger buffer, and calls do not interfere", () => {
  const r = rng(3);
  const big = Uint8Array.from({ length: 50_000 }, (_, i) => (i % 100 < 50 ? i % 7 : r() * 256));
  const view = big.subarray(1234, 40_000);
  const first = roundTrip(view, "a subarray");
  // A second call with other data, then the first again: the same output (no stale matches).
  roundTrip(big.subarray(0, 777), "another input");
  assert.deepEqual(snappyCompress(view), first);
  // The result is a copy: a later call does not overwrite it.
  const keep = snappyCompress(new Uint8Array(5000).fill(1));
  const before = keep.slice();
  snappyCompress(Uint8Array.from({ length: 5000 }, () => r() * 256));
  assert.deepEqual(keep, before);
});

Deno.test("snappy framing splits into checksummed chunks of at most 64 KiB", () => {
  const input = new Uint8Array(150_000).map((_, i) => i % 13);
  const framed = snappyFramedCompress(input);
  assert.deepEqual(
    [...framed.subarray(0, 10)],
    [0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59],
  );
  let at = 10;
  const out: number[] = [];
  while (at < framed.length) {
    const type = framed[at]!;
    const len = framed[at + 1]! | (framed[at + 2]! << 8) | (framed[at + 3]! << 16);
    const body = framed.subarray(at + 8, at + 4 + len);
    const chunk = type === 0 ? decompress(body) : body;
    assert.ok(chunk.length <= 65536);
    out.push(...chunk);
    at += 4 + len;
  }
  assert.deepEqual(Uint8Array.from(out), input);
});
