/**
 * The pass-through benchmark: OTLP in (gRPC or HTTP/protobuf) → batch → `otlp` (gRPC) or
 * `otlphttp` exporter → the bench sink, through tfo and through the reference OpenTelemetry
 * Collector, driven by `load_gen.ts`. Generator, peer and sink are separate processes sharing the
 * machine's cores; nothing is pinned.
 *
 * Per scenario and peer, two phases on one peer process:
 * 1. throughput: closed loop (`workers` requests always in flight) for `warmupS + durationS`;
 *    items/s counted at the sink, the peer's CPU time and peak RSS read from `/proc`;
 * 2. latency: open loop at a fixed rate the same for every peer; end-to-end latency is the time from
 *    the send time stamped in each request to its arrival at the sink. The same load sent straight
 *    to the sink gives the baseline; "added" latency is the peer's p99 minus the baseline's.
 *
 * @module
 */
import type { Signal } from "../lib/pdata/types.ts";
import { type Child, type ChildGroup, sleep, TFO_RUN_FLAGS, waitForPort } from "./_children.ts";
import { sampleProc } from "./_proc.ts";
import type { LoadGenResult } from "./load_gen.ts";
import type { SinkStats } from "./sink.ts";

/** A system under test. */
export type Peer = "tfo" | "otelcol";

/** One pipeline shape. */
export interface Scenario {
  /** `signal-protocol-exporter`, e.g. `traces-http-otlp`. */
  readonly id: string;
  readonly signal: Signal;
  /** How the generator talks to the peer's otlp receiver. */
  readonly protocol: "grpc" | "http";
  /** How the peer exports to the sink. */
  readonly exporter: "otlp" | "otlphttp";
}

/** Every scenario of a full run, in order. */
export const SCENARIOS: readonly Scenario[] = (
  [
    ["traces", "http", "otlp"],
    ["traces", "grpc", "otlp"],
    ["traces", "http", "otlphttp"],
    ["traces", "grpc", "otlphttp"],
    ["metrics", "http", "otlp"],
    ["metrics", "grpc", "otlp"],
    ["metrics", "grpc", "otlphttp"],
    ["logs", "http", "otlp"],
    ["logs", "grpc", "otlp"],
    ["logs", "grpc", "otlphttp"],
  ] as const
).map(([signal, protocol, exporter]) => ({
  id: `${signal}-${protocol}-${exporter}`,
  signal,
  protocol,
  exporter,
}));

/** Fixed loopback ports of the benchmark. */
export const PORTS = {
  inGrpc: 24317,
  inHttp: 24318,
  sinkGrpc: 34317,
  sinkHttp: 34318,
  telemetry: 28888,
} as const;

/** How long and how hard to run. */
export interface RunOptions {
  /** Seconds of load before measuring. */
  warmupS: number;
  /** Seconds measured in the throughput phase. */
  durationS: number;
  /** Seconds measured in the latency phase. */
  latencyS: number;
  /** Requests in flight in the throughput phase. */
  workers: number;
  /** Items per request. */
  items: number;
  /** Items per second of the latency phase. */
  latencyRate: number;
  /** Path of the otelcol binary, or undefined to run tfo alone. */
  otelcol: string | undefined;
  /** Extra `deno run` flags for tfo (e.g. `--cpu-prof`). */
  tfoFlags?: string[];
}

/** What one peer did in the throughput phase. */
export interface ThroughputResult {
  /** Items per second delivered to the sink. */
  itemsPerSecond: number;
  /** Requests the generator saw fail in the window. */
  errors: number;
  firstError: string | undefined;
  /** CPU seconds of the peer process per million items delivered. */
  cpuSecondsPerMillion: number;
  /** Items delivered per CPU-second of the peer process. */
  itemsPerCpuSecond: number;
  /** Average cores used by the peer, the generator and the sink. */
  cores: { peer: number; generator: number; sink: number };
  /** Request latency p99 under saturation, seen by the generator, ms. */
  requestP99: number;
}

/** What one target did in the latency phase. */
export interface LatencyResult {
  /** End-to-end (stamped send time → sink arrival) p50 and p99, ms. */
  e2eP50: number;
  e2eP99: number;
  /** Request latency p50 seen by the generator (send → acknowledgement), ms. */
  requestP50: number;
  /** Request latency p99 seen by the generator (send → acknowledgement), ms. */
  requestP99: number;
  /** Requests that failed or were skipped (too many in flight). */
  lost: number;
}

/** One peer's results in one scenario. */
export interface PeerResult {
  peer: Peer;
  throughput: ThroughputResult;
  latency: LatencyResult;
  /** Peak RSS (`VmHWM`) of the peer process over both phases, bytes. */
  peakRssBytes: number;
}

/** The results of one scenario. */
export interface ScenarioResult {
  scenario: Scenario;
  peers: PeerResult[];
  /** The same open-loop load sent straight to the sink. */
  direct: LatencyResult;
}

