/**
 * The OTTL processing benchmark: OTLP/HTTP in → `transform` (3 statements) + `filter`
 * (1 condition) → batch → `otlphttp` → the bench sink, through tfo and through the contrib
 * Collector (`otelcol-contrib`, built by `bench/peers.sh`) on the same load, one signal at a time.
 * Reports items delivered per CPU-second of the peer and appends a section to `bench/RESULTS.md`
 * (or `--out`).
 *
 * The load is closed-loop by default (`--workers` requests always in flight: each peer runs as
 * fast as the machine lets it, so on a shared 2-core machine its CPU per item includes how it
 * behaves when saturated). With `--rate N` it is open-loop: N items per second offered to each
 * peer at a fixed pace (requests of `--items` items), the same for both, so both do the same work
 * per second below saturation and the CPU-seconds per item compare like for like (items sent in
 * the window and accepted; the CPU until they have left the peer).
 *
 * ```sh
 * deno run -A bench/ottl_bench.ts [--duration 10] [--warmup 3] [--out bench/RESULTS.md]
 * deno run -A bench/ottl_bench.ts --rate 40000 [--no-append]   # open loop, 40k items/s
 * deno run -A bench/ottl_bench.ts --profile /tmp/prof [--signals traces]   # tfo alone, profiled
 * deno run -A bench/ottl_bench.ts --tfo-only [--v8-flags=--max-semi-space-size=64]  # tfo alone
 * ```
 *
 * With `--profile DIR` tfo runs under `--cpu-prof` alone (no Collector, nothing appended to the
 * results) and a summary of each signal's profile is printed; `--tfo-only` measures tfo alone
 * without appending anything, `--v8-flags` passes flags to tfo's V8 (for trying GC settings).
 *
 * @module
 */
import { parseArgs } from "node:util";
import type { Signal } from "../lib/pdata/types.ts";
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
import type { SinkStats } from "./sink.ts";

import { summarizeProfile } from "./_profile.ts";

const DENO = Deno.execPath();
/** How long an open-loop run waits after the load stops for the batches to leave the peer. */
const DRAIN_MS = 1500;

/** Ports of this run, free when it starts (other benchmarks may hold the fixed ones). */
const PORTS = {
  inGrpc: freePort(),
  inHttp: freePort(),
  sinkGrpc: freePort(),
  sinkHttp: freePort(),
  telemetry: freePort(),
};

