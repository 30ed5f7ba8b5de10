/**
 * Request latency as the OpenTelemetry JS SDK sees it, with `tests/interop/seed_configs_test.ts`'s
 * clients (issue 9): for each signal and for gRPC and HTTP/protobuf, a fresh SDK exporter sends
 * `--requests` exports of the SDK's own batch one after another (the seed test sends 30 each, 180
 * in all), each timed from `export` to its result. Targets, each a fresh process in front of the
 * bench sink, in rotating order per round:
 *
 * - the sink itself (no collector in between: the client's and the sink's own cost),
 * - the reference Collector with `examples/collector.yaml`'s pipeline (memory_limiter, batch of
 *   8192 items or 10 s, `otlp` and `otlphttp` exporters with memory queues: its core build has no
 *   `file_storage`),
 * - tfo running `examples/collector.yaml` as it is (persistent queues, `fsync: false`), with the
 *   runtime flags it ships with (`TFO_RUN_FLAGS`),
 * - tfo running it with memory queues (the same pipeline as the Collector's).
 *
 * The first request of each exporter opens its connection (grpc-js channel, HTTP keep-alive
 * socket) and, in a new target process, runs that process's cold paths; the report gives p99 with
 * and without those first requests, and the first requests' own latencies, so the client's
 * first-connection cost is told apart from what a collector adds. A warm-up pass against the sink
 * runs first and is not counted (the client process's own first use of the SDK).
 *
 * ```sh
 * deno run -A --unstable-kv bench/sdk_latency_bench.ts [--rounds 3] [--requests 30]
 * ```
 *
 * {@linkcode runSdkLatencyBench} returns the results as markdown; run directly, it prints them.
 *
 * @module
 */
import { parseArgs } from "node:util";
import type { Signal } from "../lib/pdata/types.ts";
import { makeBatch, makeExporter, type SdkBatch } from "../tests/fixtures/interop/sdk_data.ts";
import {
  type Child,
  ChildGroup,
  freePort,
  sleep,
  TFO_RUN_FLAGS,
  waitForPort,
} from "./_children.ts";

const DENO = Deno.execPath();
const ROOT = new URL("../", import.meta.url).pathname;
const SIGNALS: readonly Signal[] = ["traces", "metrics", "logs"];
const PROTOCOLS = ["grpc", "http/protobuf"] as const;

/** One system in front of the sink. */
export type SdkTarget =
  | "sink directly"
  | "otelcol (memory queues)"
  | "tfo examples/collector.yaml (persistent queues)"
  | "tfo examples/collector.yaml with memory queues";

/** What one target did over every round. */
export interface SdkLatencyRow {
  readonly target: SdkTarget;
  /** Every request's latency, ms. */
  readonly all: readonly number[];
  /** The first request of each exporter (connection), ms. */
  readonly firsts: readonly number[];
  readonly failed: number;
}

/** Options of {@linkcode runSdkLatencyBench}. */
export interface SdkLatencyBenchOptions {
  /** Rounds, each running every target once. @default 3 */
  rounds?: number;
  /** Exports per exporter (signal × protocol). @default 30 */
  requests?: number;
  /** The Collector binary; its target is skipped when undefined. */
  otelcol?: string | undefined;
  /** Progress lines. @default stderr */
  log?: (line: string) => void;
}

interface Ports {
  grpc: number;
  http: number;
  health: number;
  metrics: number;
  sinkGrpc: number;
  sinkHttp: number;
}

/** `${env:NAME:-default}` replaced by `env[NAME]` or the default, as tfo would expand it. */
function expandEnv(yaml: string, env: Record<string, string>): string {
  return yaml.replace(
    /\$\{env:([A-Z0-9_]+):-([^}]*)\}/g,
    (_, name: string, fallback: string) => env[name] ?? fallback,
  );
}

function seedYaml(p: Ports, dir: string, persistent: boolean): string {
  const yaml = expandEnv(Deno.readTextFileSync(`${ROOT}examples/collector.yaml`), {
    TFO_GRPC_LISTEN: `127.0.0.1:${p.grpc}`,
    TFO_HTTP_LISTEN: `127.0.0.1:${p.http}`,
    TFO_HEALTH_LISTEN: `127.0.0.1:${p.health}`,
    TFO_METRICS_LISTEN: `127.0.0.1:${p.metrics}`,
    TFO_OTLP_ENDPOINT: `127.0.0.1:${p.sinkGrpc}`,
    TFO_OTLPHTTP_ENDPOINT: `http://127.0.0.1:${p.sinkHttp}`,
    TFO_STORAGE_DIR: `${dir}/storage`,
  });
  if (persistent) return yaml;
  const memory = yaml.replaceAll("      storage: file_storage\n", "");
  if (memory === yaml) throw new Error("examples/collector.yaml no longer has `storage:` lines");
  return memory;
}