const DENO = Deno.execPath();

async function sinkStats(): Promise<SinkStats> {
  const response = await fetch(`http://127.0.0.1:${PORTS.sinkHttp}/stats`);
  return await response.json() as SinkStats;
}

async function resetSinkLatency(): Promise<void> {
  const response = await fetch(`http://127.0.0.1:${PORTS.sinkHttp}/reset`, { method: "POST" });
  await response.body?.cancel();
}

/** Starts the sink and waits until it listens. */
export async function startSink(group: ChildGroup): Promise<Child> {
  const sink = group.spawn("sink", DENO, [
    "run",
    "--allow-all",
    new URL("./sink.ts", import.meta.url).pathname,
    "--grpc-port",
    String(PORTS.sinkGrpc),
    "--http-port",
    String(PORTS.sinkHttp),
  ]);
  await sink.nextLine((l) => l === "ready", 30_000);
  await waitForPort(PORTS.sinkHttp, 10_000, sink);
  return sink;
}

function peerEnv(): Record<string, string> {
  return {
    BENCH_IN_GRPC_PORT: String(PORTS.inGrpc),
    BENCH_IN_HTTP_PORT: String(PORTS.inHttp),
    BENCH_SINK_GRPC_PORT: String(PORTS.sinkGrpc),
    BENCH_SINK_HTTP_PORT: String(PORTS.sinkHttp),
    BENCH_TELEMETRY_PORT: String(PORTS.telemetry),
  };
}

async function startPeer(
  group: ChildGroup,
  peer: Peer,
  scenario: Scenario,
  options: RunOptions,
): Promise<Child & { stop(graceMs?: number): Promise<number> }> {
  const configs = new URL("./configs/", import.meta.url).pathname;
  const child = peer === "tfo"
    ? group.spawn("tfo", DENO, [
      "run",
      // As `deno task start` and the compiled binary run it (V8 flags included).
      ...TFO_RUN_FLAGS,
      ...(options.tfoFlags ?? []),
      new URL("../main.ts", import.meta.url).pathname,
      "run",
      "--config",
      `${configs}tfo_${scenario.exporter}.yaml`,
    ], peerEnv())
    : group.spawn("otelcol", options.otelcol!, [
      "--config",
      `${configs}otelcol_${scenario.exporter}.yaml`,
    ], peerEnv());
  await waitForPort(PORTS.inHttp, 60_000, child);
  await waitForPort(PORTS.inGrpc, 10_000, child);
  return child;
}

interface GenArgs {
  target: "peer" | "direct";
  scenario: Scenario;
  warmupS: number;
  durationS: number;
  workers?: number;
  /** Requests per second; closed loop when undefined. */
  rate?: number;
  items: number;
}

function spawnGenerator(group: ChildGroup, a: GenArgs) {
  const port = a.target === "direct"
    ? (a.scenario.protocol === "grpc" ? PORTS.sinkGrpc : PORTS.sinkHttp)
    : (a.scenario.protocol === "grpc" ? PORTS.inGrpc : PORTS.inHttp);
  return group.spawn("load_gen", DENO, [
    "run",
    "--allow-all",
    new URL("./load_gen.ts", import.meta.url).pathname,
    "--signal",
    a.scenario.signal,
    "--protocol",
    a.scenario.protocol,
    "--target",
    `127.0.0.1:${port}`,
    "--workers",
    String(a.workers ?? 1),
    "--rate",
    String(a.rate ?? 0),
    "--warmup",
    String(a.warmupS),
    "--duration",
    String(a.durationS),
    "--items",
    String(a.items),
  ]);
}

async function generatorResult(gen: Child, timeoutMs: number): Promise<LoadGenResult> {
  const line = await gen.nextLine((l) => l.startsWith("{"), timeoutMs);
  // The generator prints its result, then exits by itself.
  await gen.exited;
  return JSON.parse(line) as LoadGenResult;
}

async function throughputPhase(
  group: ChildGroup,
  scenario: Scenario,
  peer: Child,
  sink: Child,
  o: RunOptions,
): Promise<ThroughputResult> {
  const gen = spawnGenerator(group, {
    target: "peer",
    scenario,
    warmupS: o.warmupS,
    // Two seconds past the window: on a loaded machine this process's timers run late, and the
    // generator must still be there (and loading) when the window's last sample is taken.
    durationS: o.durationS + 2,
    workers: o.workers,
    items: o.items,
  });
  const result = generatorResult(gen, (o.warmupS + o.durationS) * 1000 + 60_000);
  result.catch(() => {}); // awaited below; a failure before that must not go unhandled
  await gen.nextLine((l) => l === "start", 30_000);
  await sleep(o.warmupS * 1000);
  const pids = [peer.pid, gen.pid, sink.pid];
  const before = await Promise.all(pids.map(sampleProc));
  const statsBefore = await sinkStats();
  const t0 = performance.now();
  await sleep(o.durationS * 1000);
  const after = await Promise.all(pids.map(sampleProc));
  const statsAfter = await sinkStats();
  const seconds = (performance.now() - t0) / 1000;
  const g = await result;
  const items = statsAfter.items[scenario.signal] - statsBefore.items[scenario.signal];
  const cpu = pids.map((_, i) => after[i]!.cpuSeconds - before[i]!.cpuSeconds);
  const peerCpu = cpu[0]!;
  return {
    itemsPerSecond: items / seconds,
    errors: g.window.errors,
    firstError: g.firstError,
    cpuSecondsPerMillion: items > 0 ? (peerCpu / items) * 1e6 : NaN,
    itemsPerCpuSecond: peerCpu > 0 ? items / peerCpu : NaN,
    cores: { peer: peerCpu / seconds, generator: cpu[1]! / seconds, sink: cpu[2]! / seconds },
    requestP99: g.latency.p99,
  };
}