async function startSink(group: ChildGroup): Promise<Child> {
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

/** The three statements and one condition per signal; the condition drops nothing generated. */
export const PROCESSING: Record<Signal, { statements: string[]; filter: Record<string, unknown> }> =
  {
    traces: {
      statements: [
        'set(span.attributes["deployment.environment"], "prod")',
        'replace_pattern(span.name, "\\\\{id\\\\}", "ID")',
        'delete_key(resource.attributes, "k8s.pod.name")',
      ],
      filter: { traces: { span: ['span.name == "healthcheck"'] } },
    },
    metrics: {
      statements: [
        'set(datapoint.attributes["deployment.environment"], "prod")',
        'set(metric.description, "HTTP server duration") where IsMatch(metric.name, "^http")',
        'delete_key(resource.attributes, "k8s.pod.name")',
      ],
      filter: { metrics: { datapoint: ['datapoint.attributes["drop"] == true'] } },
    },
    logs: {
      statements: [
        'set(log.attributes["deployment.environment"], "prod")',
        'set(log.severity_text, "INFO") where log.severity_number == 9',
        'delete_key(resource.attributes, "k8s.pod.name")',
      ],
      filter: { logs: { log_record: ['IsMatch(log.body, "^healthcheck")'] } },
    },
  };

function config(peer: "tfo" | "otelcol", signal: Signal): string {
  const p = PROCESSING[signal];
  const key = signal === "traces"
    ? "trace_statements"
    : signal === "metrics"
    ? "metric_statements"
    : "log_statements";
  // Both peers back up into their receivers when the queue is full, as the Collector's config
  // below does (without it tfo answers 503 at once and the closed loop spins on refusals).
  const exporter = peer === "tfo"
    ? `otlphttp: { endpoint: "http://127.0.0.1:${PORTS.sinkHttp}", compression: none, ` +
      `sending_queue: { block_on_overflow: true } }`
    : `otlphttp: { endpoint: "http://127.0.0.1:${PORTS.sinkHttp}", compression: none, ` +
      `sending_queue: { enabled: true, num_consumers: 10, queue_size: 10, block_on_overflow: true } }`;
  const telemetry = peer === "tfo"
    ? `{ logs: { level: warn }, metrics: { address: "127.0.0.1:${PORTS.telemetry}" } }`
    : "{ logs: { level: warn }, metrics: { level: none } }";
  return `receivers:
  otlp:
    protocols:
      grpc: { endpoint: "127.0.0.1:${PORTS.inGrpc}" }
      http: { endpoint: "127.0.0.1:${PORTS.inHttp}" }
processors:
  transform: ${JSON.stringify({ error_mode: "ignore", [key]: p.statements })}
  filter: ${JSON.stringify({ error_mode: "ignore", ...p.filter })}
  batch: { send_batch_size: 8192, send_batch_max_size: 0, timeout: 200ms }
exporters:
  ${exporter}
service:
  telemetry: ${telemetry}
  pipelines:
    ${signal}: { receivers: [otlp], processors: [transform, filter, batch], exporters: [otlphttp] }
`;
}

interface Measured {
  itemsPerSecond: number;
  itemsPerCpuSecond: number;
  /** CPU-seconds of the peer per second of the window (1 = one core busy). */
  cores: number;
  errors: number;
  /** Open-loop sends the generator skipped because too many requests were in flight. */
  skipped: number;
  /** Minor page faults of the peer per item. */
  faultsPerItem: number;
}

async function stats(): Promise<SinkStats> {
  const r = await fetch(`http://127.0.0.1:${PORTS.sinkHttp}/stats`);
  return await r.json() as SinkStats;
}

async function measure(
  group: ChildGroup,
  peer: Child,
  sink: Child,
  signal: Signal,
  o: { warmupS: number; durationS: number; workers: number; items: number; rate: number },
): Promise<Measured> {
  const gen = group.spawn("load_gen", DENO, [
    "run",
    "--allow-all",
    new URL("./load_gen.ts", import.meta.url).pathname,
    "--signal",
    signal,
    "--protocol",
    "http",
    "--target",
    `127.0.0.1:${PORTS.inHttp}`,
    "--workers",
    String(o.workers),
    "--rate",
    // load_gen paces requests; the bench's rate is items per second.
    String(o.rate / o.items),
    "--warmup",
    String(o.warmupS),
    "--duration",
    String(o.durationS),
    "--items",
    String(o.items),
  ]);
  const result = gen.nextLine((l) => l.startsWith("{"), (o.warmupS + o.durationS) * 1000 + 60_000);
  result.catch(() => {});
  await gen.nextLine((l) => l === "start", 30_000);
  await sleep(o.warmupS * 1000);
  const before = await sampleProc(peer.pid);
  const s0 = await stats();
  const t0 = performance.now();
  let after, s1, seconds, g: LoadGenResult;
  if (o.rate > 0) {
    // Open loop: the generator stops offering at the window's end; what it sent by then is let
    // through (batch timeout, queue) before the last reading, and the items counted are those
    // it sent inside the window and the peer accepted (the sink's count would also hold what
    // sat in the peer's batch at the window's start, one batch or more, whose decode and
    // processing were spent before it). The sink must have received at least as many.
    g = JSON.parse(await result) as LoadGenResult;
    seconds = (performance.now() - t0) / 1000;
    await sleep(DRAIN_MS);
    after = await sampleProc(peer.pid);
    s1 = await stats();
  } else {
    await sleep(o.durationS * 1000);
    after = await sampleProc(peer.pid);
    s1 = await stats();
    seconds = (performance.now() - t0) / 1000;
    g = JSON.parse(await result) as LoadGenResult;
  }
  await gen.exited;
  void sink;
  const delivered = s1.items[signal] - s0.items[signal];
  if (o.rate > 0 && delivered < g.window.items) {
    console.error(`${signal}: the sink got ${delivered} items, ${g.window.items} were accepted`);
  }
  const items = o.rate > 0 ? g.window.items : delivered;
  const cpu = after.cpuSeconds - before.cpuSeconds;
  return {
    itemsPerSecond: items / seconds,
    itemsPerCpuSecond: items / cpu,
    cores: cpu / seconds,
    errors: g.window.errors,
    skipped: g.skipped,
    faultsPerItem: ((after.minorFaults ?? 0) - (before.minorFaults ?? 0)) / items,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      duration: { type: "string", default: "10" },
      warmup: { type: "string", default: "3" },
      workers: { type: "string", default: "256" },
      items: { type: "string", default: "100" },
      rate: { type: "string", default: "0" },
      "no-append": { type: "boolean", default: false },
      out: { type: "string", default: new URL("./RESULTS.md", import.meta.url).pathname },
      profile: { type: "string" },
      "tfo-only": { type: "boolean", default: false },
      "v8-flags": { type: "string" },
      signals: { type: "string", default: "traces,metrics,logs" },
    },
  });
  const o = {
    durationS: Number(values.duration),
    warmupS: Number(values.warmup),
    workers: Number(values.workers),
    items: Number(values.items),
    rate: Number(values.rate),
  };
  const peersDir = Deno.env.get("TFO_PEERS_DIR") ??
    `${Deno.env.get("HOME") ?? ""}/.cache/tfo-peers`;
  const contrib = `${peersDir}/bin/otelcol-contrib`;
  const profileDir = values.profile;
  const signals = values.signals!.split(",") as Signal[];
  let hasContrib = profileDir === undefined && !values["tfo-only"];
  if (hasContrib) {
    try {
      await Deno.stat(contrib);
    } catch {
      hasContrib = false;
      console.error(
        `otelcol-contrib not found at ${contrib} (run bench/peers.sh); measuring tfo alone`,
      );
    }
  }
  const dir = await Deno.makeTempDir({ prefix: "tfo-ottl-bench-" });
  const group = new ChildGroup();
  const rows: string[] = [];
  try {
    const sink = await startSink(group);
    for (const signal of signals) {
      const results: Partial<Record<"tfo" | "otelcol", Measured>> = {};
      for (const peer of hasContrib ? ["tfo", "otelcol"] as const : ["tfo"] as const) {
        const path = `${dir}/${peer}-${signal}.yaml`;
        await Deno.writeTextFile(path, config(peer, signal));
        const child = peer === "tfo"
          ? group.spawn("tfo", DENO, [
            "run",
            ...TFO_RUN_FLAGS,
            ...(values["v8-flags"] === undefined ? [] : [`--v8-flags=${values["v8-flags"]}`]),
            ...(profileDir === undefined
              ? []
              : ["--cpu-prof", `--cpu-prof-dir=${profileDir}/${signal}`]),
            new URL("../main.ts", import.meta.url).pathname,
            "run",
            "--config",
            path,
          ])
          : group.spawn("otelcol-contrib", contrib, ["--config", path]);
        try {
          await waitForPort(PORTS.inHttp, 60_000, child);
          results[peer] = await measure(group, child, sink, signal, o);
          const r = results[peer]!;
          console.error(
            `${signal} ${peer}: ${Math.round(r.itemsPerSecond)} items/s, ` +
              `${Math.round(r.itemsPerCpuSecond)} items/CPU-s, ${r.cores.toFixed(2)} cores, ` +
              `${r.errors} errors, ${r.skipped} skipped, ${
                r.faultsPerItem.toFixed(3)
              } page faults/item`,
          );
          if (o.rate > 0 && (r.skipped > 0 || r.itemsPerSecond < 0.95 * o.rate)) {
            console.error(`${signal} ${peer}: did not keep up with ${o.rate} items/s`);
          }
        } finally {
          await child.stop(30_000);
        }
        if (profileDir !== undefined) {
          for await (const e of Deno.readDir(`${profileDir}/${signal}`)) {
            if (!e.name.endsWith(".cpuprofile")) continue;
            const text = await Deno.readTextFile(`${profileDir}/${signal}/${e.name}`);
            console.log(`### ${signal}\n\n${summarizeProfile(text, 30)}\n`);
          }
        }
      }
      const t = results.tfo!, c = results.otelcol;
      rows.push(
        `| ${signal} | ${Math.round(t.itemsPerSecond)} | ${Math.round(t.itemsPerCpuSecond)} | ` +
          `${c ? Math.round(c.itemsPerSecond) : "–"} | ${
            c ? Math.round(c.itemsPerCpuSecond) : "–"
          } | ` +
          `${c ? (t.itemsPerCpuSecond / c.itemsPerCpuSecond).toFixed(2) + "×" : "–"} |`,
      );
    }
  } finally {
    await group.stopAll();
    await Deno.remove(dir, { recursive: true });
  }
  if (profileDir !== undefined || values["tfo-only"] || values["no-append"]) {
    console.log(rows.join("\n"));
    return;
  }
  const load = o.rate > 0
    ? `open loop at ${o.rate} items/s offered to each peer`
    : `${o.workers} in flight`;
  const cpu = (await Deno.readTextFile("/proc/cpuinfo")).match(/model name\s*:\s*(.*)/)?.[1] ?? "?";
  const section = `
## OTTL processing (bench/ottl_bench.ts)

${
    new Date().toISOString()
  } · ${navigator.hardwareConcurrency} cores (${cpu}), shared with other work ·
otlp (HTTP, ${o.items} items/request, ${load}) → transform (3 statements) + filter
(1 condition, drops nothing) → batch → otlphttp → sink; ${o.warmupS}s warm-up, ${o.durationS}s measured.
tfo against otelcol-contrib v0.161.0. Target: tfo ≥ 1.5× the Collector's items per CPU-second.

| signal | tfo items/s | tfo items/CPU-s | contrib items/s | contrib items/CPU-s | tfo / contrib per CPU-s |
| --- | --- | --- | --- | --- | --- |
${rows.join("\n")}
`;
  await Deno.writeTextFile(values.out!, section, { append: true });
  console.log(section);
}

if (import.meta.main) await main();
