/**
 * The multi-core workers benchmark (issue 19): tfo with `service.workers: 1` against
 * `service.workers: 2` on the same machine, load and sink, on two paths:
 *
 * - decode: OTLP/HTTP in → `transform` (sets a span attribute: every request is decoded, edited
 *   and encoded again) → `batch` → `otlphttp` → the bench sink;
 * - pass-through: OTLP/HTTP in → `batch` → `otlphttp` → sink (requests stay encoded).
 *
 * The load generator (`load_gen.ts`, pre-encoded requests, closed loop) and the sink are separate
 * processes; the generator's HTTP client opens one connection per request in flight, which the
 * kernel spreads over the workers' listeners (`SO_REUSEPORT`). Runs alternate 1, 2, 1, 2, … so a
 * change of the machine's load hits both. Items/s are counted at the sink over the window; CPU is
 * tfo's (all threads) from `/proc`.
 *
 * ```sh
 * deno run -A bench/workers_bench.ts [--runs 3] [--duration 10] [--workers 64] [--items 200]
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { type Child, ChildGroup, sleep, TFO_RUN_FLAGS, waitForPort } from "./_children.ts";
import { sampleProc } from "./_proc.ts";
import { PORTS, startSink } from "./passthrough.ts";
import type { SinkStats } from "./sink.ts";

/** One pipeline shape of the benchmark. */
export type WorkersPath = "decode" | "passthrough";

/** One measured run. */
export interface WorkersRun {
  readonly path: WorkersPath;
  readonly workers: number;
  readonly itemsPerSecond: number;
  /** tfo's CPU (cores busy) over the window. */
  readonly tfoCores: number;
  /** The generator's and the sink's CPU over the window. */
  readonly generatorCores: number;
  readonly sinkCores: number;
  readonly errors: number;
  /** The 1-minute load average when the run ended. */
  readonly load1: number;
}

/** Options of {@linkcode runWorkersBench}. */
export interface WorkersBenchOptions {
  /** Runs per (path, workers). @default 3 */
  readonly runs?: number;
  /** Seconds measured per run. @default 10 */
  readonly durationS?: number;
  /** Seconds before the window. @default 3 */
  readonly warmupS?: number;
  /** Requests in flight (HTTP connections). @default 64 */
  readonly inFlight?: number;
  /** Spans per request. @default 200 */
  readonly items?: number;
  /** Which paths. @default both */
  readonly paths?: readonly WorkersPath[];
}

const DENO = Deno.execPath();

function configText(path: WorkersPath, workers: number): string {
  const transform = path === "decode"
    ? `  transform:
    error_mode: ignore
    trace_statements:
      - set(span.attributes["bench.path"], "decode")
`
    : "";
  const processors = path === "decode" ? "[transform, batch]" : "[batch]";
  return `receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${PORTS.inHttp}
processors:
${transform}  batch:
    send_batch_size: 8192
    send_batch_max_size: 0
    timeout: 200ms
exporters:
  otlphttp:
    endpoint: http://127.0.0.1:${PORTS.sinkHttp}
    compression: none
    sending_queue:
      sizer: items
      queue_size: 81920
      block_on_overflow: true
service:
  workers: ${workers}
  pipelines:
    traces:
      receivers: [otlp]
      processors: ${processors}
      exporters: [otlphttp]
  telemetry:
    logs:
      level: warn
    metrics:
      address: 127.0.0.1:${PORTS.telemetry}
`;
}

async function sinkStats(): Promise<SinkStats> {
  const response = await fetch(`http://127.0.0.1:${PORTS.sinkHttp}/stats`);
  return await response.json() as SinkStats;
}

async function load1(): Promise<number> {
  const text = await Deno.readTextFile("/proc/loadavg");
  return Number(text.split(" ")[0]);
}

