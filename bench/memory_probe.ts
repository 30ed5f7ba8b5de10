/**
 * Where tfo's memory goes under load: runs `tfo run` in this process and samples
 * `Deno.memoryUsage()` (RSS, V8 heap used and total, external ArrayBuffer memory) every 100 ms,
 * with the sending queues' fill scraped from tfo's own metrics every 500 ms, and can write a heap
 * snapshot once RSS passes a threshold (read it with `bench/heap_buffers.ts`). Drive it with
 * `bench/load_gen.ts` against a `bench/sink.ts`; SIGTERM (or SIGINT) writes the samples and a
 * summary and exits.
 *
 * ```sh
 * deno run -A bench/sink.ts --grpc-port 35317 --http-port 35318 &
 * TFO_OTLP_ENDPOINT=127.0.0.1:35317 TFO_OTLPHTTP_ENDPOINT=http://127.0.0.1:35318 \
 *   TFO_METRICS_LISTEN=127.0.0.1:29888 TFO_STORAGE_DIR=$(mktemp -d) \
 *   deno run -A --unstable-kv --v8-flags=--max-semi-space-size=2 bench/memory_probe.ts \
 *   --metrics http://127.0.0.1:29888/metrics --snapshot-mib 400 --out /tmp/probe \
 *   -- --config examples/collector.yaml &
 * deno run -A bench/load_gen.ts --signal traces --protocol http --target 127.0.0.1:4318 \
 *   --rate 1000 --warmup 2 --duration 12 --items 100
 * kill %2
 * ```
 *
 * Writes `<out>/samples.txt` (one line per sample) and, with `--snapshot-mib`,
 * `<out>/peak.heapsnapshot`; prints the peak sample on stderr.
 *
 * @module
 */
import v8 from "node:v8";
import { parseArgs } from "node:util";
import { main } from "../main.ts";

const MIB = 1024 * 1024;
const QUEUE_METRICS =
  /^(otelcol_exporter_queue_size|tfo_exporter_queue_bytes|otelcol_receiver_refused_\w+)\{/;

/** One line of queue gauges from a Prometheus text page: `name[data_type]=value`, non-zero only. */
export function queueGauges(page: string): string {
  const out: string[] = [];
  for (const line of page.split("\n")) {
    if (!QUEUE_METRICS.test(line) || line.endsWith(" 0")) continue;
    const name = line.slice(0, line.indexOf("{"));
    const type = /data_type="(\w+)"/.exec(line)?.[1] ?? /transport="(\w+)"/.exec(line)?.[1] ?? "";
    const exporter = /exporter="([^"]+)"/.exec(line)?.[1];
    const value = line.slice(line.lastIndexOf(" ") + 1);
    out.push(`${name}[${exporter === undefined ? type : `${exporter},${type}`}]=${value}`);
  }
  return out.join(" ");
}

if (import.meta.main) {
  const split = Deno.args.indexOf("--");
  const own = split < 0 ? Deno.args : Deno.args.slice(0, split);
  const tfoArgs = split < 0 ? [] : Deno.args.slice(split + 1);
  const { values } = parseArgs({
    args: own,
    options: {
      metrics: { type: "string" },
      "snapshot-mib": { type: "string", default: "0" },
      out: { type: "string", default: "." },
    },
  });
  const snapshotAt = Number(values["snapshot-mib"]) * MIB;
  const out = values.out;
  await Deno.mkdir(out, { recursive: true });
  const started = performance.now();
  const samples: string[] = [];
  let peak = Deno.memoryUsage();
  let queues = "";
  let snapshotted = false;
  const mib = (n: number) => (n / MIB).toFixed(0);
  const sampler = setInterval(() => {
    const m = Deno.memoryUsage();
    if (m.rss > peak.rss) peak = m;
    const t = ((performance.now() - started) / 1000).toFixed(1);
    samples.push(
      `${t}s rss=${mib(m.rss)} heap=${mib(m.heapUsed)}/${mib(m.heapTotal)} ` +
        `external=${mib(m.external)} ${queues}`,
    );
    if (snapshotAt > 0 && !snapshotted && m.rss > snapshotAt) {
      snapshotted = true;
      console.error(`Heap snapshot: ${v8.writeHeapSnapshot(`${out}/peak.heapsnapshot`)}`);
    }
  }, 100);
  const scraper = values.metrics === undefined ? undefined : setInterval(async () => {
    try {
      queues = queueGauges(await (await fetch(values.metrics!)).text());
    } catch {
      // Not listening yet, or busy: keep the last reading.
    }
  }, 500);
  const finish = () => {
    clearInterval(sampler);
    if (scraper !== undefined) clearInterval(scraper);
    Deno.writeTextFileSync(`${out}/samples.txt`, samples.join("\n") + "\n");
    console.error(
      `Peak: rss ${mib(peak.rss)} MiB, heap used ${mib(peak.heapUsed)} of ${
        mib(peak.heapTotal)
      } MiB, external ${mib(peak.external)} MiB; ${samples.length} samples in ${out}/samples.txt`,
    );
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGTERM", finish);
  Deno.addSignalListener("SIGINT", finish);
  await main(["run", ...tfoArgs]);
}
