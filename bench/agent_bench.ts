/**
 * The agent benchmark, in two parts:
 *
 * 1. Idle footprint: tfo running the embedded default agent config (`examples/agent.yaml`, as
 *    `tfo run` without `--config` does) with every host scraper turned on (10 s interval), on free
 *    ports, its persistent queue in a temporary directory and the bench sink as its OTLP/gRPC
 *    backend. VmRSS, VmHWM and utime+stime of the tfo process are sampled from `/proc` every
 *    second for the window; a bare `deno run` of an idle script gives the runtime's own floor,
 *    before and after `lib/host/release_memory.ts` (which `tfo run` calls once started).
 * 2. filelog throughput: a generated file of N lines read from the beginning and delivered to a
 *    sink, timed from process start until the sink holds N lines. tfo: filelog → batch →
 *    `otlphttp` (no compression) → the bench sink counting log records. Reference in the same run:
 *    Debian's rsyslog (`imfile` → `omfile`) in its own foreground instance, counting lines of its
 *    output file.
 *
 * ```sh
 * deno run -A --unstable-kv bench/agent_bench.ts           # 5-minute idle window, 1,000,000 lines
 * deno run -A --unstable-kv bench/agent_bench.ts --quick   # 60 s, 200,000 lines
 * deno run -A --unstable-kv bench/agent_bench.ts --filelog-only --no-rsyslog   # filelog part only
 * # … --cpu-prof-dir /tmp/prof: a V8 CPU profile of the filelog `tfo run` child
 * deno run -A --unstable-kv bench/agent_bench.ts --quick --no-rsyslog --idle-only   # idle part only
 * # … --idle-cpu-prof-dir /tmp/prof: a V8 CPU profile of the idle `tfo run` child
 * # … --entry dist/bundle/main.js: run another build of tfo (`deno task bundle`) under the same flags
 * # … --run-flags "--v8-flags=--max-semi-space-size=1": run tfo under these runtime flags instead of
 * #   the start task's (TFO_RUN_FLAGS); --tfo-env MALLOC_ARENA_MAX=2 (repeatable): extra environment
 * #   of the tfo children only
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
import { type ProcSample, sampleProc } from "./_proc.ts";
import type { SinkStats } from "./sink.ts";

/** How long and how much the agent benchmark runs. */
export interface AgentBenchOptions {
  /** Seconds of the idle sampling window (default 300). */
  idleS?: number;
  /** Seconds after start left out of the steady-state RSS figures (default 30). */
  settleS?: number;
  /** hostmetrics `collection_interval` in seconds (default 10). */
  intervalS?: number;
  /** Lines in the filelog input (default 1,000,000). */
  lines?: number;
  /** Give up on a throughput run after this many seconds (default 300). */
  timeoutS?: number;
  /** Skip the rsyslog reference. */
  noRsyslog?: boolean;
  /** Run only the filelog throughput part (no idle window). */
  filelogOnly?: boolean;
  /** Write a V8 CPU profile of the filelog `tfo run` child into this directory. */
  cpuProfDir?: string;
  /** Write a V8 CPU profile of the idle `tfo run` child into this directory. */
  idleCpuProfDir?: string;
  /** Run only the idle window (no filelog throughput part). */
  idleOnly?: boolean;
  /**
   * The module `deno run` starts as tfo, e.g. the bundle `deno task bundle` writes.
   * @default main.ts
   */
  entry?: string;
  /**
   * The runtime flags `deno run` starts tfo with (the bare-runtime floor keeps the shipped ones).
   * @default TFO_RUN_FLAGS, the start task's
   */
  runFlags?: readonly string[];
  /** Extra environment variables of the tfo children (not of the sink or the floor script). */
  tfoEnv?: Readonly<Record<string, string>>;
  /** Progress messages (default: stderr). */
  log?: (line: string) => void;
}

const DENO = Deno.execPath();
const MAIN = new URL("../main.ts", import.meta.url).pathname;
const SINK = new URL("./sink.ts", import.meta.url).pathname;
const MIB = 1024 * 1024;
/** Bytes per generated line, newline included. */
const LINE_BYTES = 120;

