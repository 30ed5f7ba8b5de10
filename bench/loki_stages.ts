/**
 * The loki exporter's work in one process, without the network: batches of the logs benchmark's
 * requests (100 records each, bench/_payloads.ts; 30 requests a batch, as the sending queue of
 * bench/logs_backends_bench.ts merges them) are decoded, converted to Loki streams
 * (`components/exporter/loki/convert.ts`), encoded as `logproto.PushRequest` and
 * snappy-compressed. Prints CPU microseconds per record per stage (process CPU, `getrusage`: GC
 * helper threads count, waiting for the CPU on a shared machine does not) of the best of several
 * rounds.
 *
 * ```sh
 * deno run -A bench/loki_stages.ts [--ms 2000] [--rounds 5] [--batch 30]
 * ```
 *
 * @module
 */
import { cpuUsage } from "node:process";
import { parseArgs } from "node:util";
import { decodeLogsRequest } from "../lib/otlp/mod.ts";
import { snappyCompress } from "../lib/net/snappy.ts";
import { logsToLoki } from "../components/exporter/loki/convert.ts";
import { encodePushRequest } from "../components/exporter/loki/push.ts";
import { defaultLabelEnabled } from "../components/exporter/loki/config.ts";
import { lokiConfigSchema } from "../components/exporter/loki/config.ts";
import { requestTemplates, stampRequest } from "./_payloads.ts";
import { loadConfigLibs } from "../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

function cpuNow(): number {
  const u = cpuUsage();
  return u.user + u.system;
}

function round(ms: number, batch: number): number[] {
  const config = lokiConfigSchema.parse({ endpoint: "http://127.0.0.1:1/loki/api/v1/push" });
  const labelEnabled = defaultLabelEnabled(config);
  const templates = requestTemplates("logs", 100);
  const t = [0, 0, 0, 0];
  let records = 0;
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < ms) {
    const parts = Array.from({ length: batch }, (_, i) => stampRequest(templates[(n + i) % 16]!));
    n += batch;
    const a = cpuNow();
    const data = { resourceLogs: parts.flatMap((p) => decodeLogsRequest(p).resourceLogs) };
    const b = cpuNow();
    const conversion = logsToLoki(data, { labelEnabled });
    const c = cpuNow();
    const bodies = conversion.requests.map((r) => encodePushRequest(r));
    const d = cpuNow();
    for (const body of bodies) snappyCompress(body);
    const e = cpuNow();
    t[0]! += b - a;
    t[1]! += c - b;
    t[2]! += d - c;
    t[3]! += e - d;
    records += batch * 100;
  }
  return t.map((x) => x / records);
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      ms: { type: "string", default: "2000" },
      rounds: { type: "string", default: "5" },
      batch: { type: "string", default: "30" },
    },
  });
  let best: number[] | undefined;
  for (let i = 0; i < Number(values.rounds); i++) {
    const r = round(Number(values.ms), Number(values.batch));
    if (best === undefined || r.reduce((x, y) => x + y) < best.reduce((x, y) => x + y)) best = r;
  }
  const [dec, conv, enc, comp] = best!.map((x) => x.toFixed(2));
  const total = best!.reduce((x, y) => x + y).toFixed(2);
  console.log(
    `CPU µs per record (best of ${values.rounds} rounds of ${values.ms} ms, ` +
      `${values.batch} requests of 100 records a push): decode ${dec}  convert ${conv}  ` +
      `encode ${enc}  compress ${comp}  total ${total}`,
  );
}
