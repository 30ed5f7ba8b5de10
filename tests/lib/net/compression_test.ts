import assert from "node:assert/strict";
import { zstdCompressSync } from "node:zlib";
import { BodyTooLargeError, readLimited } from "../../../lib/net/body.ts";
import {
  decompress,
  DecompressionError,
  parseContentCoding,
} from "../../../lib/net/compression.ts";

async function compress(bytes: Uint8Array<ArrayBuffer>, format: CompressionFormat) {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream(format));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

Deno.test("parseContentCoding knows identity, gzip, deflate/zlib and zstd only", () => {
  assert.equal(parseContentCoding(null), "identity");
  assert.equal(parseContentCoding(""), "identity");
  assert.equal(parseContentCoding("GZIP"), "gzip");
  assert.equal(parseContentCoding("zlib"), "deflate");
  assert.equal(parseContentCoding("zstd"), "zstd");
  assert.equal(parseContentCoding("br"), undefined);
  assert.equal(parseContentCoding("gzip, br"), undefined);
});

Deno.test("decompress round-trips gzip, deflate and zstd", async () => {
  const text = new TextEncoder().encode("hello ".repeat(10_000));
  assert.deepEqual(await decompress(await compress(text, "gzip"), "gzip", 1 << 20), text);
  assert.deepEqual(await decompress(await compress(text, "deflate"), "deflate", 1 << 20), text);
  const zs = new Uint8Array(zstdCompressSync(text));
  assert.deepEqual(await decompress(zs, "zstd", 1 << 20), text);
  assert.deepEqual(await decompress(text, "identity", 1 << 20), text);
});

Deno.test("decompress stops a bomb at the limit for every coding", async () => {
  const zeros = new Uint8Array(64 * 1024 * 1024);
  const cases: [Uint8Array, "gzip" | "deflate" | "zstd"][] = [
    [await compress(zeros, "gzip"), "gzip"],
    [await compress(zeros, "deflate"), "deflate"],
    [new Uint8Array(zstdCompressSync(zeros)), "zstd"],
  ];
  for (const [bomb, coding] of cases) {
    const started = performance.now();
    await assert.rejects(decompress(bomb, coding, 1 << 20), BodyTooLargeError, coding);
    // Inflating all 64 MiB would take far longer than stopping at 1 MiB.
    assert.ok(performance.now() - started < 2000, coding);
  }
  // Exactly at the limit is fine.
  const exact = await compress(new Uint8Array(1 << 20), "gzip");
  assert.equal((await decompress(exact, "gzip", 1 << 20)).length, 1 << 20);
});

Deno.test("decompress reports corrupt and truncated data as DecompressionError", async () => {
  await assert.rejects(decompress(new Uint8Array([1, 2, 3, 4]), "gzip", 1000), DecompressionError);
  await assert.rejects(
    decompress(new Uint8Array([1, 2, 3, 4]), "deflate", 1000),
    DecompressionError,
  );
  await assert.rejects(decompress(new Uint8Array([1, 2, 3, 4]), "zstd", 1000), DecompressionError);
  const gz = await compress(new TextEncoder().encode("x".repeat(5000)), "gzip");
  await assert.rejects(
    decompress(gz.subarray(0, gz.length - 6), "gzip", 1 << 20),
    DecompressionError,
  );
});

Deno.test("readLimited reads up to the limit and cancels a longer stream", async () => {
  let cancelled = false;
  let pulled = 0;
  const endless = new ReadableStream<Uint8Array>({
    pull(c) {
      pulled++;
      c.enqueue(new Uint8Array(1000));
    },
    cancel() {
      cancelled = true;
    },
  });
  await assert.rejects(readLimited(endless, 10_000), BodyTooLargeError);
  assert.ok(cancelled);
  assert.ok(pulled < 20);
  const body = new Blob([new Uint8Array(10_000)]).stream();
  assert.equal((await readLimited(body, 10_000)).length, 10_000);
  assert.equal((await readLimited(null, 10)).length, 0);
});

Deno.test("a zstd body cut anywhere is refused, never decoded to a prefix", async () => {
  const text = new TextEncoder().encode("span ".repeat(20_000) + "end");
  const zs = new Uint8Array(zstdCompressSync(text));
  for (let cut = 0; cut < zs.length; cut++) {
    await assert.rejects(
      decompress(zs.subarray(0, cut), "zstd", 1 << 20),
      DecompressionError,
      `cut at ${cut} of ${zs.length}`,
    );
  }
  // Two whole frames are fine, and so is a skippable frame between them.
  const skippable = [0x50, 0x2a, 0x4d, 0x18, 2, 0, 0, 0, 7, 7];
  const two = new Uint8Array([...zs, ...skippable, ...zs]);
  assert.equal((await decompress(two, "zstd", 1 << 20)).length, text.length * 2);
});

Deno.test("deflate without its adler32 trailer is refused; multi-member gzip decodes every member", async () => {
  const text = new TextEncoder().encode("log line ".repeat(3000));
  const z = await compress(text, "deflate");
  await assert.rejects(
    decompress(z.subarray(0, z.length - 4), "deflate", 1 << 20),
    DecompressionError,
  );
  const corrupt = z.slice();
  corrupt[corrupt.length - 1]! ^= 1;
  await assert.rejects(decompress(corrupt, "deflate", 1 << 20), DecompressionError);

  const a = await compress(new TextEncoder().encode("first member,"), "gzip");
  const b = await compress(new TextEncoder().encode("second member"), "gzip");
  const both = await decompress(new Uint8Array([...a, ...b]), "gzip", 1 << 20);
  assert.equal(new TextDecoder().decode(both), "first member,second member");
});

Deno.test("readLimited keeps a copy of the bytes, not the stream's chunks", async () => {
  // Each one-byte chunk is a view of its own 64 KiB buffer, as a socket reader hands them out.
  let sent = 0;
  const chunks = 20_000;
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      if (sent === chunks) return c.close();
      const backing = new Uint8Array(64 * 1024);
      backing[0] = sent++ & 0xff;
      c.enqueue(backing.subarray(0, 1));
    },
  });
  const body = await readLimited(stream, 1 << 20);
  assert.equal(body.length, chunks);
  assert.equal(body[chunks - 1], (chunks - 1) & 0xff);
  // Holding the chunks would pin 20,000 × 64 KiB = 1.25 GiB; the copy holds at most twice the body.
  assert.ok(body.buffer.byteLength <= 2 * 32 * 1024, `${body.buffer.byteLength} bytes held`);
});

Deno.test("readLimited allocates a declared size once", async () => {
  const stream = new Blob([new Uint8Array(100_000)]).stream();
  const body = await readLimited(stream, 1 << 20, { sizeHint: 100_000 });
  assert.equal(body.length, 100_000);
  assert.equal(body.buffer.byteLength, 100_000);
});
