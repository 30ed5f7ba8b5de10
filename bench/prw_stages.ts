/**
 * The remote write exporter's work in one process, without the network: the remote write
 * benchmark's requests (100 cumulative points each, bench/_payloads.ts) are decoded, translated
 * (`components/exporter/prometheusremotewrite/_translate.ts`, with one series cache for the run,
 * as an exporter instance keeps one), encoded as remote write 1.0 (or 2.0 with `--v2`) and
 * snappy-compressed. Prints microseconds per request per stage of the best of several rounds,
 * as wall clock and as process CPU time (`getrusage`: GC helper threads count, waiting for the
 * CPU on a shared machine does not), for finding where the time goes without a loaded
 * machine's noise in the end-to-end numbers.
 *
 * ```sh
 * deno run -A bench/prw_stages.ts [--ms 2000] [--rounds 5] [--v2]
 * ```
 *
 * @module
 */
import { cpuUsage } from "node:process";
import { parseArgs } from "node:util";
import { decodeMetricsRequest } from "../lib/otlp/mod.ts";
import { snappyCompress } from "../lib/net/snappy.ts";
import { encodeWriteRequestsV1, encodeWriteRequestsV2 } from "../lib/prometheus/remote_write.ts";
import { SeriesCache, translate } from "../components/exporter/prometheusremotewrite/_translate.ts";
import { translateOptions } from "../components/exporter/prometheusremotewrite/factory.ts";
import { prwConfigSchema } from "../components/exporter/prometheusremotewrite/config.ts";
import { requestTemplates, stampRequest } from "./_payloads.ts";
import { loadConfigLibs } from "../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

interface Stages {
  cpu: number;
  cpuStages: number[];
  decode: number;
  translate: number;
  encode: number;
  compress: number;
  total: number;
  series: number;
  encodedBytes: number;
  compressedBytes: number;
}

function round(ms: number, v2: boolean, cache: SeriesCache): Stages {
  const config = prwConfigSchema.parse({
    endpoint: "http://127.0.0.1:1/api/v1/write",
    ...(v2 ? { protobuf_message: "io.prometheus.write.v2.Request" } : {}),
  });
  const options = translateOptions(config);
  const templates = requestTemplates("metrics", 100);
  const t = { decode: 0, translate: 0, encode: 0, compress: 0 };
  const cpuStages = [0, 0, 0, 0];
  const cpuNow = () => {
    const u = cpuUsage();
    return u.user + u.system;
  };
  let n = 0;
  let series = 0;
  let encodedBytes = 0;
  let compressedBytes = 0;
  const cpu0 = cpuUsage();
  const start = performance.now();
  while (performance.now() - start < ms) {
    const bytes = stampRequest(templates[n % templates.length]!);
    const ca = cpuNow();
    const a = performance.now();
    const data = decodeMetricsRequest(bytes);
    const b = performance.now();
    const cb = cpuNow();
    const tr = translate(data, options, cache);
    const c = performance.now();
    const cc = cpuNow();
    const raw = v2
      ? encodeWriteRequestsV2(tr.series, config.max_batch_size_bytes)
      : encodeWriteRequestsV1(tr.series, tr.metadata, config.max_batch_size_bytes);
    const d = performance.now();
    const cd = cpuNow();
    for (const r of raw) compressedBytes += snappyCompress(r).length;
    const e = performance.now();
    const ce = cpuNow();
    cpuStages[0]! += cb - ca;
    cpuStages[1]! += cc - cb;
    cpuStages[2]! += cd - cc;
    cpuStages[3]! += ce - cd;
    t.decode += b - a;
    t.translate += c - b;
    t.encode += d - c;
    t.compress += e - d;
    series += tr.series.length;
    for (const r of raw) encodedBytes += r.length;
    n++;
  }
  const used = cpuUsage(cpu0);
  const per = (x: number) => (x * 1000) / n;
  return {
    cpu: (used.user + used.system) / n,
    cpuStages: cpuStages.map((x) => x / n),
    decode: per(t.decode),
    translate: per(t.translate),
    encode: per(t.encode),
    compress: per(t.compress),
    total: per(t.decode + t.translate + t.encode + t.compress),
    series: series / n,
    encodedBytes: encodedBytes / n,
    compressedBytes: compressedBytes / n,
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      ms: { type: "string", default: "2000" },
      rounds: { type: "string", default: "5" },
      v2: { type: "boolean", default: false },
    },
  });
  const cache = new SeriesCache();
  let best: Stages | undefined;
  for (let i = 0; i < Number(values.rounds); i++) {
    const r = round(Number(values.ms), values.v2, cache);
    if (best === undefined || r.total < best.total) best = r;
  }
  const b = best!;
  const f = (x: number) => x.toFixed(0);
  console.log(
    `µs per 100-point request (best of ${values.rounds} rounds of ${values.ms} ms, ` +
      `remote write ${values.v2 ? "2.0" : "1.0"}):`,
  );
  console.log(
    `wall: decode ${f(b.decode)}  translate ${f(b.translate)}  encode ${f(b.encode)}  ` +
      `compress ${f(b.compress)}  total ${f(b.total)}`,
  );
  const [cd, ct, ce, cc] = b.cpuStages as [number, number, number, number];
  console.log(
    `CPU:  decode ${f(cd)}  translate ${f(ct)}  encode ${f(ce)}  compress ${f(cc)}  ` +
      `total ${f(b.cpu)}`,
  );
  console.log(
    `${f(b.series)} series, ${f(b.encodedBytes)} bytes encoded, ${
      f(b.compressedBytes)
    } compressed per request`,
  );
}
