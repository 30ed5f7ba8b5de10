/**
 * The benchmark report: machine facts and the markdown of `bench/RESULTS.md`.
 *
 * @module
 */
import type {
  Peer,
  PeerResult,
  RunOptions,
  ScenarioResult,
  ThroughputResult,
} from "./passthrough.ts";
import { TFO_RUN_FLAGS } from "./_children.ts";

/** What the benchmark ran on. */
export interface MachineInfo {
  nproc: number;
  cpu: string;
  memory: string;
  deno: string;
  otelcol: string | undefined;
  kernel: string;
}

/** The targets of the pass-through benchmark on the 2-core bench machine. */
export const TARGETS = {
  spansPerSecond: 100_000,
  cpuEfficiencyRatio: 1.5,
  peakRssMiB: 200,
} as const;

const ANALYSIS_START = "<!-- analysis:start -->";
const ANALYSIS_END = "<!-- analysis:end -->";

async function output(command: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await new Deno.Command(command, { args, stderr: "null" }).output();
    return new TextDecoder().decode(stdout).trim();
  } catch {
    return "";
  }
}

/** Reads the machine facts from `/proc` and the tools' version commands. */
export async function machineInfo(otelcol: string | undefined): Promise<MachineInfo> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const meminfo = await Deno.readTextFile("/proc/meminfo").catch(() => "");
  const memKb = Number(/^MemTotal:\s+(\d+)/m.exec(meminfo)?.[1] ?? 0);
  return {
    nproc: navigator.hardwareConcurrency,
    cpu: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? "unknown",
    memory: `${(memKb / 1024 / 1024).toFixed(1)} GiB`,
    deno: `${Deno.version.deno} (V8 ${Deno.version.v8})`,
    otelcol: otelcol === undefined ? undefined : await output(otelcol, ["--version"]),
    kernel: (await Deno.readTextFile("/proc/sys/kernel/osrelease").catch(() => "")).trim(),
  };
}

const UNITS = { traces: "spans", metrics: "data points", logs: "log records" } as const;

