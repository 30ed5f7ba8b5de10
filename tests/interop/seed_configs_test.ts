/**
 * Issue 9's story: each seed config (`examples/collector.yaml` with batch `timeout: 10s`,
 * `examples/edge-gateway.yaml` with `30s`, and the embedded agent `examples/agent.yaml`), unmodified
 * but for its ports and folders, runs as a `tfo run` child process in front of an in-process sink.
 * The OpenTelemetry JS SDK (gRPC and HTTP/protobuf) and `telemetrygen` (gRPC and HTTP) send about
 * 300 items per signal each at their default 10 s deadlines. Every client must be answered without
 * error, every item must reach the sink exactly once (per exporter), and no request may wait for
 * the batch timeout: the SDK's request latencies are measured here and their p50/p99 printed,
 * counting every request, and also without the first request of each exporter (which opens its
 * connection; bench/sdk_latency_bench.ts puts the same clients in front of the Collector to tell
 * that cost apart). Before the first seed, this process's SDK exporters send one export of each
 * signal and protocol to a throwaway sink, not counted: the client process's own first use of
 * the SDK (compiling grpc-js and the serializers) is the client's cost, not tfo's. tfo runs with
 * the runtime flags it ships with (deno.json's `start` task). The assertion is only that p99
 * stays far below the batch timeout (2 s), which holds on a loaded 2-core machine; the 20 ms
 * target is read from the printed line (bench/RESULTS.md). telemetrygen is skipped, saying so,
 * when `bench/peers.sh` has not built it.
 *
 * Loopback only; each test is bounded (the edge gateway's takes about 35 s, its batches wait 30 s).
 */
import assert from "node:assert/strict";
import { countItems } from "../../lib/pdata/count.ts";
import type { Signal, SignalData } from "../../lib/pdata/types.ts";
import { makeBatch, makeExporter, type SdkBatch } from "../fixtures/interop/sdk_data.ts";
import {
  executableExists,
  freePort,
  PEERS_BIN,
  recorded,
  type RunningService,
  startService,
  waitFor,
} from "../fixtures/interop/services.ts";
import { startTfo, type TfoProcess } from "../fixtures/chaos/tfo_process.ts";
import { TFO_RUN_FLAGS } from "../../bench/_children.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const TELEMETRYGEN = `${PEERS_BIN}/telemetrygen`;
const SIGNALS: readonly Signal[] = ["traces", "metrics", "logs"];
const ITEMS_PER_SIGNAL = 300;
/** Far below every seed's batch timeout, far above any honest latency on a loaded machine. */
const P99_LIMIT_MS = 2000;

/** The sink: one receiver per protocol, each feeding its own recorder, for every signal. */
const SINK_YAML = `
receivers:
  otlp/grpc: { protocols: { grpc: { endpoint: 127.0.0.1:0 } } }
  otlp/http: { protocols: { http: { endpoint: 127.0.0.1:0 } } }
exporters:
  recorder/grpc:
  recorder/http:
service:
  pipelines:
${
  SIGNALS.flatMap((s) => [
    `    ${s}/grpc: { receivers: [otlp/grpc], exporters: [recorder/grpc] }`,
    `    ${s}/http: { receivers: [otlp/http], exporters: [recorder/http] }`,
  ]).join("\n")
}
`;

/** `${env:NAME:-default}` replaced by `env[NAME]` or the default, as tfo would expand it. */
function expandEnv(yaml: string, env: Record<string, string>): string {
  return yaml.replace(
    /\$\{env:([A-Z0-9_]+):-([^}]*)\}/g,
    (_, name: string, fallback: string) => env[name] ?? fallback,
  );
}

type Resources = { resource: { attributes: { key: string; value: unknown }[] } }[];
const RESOURCE_LIST = {
  traces: "resourceSpans",
  metrics: "resourceMetrics",
  logs: "resourceLogs",
} as const;

/** The `service.name` of a resource entry. */
function serviceName(entry: Resources[number]): string {
  return String(entry.resource.attributes.find((a) => a.key === "service.name")?.value);
}

/** Items per `service.name` in what a recorder got. */
function itemsByService(
  sink: RunningService,
  recorder: string,
  signal: Signal,
): Map<string, number> {
  const counts = new Map<string, number>();
  const key = RESOURCE_LIST[signal];
  for (const data of recorded(sink.kit, recorder, signal)) {
    for (const r of (data as unknown as Record<string, Resources>)[key]!) {
      const one = { [key]: [r] } as unknown as SignalData[Signal];
      counts.set(serviceName(r), (counts.get(serviceName(r)) ?? 0) + countItems(signal, one));
    }
  }
  return counts;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? NaN;
}

/** The service name of an SDK batch's resources. */
function serviceOf(batch: SdkBatch<Signal>): string {
  const data = batch.expected as unknown as Record<string, Resources>;
  return serviceName(data[RESOURCE_LIST[batch.signal]]![0]!);
}

interface Seed {
  readonly file: string;
  /** The seed text with its ports, folders and upstream pointed at the test's. */
  config(p: Ports, sink: RunningService, dir: string): string;
  /** The sink recorders its exporters reach (each gets every item once). */
  readonly recorders: readonly ("recorder/grpc" | "recorder/http")[];
}

