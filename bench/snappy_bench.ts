/**
 * Snappy compressors on OTLP and remote write payloads: tfo's own (`lib/net/snappy.ts`) against
 * the pure-JavaScript npm packages `snappyjs` and `@stablelib/snappy` (whose decompressor
 * `lib/net/snappy.ts` uses). Measures compression throughput (MB/s of input), decompression
 * throughput and the ratio, on 100-span traces, 100-point metrics and 100-record logs requests
 * (bench/_payloads.ts) and on the remote write 1.0 request the remote write exporter makes of
 * such a metrics request, and checks each output decodes with every other candidate, so they
 * are interchangeable on the wire. (tfo's decompression column is `@stablelib/snappy`'s.) Times
 * are process CPU time, not wall clock, so that a shared machine's waits do not count.
 *
 * Run: `deno run --allow-all bench/snappy_bench.ts` (`snappyjs` is fetched for the bench only).
 *
 * @module
 */
import { cpuUsage } from "node:process";
import * as snappyjs from "snappyjs";
import * as stablelib from "@stablelib/snappy";
import { requestTemplates } from "./_payloads.ts";
import { snappyCompress, snappyUncompress } from "../lib/net/snappy.ts";
import { decodeMetricsRequest } from "../lib/otlp/mod.ts";
import { encodeWriteRequestsV1 } from "../lib/prometheus/remote_write.ts";
import { translate } from "../components/exporter/prometheusremotewrite/_translate.ts";
import { translateOptions } from "../components/exporter/prometheusremotewrite/factory.ts";
import { prwConfigSchema } from "../components/exporter/prometheusremotewrite/config.ts";
import { loadConfigLibs } from "../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

interface Candidate {
  name: string;
  compress(b: Uint8Array): Uint8Array;
  uncompress(b: Uint8Array): Uint8Array;
}

const candidates: Candidate[] = [
  { name: "tfo (lib/net/snappy.ts)", compress: snappyCompress, uncompress: snappyUncompress },
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

/** CPU time per call (process `getrusage`, so that waiting for a shared machine's CPU is not counted). */
function timeMs(fn: () => void, minMs = 400): { perCallMs: number } {
  for (let i = 0; i < 20; i++) fn(); // warm up
  const cpu = () => {
    const u = cpuUsage();
    return (u.user + u.system) / 1000;
  };
  let n = 0;
  const start = cpu();
  let elapsed = 0;
  while (elapsed < minMs) {
    for (let i = 0; i < 10; i++) fn();
    n += 10;
    elapsed = cpu() - start;
  }
  return { perCallMs: elapsed / n };
}

function remoteWriteRequest(): Uint8Array {
  const config = prwConfigSchema.parse({ endpoint: "http://127.0.0.1:1/api/v1/write" });
  const data = decodeMetricsRequest(requestTemplates("metrics", 100, 1)[0]!.bytes);
  const t = translate(data, translateOptions(config));
  return encodeWriteRequestsV1(t.series, t.metadata, Infinity)[0]!;
}

const payloads: { signal: string; bytes: Uint8Array }[] = [
  ...(["traces", "metrics", "logs"] as const).map((signal) => {
    const t = requestTemplates(signal, 100, 1)[0]!;
    return { signal, bytes: t.bytes };
  }),
  { signal: "remote write 1.0", bytes: remoteWriteRequest() },
];

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