async function latencyPhase(
  group: ChildGroup,
  scenario: Scenario,
  target: "peer" | "direct",
  o: RunOptions,
): Promise<LatencyResult> {
  const warmupS = Math.min(o.warmupS, 1);
  const gen = spawnGenerator(group, {
    target,
    scenario,
    warmupS,
    durationS: o.latencyS,
    rate: o.latencyRate / o.items,
    items: o.items,
  });
  const result = generatorResult(gen, (warmupS + o.latencyS) * 1000 + 60_000);
  result.catch(() => {}); // awaited below; a failure before that must not go unhandled
  await gen.nextLine((l) => l === "start", 30_000);
  await sleep(warmupS * 1000);
  await resetSinkLatency();
  const g = await result;
  await sleep(500); // the last requests' batches reach the sink (batch timeout 200ms)
  const stats = await sinkStats();
  return {
    e2eP50: stats.latency.p50,
    e2eP99: stats.latency.p99,
    requestP50: g.latency.p50,
    requestP99: g.latency.p99,
    lost: g.window.errors + g.skipped,
  };
}

/** Runs one scenario through every available peer, plus the direct baseline. */
export async function runScenario(
  group: ChildGroup,
  sink: Child,
  scenario: Scenario,
  options: RunOptions,
  log: (line: string) => void,
): Promise<ScenarioResult> {
  const peers: Peer[] = options.otelcol === undefined ? ["tfo"] : ["tfo", "otelcol"];
  const results: PeerResult[] = [];
  for (const peer of peers) {
    const child = await startPeer(group, peer, scenario, options);
    try {
      const throughput = await throughputPhase(group, scenario, child, sink, options);
      log(
        `  ${peer}: ${Math.round(throughput.itemsPerSecond)} items/s, ` +
          `${
            throughput.cpuSecondsPerMillion.toFixed(2)
          } CPU-s/M items, ${throughput.errors} errors`,
      );
      const latency = await latencyPhase(group, scenario, "peer", options);
      const { hwmBytes } = await sampleProc(child.pid);
      log(`  ${peer}: e2e p99 ${latency.e2eP99.toFixed(1)} ms, peak RSS ${mib(hwmBytes)} MiB`);
      results.push({ peer, throughput, latency, peakRssBytes: hwmBytes });
    } catch (error) {
      throw new Error(
        `${peer} failed in ${scenario.id}; its last output:\n${child.tail()}\n` +
          `sink's last output:\n${sink.tail()}`,
        {
          cause: error,
        },
      );
    } finally {
      await child.stop();
    }
  }
  const direct = await latencyPhase(group, scenario, "direct", options);
  log(`  direct: e2e p99 ${direct.e2eP99.toFixed(1)} ms`);
  return { scenario, peers: results, direct };
}

function mib(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(0);
}

/**
 * Runs the throughput phase of `scenario` through tfo alone started with `--cpu-prof` into `dir`,
 * and returns the path of the profile it wrote on its graceful stop.
 */
export async function profileTfo(
  group: ChildGroup,
  sink: Child,
  scenario: Scenario,
  options: RunOptions,
  dir: string,
): Promise<{ throughput: ThroughputResult; profile: string }> {
  await Deno.mkdir(dir, { recursive: true });
  const before = new Set<string>();
  for await (const e of Deno.readDir(dir)) before.add(e.name);
  const o = { ...options, tfoFlags: ["--cpu-prof", `--cpu-prof-dir=${dir}`] };
  const child = await startPeer(group, "tfo", scenario, o);
  let throughput: ThroughputResult;
  try {
    throughput = await throughputPhase(group, scenario, child, sink, o);
  } finally {
    await child.stop(30_000);
  }
  for await (const e of Deno.readDir(dir)) {
    if (!before.has(e.name) && e.name.endsWith(".cpuprofile")) {
      return { throughput, profile: `${dir}/${e.name}` };
    }
  }
  throw new Error(`tfo wrote no .cpuprofile into ${dir}`);
}
