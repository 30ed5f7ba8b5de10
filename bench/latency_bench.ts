/**
 * Request latency with the seed configs' batch settings (issue 9): OTLP/HTTP traces in at a fixed
 * rate → batch (`timeout: 10s`, `send_batch_size: 8192`) → `otlphttp` → the bench sink, through
 * the reference Collector (memory queue: its only kind in the peers build), tfo with a memory queue
 * and tfo with a persistent queue (`file_storage`, with its default `fsync: false` and with
 * `fsync: true`). The latency is the generator's, from sending a
 * request to its answer: what a client's deadline sees. A client must never wait for the batch
 * timeout; before issue 9 tfo answered only once the batch was exported (p99 ≈ the timeout).
 *
 * ```sh
 * deno run -A --unstable-kv bench/latency_bench.ts [--rate 20000] [--duration 10]
 * ```
 *
 * {@linkcode runLatencyBench} returns the results as markdown; run directly, it prints them.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { ChildGroup, freePort, sleep, TFO_RUN_FLAGS, waitForPort } from "./_children.ts";
import type { LoadGenResult } from "./load_gen.ts";

/** Loopback ports picked free at the start of a run (the pass-through bench's fixed ones may be busy). */
interface Ports {
  inGrpc: number;
  inHttp: number;
  telemetry: number;
  sinkGrpc: number;
  sinkHttp: number;
}

/** One system under test. */
type Target =
  | "otelcol"
  | "tfo (memory queue)"
  | "tfo (persistent queue)"
  | "tfo (persistent queue, fsync: true)";

/** What one target did. */
export interface LatencyRow {
  readonly target: Target;
  readonly p50: number;
  readonly p99: number;
  readonly requests: number;
  readonly errors: number;
}

/** Options of {@linkcode runLatencyBench}. */
export interface LatencyBenchOptions {
  /** Items per second (requests of 100 items). @default 20000 */
  rate?: number;
  /** Seconds measured, after 2 s of warm-up. @default 10 */
  durationS?: number;
  /** The Collector binary; skipped when undefined. */
  otelcol?: string | undefined;
  /** Progress lines. @default stderr */
  log?: (line: string) => void;
}

const DENO = Deno.execPath();