interface Ports {
  grpc: number;
  http: number;
  health: number;
  metrics: number;
}

const SEEDS: readonly Seed[] = [
  {
    file: "collector.yaml",
    recorders: ["recorder/grpc", "recorder/http"],
    config: (p, sink, dir) =>
      expandEnv(Deno.readTextFileSync(`${ROOT}examples/collector.yaml`), {
        TFO_GRPC_LISTEN: `127.0.0.1:${p.grpc}`,
        TFO_HTTP_LISTEN: `127.0.0.1:${p.http}`,
        TFO_HEALTH_LISTEN: `127.0.0.1:${p.health}`,
        TFO_METRICS_LISTEN: `127.0.0.1:${p.metrics}`,
        TFO_OTLP_ENDPOINT: `127.0.0.1:${sink.port("otlp/grpc", "grpc")}`,
        TFO_OTLPHTTP_ENDPOINT: `http://127.0.0.1:${sink.port("otlp/http", "http")}`,
        TFO_STORAGE_DIR: `${dir}/storage`,
      }),
  },
  {
    file: "edge-gateway.yaml",
    recorders: ["recorder/grpc"],
    config: (p, sink, dir) =>
      expandEnv(Deno.readTextFileSync(`${ROOT}examples/edge-gateway.yaml`), {
        TFO_GRPC_LISTEN: `127.0.0.1:${p.grpc}`,
        TFO_HTTP_LISTEN: `127.0.0.1:${p.http}`,
        TFO_HEALTH_LISTEN: `127.0.0.1:${p.health}`,
        TFO_METRICS_LISTEN: `127.0.0.1:${p.metrics}`,
        TFO_UPSTREAM_ENDPOINT: `127.0.0.1:${sink.port("otlp/grpc", "grpc")}`,
        TFO_STORAGE_DIR: `${dir}/storage`,
      }),
  },
  {
    file: "agent.yaml",
    recorders: ["recorder/grpc"],
    config: (p, sink, dir) =>
      expandEnv(Deno.readTextFileSync(`${ROOT}examples/agent.yaml`), {
        TFO_EXPORTER_ENDPOINT: `127.0.0.1:${sink.port("otlp/grpc", "grpc")}`,
        TFO_STORAGE_DIR: `${dir}/storage`,
      })
        .replace("127.0.0.1:4317", `127.0.0.1:${p.grpc}`)
        .replace("127.0.0.1:4318", `127.0.0.1:${p.http}`)
        .replace("127.0.0.1:13133", `127.0.0.1:${p.health}`)
        .replace("127.0.0.1:8888", `127.0.0.1:${p.metrics}`)
        // Only this test's clients: no host log files, host metrics rarely.
        .replace("include: [/var/log/*.log]", `include: [${dir}/none/*.log]`)
        .replace("collection_interval: 10s", "collection_interval: 1h"),
  },
];