/** A port nothing listens on right now. */

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function mib(bytes: number): string {
  return (bytes / MIB).toFixed(1);
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

interface Sink {
  child: Child;
  httpPort: number;
  grpcPort: number;
}

async function startSink(group: ChildGroup): Promise<Sink> {
  const httpPort = freePort();
  const grpcPort = freePort();
  const child = group.spawn("sink", DENO, [
    "run",
    "--allow-all",
    SINK,
    "--grpc-port",
    String(grpcPort),
    "--http-port",
    String(httpPort),
  ]);
  await child.nextLine((l) => l === "ready", 30_000);
  await waitForPort(httpPort, 10_000, child);
  return { child, httpPort, grpcPort };
}

async function sinkStats(sink: Sink): Promise<SinkStats> {
  const response = await fetch(`http://127.0.0.1:${sink.httpPort}/stats`);
  return await response.json() as SinkStats;
}

/** Polls `read` every `everyMs` until `done` accepts its value; throws after `timeoutMs`. */
async function pollUntil<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs: number,
  everyMs: number,
  what: string,
  child?: Child,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let exited: number | undefined;
  child?.exited.then((code) => exited = code);
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (exited !== undefined) {
      throw new Error(`${child!.name} exited with ${exited} before ${what}:\n${child!.tail()}`);
    }
    if (performance.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await sleep(everyMs);
  }
}

function tfoTelemetry(): string {
  return `  telemetry:
    logs:
      level: warn
    metrics:
      level: none
      address: 127.0.0.1:${freePort()}
`;
}

/** The host scrapers the default agent config leaves out, all turned on for the idle run. */
const MORE_SCRAPERS: Readonly<Record<string, string>> = {
  process: "{mute_process_all_errors: true}",
  pressure: "{}",
  vmstat: "{}",
  sockstat: "{}",
  entropy: "{}",
  filedescriptors: "{}",
  thermal: "{}",
};