/** examples/collector.yaml's pipeline in the Collector's own words, with memory queues. */
function otelcolYaml(p: Ports): string {
  const queue = `retry_on_failure: { max_elapsed_time: 0 }
    sending_queue: { enabled: true, num_consumers: 4, queue_size: 5000 }`;
  return `
receivers:
  otlp:
    protocols:
      grpc: { endpoint: 127.0.0.1:${p.grpc}, max_recv_msg_size_mib: 16 }
      http: { endpoint: 127.0.0.1:${p.http} }
processors:
  memory_limiter: { check_interval: 1s, limit_percentage: 80, spike_limit_percentage: 20 }
  batch: { timeout: 10s, send_batch_size: 8192, send_batch_max_size: 16384 }
exporters:
  otlp_grpc:
    endpoint: 127.0.0.1:${p.sinkGrpc}
    tls: { insecure: true }
    ${queue}
  otlp_http:
    endpoint: http://127.0.0.1:${p.sinkHttp}
    ${queue}
service:
  telemetry:
    logs: { level: warn }
    metrics: { level: none }
  pipelines:
${
    SIGNALS.map((s) =>
      `    ${s}: { receivers: [otlp], processors: [memory_limiter, batch], exporters: [otlp_grpc, otlp_http] }`
    ).join("\n")
  }
`;
}

async function startTarget(
  group: ChildGroup,
  target: SdkTarget,
  ports: Ports,
  dir: string,
  otelcol: string | undefined,
): Promise<Child & { stop(graceMs?: number): Promise<number> } | undefined> {
  if (target === "sink directly") return undefined;
  const path = `${dir}/${target.replace(/\W+/g, "_")}.yaml`;
  const child = target === "otelcol (memory queues)"
    ? (await Deno.writeTextFile(path, otelcolYaml(ports)),
      group.spawn("otelcol", otelcol!, ["--config", path]))
    : (await Deno.writeTextFile(path, seedYaml(ports, dir, target.includes("persistent"))),
      group.spawn("tfo", DENO, [
        "run",
        ...TFO_RUN_FLAGS,
        `${ROOT}main.ts`,
        "run",
        "--config",
        path,
      ]));
  await waitForPort(ports.grpc, 60_000, child);
  await waitForPort(ports.http, 10_000, child);
  return child;
}

/** Sends every exporter's requests to `to`; resolves to the latencies (first ones apart). */
async function sendAll(
  batches: readonly SdkBatch<Signal>[],
  to: { httpBase: string; grpcAddress: string },
  requests: number,
): Promise<{ all: number[]; firsts: number[]; failed: number }> {
  const all: number[] = [];
  const firsts: number[] = [];
  let failed = 0;
  for (const batch of batches) {
    for (const protocol of PROTOCOLS) {
      const exporter = makeExporter(batch.signal, protocol, to);
      try {
        for (let i = 0; i < requests; i++) {
          const started = performance.now();
          const result = await new Promise<{ code: number }>((resolve) =>
            exporter.export(batch.items as never, resolve)
          );
          const ms = performance.now() - started;
          if (result.code !== 0) failed++;
          all.push(ms);
          if (i === 0) firsts.push(ms);
        }
      } finally {
        await exporter.shutdown();
      }
    }
  }
  return { all, firsts, failed };
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? NaN;
}

/** `all` less one occurrence of each of `firsts`. */
function withoutFirsts(all: readonly number[], firsts: readonly number[]): number[] {
  const left = [...all];
  for (const first of firsts) left.splice(left.indexOf(first), 1);
  return left;
}