async function oneRun(
  group: ChildGroup,
  sink: Child,
  path: WorkersPath,
  workers: number,
  o: Required<WorkersBenchOptions>,
  dir: string,
): Promise<WorkersRun> {
  const file = `${dir}/tfo_${path}_${workers}.yaml`;
  await Deno.writeTextFile(file, configText(path, workers));
  const tfo = group.spawn("tfo", DENO, [
    "run",
    ...TFO_RUN_FLAGS,
    new URL("../main.ts", import.meta.url).pathname,
    "run",
    "--config",
    file,
  ]);
  try {
    await waitForPort(PORTS.inHttp, 30_000, tfo);
    // The other workers listen a little after the primary.
    await sleep(workers > 1 ? 3000 : 500);
    const gen = group.spawn("load_gen", DENO, [
      "run",
      "--allow-all",
      new URL("./load_gen.ts", import.meta.url).pathname,
      "--signal",
      "traces",
      "--protocol",
      "http",
      "--target",
      `127.0.0.1:${PORTS.inHttp}`,
      "--workers",
      String(o.inFlight),
      "--warmup",
      String(o.warmupS),
      "--duration",
      String(o.durationS + 2),
      "--items",
      String(o.items),
    ]);
    const result = gen.nextLine(
      (l) => l.startsWith("{"),
      (o.warmupS + o.durationS) * 1000 + 60_000,
    );
    result.catch(() => {});
    await gen.nextLine((l) => l === "start", 30_000);
    await sleep(o.warmupS * 1000);
    const pids = [tfo.pid, gen.pid, sink.pid];
    const before = await Promise.all(pids.map(sampleProc));
    const statsBefore = await sinkStats();
    const t0 = performance.now();
    await sleep(o.durationS * 1000);
    const after = await Promise.all(pids.map(sampleProc));
    const statsAfter = await sinkStats();
    const seconds = (performance.now() - t0) / 1000;
    const g = JSON.parse(await result) as { window: { errors: number } };
    await gen.exited;
    const cores = pids.map((_, i) => (after[i]!.cpuSeconds - before[i]!.cpuSeconds) / seconds);
    return {
      path,
      workers,
      itemsPerSecond: (statsAfter.items.traces - statsBefore.items.traces) / seconds,
      tfoCores: cores[0]!,
      generatorCores: cores[1]!,
      sinkCores: cores[2]!,
      errors: g.window.errors,
      load1: await load1(),
    };
  } finally {
    await tfo.stop(10_000);
  }
}

/** Runs the benchmark; resolves to every run, in the order run. */
export async function runWorkersBench(options: WorkersBenchOptions = {}): Promise<WorkersRun[]> {
  const o: Required<WorkersBenchOptions> = {
    runs: options.runs ?? 3,
    durationS: options.durationS ?? 10,
    warmupS: options.warmupS ?? 3,
    inFlight: options.inFlight ?? 64,
    items: options.items ?? 200,
    paths: options.paths ?? ["decode", "passthrough"],
  };
  const group = new ChildGroup();
  const dir = await Deno.makeTempDir({ prefix: "tfo-workers-bench-" });
  const runs: WorkersRun[] = [];
  try {
    const sink = await startSink(group);
    for (const path of o.paths) {
      for (let i = 0; i < o.runs; i++) {
        for (const workers of [1, 2]) {
          const run = await oneRun(group, sink, path, workers, o, dir);
          console.error(
            `${path} workers=${workers}: ${Math.round(run.itemsPerSecond)} items/s, tfo ${
              run.tfoCores.toFixed(2)
            } cores, gen ${run.generatorCores.toFixed(2)}, sink ${
              run.sinkCores.toFixed(2)
            }, errors ${run.errors}, load ${run.load1}`,
          );
          runs.push(run);
        }
      }
    }
  } finally {
    await group.stopAll();
    await Deno.remove(dir, { recursive: true });
  }
  return runs;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

/** A Markdown table of the runs: per path, the median of each worker count and the speed-up. */
export function renderWorkersRuns(runs: readonly WorkersRun[]): string {
  const lines = [
    "| path | workers | items/s (runs) | median items/s | tfo cores | items per tfo CPU-second | speed-up |",
    "| --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const path of new Set(runs.map((r) => r.path))) {
    const of = (w: number) => runs.filter((r) => r.path === path && r.workers === w);
    const base = median(of(1).map((r) => r.itemsPerSecond));
    for (const w of [1, 2]) {
      const rs = of(w);
      const m = median(rs.map((r) => r.itemsPerSecond));
      const cores = median(rs.map((r) => r.tfoCores));
      lines.push(
        `| ${path} | ${w} | ${rs.map((r) => Math.round(r.itemsPerSecond)).join(", ")} | ${
          Math.round(m)
        } | ${cores.toFixed(2)} | ${Math.round(m / cores)} | ${(m / base).toFixed(2)}x |`,
      );
    }
  }
  return lines.join("\n");
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      runs: { type: "string" },
      duration: { type: "string" },
      workers: { type: "string" },
      items: { type: "string" },
      only: { type: "string" },
    },
  });
  const runs = await runWorkersBench({
    ...(values.runs === undefined ? {} : { runs: Number(values.runs) }),
    ...(values.duration === undefined ? {} : { durationS: Number(values.duration) }),
    ...(values.workers === undefined ? {} : { inFlight: Number(values.workers) }),
    ...(values.items === undefined ? {} : { items: Number(values.items) }),
    ...(values.only === undefined ? {} : { paths: [values.only as WorkersPath] }),
  });
  console.log(renderWorkersRuns(runs));
}
