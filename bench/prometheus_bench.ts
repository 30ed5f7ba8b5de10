/**
 * The prometheus exporter benchmark: metric points over OTLP/HTTP protobuf → `prometheus`
 * exporter, scraped once a second as a Prometheus server would, through tfo and through the
 * Collector with the contrib exporter (`bench/peers.sh`), one after the other on the
 * same load. Load generator (`load_gen.ts`, the pass-through benchmark's metrics requests:
 * gauges, sums and histograms, 100 points a request), peer and scraper share the machine.
 *
 * ```sh
 * deno run -A bench/prometheus_bench.ts [--duration 10] [--workers 64] [--out bench/RESULTS.md]
 * ```
 *
 * Prints a markdown section; with `--out`, puts it into that file's hand-written analysis section
 * (between the `analysis` markers, which `deno task bench` keeps), replacing an earlier one.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { ChildGroup, freePort, sleep, TFO_RUN_FLAGS, waitForPort } from "./_children.ts";
import { sampleProc } from "./_proc.ts";
import type { LoadGenResult } from "./load_gen.ts";
import { writeResultsSection } from "./_report.ts";

const DENO = Deno.execPath();
const MAIN = new URL("../main.ts", import.meta.url).pathname;
const SECTION_START = "<!-- prometheus-bench:start -->";
const SECTION_END = "<!-- prometheus-bench:end -->";

function peerConfig(otlp: number, prom: number, telemetry: string): string {
  return [
    "receivers:",
    "  otlp:",
    "    protocols:",
    `      http: { endpoint: 127.0.0.1:${otlp} }`,
    "exporters:",
    "  prometheus:",
    `    endpoint: 127.0.0.1:${prom}`,
    "service:",
    telemetry,
    "  pipelines:",
    "    metrics: { receivers: [otlp], exporters: [prometheus] }",
  ].join("\n");
}

interface Result {
  peer: string;
  pointsPerSecond: number;
  cpuSeconds: number;
  pointsPerCpuSecond: number;
  scrapes: number;
  scrapeP50Ms: number;
  scrapeMaxMs: number;
  series: number;
  rssMiB: number;
  errors: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0
    ? 0
    : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

async function run(
  peer: "tfo" | "otelcol",
  binary: string,
  o: { durationS: number; warmupS: number; workers: number },
): Promise<Result> {
  const group = new ChildGroup();
  const dir = await Deno.makeTempDir({ prefix: "tfo-prom-bench-" });
  try {
    const otlp = freePort();
    const prom = freePort();
    const telemetry = peer === "tfo"
      ? `  telemetry:\n    metrics: { address: 127.0.0.1:${freePort()} }`
      : "  telemetry:\n    metrics: { level: none }";
    await Deno.writeTextFile(`${dir}/config.yaml`, peerConfig(otlp, prom, telemetry));
    const child = peer === "tfo"
      ? group.spawn("tfo", DENO, [
        "run",
        ...TFO_RUN_FLAGS,
        MAIN,
        "run",
        "--config",
        `${dir}/config.yaml`,
      ])
      : group.spawn("otelcol", binary, ["--config", `${dir}/config.yaml`]);
    await waitForPort(otlp, 60_000, child);
    await waitForPort(prom, 60_000, child);
    const gen = group.spawn("load_gen", DENO, [
      "run",
      "--allow-all",
      new URL("./load_gen.ts", import.meta.url).pathname,
      "--signal",
      "metrics",
      "--protocol",
      "http",
      "--target",
      `127.0.0.1:${otlp}`,
      "--workers",
      String(o.workers),
      "--warmup",
      String(o.warmupS),
      "--duration",
      String(o.durationS),
      "--items",
      "100",
    ]);
    const resultLine = gen.nextLine(
      (l) => l.startsWith("{"),
      (o.warmupS + o.durationS) * 1000 + 60_000,
    );
    resultLine.catch(() => {});
    await gen.nextLine((l) => l === "start", 30_000);
    await sleep(o.warmupS * 1000);
    const before = await sampleProc(child.pid);
    const scrapeTimes: number[] = [];
    let series = 0;
    const end = performance.now() + o.durationS * 1000;
    while (performance.now() < end) {
      const t0 = performance.now();
      const r = await fetch(`http://127.0.0.1:${prom}/metrics`, {
        headers: { Accept: "text/plain;version=0.0.4" },
      });
      const text = await r.text();
      scrapeTimes.push(performance.now() - t0);
      series = text.split("\n").filter((l) => l !== "" && !l.startsWith("#")).length;
      await sleep(Math.max(0, 1000 - (performance.now() - t0)));
    }
    const after = await sampleProc(child.pid);
    const result = JSON.parse(await resultLine) as LoadGenResult;
    await gen.exited;
    const cpu = after.cpuSeconds - before.cpuSeconds;
    scrapeTimes.sort((a, b) => a - b);
    return {
      peer,
      pointsPerSecond: result.window.items / result.window.seconds,
      cpuSeconds: cpu,
      pointsPerCpuSecond: result.window.items / Math.max(cpu, 1e-9),
      scrapes: scrapeTimes.length,
      scrapeP50Ms: percentile(scrapeTimes, 0.5),
      scrapeMaxMs: scrapeTimes.at(-1) ?? 0,
      series,
      rssMiB: after.hwmBytes / 1048576,
      errors: result.window.errors,
    };
  } finally {
    await group.stopAll();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

function fmt(n: number, digits = 0): string {
  return n.toLocaleString("en-US", {
    maximumFractionDigits: digits,
    minimumFractionDigits: digits,
  });
}

function render(results: Result[], o: { durationS: number; workers: number }): string {
  const lines = [
    SECTION_START,
    "### prometheus exporter: OTLP/HTTP metrics → `prometheus` exporter, scraped every second",
    "",
    `Measured by \`deno run -A bench/prometheus_bench.ts --duration ${o.durationS} --workers ` +
    `${o.workers}\` on ${
      new Date().toISOString()
    } (${navigator.hardwareConcurrency} CPUs, shared ` +
    "with the load generator and, at the time, other engineers' work: compare the peers within " +
    "this run only). Points are the pass-through benchmark's metrics requests (100 points each); " +
    "CPU is the peer's over the measured window, while a scraper fetched `/metrics` once a second.",
    "",
    "| peer | points/s | CPU s | points per CPU-second | scrape p50 ms | scrape max ms | exposed samples | peak RSS MiB | errors |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...results.map((r) =>
      `| ${r.peer} | ${fmt(r.pointsPerSecond)} | ${fmt(r.cpuSeconds, 1)} | ${
        fmt(r.pointsPerCpuSecond)
      } | ` +
      `${fmt(r.scrapeP50Ms, 1)} | ${fmt(r.scrapeMaxMs, 1)} | ${fmt(r.series)} | ${
        fmt(r.rssMiB)
      } | ${r.errors} |`
    ),
  ];
  const tfo = results.find((r) => r.peer === "tfo");
  const col = results.find((r) => r.peer === "otelcol");
  if (tfo !== undefined && col !== undefined) {
    lines.push(
      "",
      `tfo/otelcol points per CPU-second: ${
        (tfo.pointsPerCpuSecond / col.pointsPerCpuSecond).toFixed(2)
      }×.`,
    );
  }
  lines.push(SECTION_END);
  return lines.join("\n");
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      duration: { type: "string", default: "10" },
      warmup: { type: "string", default: "3" },
      workers: { type: "string", default: "64" },
      out: { type: "string" },
    },
  });
  const o = {
    durationS: Number(values.duration),
    warmupS: Number(values.warmup),
    workers: Number(values.workers),
  };
  const peers = `${
    Deno.env.get("TFO_PEERS_DIR") ?? `${Deno.env.get("HOME")}/.cache/tfo-peers`
  }/bin`;
  const otelcol = `${peers}/otelcol-contrib`;
  const results = [await run("tfo", "", o)];
  try {
    await Deno.stat(otelcol);
    results.push(await run("otelcol", otelcol, o));
  } catch {
    console.error(`${otelcol} is not built (bash bench/peers.sh): tfo only`);
  }
  const section = render(results, o);
  console.log(section);
  if (values.out !== undefined) {
    await writeResultsSection(values.out, SECTION_START, SECTION_END, section);
  }
}
