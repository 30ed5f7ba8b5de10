/**
 * Snappy candidates on OTLP payloads: the pure-JavaScript npm packages `snappyjs` and
 * `@stablelib/snappy` (the one `lib/net/snappy.ts` uses). A block codec written for tfo was the
 * third candidate; it lost on compression speed (32–59 MB/s against 65–132) and was removed. Measures compression throughput (MB/s of
 * input), decompression throughput and the ratio, on 100-span traces, 100-point metrics and
 * 100-record logs requests (bench/_payloads.ts), and checks each output decodes with every other
 * candidate, so they are interchangeable on the wire.
 *
 * Run: `deno run --allow-all bench/snappy_bench.ts` (`snappyjs` is fetched for the bench only).
 *
 * @module
 */
import * as snappyjs from "snappyjs";
import * as stablelib from "@stablelib/snappy";
import { requestTemplates } from "./_payloads.ts";

interface Candidate {
  name: string;
  compress(b: Uint8Array): Uint8Array;
  uncompress(b: Uint8Array): Uint8Array;
}

const candidates: Candidate[] = [
  {
    name: "snappyjs 0.7.0",
    compress: (b) => new Uint8Array(snappyjs.compress(b) as Uint8Array),
    uncompress: (b) => new Uint8Array(snappyjs.uncompress(b) as Uint8Array),
  },
  {
    name: "@stablelib/snappy 1.0.3",
    compress: (b) => stablelib.compress(b),
    uncompress: (b) => stablelib.decompress(b),
  },
];

function timeMs(fn: () => void, minMs = 400): { perCallMs: number } {
  for (let i = 0; i < 20; i++) fn(); // warm up
  let n = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < minMs) {
    fn();
    n++;
    elapsed = performance.now() - start;
  }
  return { perCallMs: elapsed / n };
}

const payloads = (["traces", "metrics", "logs"] as const).map((signal) => {
  const t = requestTemplates(signal, 100, 1)[0]!;
  return { signal, bytes: t.bytes };
});

console.log(`| payload | candidate | ratio | compress MB/s | uncompress MB/s |`);
console.log(`| --- | --- | --- | --- | --- |`);
for (const { signal, bytes } of payloads) {
  for (const c of candidates) {
    const compressed = c.compress(bytes);
    for (const other of candidates) {
      const back = other.uncompress(compressed);
      if (back.length !== bytes.length || !back.every((v, i) => v === bytes[i])) {
        throw new Error(`${other.name} cannot decode what ${c.name} wrote (${signal})`);
      }
    }
    const comp = timeMs(() => c.compress(bytes));
    const unc = timeMs(() => c.uncompress(compressed));
    const mb = bytes.length / 1e6;
    console.log(
      `| ${signal} ${bytes.length} B | ${c.name} | ${
        (bytes.length / compressed.length).toFixed(2)
      } | ${(mb / (comp.perCallMs / 1000)).toFixed(0)} | ${
        (mb / (unc.perCallMs / 1000)).toFixed(0)
      } |`,
    );
  }
}