/** `tfo run` of the embedded default config with every scraper, against the sink, on free ports. */
function startIdleAgent(
  group: ChildGroup,
  sink: Sink,
  dir: string,
  o: Required<AgentBenchOptions>,
) {
  const sets = [
    `receivers.otlp.protocols.grpc.endpoint=127.0.0.1:${freePort()}`,
    `receivers.otlp.protocols.http.endpoint=127.0.0.1:${freePort()}`,
    `receivers.file_log.include=[${JSON.stringify(`${dir}/no-logs/*.log`)}]`,
    `receivers.host_metrics.collection_interval=${o.intervalS}s`,
    ...Object.entries(MORE_SCRAPERS).map(([k, v]) => `receivers.host_metrics.scrapers.${k}=${v}`),
    `extensions.health_check.endpoint=127.0.0.1:${freePort()}`,
    `service.telemetry.metrics.address=127.0.0.1:${freePort()}`,
    "service.telemetry.logs.level=warn",
  ];
  return group.spawn(
    "tfo",
    DENO,
    [
      "run",
      ...o.runFlags,
      ...(o.idleCpuProfDir === "" ? [] : ["--cpu-prof", `--cpu-prof-dir=${o.idleCpuProfDir}`]),
      o.entry,
      "run",
      ...sets.flatMap((v) => ["--set", v]),
    ],
    {
      ...o.tfoEnv,
      TFO_EXPORTER_ENDPOINT: `127.0.0.1:${sink.grpcPort}`,
      TFO_STORAGE_DIR: `${dir}/idle-storage`,
    },
  );
}

function filelogConfig(sink: Sink, path: string): string {
  return `receivers:
  filelog:
    include: [${JSON.stringify(path)}]
    start_at: beginning

processors:
  batch:
    send_batch_size: 8192
    send_batch_max_size: 0
    timeout: 200ms

exporters:
  otlphttp:
    endpoint: http://127.0.0.1:${sink.httpPort}
    compression: none

service:
  pipelines:
    logs:
      receivers: [filelog]
      processors: [batch]
      exporters: [otlphttp]
${tfoTelemetry()}`;
}

function startTfo(group: ChildGroup, config: string, o: Required<AgentBenchOptions>) {
  return group.spawn("tfo", DENO, [
    "run",
    ...o.runFlags,
    ...(o.cpuProfDir === "" ? [] : ["--cpu-prof", `--cpu-prof-dir=${o.cpuProfDir}`]),
    o.entry,
    "run",
    "--config",
    config,
  ], o.tfoEnv);
}

/** The idle-footprint figures. */
interface IdleResult {
  samples: number;
  windowS: number;
  rssMedian: number;
  /** Median anonymous RSS after the settling time. */
  anonMedian: number;
  rssMax: number;
  rssMin: number;
  hwm: number;
  cpuPct: number;
  cpuPctSteady: number;
  metricPoints: number;
  exports: number;
  denoFloorRss: number;
  /** The bare script's RSS after `releaseMemory()`. */
  denoFloorReleasedRss: number;
  startupS: number;
}

const RELEASE = new URL("../lib/host/release_memory.ts", import.meta.url).href;

/** RSS of a bare `deno run` of an idle script; `release`: after `releaseMemory()`. */
async function bareDenoRss(group: ChildGroup, dir: string, release = false): Promise<number> {
  const script = `${dir}/idle${release ? "_released" : ""}.ts`;
  const head = release
    ? `import { releaseMemory } from ${JSON.stringify(RELEASE)};\n` +
      // After start-up, as `tfo run` does once its service started.
      "setTimeout(() => releaseMemory(), 500);\n"
    : "";
  await Deno.writeTextFile(
    script,
    `${head}setInterval(() => {}, 1000);\nconsole.log('ready');\n`,
  );
  const child = group.spawn("bare deno", DENO, ["run", ...TFO_RUN_FLAGS, script]);
  await child.nextLine((l) => l === "ready", 30_000);
  const rss: number[] = [];
  if (release) await sleep(1000);
  for (let i = 0; i < 5; i++) {
    await sleep(1000);
    rss.push((await sampleProc(child.pid)).rssBytes);
  }
  await child.stop(2000);
  return median(rss);
}

async function runIdle(
  group: ChildGroup,
  sink: Sink,
  dir: string,
  o: Required<AgentBenchOptions>,
): Promise<IdleResult> {
  const log = o.log;
  log("Agent bench: bare deno floor ...");
  const denoFloorRss = await bareDenoRss(group, dir);
  const denoFloorReleasedRss = await bareDenoRss(group, dir, true);
  log(
    `  bare deno RSS ${mib(denoFloorRss)} MiB, ${mib(denoFloorReleasedRss)} MiB after release`,
  );

  const before = await sinkStats(sink);
  const spawned = performance.now();
  const tfo = startIdleAgent(group, sink, dir, o);
  // Ready once the first scrape (after the 1 s initial delay) reached the sink.
  await pollUntil(
    () => sinkStats(sink),
    (s) => s.items.metrics > before.items.metrics,
    60_000,
    200,
    "the first host_metrics export",
    tfo,
  );
  const startupS = (performance.now() - spawned) / 1000;
  log(
    `Agent bench: tfo default agent up after ${startupS.toFixed(1)} s; sampling ${o.idleS} s ...`,
  );
  const first = await sampleProc(tfo.pid);
  const t0 = performance.now();
  const samples: Array<ProcSample & { t: number }> = [];
  const end = t0 + o.idleS * 1000;
  let next = t0 + 1000;
  let exited: number | undefined;
  tfo.exited.then((code) => exited = code);
  while (performance.now() < end) {
    await sleep(Math.max(0, next - performance.now()));
    next += 1000;
    if (exited !== undefined) throw new Error(`tfo exited with ${exited}:\n${tfo.tail()}`);
    samples.push({ ...(await sampleProc(tfo.pid)), t: (performance.now() - t0) / 1000 });
    if (samples.length % 30 === 0) {
      const s = samples[samples.length - 1]!;
      log(`  ${s.t.toFixed(0)} s: RSS ${mib(s.rssBytes)} MiB, CPU ${s.cpuSeconds.toFixed(2)} s`);
    }
  }
  const after = await sinkStats(sink);
  await tfo.stop(5000);
  const last = samples[samples.length - 1]!;
  const settled = samples.filter((s) => s.t > o.settleS);
  const steady = settled.length > 0 ? settled : samples;
  const steadyRss = steady.map((s) => s.rssBytes);
  const steadyFirst = steady[0] ?? first;
  const steadySpanS = last.t - (steady[0]?.t ?? 0);
  return {
    samples: samples.length,
    windowS: last.t,
    rssMedian: median(steadyRss),
    anonMedian: median(steady.map((s) => s.anonBytes ?? 0)),
    rssMax: Math.max(...steadyRss),
    rssMin: Math.min(...steadyRss),
    hwm: Math.max(...samples.map((s) => s.hwmBytes)),
    cpuPct: ((last.cpuSeconds - first.cpuSeconds) / last.t) * 100,
    cpuPctSteady: steadySpanS > 0
      ? ((last.cpuSeconds - steadyFirst.cpuSeconds) / steadySpanS) * 100
      : 0,
    metricPoints: after.items.metrics - before.items.metrics,
    exports: after.requests - before.requests,
    denoFloorRss,
    denoFloorReleasedRss,
    startupS,
  };
}

/** Writes `lines` lines of exactly {@linkcode LINE_BYTES} bytes each. */
async function writeLogFile(path: string, lines: number): Promise<void> {
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    const encoder = new TextEncoder();
    const chunk = 10_000;
    for (let start = 0; start < lines; start += chunk) {
      let text = "";
      for (let i = start; i < Math.min(lines, start + chunk); i++) {
        const head = `2026-11-21T05:00:00.000Z INFO bench[42]: request ${
          String(i).padStart(9, "0")
        } handled path=/api/v1/items status=200 dur_ms=`;
        text += head + "7".repeat(LINE_BYTES - 1 - head.length) + "\n";
      }
      const bytes = encoder.encode(text);
      let written = 0;
      while (written < bytes.length) written += await file.write(bytes.subarray(written));
    }
  } finally {
    file.close();
  }
}

/** One end-to-end filelog run. */
interface ThroughputResult {
  /** Seconds from process spawn until N lines were at the sink. */
  totalS: number;
  /** Seconds from the first delivered line until N. */
  deliveringS: number;
  cpuS: number;
  hwm: number;
  /** Lines counted at the end (more than N means duplicates). */
  delivered: number;
}

/** Samples `pid` and polls `count` every 100 ms until it reaches `lines`. */
async function timeDelivery(
  child: Child,
  spawned: number,
  lines: number,
  count: () => Promise<number>,
  timeoutS: number,
): Promise<ThroughputResult> {
  let firstAt: number | undefined;
  let proc: ProcSample = { cpuSeconds: 0, rssBytes: 0, hwmBytes: 0 };
  let hwm = 0;
  const delivered = await pollUntil(
    async () => {
      const n = await count();
      proc = await sampleProc(child.pid).catch(() => proc);
      hwm = Math.max(hwm, proc.hwmBytes);
      if (n > 0 && firstAt === undefined) firstAt = performance.now();
      return n;
    },
    (n) => n >= lines,
    timeoutS * 1000,
    100,
    `${lines} lines delivered by ${child.name}`,
    child,
  );
  const done = performance.now();
  return {
    totalS: (done - spawned) / 1000,
    deliveringS: (done - (firstAt ?? done)) / 1000,
    cpuS: proc.cpuSeconds,
    hwm,
    delivered,
  };
}

async function runTfoFilelog(
  group: ChildGroup,
  sink: Sink,
  dir: string,
  input: string,
  o: Required<AgentBenchOptions>,
): Promise<ThroughputResult> {
  const config = `${dir}/filelog.yaml`;
  await Deno.writeTextFile(config, filelogConfig(sink, input));
  const base = (await sinkStats(sink)).items.logs;
  const spawned = performance.now();
  const tfo = startTfo(group, config, o);
  try {
    return await timeDelivery(
      tfo,
      spawned,
      o.lines,
      async () => (await sinkStats(sink)).items.logs - base,
      o.timeoutS,
    );
  } finally {
    await tfo.stop(5000);
  }
}

/** Counts newlines appended to `path` since the last call. */
function lineCounter(path: string): () => Promise<number> {
  let offset = 0;
  let lines = 0;
  const buffer = new Uint8Array(1024 * 1024);
  return async () => {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(path);
    } catch {
      return 0;
    }
    try {
      await file.seek(offset, Deno.SeekMode.Start);
      for (;;) {
        const n = await file.read(buffer);
        if (n === null || n === 0) break;
        offset += n;
        for (let i = 0; i < n; i++) if (buffer[i] === 10) lines++;
      }
    } finally {
      file.close();
    }
    return lines;
  };
}

