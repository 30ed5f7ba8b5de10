/**
 * The multi-core workers benchmark (issue 19): tfo with `service.workers: 1` against
 * `service.workers: 2` on the same machine, load and sink, on two paths:
 *
 * - decode: OTLP/HTTP in → `transform` (sets a span attribute: every request is decoded, edited
 *   and encoded again) → `batch` → `otlphttp` → the sink;
 * - pass-through: OTLP/HTTP in → `batch` → `otlphttp` → sink (requests stay encoded).
 *
 * The harness is made nearly free per item so that it leaves the cores to tfo: the generator
 * (`raw_gen.ts`) replays prebuilt HTTP/1.1 requests of 2,000 spans over 16 keep-alive connections
 * (the kernel spreads connections over the workers' listeners, `SO_REUSEPORT`) and checks every
 * status; the sink (`drain_sink.ts`) drains bodies and answers 200 without looking at the items.
 * Items are counted by tfo itself: `otelcol_exporter_sent_spans` (summed over the workers by the
 * primary, which asks every worker for a fresh snapshot at each scrape) at the start and the end
 * of the window, cross-checked with the receiver's accepted spans, the generator's acknowledged
 * spans and the sink's bytes. CPU per process (tfo, generator, sink) and per tfo thread from
 * `/proc`. Runs alternate 1, 2, 1, 2, … so a change of the machine's load hits both.
 *
 * ```sh
 * deno run -A bench/workers_bench.ts [--runs 3] [--duration 10] [--connections 16] \
 *   [--items 2000] [--only decode|passthrough] [--counts 1,2] [--json out.json] [--prof dir] \
 *   [--v8-flags=--max-semi-space-size=16]
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { type Child, ChildGroup, sleep, TFO_RUN_FLAGS, waitForPort } from "./_children.ts";
import { sampleProc } from "./_proc.ts";
import { PORTS } from "./passthrough.ts";
import type { DrainStats } from "./drain_sink.ts";
import type { RawGenResult } from "./raw_gen.ts";

/** One pipeline shape of the benchmark. */
export type WorkersPath = "decode" | "passthrough";

/** One measured run. */
export interface WorkersRun {
  readonly path: WorkersPath;
  readonly workers: number;
  /** Spans exported per second over the window (tfo's `otelcol_exporter_sent_spans`). */
  readonly itemsPerSecond: number;
  /** Spans accepted per second by tfo's receiver over the window. */
  readonly acceptedPerSecond: number;
  /** Spans per second the generator saw acknowledged (requests started in its window). */
  readonly generatorPerSecond: number;
  /** Bytes the sink received per exported span. */
  readonly sinkBytesPerItem: number;
  /** tfo's CPU (cores busy, all threads) over the window. */
  readonly tfoCores: number;
  /** tfo's cores per thread kind: `primary` (the main thread), `worker-N`, `v8`, `other`. */
  readonly tfoThreads: Readonly<Record<string, number>>;
  /** tfo's peak resident memory (`VmHWM`) at the end of the window, bytes. */
  readonly tfoHwmBytes: number;
  /** The generator's and the sink's CPU over the window. */
  readonly generatorCores: number;
  readonly sinkCores: number;
  /** Non-200 answers or failed requests seen by the generator in its window. */
  readonly errors: number;
  /** Connections the generator opened. */
  readonly connects: number;
  /** The 1-minute load average before and after the run. */
  readonly load1: readonly [number, number];
  /** When the run ended (ISO, UTC). */
  readonly at: string;
}