/** Runs telemetrygen once; returns its combined output, failing on a non-zero exit. */
async function telemetrygen(signal: Signal, http: boolean, port: number, service: string) {
  const count = signal === "traces" ? ["--traces", "150", "--child-spans", "1"] : [
    `--${signal}`,
    String(ITEMS_PER_SIGNAL),
  ];
  const args = [
    signal,
    ...count,
    "--rate",
    "1000",
    "--service",
    service,
    "--otlp-insecure",
    "--otlp-endpoint",
    `127.0.0.1:${port}`,
    ...(http ? ["--otlp-http"] : []),
  ];
  const started = performance.now();
  const out = await new Deno.Command(TELEMETRYGEN, { args, stdin: "null" }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  const ms = performance.now() - started;
  assert.equal(out.code, 0, `telemetrygen ${args.join(" ")} failed:\n${text}`);
  assert.doesNotMatch(text, /DeadlineExceeded|context deadline|"level":"error"|\terror\t/i, text);
  return ms;
}

/** The shipped flags that `startTfo` does not pass already (it passes `-A --unstable-kv`). */
const RUN_FLAGS = TFO_RUN_FLAGS.filter((f) => f !== "--allow-all" && f !== "--unstable-kv");

let clientWarm: Promise<void> | undefined;

/** One export of each signal and protocol to a throwaway in-process sink (see the module notes). */
function warmClient(): Promise<void> {
  clientWarm ??= (async () => {
    await using sink = await startService(SINK_YAML);
    const to = {
      httpBase: `http://127.0.0.1:${sink.port("otlp/http", "http")}`,
      grpcAddress: `127.0.0.1:${sink.port("otlp/grpc", "grpc")}`,
    };
    for (const signal of SIGNALS) {
      const batch = await makeBatch(signal);
      for (const protocol of ["grpc", "http/protobuf"] as const) {
        const exporter = makeExporter(signal, protocol, to);
        try {
          await new Promise((resolve) => exporter.export(batch.items as never, resolve));
        } finally {
          await exporter.shutdown();
        }
      }
    }
  })();
  return clientWarm;
}

for (const seed of SEEDS) {
  Deno.test({
    name:
      `examples/${seed.file}: SDK and telemetrygen clients are answered at once and every item arrives exactly once`,
    sanitizeOps: false,
    sanitizeResources: false,
  }, async () => {
    await warmClient();
    const dir = await Deno.makeTempDir({ prefix: "tfo-seed-" });
    await using sink = await startService(SINK_YAML);
    const ports = { grpc: freePort(), http: freePort(), health: freePort(), metrics: freePort() };
    let tfo: TfoProcess | undefined;
    try {
      tfo = await startTfo("seed", dir, seed.config(ports, sink, dir), { denoFlags: RUN_FLAGS });
      const expected = new Map<string, Map<Signal, number>>();
      const expect = (service: string, signal: Signal, n: number) => {
        const bySignal = expected.get(service) ?? new Map<Signal, number>();
        bySignal.set(signal, (bySignal.get(signal) ?? 0) + n);
        expected.set(service, bySignal);
      };
      const latencies: number[] = [];
      /** The first request of each SDK exporter: it opens the exporter's connection. */
      const firsts: number[] = [];
      const to = {
        httpBase: `http://127.0.0.1:${ports.http}`,
        grpcAddress: `127.0.0.1:${ports.grpc}`,
      };
      for (const signal of SIGNALS) {
        const batch = await makeBatch(signal);
        const per = countItems(signal, batch.expected);
        const exports = Math.ceil(ITEMS_PER_SIGNAL / per);
        for (const protocol of ["grpc", "http/protobuf"] as const) {
          const exporter = makeExporter(signal, protocol, to);
          try {
            for (let i = 0; i < exports; i++) {
              const started = performance.now();
              const result = await new Promise<{ code: number; error?: Error }>((resolve) =>
                exporter.export(batch.items as never, resolve)
              );
              (i === 0 ? firsts : latencies).push(performance.now() - started);
              assert.equal(result.code, 0, `SDK ${protocol} ${signal}: ${result.error}`);
            }
          } finally {
            await exporter.shutdown();
          }
          expect(serviceOf(batch), signal, exports * per);
        }
      }
      const tg: string[] = [];
      if (executableExists(TELEMETRYGEN)) {
        for (const signal of SIGNALS) {
          for (const http of [false, true]) {
            const service = `tg-${http ? "http" : "grpc"}`;
            const ms = await telemetrygen(signal, http, http ? ports.http : ports.grpc, service);
            tg.push(`${signal}/${http ? "http" : "grpc"} ${ms.toFixed(0)} ms`);
            expect(service, signal, ITEMS_PER_SIGNAL);
          }
        }
      } else {
        console.log(
          `telemetrygen not found at ${TELEMETRYGEN} (bench/peers.sh builds it): skipped`,
        );
      }
      const all = [...latencies, ...firsts].sort((a, b) => a - b);
      latencies.sort((a, b) => a - b);
      const p50 = percentile(all, 0.5);
      const p99 = percentile(all, 0.99);
      console.log(
        `[${seed.file}] SDK requests: ${all.length}, p50 ${p50.toFixed(1)} ms, ` +
          `p99 ${p99.toFixed(1)} ms, max ${all.at(-1)!.toFixed(1)} ms; without the first ` +
          `request of each of the ${firsts.length} connections: p50 ` +
          `${percentile(latencies, 0.5).toFixed(1)} ms, p99 ${
            percentile(latencies, 0.99).toFixed(1)
          } ms, max ${latencies.at(-1)!.toFixed(1)} ms; first requests ` +
          `${firsts.map((ms) => ms.toFixed(1)).join(", ")} ms; ` +
          `telemetrygen runs: ${tg.join(", ") || "skipped"}`,
      );
      assert.ok(p99 < P99_LIMIT_MS, `SDK request p99 ${p99.toFixed(0)} ms waits for nothing`);

      // Delivery: the batches go out at the batch timeout (up to 30 s) behind the queues.
      const settled = () =>
        seed.recorders.every((rec) =>
          SIGNALS.every((signal) => {
            const got = itemsByService(sink, rec, signal);
            return [...expected].every(([svc, bySignal]) =>
              (got.get(svc) ?? 0) >= (bySignal.get(signal) ?? 0)
            );
          })
        );
      await waitFor("every item at the sink", settled, 60_000, 200).catch(() => {});
      await new Promise((r) => setTimeout(r, 500)); // a late duplicate would show up now
      for (const rec of seed.recorders) {
        for (const signal of SIGNALS) {
          const got = itemsByService(sink, rec, signal);
          for (const [svc, bySignal] of expected) {
            assert.equal(
              got.get(svc) ?? 0,
              bySignal.get(signal) ?? 0,
              `${signal} of ${svc} at ${rec}: exactly once`,
            );
          }
        }
      }
    } finally {
      if (tfo !== undefined && !tfo.dead) {
        const code = await tfo.stop();
        if (code !== 0) console.error(`tfo exited ${code}:\n${tfo.tail()}`);
      }
      await Deno.remove(dir, { recursive: true });
    }
  });
}
