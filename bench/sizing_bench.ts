/**
 * The README's sizing table, measured: RSS and CPU of tfo at idle and at 1,000, 10,000 and 100,000
 * items/s, for the embedded agent config (`examples/agent.yaml`) and the collector config
 * (`examples/collector.yaml`), each run as shipped except for its addresses (free ports, the bench
 * sink as the backend) and its storage directory (a temporary one). The load is OTLP/HTTP traces
 * of 100 spans a request from `load_gen.ts`, open loop at the rate; every run starts a fresh tfo,
 * waits `warmupS`, then samples `/proc` every second for `durationS`.
 *
 * ```sh
 * deno run -A bench/sizing_bench.ts                 # markdown on stdout
 * deno run -A bench/sizing_bench.ts --duration 10   # shorter windows
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  type Child,
  ChildGroup,
  freePort,
  sleep,
  TFO_RUN_FLAGS,
  waitForPort,
} from "./_children.ts";
import { sampleProc } from "./_proc.ts";
import type { LoadGenResult } from "./load_gen.ts";

const DENO = Deno.execPath();
const ROOT = new URL("../", import.meta.url).pathname;
const MIB = 1024 * 1024;
/** Spans per request. */
const ITEMS = 100;

/** One row of the table. */
export interface SizingRow {
  readonly config: "agent" | "collector";
  readonly itemsPerSecond: number;
  readonly deliveredPerSecond: number;
  readonly rssMedianMib: number;
  readonly rssMaxMib: number;
  readonly cpuPct: number;
  readonly errors: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/** The command line that runs `config` against the sink, on free ports. */
function tfoArgs(
  config: "agent" | "collector",
  ports: Record<string, number>,
  dir: string,
  denoFlags: readonly string[],
) {
  const common = ["run", ...TFO_RUN_FLAGS, ...denoFlags, `${ROOT}main.ts`, "run"];
  if (config === "agent") {
    return {
      args: [
        ...common,
        "--set",
        `receivers.otlp.protocols.grpc.endpoint=127.0.0.1:${ports.grpc}`,
        "--set",
        `receivers.otlp.protocols.http.endpoint=127.0.0.1:${ports.http}`,
        "--set",
        `extensions.health_check.endpoint=127.0.0.1:${ports.health}`,
        "--set",
        `service.telemetry.metrics.address=127.0.0.1:${ports.metrics}`,
        "--set",
        "service.telemetry.logs.level=warn",
        "--set",
        `receivers.file_log.include=[${JSON.stringify(`${dir}/no-logs/*.log`)}]`,
      ],
      env: {
        TFO_EXPORTER_ENDPOINT: `127.0.0.1:${ports.sinkGrpc}`,
        TFO_STORAGE_DIR: `${dir}/agent-storage`,
      },
    };
  }
  return {
    args: [
      ...common,
      "--config",
      `${ROOT}examples/collector.yaml`,
      "--set",
      "service.telemetry.logs.level=warn",
    ],
    env: {
      TFO_GRPC_LISTEN: `127.0.0.1:${ports.grpc}`,
      TFO_HTTP_LISTEN: `127.0.0.1:${ports.http}`,
      TFO_HEALTH_LISTEN: `127.0.0.1:${ports.health}`,
      TFO_METRICS_LISTEN: `127.0.0.1:${ports.metrics}`,
      TFO_OTLP_ENDPOINT: `127.0.0.1:${ports.sinkGrpc}`,
      TFO_OTLPHTTP_ENDPOINT: `http://127.0.0.1:${ports.sinkHttp}`,
      TFO_STORAGE_DIR: `${dir}/collector-storage`,
    },
  };
}

async function sinkSpans(port: number): Promise<number> {
  const stats = await (await fetch(`http://127.0.0.1:${port}/stats`)).json();
  return stats.items.traces as number;
}

async function runOne(
  group: ChildGroup,
  config: "agent" | "collector",
  rate: number,
  sinkPorts: { sinkGrpc: number; sinkHttp: number },
  o: { warmupS: number; durationS: number; dir: string; denoFlags: readonly string[] },
): Promise<SizingRow> {
  const ports = {
    grpc: freePort(),
    http: freePort(),
    health: freePort(),
    metrics: freePort(),
    ...sinkPorts,
  };
  const dir = await Deno.makeTempDir({ dir: o.dir });
  const { args, env } = tfoArgs(config, ports, dir, o.denoFlags);
  const tfo = group.spawn(`tfo ${config}`, DENO, args, env);
  let load: (Child & { stop(graceMs?: number): Promise<number> }) | undefined;
  try {
    await waitForPort(ports.http, 60_000, tfo);
    const requests = rate / ITEMS;
    if (requests > 0) {
      load = group.spawn("load_gen", DENO, [
        "run",
        "--allow-all",
        `${ROOT}bench/load_gen.ts`,
        "--signal",
        "traces",
        "--protocol",
        "http",
        "--target",
        `127.0.0.1:${ports.http}`,
        "--rate",
        String(requests),
        "--items",
        String(ITEMS),
        "--warmup",
        String(o.warmupS),
        "--duration",
        String(o.durationS),
      ]);
    }
    await sleep(o.warmupS * 1000);
    const before = await sampleProc(tfo.pid);
    const spansBefore = await sinkSpans(ports.sinkHttp);
    const t0 = performance.now();
    const rss: number[] = [];
    for (let i = 0; i < o.durationS; i++) {
      await sleep(1000);
      rss.push((await sampleProc(tfo.pid)).rssBytes);
    }
    const after = await sampleProc(tfo.pid);
    const seconds = (performance.now() - t0) / 1000;
    const delivered = (await sinkSpans(ports.sinkHttp)) - spansBefore;
    let errors = 0;
    if (load !== undefined) {
      const line = await load.nextLine((l) => l.startsWith("{"), 60_000);
      errors = (JSON.parse(line) as LoadGenResult).window.errors;
    }
    return {
      config,
      itemsPerSecond: rate,
      // The agent and the collector both export traces to the sink over gRPC; the collector
      // also over HTTP (the same spans twice).
      deliveredPerSecond: delivered / seconds / (config === "collector" ? 2 : 1),
      rssMedianMib: median(rss) / MIB,
      rssMaxMib: Math.max(...rss) / MIB,
      cpuPct: ((after.cpuSeconds - before.cpuSeconds) / seconds) * 100,
      errors,
    };
  } finally {
    await load?.stop(2000);
    await tfo.stop(10_000);
  }
}

/** Runs every config at every rate; returns the markdown section. */
export async function runSizingBench(
  options: {
    rates?: number[];
    configs?: ("agent" | "collector")[];
    /** Extra `deno run` flags for tfo (`--v8-flags=...`). */
    denoFlags?: string[];
    warmupS?: number;
    durationS?: number;
  } = {},
): Promise<string> {
  const rates = options.rates ?? [0, 1_000, 10_000, 100_000];
  const o = {
    warmupS: options.warmupS ?? 5,
    durationS: options.durationS ?? 20,
    denoFlags: options.denoFlags ?? [],
  };
  const dir = await Deno.makeTempDir({ prefix: "tfo-sizing-" });
  const group = new ChildGroup();
  const rows: SizingRow[] = [];
  try {
    const sinkPorts = { sinkGrpc: freePort(), sinkHttp: freePort() };
    const sink = group.spawn("sink", DENO, [
      "run",
      "--allow-all",
      `${ROOT}bench/sink.ts`,
      "--grpc-port",
      String(sinkPorts.sinkGrpc),
      "--http-port",
      String(sinkPorts.sinkHttp),
    ]);
    await sink.nextLine((l) => l === "ready", 30_000);
    for (const config of options.configs ?? ["agent", "collector"] as const) {
      for (const rate of rates) {
        const row = await runOne(group, config, rate, sinkPorts, { ...o, dir });
        console.error(
          `${config} ${rate} items/s: RSS ${row.rssMedianMib.toFixed(1)} MiB, CPU ${
            row.cpuPct.toFixed(1)
          } %`,
        );
        rows.push(row);
      }
    }
  } finally {
    await group.stopAll();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  const cpus = navigator.hardwareConcurrency;
  const load = (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
  return [
    "| config | offered spans/s | delivered spans/s | RSS median MiB | RSS max MiB | CPU % of a core | load errors |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows.map((r) =>
      `| ${r.config} | ${r.itemsPerSecond.toLocaleString("en-US")} | ${
        Math.round(r.deliveredPerSecond).toLocaleString("en-US")
      } | ${r.rssMedianMib.toFixed(1)} | ${r.rssMaxMib.toFixed(1)} | ${
        r.cpuPct.toFixed(1)
      } | ${r.errors} |`
    ),
    "",
    `${cpus} CPUs, load average at the end ${load}; ${o.durationS} s windows after ${o.warmupS} s ` +
    (o.denoFlags.length > 0 ? `tfo run with \`${o.denoFlags.join(" ")}\`; ` : "") +
    "of warm-up; OTLP/HTTP traces of 100 spans a request, open loop.",
  ].join("\n") + "\n";
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      duration: { type: "string" },
      warmup: { type: "string" },
      /** Comma-separated spans/s, e.g. `0,100000`. */
      rates: { type: "string" },
      /** Comma-separated: `agent`, `collector`. */
      configs: { type: "string" },
      /** A `deno run` flag for tfo, repeatable: `--deno-flag=--v8-flags=--max-semi-space-size=2`. */
      "deno-flag": { type: "string", multiple: true },
    },
  });
  console.log(
    await runSizingBench({
      ...(values.duration === undefined ? {} : { durationS: Number(values.duration) }),
      ...(values.warmup === undefined ? {} : { warmupS: Number(values.warmup) }),
      ...(values.rates === undefined ? {} : { rates: values.rates.split(",").map(Number) }),
      ...(values["deno-flag"] === undefined ? {} : { denoFlags: values["deno-flag"] }),
      ...(values.configs === undefined ? {} : {
        configs: values.configs.split(",").filter((c): c is "agent" | "collector" =>
          c === "agent" || c === "collector"
        ),
      }),
    }),
  );
}