/** Options of {@linkcode runWorkersBench}. */
export interface WorkersBenchOptions {
  /** Runs per (path, workers). @default 3 */
  readonly runs?: number;
  /** Seconds measured per run. @default 10 */
  readonly durationS?: number;
  /** Seconds before the window. @default 3 */
  readonly warmupS?: number;
  /** Generator connections (one request in flight each). @default 16 */
  readonly connections?: number;
  /** Spans per request. @default 2000 */
  readonly items?: number;
  /** Which paths. @default both */
  readonly paths?: readonly WorkersPath[];
  /** Which worker counts, alternated. @default [1, 2] */
  readonly workerCounts?: readonly number[];
  /** A directory to write tfo's `--cpu-prof` profiles to (one per thread), or "" for none. */
  readonly profDir?: string;
  /**
   * V8 flags to run tfo with instead of the shipped ones (`--v8-flags` of deno.json's `start`
   * task), for experiments, or "" for the shipped ones.
   */
  readonly v8Flags?: string;
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

async function sinkStats(): Promise<DrainStats> {
  const response = await fetch(`http://127.0.0.1:${PORTS.sinkHttp}/stats`);
  return await response.json() as DrainStats;
}

/** The sum of every series of counter `name` in Prometheus text `text`. */
export function sumCounter(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const next = line[name.length];
    if (next !== "{" && next !== " ") continue;
    sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}

async function tfoCounters(): Promise<{ sent: number; accepted: number }> {
  const response = await fetch(`http://127.0.0.1:${PORTS.telemetry}/metrics`);
  const text = await response.text();
  return {
    sent: sumCounter(text, "otelcol_exporter_sent_spans"),
    accepted: sumCounter(text, "otelcol_receiver_accepted_spans"),
  };
}

async function load1(): Promise<number> {
  const text = await Deno.readTextFile("/proc/loadavg");
  return Number(text.split(" ")[0]);
}

/**
 * CPU seconds per thread kind of process `pid`: `primary` (tid = pid), `worker-N`, `v8` (V8's
 * platform threads: concurrent and parallel GC, compilation), `other` (Deno's runtime threads).
 */
async function threadSeconds(pid: number): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for await (const entry of Deno.readDir(`/proc/${pid}/task`)) {
    let stat: string;
    try {
      stat = await Deno.readTextFile(`/proc/${pid}/task/${entry.name}/stat`);
    } catch {
      continue; // The thread ended.
    }
    const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const kind = entry.name === String(pid)
      ? "primary"
      : comm.startsWith("worker-")
      ? comm
      : comm.startsWith("V8 ")
      ? "v8"
      : "other";
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const seconds = (Number(rest[11]) + Number(rest[12])) / 100;
    out.set(kind, (out.get(kind) ?? 0) + seconds);
  }
  return out;
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
  const loadBefore = await load1();
  const prof = o.profDir === ""
    ? []
    : [`--cpu-prof`, `--cpu-prof-dir=${o.profDir}/${path}_${workers}_${Date.now()}`];
  const tfo = group.spawn("tfo", DENO, [
    "run",
    ...TFO_RUN_FLAGS.map((f) =>
      o.v8Flags !== "" && f.startsWith("--v8-flags=") ? `--v8-flags=${o.v8Flags}` : f
    ),
    ...prof,
    new URL("../main.ts", import.meta.url).pathname,
    "run",
    "--config",
    file,
  ]);
  try {
    await waitForPort(PORTS.inHttp, 30_000, tfo);
    // The other workers listen a little after the primary.
    await sleep(workers > 1 ? 3000 : 500);
    const gen = group.spawn("raw_gen", DENO, [
      "run",
      "--allow-all",
      new URL("./raw_gen.ts", import.meta.url).pathname,
      "--target",
      `127.0.0.1:${PORTS.inHttp}`,
      "--connections",
      String(o.connections),
      "--warmup",
      String(o.warmupS),
      "--duration",
      String(o.durationS + 1),
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
    const threadsBefore = await threadSeconds(tfo.pid);
    const before = await Promise.all(pids.map(sampleProc));
    const countersBefore = await tfoCounters();
    const statsBefore = await sinkStats();
    const t0 = performance.now();
    await sleep(o.durationS * 1000);
    const countersAfter = await tfoCounters();
    const statsAfter = await sinkStats();
    const seconds = (performance.now() - t0) / 1000;
    const after = await Promise.all(pids.map(sampleProc));
    const threadsAfter = await threadSeconds(tfo.pid);
    const g = JSON.parse(await result) as RawGenResult;
    await gen.exited;
    const cores = pids.map((_, i) => (after[i]!.cpuSeconds - before[i]!.cpuSeconds) / seconds);
    const tfoThreads: Record<string, number> = {};
    for (const [kind, s] of [...threadsAfter].sort()) {
      tfoThreads[kind] = (s - (threadsBefore.get(kind) ?? 0)) / seconds;
    }
    const sent = countersAfter.sent - countersBefore.sent;
    return {
      path,
      workers,
      itemsPerSecond: sent / seconds,
      acceptedPerSecond: (countersAfter.accepted - countersBefore.accepted) / seconds,
      generatorPerSecond: g.window.items / g.window.seconds,
      sinkBytesPerItem: (statsAfter.bytes - statsBefore.bytes) / sent,
      tfoCores: cores[0]!,
      tfoThreads,
      tfoHwmBytes: after[0]!.hwmBytes,
      generatorCores: cores[1]!,
      sinkCores: cores[2]!,
      errors: g.window.errors + (statsAfter.rejected - statsBefore.rejected),
      connects: g.connects,
      load1: [loadBefore, await load1()],
      at: new Date().toISOString(),
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
    connections: options.connections ?? 16,
    items: options.items ?? 2000,
    paths: options.paths ?? ["decode", "passthrough"],
    workerCounts: options.workerCounts ?? [1, 2],
    profDir: options.profDir ?? "",
    v8Flags: options.v8Flags ?? "",
  };
  const group = new ChildGroup();
  const dir = await Deno.makeTempDir({ prefix: "tfo-workers-bench-" });
  const runs: WorkersRun[] = [];
  try {
    const sink = group.spawn("drain_sink", DENO, [
      "run",
      "--allow-all",
      new URL("./drain_sink.ts", import.meta.url).pathname,
      "--port",
      String(PORTS.sinkHttp),
    ]);
    await sink.nextLine((l) => l === "ready", 30_000);
    for (const path of o.paths) {
      for (let i = 0; i < o.runs; i++) {
        for (const workers of o.workerCounts) {
          const run = await oneRun(group, sink, path, workers, o, dir);
          console.error(describeRun(run));
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

/** One line about a run, for the log. */
export function describeRun(run: WorkersRun): string {
  const threads = Object.entries(run.tfoThreads).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(
    ", ",
  );
  return `${run.at} ${run.path} workers=${run.workers}: ${
    Math.round(run.itemsPerSecond)
  } spans/s ` +
    `sent (accepted ${Math.round(run.acceptedPerSecond)}, generator ${
      Math.round(run.generatorPerSecond)
    }, sink ${run.sinkBytesPerItem.toFixed(0)} B/span), tfo ${run.tfoCores.toFixed(2)} cores ` +
    `(${threads}), gen ${run.generatorCores.toFixed(2)}, sink ${run.sinkCores.toFixed(2)}, ` +
    `peak RSS ${
      (run.tfoHwmBytes / 2 ** 20).toFixed(0)
    } MiB, errors ${run.errors}, connects ${run.connects}, load ${run.load1[0]} → ${run.load1[1]}`;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

/** Microseconds of `cores` per item at `itemsPerSecond`. */
function usPerItem(cores: number, itemsPerSecond: number): number {
  return cores / itemsPerSecond * 1e6;
}

/**
 * A Markdown table of the runs: per path and worker count, the runs and their median, tfo's
 * cores (all threads, and its main thread), the CPU per item of tfo, the generator and the sink,
 * the speed-up over 1 worker, and two ceilings for a 2-core machine, from the 1-worker runs'
 * medians. With 1 worker tfo is bound by its one pipeline thread; with 2, tfo and the harness
 * share the 2 cores: at most 2 / (tfo-µs + harness-µs) items/s.
 *
 * - "harness" counts all of tfo's CPU as that one thread's (1 worker at most 1 / tfo-µs):
 *   2 · tfo-µs / (tfo-µs + harness-µs), what the harness alone leaves;
 * - "+ tfo helpers" counts only the main thread's (1 worker at most 1 / main-µs; V8's GC and
 *   Deno's I/O threads run beside it on the other core): 2 · main-µs / (tfo-µs + harness-µs).
 */
export function renderWorkersRuns(runs: readonly WorkersRun[]): string {
  const lines = [
    "| path | workers | spans/s (runs) | median spans/s | load average (runs) | tfo cores (main thread) | µs per span: tfo / generator / sink | speed-up | ceiling: harness / + tfo helpers |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const path of new Set(runs.map((r) => r.path))) {
    const of = (w: number) => runs.filter((r) => r.path === path && r.workers === w);
    const base = median(of(1).map((r) => r.itemsPerSecond));
    for (const w of new Set(runs.filter((r) => r.path === path).map((r) => r.workers))) {
      const rs = of(w);
      const m = median(rs.map((r) => r.itemsPerSecond));
      const cores = median(rs.map((r) => r.tfoCores));
      const mainCores = median(rs.map((r) => r.tfoThreads["primary"] ?? 0));
      const tfoUs = median(rs.map((r) => usPerItem(r.tfoCores, r.itemsPerSecond)));
      const mainUs = median(
        rs.map((r) => usPerItem(r.tfoThreads["primary"] ?? 0, r.itemsPerSecond)),
      );
      const genUs = median(rs.map((r) => usPerItem(r.generatorCores, r.itemsPerSecond)));
      const sinkUs = median(rs.map((r) => usPerItem(r.sinkCores, r.itemsPerSecond)));
      const all = tfoUs + genUs + sinkUs;
      const ceiling = w === 1
        ? `${(2 * tfoUs / all).toFixed(2)}x / ${(2 * mainUs / all).toFixed(2)}x`
        : "";
      lines.push(
        `| ${path} | ${w} | ${rs.map((r) => Math.round(r.itemsPerSecond)).join(", ")} | ${
          Math.round(m)
        } | ${rs.map((r) => r.load1[1].toFixed(1)).join(", ")} | ${cores.toFixed(2)} (${
          mainCores.toFixed(2)
        }) | ${tfoUs.toFixed(2)} / ${genUs.toFixed(2)} / ${sinkUs.toFixed(2)} | ${
          Number.isNaN(base) ? "" : `${(m / base).toFixed(2)}x`
        } | ${ceiling} |`,
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
      connections: { type: "string" },
      items: { type: "string" },
      only: { type: "string" },
      counts: { type: "string" },
      json: { type: "string" },
      prof: { type: "string" },
      "v8-flags": { type: "string" },
    },
  });
  const runs = await runWorkersBench({
    ...(values.runs === undefined ? {} : { runs: Number(values.runs) }),
    ...(values.duration === undefined ? {} : { durationS: Number(values.duration) }),
    ...(values.connections === undefined ? {} : { connections: Number(values.connections) }),
    ...(values.items === undefined ? {} : { items: Number(values.items) }),
    ...(values.only === undefined ? {} : { paths: [values.only as WorkersPath] }),
    ...(values.counts === undefined ? {} : { workerCounts: values.counts.split(",").map(Number) }),
    ...(values.prof === undefined ? {} : { profDir: values.prof }),
    ...(values["v8-flags"] === undefined ? {} : { v8Flags: values["v8-flags"] }),
  });
  if (values.json !== undefined) await Deno.writeTextFile(values.json, JSON.stringify(runs));
  console.log(renderWorkersRuns(runs));
}