function rsyslogConfig(dir: string, input: string, output: string): string {
  return `global(workDirectory="${dir}/rsyslog-work")
module(load="imfile")
module(load="builtin:omfile")
input(type="imfile" File="${input}" Tag="bench" ruleset="bench")
ruleset(name="bench") {
  action(type="omfile" file="${output}")
}
`;
}

async function rsyslogPath(): Promise<string | undefined> {
  for (const path of ["/usr/sbin/rsyslogd", "/sbin/rsyslogd"]) {
    try {
      if ((await Deno.stat(path)).isFile) return path;
    } catch { /* try the next */ }
  }
  return undefined;
}

async function rsyslogVersion(path: string): Promise<string> {
  const out = await new Deno.Command(path, { args: ["-v"], stdout: "piped", stderr: "null" })
    .output();
  return new TextDecoder().decode(out.stdout).split("\n")[0]?.replace(/\s+compiled with:.*$/, "")
    .replace(/\s+/g, " ").trim() ?? "rsyslogd";
}

async function runRsyslog(
  group: ChildGroup,
  rsyslogd: string,
  dir: string,
  input: string,
  o: Required<AgentBenchOptions>,
): Promise<ThroughputResult> {
  await Deno.mkdir(`${dir}/rsyslog-work`, { recursive: true });
  const conf = `${dir}/rsyslog.conf`;
  const output = `${dir}/rsyslog.out`;
  await Deno.writeTextFile(conf, rsyslogConfig(dir, input, output));
  const check = await new Deno.Command(rsyslogd, {
    args: ["-N1", "-f", conf],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!check.success) {
    throw new Error(
      `rsyslogd rejected its config:\n${new TextDecoder().decode(check.stderr)}${
        new TextDecoder().decode(check.stdout)
      }`,
    );
  }
  const spawned = performance.now();
  const child = group.spawn("rsyslogd", rsyslogd, [
    "-n",
    "-f",
    conf,
    "-i",
    `${dir}/rsyslogd.pid`,
  ]);
  try {
    return await timeDelivery(child, spawned, o.lines, lineCounter(output), o.timeoutS);
  } finally {
    await child.stop(5000);
  }
}

function verdict(met: boolean): string {
  return met ? "met" : "**missed**";
}

/** Runs both parts and returns the results as markdown. */
export async function runAgentBench(options: AgentBenchOptions = {}): Promise<string> {
  const o: Required<AgentBenchOptions> = {
    idleS: options.idleS ?? 300,
    settleS: options.settleS ?? 30,
    intervalS: options.intervalS ?? 10,
    lines: options.lines ?? 1_000_000,
    timeoutS: options.timeoutS ?? 300,
    noRsyslog: options.noRsyslog ?? false,
    filelogOnly: options.filelogOnly ?? false,
    cpuProfDir: options.cpuProfDir ?? "",
    idleCpuProfDir: options.idleCpuProfDir ?? "",
    idleOnly: options.idleOnly ?? false,
    entry: options.entry ?? MAIN,
    runFlags: options.runFlags ?? TFO_RUN_FLAGS,
    tfoEnv: options.tfoEnv ?? {},
    log: options.log ?? ((line: string) => console.error(line)),
  };
  const log = o.log;
  const dir = await Deno.makeTempDir({ prefix: "tfo-agent-bench-" });
  const group = new ChildGroup();
  try {
    const sink = await startSink(group);
    const idle = o.filelogOnly ? undefined : await runIdle(group, sink, dir, o);
    if (idle !== undefined) {
      log(
        `  steady RSS median ${mib(idle.rssMedian)} MiB, max ${mib(idle.rssMax)} MiB, HWM ${
          mib(idle.hwm)
        } MiB, CPU ${idle.cpuPct.toFixed(2)} %`,
      );
    }
    if (o.idleOnly && idle !== undefined) {
      return [
        `Entry: \`${o.entry}\`, flags \`${o.runFlags.join(" ")}\`, env \`${
          Object.entries(o.tfoEnv).map(([k, v]) => `${k}=${v}`).join(" ")
        }\``,
        "",
        ...renderIdle(o, idle),
      ].join("\n") + "\n";
    }

    const input = `${dir}/input.log`;
    log(`Agent bench: writing ${fmt(o.lines)} lines of ${LINE_BYTES} bytes ...`);
    await writeLogFile(input, o.lines);
    log("Agent bench: tfo filelog → otlphttp → sink ...");
    const tfo = await runTfoFilelog(group, sink, dir, input, o);
    log(`  ${fmt(o.lines / tfo.totalS)} lines/s (${tfo.totalS.toFixed(2)} s)`);

    let reference: ThroughputResult | undefined;
    let referenceNote = "";
    let referenceName = "rsyslog";
    const rsyslogd = o.noRsyslog ? undefined : await rsyslogPath();
    if (rsyslogd === undefined) {
      referenceNote = o.noRsyslog
        ? "rsyslog skipped (--no-rsyslog)."
        : "rsyslogd is not installed (`apt-get install -y rsyslog`): tfo alone.";
    } else {
      referenceName = await rsyslogVersion(rsyslogd);
      log(`Agent bench: ${referenceName} imfile → omfile ...`);
      try {
        reference = await runRsyslog(group, rsyslogd, dir, input, o);
        log(`  ${fmt(o.lines / reference.totalS)} lines/s (${reference.totalS.toFixed(2)} s)`);
      } catch (error) {
        referenceNote = `rsyslog failed: ${error instanceof Error ? error.message : error}`;
        log(`  ${referenceNote}`);
      }
    }
    return render(o, idle, tfo, reference, referenceName, referenceNote);
  } finally {
    await group.stopAll();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

function render(
  o: Required<AgentBenchOptions>,
  idle: IdleResult | undefined,
  tfo: ThroughputResult,
  ref: ThroughputResult | undefined,
  refName: string,
  refNote: string,
): string {
  const tfoRate = o.lines / tfo.totalS;
  const row = (label: string, t: (r: ThroughputResult) => string) =>
    `| ${label} | ${t(tfo)} |${ref === undefined ? "" : ` ${t(ref)} |`}`;
  const head = ref === undefined
    ? "|  | tfo |\n| --- | ---: |"
    : "|  | tfo | rsyslog |\n| --- | ---: | ---: |";
  const idleTargets = idle === undefined ? [] : [
    `| idle median RSS ≤ 50 MiB | steady median ${mib(idle.rssMedian)} MiB, max ${
      mib(idle.rssMax)
    } MiB (bare \`deno run\` floor ${mib(idle.denoFloorRss)} MiB) | ${
      verdict(idle.rssMedian <= 50 * MIB)
    } |`,
    `| idle CPU < 1% of a core | ${idle.cpuPct.toFixed(2)} % | ${verdict(idle.cpuPct < 1)} |`,
  ];
  const idleTable = idle === undefined ? [] : renderIdle(o, idle);
  const lines = [
    "## Agent",
    "",
    "### Targets",
    "",
    "| target | result | |",
    "| --- | --- | --- |",
    ...idleTargets,
    `| filelog ≥ 500,000 lines/s | ${fmt(tfoRate)} lines/s | ${verdict(tfoRate >= 500_000)} |`,
    `| filelog peak RSS ≤ 120 MiB | ${mib(tfo.hwm)} MiB | ${verdict(tfo.hwm <= 120 * MIB)} |`,
    "",
    ...idleTable,
    `### filelog throughput: ${fmt(o.lines)} lines of ${LINE_BYTES} bytes, start_at beginning`,
    "",
    head,
    row("lines/s, process start → all lines at the sink", (r) => fmt(o.lines / r.totalS)),
    row(
      "lines/s, first line → all lines at the sink",
      (r) => r.deliveringS >= 1 ? fmt(o.lines / r.deliveringS) : "n/a (under 1 s)",
    ),
    row("lines counted at the end", (r) => fmt(r.delivered)),
    row("elapsed from process start", (r) => `${r.totalS.toFixed(2)} s`),
    row("CPU time of the process", (r) => `${r.cpuS.toFixed(2)} s`),
    row("lines per CPU-second", (r) => fmt(o.lines / r.cpuS)),
    row("peak RSS (VmHWM)", (r) => `${mib(r.hwm)} MiB`),
    "",
    "- tfo: `filelog` (start_at beginning) → batch (8192 items or 200 ms) → `otlphttp`" +
    " (compression none) → `bench/sink.ts`, counting log records; polled every 100 ms.",
    ref === undefined
      ? `- Reference: ${refNote}`
      : `- Reference: ${refName}, its own foreground instance (\`rsyslogd -n -f <conf> -i <pid>\`)` +
        " with only `imfile` → `omfile` and a private work directory; counted as lines in its" +
        " output file, polled every 100 ms. rsyslog writes a file; tfo ships OTLP over HTTP to a" +
        " separate sink process (tfo has no file exporter), so tfo does more work per line.",
    "- The sink process shares the 2 cores with the peer under test in tfo's run only.",
  ];
  return lines.join("\n") + "\n";
}

/** The idle window's table. */
function renderIdle(o: Required<AgentBenchOptions>, idle: IdleResult): string[] {
  return [
    `### Idle footprint: the embedded default agent config, every host scraper (${o.intervalS} s interval), OTLP/gRPC to the sink`,
    "",
    "|  | tfo |",
    "| --- | ---: |",
    `| window sampled (1 s samples) | ${idle.windowS.toFixed(0)} s (${idle.samples}) |`,
    `| RSS after the first ${o.settleS} s: median | ${mib(idle.rssMedian)} MiB |`,
    `| anonymous RSS after the first ${o.settleS} s: median | ${mib(idle.anonMedian)} MiB |`,
    `| RSS after the first ${o.settleS} s: min / max | ${mib(idle.rssMin)} / ${
      mib(idle.rssMax)
    } MiB |`,
    `| peak RSS (VmHWM) | ${mib(idle.hwm)} MiB |`,
    `| CPU, whole window | ${idle.cpuPct.toFixed(2)} % of one core |`,
    `| CPU, after the first ${o.settleS} s | ${idle.cpuPctSteady.toFixed(2)} % of one core |`,
    `| metric points / export requests at the sink | ${fmt(idle.metricPoints)} / ${
      fmt(idle.exports)
    } |`,
    `| start → first export at the sink | ${idle.startupS.toFixed(1)} s |`,
    `| bare \`deno run\` of an idle script (runtime floor) | ${mib(idle.denoFloorRss)} MiB RSS |`,
    `| the same after \`releaseMemory()\` | ${mib(idle.denoFloorReleasedRss)} MiB RSS |`,
    "",
  ];
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      quick: { type: "boolean", default: false },
      "idle-s": { type: "string" },
      lines: { type: "string" },
      "no-rsyslog": { type: "boolean", default: false },
      "filelog-only": { type: "boolean", default: false },
      "cpu-prof-dir": { type: "string" },
      "idle-cpu-prof-dir": { type: "string" },
      "idle-only": { type: "boolean", default: false },
      entry: { type: "string" },
      "run-flags": { type: "string" },
      "tfo-env": { type: "string", multiple: true },
    },
  });
  const tfoEnv: Record<string, string> = {};
  for (const pair of values["tfo-env"] ?? []) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new Error(`--tfo-env wants NAME=VALUE, got ${JSON.stringify(pair)}`);
    tfoEnv[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const quick = values.quick;
  const markdown = await runAgentBench({
    idleS: Number(values["idle-s"] ?? (quick ? 60 : 300)),
    lines: Number(values.lines ?? (quick ? 200_000 : 1_000_000)),
    noRsyslog: values["no-rsyslog"],
    filelogOnly: values["filelog-only"],
    cpuProfDir: values["cpu-prof-dir"] ?? "",
    idleCpuProfDir: values["idle-cpu-prof-dir"] ?? "",
    idleOnly: values["idle-only"],
    ...(values.entry === undefined ? {} : { entry: values.entry }),
    ...(values["run-flags"] === undefined
      ? {}
      : { runFlags: values["run-flags"].split(/\s+/).filter((w) => w !== "") }),
    tfoEnv,
  });
  console.log(markdown);
}