async function loadAverage(): Promise<string> {
  return (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
}

function config(target: Target, storageDir: string, ports: Ports): string {
  const collector = target === "otelcol";
  const persistent = target.startsWith("tfo (persistent queue");
  const fsync = target === "tfo (persistent queue, fsync: true)";
  return `
${
    persistent
      ? `extensions:\n  file_storage: { directory: ${storageDir}, create_directory: true, fsync: ${fsync} }`
      : ""
  }
receivers:
  otlp:
    protocols:
      grpc: { endpoint: 127.0.0.1:${ports.inGrpc} }
      http: { endpoint: 127.0.0.1:${ports.inHttp} }
processors:
  batch: { timeout: 10s, send_batch_size: 8192 }
exporters:
  ${collector ? "otlp_http" : "otlphttp"}:
    endpoint: http://127.0.0.1:${ports.sinkHttp}
    compression: none
    ${persistent ? "sending_queue: { storage: file_storage }" : ""}
service:
  ${persistent ? "extensions: [file_storage]" : ""}
  telemetry:
    logs: { level: warn }
    ${collector ? `metrics: { level: none }` : `metrics: { address: 127.0.0.1:${ports.telemetry} }`}
  pipelines:
    traces: { receivers: [otlp], processors: [batch], exporters: [${
    collector ? "otlp_http" : "otlphttp"
  }] }
`;
}

async function measure(
  group: ChildGroup,
  target: Target,
  dir: string,
  o: Required<Omit<LatencyBenchOptions, "otelcol" | "log">>,
): Promise<LatencyRow> {
  const ports: Ports = {
    inGrpc: freePort(),
    inHttp: freePort(),
    telemetry: freePort(),
    sinkGrpc: freePort(),
    sinkHttp: freePort(),
  };
  const path = `${dir}/${target.replace(/\W+/g, "_")}.yaml`;
  await Deno.writeTextFile(
    path,
    config(target, `${dir}/storage-${target.replace(/\W+/g, "_")}`, ports),
  );
  const sink = group.spawn("sink", DENO, [
    "run",
    "--allow-all",
    new URL("./sink.ts", import.meta.url).pathname,
    "--grpc-port",
    String(ports.sinkGrpc),
    "--http-port",
    String(ports.sinkHttp),
  ]);
  await sink.nextLine((l) => l === "ready", 30_000);
  const peer = target === "otelcol"
    ? group.spawn("otelcol", Deno.env.get("TFO_OTELCOL") ?? "", ["--config", path])
    : group.spawn("tfo", DENO, [
      "run",
      ...TFO_RUN_FLAGS,
      new URL("../main.ts", import.meta.url).pathname,
      "run",
      "--config",
      path,
    ]);
  try {
    await waitForPort(ports.inHttp, 60_000, peer);
    const gen = group.spawn("load_gen", DENO, [
      "run",
      "--allow-all",
      new URL("./load_gen.ts", import.meta.url).pathname,
      "--signal",
      "traces",
      "--protocol",
      "http",
      "--target",
      `127.0.0.1:${ports.inHttp}`,
      "--rate",
      String(o.rate / 100),
      "--warmup",
      "2",
      "--duration",
      String(o.durationS),
      "--items",
      "100",
    ]);
    const line = await gen.nextLine((l) => l.startsWith("{"), (o.durationS + 2) * 1000 + 60_000);
    await gen.exited;
    const g = JSON.parse(line) as LoadGenResult;
    return {
      target,
      p50: g.latency.p50,
      p99: g.latency.p99,
      requests: g.window.requests,
      errors: g.window.errors + g.skipped,
    };
  } finally {
    await peer.stop();
    await sink.stop();
    await sleep(500);
  }
}

/** Runs every target in turn and returns the markdown section. */
export async function runLatencyBench(options: LatencyBenchOptions = {}): Promise<string> {
  const o = { rate: options.rate ?? 20_000, durationS: options.durationS ?? 10 };
  const log = options.log ?? ((l: string) => console.error(l));
  const targets: Target[] = [
    ...(options.otelcol === undefined ? [] : ["otelcol" as const]),
    "tfo (memory queue)",
    "tfo (persistent queue)",
    "tfo (persistent queue, fsync: true)",
  ];
  if (options.otelcol !== undefined) Deno.env.set("TFO_OTELCOL", options.otelcol);
  const loadBefore = await loadAverage();
  const dir = await Deno.makeTempDir({ prefix: "tfo-latency-" });
  const group = new ChildGroup();
  const rows: LatencyRow[] = [];
  try {
    for (const target of targets) {
      log(`Latency bench: ${target} ...`);
      const row = await measure(group, target, dir, o);
      log(`  p50 ${row.p50.toFixed(1)} ms, p99 ${row.p99.toFixed(1)} ms, ${row.errors} errors`);
      rows.push(row);
    }
  } finally {
    await group.stopAll();
    await Deno.remove(dir, { recursive: true });
  }
  const f = (x: number) => x.toLocaleString("en-US", { maximumFractionDigits: 1 });
  return [
    "## Request latency with the seed batch settings",
    "",
    `OTLP/HTTP traces at ${o.rate.toLocaleString("en-US")} items/s (requests of 100 spans, open ` +
    `loop, ${o.durationS} s after 2 s of warm-up) → batch (\`timeout: 10s\`, ` +
    "`send_batch_size: 8192`) → `otlphttp` → sink. Latency from sending a request to its answer, " +
    "seen by the generator. The persistent queue (`file_storage` `fsync: false`, the default) " +
    "answers once a request is written to its journal; with `fsync: true` once it is committed, " +
    `synced, to Deno KV. Load average ${loadBefore} before, ${await loadAverage()} after.`,
    "",
    "| target | request p50 (ms) | request p99 (ms) | requests | failed |",
    "| --- | ---: | ---: | ---: | ---: |",
    ...rows.map((r) =>
      `| ${r.target} | ${f(r.p50)} | ${f(r.p99)} | ${
        r.requests.toLocaleString("en-US")
      } | ${r.errors} |`
    ),
    "",
  ].join("\n");
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { rate: { type: "string" }, duration: { type: "string" } },
  });
  const home = Deno.env.get("HOME") ?? "/root";
  const otelcol = `${Deno.env.get("TFO_PEERS_DIR") ?? `${home}/.cache/tfo-peers`}/bin/otelcol`;
  let found: string | undefined;
  try {
    if (Deno.statSync(otelcol).isFile) found = otelcol;
  } catch {
    found = undefined;
  }
  console.log(
    await runLatencyBench({
      ...(values.rate === undefined ? {} : { rate: Number(values.rate) }),
      ...(values.duration === undefined ? {} : { durationS: Number(values.duration) }),
      otelcol: found,
    }),
  );
}