async function loadAverage(): Promise<string> {
  return (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
}

/** Runs the rounds and returns the markdown section. */
export async function runSdkLatencyBench(options: SdkLatencyBenchOptions = {}): Promise<string> {
  const rounds = options.rounds ?? 3;
  const requests = options.requests ?? 30;
  const log = options.log ?? ((l: string) => console.error(l));
  const targets: SdkTarget[] = [
    "sink directly",
    ...(options.otelcol === undefined ? [] : ["otelcol (memory queues)" as const]),
    "tfo examples/collector.yaml (persistent queues)",
    "tfo examples/collector.yaml with memory queues",
  ];
  const batches = await Promise.all(SIGNALS.map((s) => makeBatch(s)));
  const rows = new Map<SdkTarget, { all: number[]; firsts: number[]; failed: number }>(
    targets.map((t) => [t, { all: [], firsts: [], failed: 0 }]),
  );
  const loads: string[] = [await loadAverage()];
  const started = new Date().toISOString();
  const group = new ChildGroup();
  const dir = await Deno.makeTempDir({ prefix: "tfo-sdk-latency-" });
  try {
    for (let round = -1; round < rounds; round++) {
      // Round -1 warms the client process up against the sink; it is not counted.
      const order = round < 0
        ? ["sink directly" as const]
        : targets.map((_, i) => targets[(i + round) % targets.length]!);
      for (const target of order) {
        const ports: Ports = {
          grpc: freePort(),
          http: freePort(),
          health: freePort(),
          metrics: freePort(),
          sinkGrpc: freePort(),
          sinkHttp: freePort(),
        };
        const sink = group.spawn("sink", DENO, [
          "run",
          "--allow-all",
          `${ROOT}bench/sink.ts`,
          "--grpc-port",
          String(ports.sinkGrpc),
          "--http-port",
          String(ports.sinkHttp),
        ]);
        await sink.nextLine((l) => l === "ready", 30_000);
        const runDir = `${dir}/${round + 1}-${target.replace(/\W+/g, "_")}`;
        await Deno.mkdir(runDir, { recursive: true });
        const peer = await startTarget(group, target, ports, runDir, options.otelcol);
        try {
          await sleep(1000); // started: its own start-up work is done
          const direct = peer === undefined;
          const got = await sendAll(batches, {
            httpBase: `http://127.0.0.1:${direct ? ports.sinkHttp : ports.http}`,
            grpcAddress: `127.0.0.1:${direct ? ports.sinkGrpc : ports.grpc}`,
          }, requests);
          if (round >= 0) {
            const row = rows.get(target)!;
            row.all.push(...got.all);
            row.firsts.push(...got.firsts);
            row.failed += got.failed;
            log(
              `SDK latency round ${round + 1}, ${target}: p50 ${
                percentile(got.all, 0.5).toFixed(1)
              }, p99 ${percentile(got.all, 0.99).toFixed(1)}, without firsts ${
                percentile(withoutFirsts(got.all, got.firsts), 0.99).toFixed(1)
              } ms; firsts ${got.firsts.map((ms) => ms.toFixed(1)).join(", ")}`,
            );
          }
        } finally {
          await peer?.stop();
          await sink.stop();
        }
      }
      loads.push(await loadAverage());
    }
  } finally {
    await group.stopAll();
    await Deno.remove(dir, { recursive: true });
  }
  return report(
    [...rows].map(([target, r]) => ({ target, ...r })),
    { rounds, requests, started, loads },
  );
}

function report(
  rows: readonly SdkLatencyRow[],
  o: { rounds: number; requests: number; started: string; loads: readonly string[] },
): string {
  const f = (n: number) => n.toFixed(1);
  const lines = [
    "### The SDK's view, first requests apart (`bench/sdk_latency_bench.ts`)",
    "",
    `\`deno run -A --unstable-kv bench/sdk_latency_bench.ts --rounds ${o.rounds} --requests ${o.requests}\`, ` +
    `tfo under \`${TFO_RUN_FLAGS.join(" ")}\`, ` +
    `started ${o.started}, load average (1, 5, 15 min) ${o.loads.join(" → ")} over the rounds. ` +
    `The seed test's clients: the OpenTelemetry JS SDK's gRPC and HTTP/protobuf exporters, one per ` +
    `signal and protocol (6), ${o.requests} exports each of the SDK's own batch, one after another, ` +
    "a fresh target process per round; first = the first request of each exporter (it opens the " +
    "connection).",
    "",
    "| target | requests | p50 (ms) | p99 (ms) | p99 without firsts (ms) | max without firsts (ms) | firsts: median / max (ms) | failed |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const r of rows) {
    const rest = withoutFirsts(r.all, r.firsts);
    lines.push(
      `| ${r.target} | ${r.all.length} | ${f(percentile(r.all, 0.5))} | ${
        f(percentile(r.all, 0.99))
      } | ${f(percentile(rest, 0.99))} | ${f(Math.max(...rest))} | ${
        f(percentile(r.firsts, 0.5))
      } / ${f(Math.max(...r.firsts))} | ${r.failed} |`,
    );
  }
  return lines.join("\n") + "\n";
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { rounds: { type: "string" }, requests: { type: "string" } },
  });
  const home = Deno.env.get("HOME") ?? "/root";
  const otelcol = Deno.env.get("TFO_OTELCOL") ?? `${home}/.cache/tfo-peers/bin/otelcol`;
  let exists = false;
  try {
    exists = Deno.statSync(otelcol).isFile;
  } catch {
    // not built
  }
  if (!exists) console.error(`No Collector at ${otelcol} (bench/peers.sh builds it): skipped`);
  console.log(
    await runSdkLatencyBench({
      ...(values.rounds === undefined ? {} : { rounds: Number(values.rounds) }),
      ...(values.requests === undefined ? {} : { requests: Number(values.requests) }),
      otelcol: exists ? otelcol : undefined,
    }),
  );
}