function n(x: number, digits = 0): string {
  if (!Number.isFinite(x)) return "–";
  return x.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

function mib(bytes: number): string {
  return n(bytes / 1024 / 1024, 0);
}

function ratio(a: number | undefined, b: number | undefined, digits = 2): string {
  if (a === undefined || b === undefined || !(b > 0) || !Number.isFinite(a)) return "–";
  return `${n(a / b, digits)}×`;
}

function scenarioTable(r: ScenarioResult): string {
  const unit = UNITS[r.scenario.signal];
  const get = (peer: Peer) => r.peers.find((p) => p.peer === peer);
  const tfo = get("tfo");
  const otel = get("otelcol");
  const peers = [tfo, otel].filter((p): p is PeerResult => p !== undefined);
  const row = (
    label: string,
    f: (p: PeerResult) => string,
    ratioOf?: (p: PeerResult) => number,
  ) => {
    const cells = peers.map(f);
    const rr = ratioOf !== undefined && tfo !== undefined && otel !== undefined
      ? ratio(ratioOf(tfo), ratioOf(otel))
      : "";
    return `| ${label} | ${cells.join(" | ")} |${otel !== undefined ? ` ${rr} |` : ""}`;
  };
  const t = (p: PeerResult): ThroughputResult => p.throughput;
  const added = (p: PeerResult) => p.latency.e2eP99 - r.direct.e2eP99;
  const header = `| | ${peers.map((p) => p.peer).join(" | ")} |${otel ? " tfo / otelcol |" : ""}`;
  const rule = `| --- | ${peers.map(() => "---:").join(" | ")} |${otel ? " ---: |" : ""}`;
  return [
    `### ${r.scenario.id}: ${r.scenario.signal} over ${
      r.scenario.protocol === "grpc" ? "gRPC" : "HTTP/protobuf"
    } → batch → \`${r.scenario.exporter}\` → sink`,
    "",
    header,
    rule,
    row(
      `throughput (${unit}/s at the sink)`,
      (p) => n(t(p).itemsPerSecond),
      (p) => t(p).itemsPerSecond,
    ),
    row("CPU-seconds per million items (peer process)", (p) => n(t(p).cpuSecondsPerMillion, 2)),
    row("items per CPU-second", (p) => n(t(p).itemsPerCpuSecond), (p) => t(p).itemsPerCpuSecond),
    row(
      "cores used: peer / generator / sink",
      (p) => `${n(t(p).cores.peer, 2)} / ${n(t(p).cores.generator, 2)} / ${n(t(p).cores.sink, 2)}`,
    ),
    row("failed requests (throughput phase)", (p) => n(t(p).errors)),
    row("request p99 at saturation (ms, generator)", (p) => n(t(p).requestP99, 1)),
    row(
      `end-to-end p50 / p99 at ${n(0)} ms baseline`.replace(` at ${n(0)} ms baseline`, "") +
        " at the fixed rate (ms)",
      (p) => `${n(p.latency.e2eP50, 1)} / ${n(p.latency.e2eP99, 1)}`,
    ),
    row(
      `**added p99** (minus direct: ${n(r.direct.e2eP99, 1)} ms)`,
      (p) => `**${n(added(p), 1)}**`,
    ),
    row(
      "request p50 / p99 at the fixed rate (ms, generator)",
      (p) => `${n(p.latency.requestP50, 1)} / ${n(p.latency.requestP99, 1)}`,
    ),
    row("lost requests at the fixed rate", (p) => n(p.latency.lost)),
    row("peak RSS (VmHWM, MiB)", (p) => mib(p.peakRssBytes), (p) => p.peakRssBytes),
    "",
    ...(peers.flatMap((p) =>
      p.throughput.firstError === undefined
        ? []
        : [`${p.peer}'s first failure: \`${p.throughput.firstError}\``, ""]
    )),
  ].join("\n");
}

function targetsTable(results: ScenarioResult[]): string {
  const traces = results.filter((r) => r.scenario.signal === "traces");
  const tfoRuns = results.flatMap((r) =>
    r.peers.filter((p) => p.peer === "tfo").map((p) => ({
      r,
      p,
    }))
  );
  const bestSpans = Math.max(
    ...traces.flatMap((r) =>
      r.peers.filter((p) => p.peer === "tfo").map((p) => p.throughput.itemsPerSecond)
    ),
  );
  const ratios = results.flatMap((r) => {
    const tfo = r.peers.find((p) => p.peer === "tfo");
    const otel = r.peers.find((p) => p.peer === "otelcol");
    return tfo && otel
      ? [{
        id: r.scenario.id,
        x: tfo.throughput.itemsPerCpuSecond / otel.throughput.itemsPerCpuSecond,
      }]
      : [];
  });
  const peak = Math.max(...tfoRuns.map(({ p }) => p.peakRssBytes));
  const yes = (ok: boolean) => (ok ? "met" : "**missed**");
  const lines = [
    "| target | result | |",
    "| --- | --- | --- |",
  ];
  if (traces.length > 0) {
    const per = traces.map((r) =>
      `${r.scenario.id} ${
        n(r.peers.find((p) => p.peer === "tfo")?.throughput.itemsPerSecond ?? NaN)
      }`
    ).join("; ");
    lines.push(
      `| ≥ ${n(TARGETS.spansPerSecond)} spans/s through one tfo process | best ${
        n(bestSpans)
      } spans/s (${per}) | ${yes(bestSpans >= TARGETS.spansPerSecond)} |`,
    );
  }
  if (ratios.length > 0) {
    const min = Math.min(...ratios.map((x) => x.x));
    lines.push(
      `| ≥ ${TARGETS.cpuEfficiencyRatio}× otelcol's items per CPU-second | ${
        ratios.map((x) => `${x.id} ${n(x.x, 2)}×`).join("; ")
      } | ${yes(min >= TARGETS.cpuEfficiencyRatio)}${
        min < TARGETS.cpuEfficiencyRatio && ratios.some((x) => x.x >= TARGETS.cpuEfficiencyRatio)
          ? " in some"
          : ""
      } |`,
    );
  } else {
    lines.push("| ≥ 1.5× otelcol's items per CPU-second | not measured: tfo ran alone | – |");
  }
  lines.push(
    `| peak RSS < ${TARGETS.peakRssMiB} MiB | highest tfo VmHWM ${mib(peak)} MiB | ${
      yes(peak / 1024 / 1024 < TARGETS.peakRssMiB)
    } |`,
  );
  return lines.join("\n");
}

/** Everything the report shows. */
export interface ReportInput {
  machine: MachineInfo;
  options: RunOptions;
  mode: "full" | "quick";
  args: string[];
  results: ScenarioResult[];
  codec: string | undefined;
  /** The sending-queue benchmark's markdown (`bench/queue_bench.ts`). */
  queue?: string | undefined;
  /** The edge-agent benchmark's markdown (`bench/agent_bench.ts`). */
  agent?: string | undefined;
  /** The seed-batch request latency benchmark's markdown (`bench/latency_bench.ts`). */
  latency?: string | undefined;
  profile: { throughput: ThroughputResult; summary: string; scenario: string } | undefined;
  elapsedS: number;
  /** The previous RESULTS.md, whose analysis section is kept. */
  previous: string;
}

function keptAnalysis(previous: string): string {
  const start = previous.indexOf(ANALYSIS_START);
  const end = previous.indexOf(ANALYSIS_END);
  if (start >= 0 && end > start) return previous.slice(start, end + ANALYSIS_END.length);
  return `${ANALYSIS_START}\n_No analysis written yet._\n${ANALYSIS_END}`;
}

/** The markdown of `bench/RESULTS.md`. */
export function renderResults(input: ReportInput): string {
  const { machine: m, options: o } = input;
  const date = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const alone = o.otelcol === undefined;
  return [
    "# Benchmark results",
    "",
    `Generated by \`deno task bench${input.args.length ? ` ${input.args.join(" ")}` : ""}\` ` +
    `(${input.mode} run, ${n(input.elapsedS)} s of pipeline benchmarks) on ${date}. ` +
    "Every number below comes from that run; re-running overwrites them (the hand-written " +
    "analysis at the end is kept).",
    "",
    "## Machine",
    "",
    "| | |",
    "| --- | --- |",
    `| CPUs (nproc) | ${m.nproc} |`,
    `| CPU model | ${m.cpu} |`,
    `| memory | ${m.memory} |`,
    `| kernel | ${m.kernel} |`,
    `| Deno | ${m.deno} |`,
    `| reference collector | ${m.otelcol ?? "not available: tfo ran alone"} |`,
    "",
    ...(alone
      ? [
        "> **The reference collector was not run** (binary missing or `--no-otelcol`): tfo ran alone",
        "> and there are no ratios. Build it with `bench/peers.sh`.",
        "",
      ]
      : []),
    "## Targets",
    "",
    targetsTable(input.results),
    "",
    "## Method",
    "",
    `- Three processes share the ${m.nproc} cores, nothing pinned: the load generator ` +
    "(`bench/load_gen.ts`), the peer under test (tfo via `deno run` with `deno task start`'s " +
    `flags (\`${TFO_RUN_FLAGS.join(" ")}\`) \`main.ts run --config ` +
    "bench/configs/tfo_<exporter>.yaml`, or `otelcol --config " +
    "bench/configs/otelcol_<exporter>.yaml`) and the sink (`bench/sink.ts`). The cores used by each " +
    "are in the tables: the generator and sink take CPU the peer cannot use.",
    "- Pipeline, the same in both peers: otlp receiver (gRPC and HTTP) → batch (8192 items or " +
    "200 ms, no max) → `otlp` (gRPC) or `otlphttp` exporter, compression none, → sink. The " +
    "collector keeps its exporter defaults (10 consumers, retries) except a bounded, blocking " +
    "sending queue (`queue_size: 10`, `block_on_overflow: true`) so it backs up into its receiver " +
    "instead of buffering gigabytes; tfo's queue (which takes the batch processor's settings and " +
    "batches behind) holds as many items, blocking (`sizer: items`, `queue_size: 81920`, " +
    "`block_on_overflow: true`; see the configs).",
    `- Requests: ${o.items} items each, pre-encoded, 16 variants (traces: 10 attributes per span, ` +
    "~41 KB; metrics: gauges, sums and 11-bucket histograms with 3 attributes per point; logs: text " +
    "body and 5 attributes). The same bytes go to both peers.",
    `- Throughput phase: closed loop, ${o.workers} requests in flight, ${o.warmupS} s warm-up then ` +
    `${o.durationS} s measured. Throughput is items counted at the sink in the window; CPU is the ` +
    "peer's utime+stime from `/proc/<pid>/stat` over the same window (all threads).",
    `- Latency phase (same peer process): open loop at ${n(o.latencyRate)} items/s for ` +
    `${o.latencyS} s. End-to-end latency = sink arrival time − the send time the generator writes ` +
    "into a resource attribute (`bench.sent_us`) of each request just before sending; the sink " +
    "reads it from the protobuf framing without decoding. The same load sent straight to the sink " +
    "is the baseline; **added p99 = peer p99 − direct p99**. It includes the batch processor's wait " +
    "(up to its 200 ms timeout at this rate) in both peers. Request latency (send → answer, seen " +
    "by the generator) is shown too: both peers answer once the data is queued (tfo hands the " +
    "batch processor's settings to the exporter's sending queue), so it compares directly.",
    "- Peak RSS: `VmHWM` of the peer process from `/proc/<pid>/status` after both phases.",
    "",
    "## Pass-through pipeline",
    "",
    ...input.results.map(scenarioTable),
    ...(input.profile === undefined ? [] : [
      "## Profile of tfo under load",
      "",
      `\`deno run --cpu-prof\` on tfo during the throughput phase of ${input.profile.scenario} ` +
      `(${n(input.profile.throughput.itemsPerSecond)} items/s, ${
        n(input.profile.throughput.cores.peer, 2)
      } cores while profiled).`,
      "",
      input.profile.summary,
      "",
    ]),
    ...(input.codec === undefined ? [] : [
      "## OTLP protobuf codec",
      "",
      "`bench/codec_bench.ts`: tfo's codec against protobufjs, MB/s of encoded bytes, best of 5.",
      "",
      input.codec,
      "",
    ]),
    ...(input.queue === undefined ? [] : [
      "## Sending queues",
      "",
      "`bench/queue_bench.ts`: the persistent (Deno KV) queue against the in-memory queue.",
      "",
      input.queue,
      "",
    ]),
    ...(input.latency === undefined ? [] : [input.latency, ""]),
    ...(input.agent === undefined ? [] : [
      "## Edge agent",
      "",
      "`bench/agent_bench.ts`: the hostmetrics agent's idle footprint and filelog throughput " +
      "against rsyslog.",
      "",
      input.agent,
      "",
    ]),
    "## What limits it",
    "",
    keptAnalysis(input.previous),
    "",
  ].join("\n");
}

/**
 * Puts `section` (which starts with `startMarker` and ends with `endMarker`) into the results
 * file at `path`: in place of an earlier one, else just before the hand-written analysis's end
 * marker (which `deno task bench` keeps), else at the end.
 */
export async function writeResultsSection(
  path: string,
  startMarker: string,
  endMarker: string,
  section: string,
): Promise<void> {
  const text = await Deno.readTextFile(path);
  const start = text.indexOf(startMarker);
  const end = text.indexOf(endMarker);
  let next: string;
  if (start >= 0 && end > start) {
    next = text.slice(0, start) + section + text.slice(end + endMarker.length);
  } else {
    const at = text.indexOf(ANALYSIS_END);
    next = at < 0
      ? `${text}\n${section}\n`
      : `${text.slice(0, at)}\n${section}\n\n${text.slice(at)}`;
  }
  await Deno.writeTextFile(path, next);
}
