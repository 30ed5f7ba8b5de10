/**
 * `deno task bench`: the codec benchmark and the pass-through pipeline benchmark (tfo against the
 * reference OpenTelemetry Collector when `bench/peers.sh` built it), written to `bench/RESULTS.md`.
 *
 * ```sh
 * deno task bench                      # everything, about 8 minutes
 * deno task bench --quick              # a smoke run, about 1 minute
 * deno task bench --only traces-http   # scenarios whose ID contains one of the given strings
 * deno task bench --profile            # also profile tfo under load (traces, HTTP in, gRPC out)
 * deno task bench --no-otelcol --no-codec --out /tmp/r.md
 * ```
 *
 * The hand-written analysis between the `analysis` markers of an existing RESULTS.md is kept.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { runCodecBench } from "./codec_bench.ts";
import { runAgentBench } from "./agent_bench.ts";
import { runLatencyBench } from "./latency_bench.ts";
import { renderWorkersRuns, runWorkersBench } from "./workers_bench.ts";
import { runQueueBench } from "./queue_bench.ts";
import { ChildGroup } from "./_children.ts";
import { summarizeProfile } from "./_profile.ts";
import {
  profileTfo,
  type RunOptions,
  runScenario,
  type ScenarioResult,
  SCENARIOS,
  startSink,
  type ThroughputResult,
} from "./passthrough.ts";
import { type MachineInfo, machineInfo, renderResults, writeResultsSection } from "./_report.ts";

const USAGE = `Usage: deno task bench [options]

  --quick             smoke run (~1 minute): 2 traces scenarios, short phases
  --only LIST         comma-separated substrings of scenario IDs (${
  SCENARIOS.map((s) => s.id).join(", ")
})
  --duration S        seconds measured per throughput phase (default 10, quick 3)
  --workers N         requests in flight in the throughput phase (default 256)
  --latency-rate N    items/s of the fixed-rate latency phase (default 20000)
  --profile           also run tfo under --cpu-prof and summarize the hot spots
  --no-otelcol        run tfo alone even when the reference collector is built
  --no-codec          skip the codec benchmark
  --no-queue          skip the sending-queue benchmark
  --no-agent          skip the edge-agent benchmark (idle footprint, filelog vs rsyslog)
  --no-latency        skip the request latency benchmark with the seed batch settings
  --no-workers        skip the multi-core workers benchmark (service.workers 1 vs 2)
  --out FILE          where to write the results (default bench/RESULTS.md)`;

function peersDir(): string {
  return Deno.env.get("TFO_PEERS_DIR") ?? `${Deno.env.get("HOME") ?? ""}/.cache/tfo-peers`;
}

async function executable(path: string): Promise<boolean> {
  try {
    const info = await Deno.stat(path);
    return info.isFile && ((info.mode ?? 0) & 0o111) !== 0;
  } catch {
    return false;
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      quick: { type: "boolean", default: false },
      only: { type: "string" },
      duration: { type: "string" },
      workers: { type: "string", default: "256" },
      "latency-rate": { type: "string", default: "20000" },
      profile: { type: "boolean", default: false },
      "no-otelcol": { type: "boolean", default: false },
      "no-codec": { type: "boolean", default: false },
      "no-queue": { type: "boolean", default: false },
      "no-agent": { type: "boolean", default: false },
      "no-latency": { type: "boolean", default: false },
      "no-workers": { type: "boolean", default: false },
      out: { type: "string", default: new URL("./RESULTS.md", import.meta.url).pathname },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const quick = values.quick;
  const only = values.only?.split(",").map((s) => s.trim()).filter((s) => s !== "");
  const scenarios = SCENARIOS.filter((s) =>
    only !== undefined ? only.some((o) => s.id.includes(o)) : !quick || s.signal === "traces"
  ).slice(0, quick && only === undefined ? 2 : undefined);
  if (scenarios.length === 0) {
    console.error(`No scenario matches --only ${values.only}\n\n${USAGE}`);
    return 2;
  }

  const otelcolPath = `${peersDir()}/bin/otelcol`;
  const otelcol = !values["no-otelcol"] && await executable(otelcolPath) ? otelcolPath : undefined;
  const options: RunOptions = {
    warmupS: quick ? 1 : 3,
    durationS: Number(values.duration ?? (quick ? 3 : 10)),
    latencyS: quick ? 3 : 6,
    workers: Number(values.workers),
    items: 100,
    latencyRate: Number(values["latency-rate"]),
    otelcol,
  };
  const log = (line: string) => console.error(line);
  if (otelcol === undefined) {
    log(
      values["no-otelcol"]
        ? "Running tfo alone (--no-otelcol)"
        : `The reference collector is missing (${otelcolPath}; build it with bench/peers.sh): ` +
          "running tfo alone",
    );
  }
  const machine: MachineInfo = await machineInfo(otelcol);

  let codec: string | undefined;
  if (!values["no-codec"]) {
    log("Codec benchmark ...");
    codec = await runCodecBench({ msPerCase: quick ? 200 : 1000 });
  }

  let queue: string | undefined;
  if (!values["no-queue"]) {
    log("Sending-queue benchmark ...");
    queue = await runQueueBench(
      quick ? { items: 800, outageMib: 16, warmupS: 1, durationS: 3, rounds: 1 } : {},
    );
  }

  let latency: string | undefined;
  if (!values["no-latency"]) {
    log("Request latency benchmark (seed batch settings) ...");
    latency = await runLatencyBench({ otelcol, ...(quick ? { durationS: 3 } : {}) });
  }

  let agent: string | undefined;
  if (!values["no-agent"]) {
    log("Edge-agent benchmark ...");
    agent = await runAgentBench(quick ? { idleS: 60, lines: 200_000 } : {});
  }

  if (!values["no-workers"]) {
    log("Multi-core workers benchmark (service.workers 1 vs 2) ...");
    const runs = await runWorkersBench(quick ? { runs: 1, durationS: 3 } : {});
    // Its own part of the hand-written section "Multi-core workers (issue 19)".
    await writeResultsSection(
      values.out,
      "<!-- workers-bench:start -->",
      "<!-- workers-bench:end -->",
      `<!-- workers-bench:start -->\n${renderWorkersRuns(runs)}\n<!-- workers-bench:end -->`,
    );
  }

  const group = new ChildGroup();
  const onSignal = () => {
    group.stopAll(1000).finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", onSignal);
  const results: ScenarioResult[] = [];
  let profile: { throughput: ThroughputResult; summary: string; scenario: string } | undefined;
  const started = performance.now();
  try {
    const sink = await startSink(group);
    for (const scenario of scenarios) {
      log(`Scenario ${scenario.id} ...`);
      results.push(await runScenario(group, sink, scenario, options, log));
    }
    if (values.profile) {
      const scenario = scenarios[0]!;
      log(`Profiling tfo on ${scenario.id} ...`);
      const dir = new URL("./out/prof", import.meta.url).pathname;
      const run = await profileTfo(group, sink, scenario, options, dir);
      profile = {
        throughput: run.throughput,
        summary: summarizeProfile(await Deno.readTextFile(run.profile)),
        scenario: scenario.id,
      };
      log(`  profile: ${run.profile}`);
    }
  } catch (error) {
    log(`Benchmark failed: ${error instanceof Error ? error.stack : error}`);
    if (error instanceof Error && error.cause !== undefined) log(`Caused by: ${error.cause}`);
    return 1;
  } finally {
    await group.stopAll();
    Deno.removeSignalListener("SIGINT", onSignal);
  }

  let previous = "";
  try {
    previous = await Deno.readTextFile(values.out);
  } catch { /* first run */ }
  const markdown = renderResults({
    machine,
    options,
    mode: quick ? "quick" : "full",
    args: Deno.args,
    results,
    codec,
    queue,
    agent,
    latency,
    profile,
    elapsedS: (performance.now() - started) / 1000,
    previous,
  });
  await Deno.writeTextFile(values.out, markdown);
  log(`Wrote ${values.out}`);
  return 0;
}

if (import.meta.main) Deno.exit(await main());
