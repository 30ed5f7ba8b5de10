/**
 * The tail sampling benchmark: OTLP/HTTP in → `tail_sampling` with the seed policy set (every error
 * trace, every trace slower than 1 s, 10% of the rest; `decision_wait` 5 s) → `otlphttp` → the
 * bench sink, through tfo and through the contrib Collector (`otelcol-contrib`, built by
 * `bench/peers.sh`) on the same closed-loop load in one run. Every request carries 10 new traces
 * of 10 spans (5% with an error span, 5% slower than 1 s), so the sampler holds every trace for its
 * wait. Reports spans accepted per second, spans per CPU-second of the peer, the share passed on,
 * and the peer's peak RSS, and appends a section to `bench/RESULTS.md` (or `--out`).
 *
 * ```sh
 * deno run -A bench/tail_sampling_bench.ts [--duration 15] [--warmup 8] [--workers 16] [--out bench/RESULTS.md]
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { encodeTracesRequest } from "../lib/otlp/traces_proto.ts";
import type { KeyValue, Span, TracesData } from "../lib/pdata/types.ts";
import { ChildGroup, sleep, TFO_RUN_FLAGS, waitForPort } from "./_children.ts";
import { sampleProc } from "./_proc.ts";
import type { SinkStats } from "./sink.ts";

/** Free loopback ports, held until all are picked (other benchmarks may run beside this one). */
function freePorts(n: number): number[] {
  const listeners = Array.from(
    { length: n },
    () => Deno.listen({ hostname: "127.0.0.1", port: 0 }),
  );
  const ports = listeners.map((l) => (l.addr as Deno.NetAddr).port);
  for (const l of listeners) l.close();
  return ports;
}

const [IN_HTTP, SINK_GRPC, SINK_HTTP, TELEMETRY] = freePorts(4) as [number, number, number, number];
const PORTS = { inHttp: IN_HTTP, sinkGrpc: SINK_GRPC, sinkHttp: SINK_HTTP, telemetry: TELEMETRY };

async function startSink(group: ChildGroup) {
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

const DENO = Deno.execPath();
const TRACES_PER_REQUEST = 10;
const SPANS_PER_TRACE = 10;

const POLICIES = [
  { name: "errors", type: "status_code", status_code: { status_codes: ["ERROR"] } },
  { name: "slow", type: "latency", latency: { threshold_ms: 1000 } },
  { name: "rest", type: "probabilistic", probabilistic: { sampling_percentage: 10 } },
];

type Peer = "tfo" | "tfo-storage" | "otelcol";

function config(peer: Peer, storageDir: string): string {
  const tfo = peer !== "otelcol";
  const storage = peer === "tfo-storage";
  const exporter = tfo
    ? `otlphttp: { endpoint: "http://127.0.0.1:${PORTS.sinkHttp}", compression: none }`
    : `otlphttp: { endpoint: "http://127.0.0.1:${PORTS.sinkHttp}", compression: none, ` +
      `sending_queue: { enabled: true, num_consumers: 10, queue_size: 1000 } }`;
  const telemetry = tfo
    ? `{ logs: { level: warn }, metrics: { address: "127.0.0.1:${PORTS.telemetry}" } }`
    : "{ logs: { level: warn }, metrics: { level: none } }";
  const ts = {
    decision_wait: "5s",
    num_traces: 200000,
    policies: POLICIES,
    ...(storage ? { storage: "file_storage" } : {}),
  };
  return `${
    storage
      ? `extensions:\n  file_storage: { directory: ${
        JSON.stringify(storageDir)
      }, create_directory: true }\n`
      : ""
  }receivers:
  otlp:
    protocols:
      http: { endpoint: "127.0.0.1:${PORTS.inHttp}" }
processors:
  tail_sampling: ${JSON.stringify(ts)}
exporters:
  ${exporter}
service:
  ${storage ? "extensions: [file_storage]\n  " : ""}telemetry: ${telemetry}
  pipelines:
    traces: { receivers: [otlp], processors: [tail_sampling], exporters: [otlphttp] }
`;
}

const T0 = BigInt(Date.UTC(2025, 0, 1)) * 1_000_000n;

/** A request template: 10 traces of 10 spans; IDs, errors and durations are set per request. */
function template(): TracesData {
  const spans: Span[] = [];
  for (let i = 0; i < TRACES_PER_REQUEST * SPANS_PER_TRACE; i++) {
    const attributes: KeyValue[] = [
      { key: "http.request.method", value: i % 3 === 0 ? "POST" : "GET" },
      { key: "url.path", value: `/api/v1/cart/${i * 7919}` },
      { key: "http.response.status_code", value: 200n },
      { key: "server.address", value: "cart.internal" },
      { key: "network.protocol.version", value: "1.1" },
      { key: "user_agent.original", value: "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0" },
    ];
    spans.push({
      traceId: new Uint8Array(16),
      spanId: new Uint8Array(8),
      traceState: "",
      parentSpanId: new Uint8Array(i % SPANS_PER_TRACE === 0 ? 0 : 8),
      flags: 1,
      name: i % 2 ? "GET /api/v1/cart/{id}" : "SELECT orders",
      kind: 1 + (i % 3),
      startTimeUnixNano: T0,
      endTimeUnixNano: T0,
      attributes,
      droppedAttributesCount: 0,
      events: [],
      droppedEventsCount: 0,
      links: [],
      droppedLinksCount: 0,
      status: { message: "", code: 0 },
    });
  }
  return {
    resourceSpans: [{
      resource: {
        attributes: [
          { key: "service.name", value: "checkout" },
          { key: "host.name", value: "ip-10-0-3-17.eu-west-1.compute.internal" },
        ],
        droppedAttributesCount: 0,
      },
      scopeSpans: [{
        scope: { name: "bench", version: "1", attributes: [], droppedAttributesCount: 0 },
        spans,
        schemaUrl: "",
      }],
      schemaUrl: "",
    }],
  };
}

/** Fills the template with new traces and encodes it. */
function nextRequest(data: TracesData, now: bigint): Uint8Array {
  const spans = data.resourceSpans[0]!.scopeSpans[0]!.spans;
  for (let t = 0; t < TRACES_PER_REQUEST; t++) {
    const traceId = crypto.getRandomValues(new Uint8Array(16));
    const r = Math.random();
    const error = r < 0.05;
    const slow = r >= 0.05 && r < 0.10;
    for (let i = 0; i < SPANS_PER_TRACE; i++) {
      const s = spans[t * SPANS_PER_TRACE + i]!;
      s.traceId = traceId;
      s.spanId = crypto.getRandomValues(new Uint8Array(8));
      s.startTimeUnixNano = now + BigInt(i) * 1_000_000n;
      s.endTimeUnixNano = s.startTimeUnixNano + (slow && i === 0 ? 1_500_000_000n : 20_000_000n);
      s.status = { message: "", code: error && i === SPANS_PER_TRACE - 1 ? 2 : 0 };
    }
  }
  return encodeTracesRequest(data);
}

/** The load generator (its own process): prints `start`, then JSON with acknowledged spans. */
async function generate(target: string, workers: number, warmupS: number, durationS: number) {
  console.log("start");
  const t0 = performance.now();
  const windowStart = t0 + warmupS * 1000;
  const end = windowStart + durationS * 1000;
  let acked = 0;
  let total = 0;
  let errors = 0;
  const worker = async () => {
    const data = template();
    while (performance.now() < end) {
      const body = nextRequest(data, BigInt(Date.now()) * 1_000_000n);
      try {
        const res = await fetch(`http://${target}/v1/traces`, {
          method: "POST",
          headers: { "content-type": "application/x-protobuf" },
          body: body as Uint8Array<ArrayBuffer>,
        });
        await res.arrayBuffer();
        const at = performance.now();
        if (res.ok && at >= windowStart && at < end) acked += TRACES_PER_REQUEST * SPANS_PER_TRACE;
        if (res.ok) total += TRACES_PER_REQUEST * SPANS_PER_TRACE;
        if (!res.ok) errors++;
      } catch {
        errors++;
        await sleep(50);
      }
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
  console.log(JSON.stringify({ acked, total, errors }));
}

interface Measured {
  spansPerSecond: number;
  spansPerCpuSecond: number;
  passedShare: number;
  peakRssMiB: number;
  errors: number;
}

async function stats(): Promise<SinkStats> {
  const r = await fetch(`http://127.0.0.1:${PORTS.sinkHttp}/stats`);
  return await r.json() as SinkStats;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      gen: { type: "boolean", default: false },
      /** Also measure tfo with `storage` (pending spans in file_storage). */
      storage: { type: "boolean", default: false },
      target: { type: "string", default: "" },
      duration: { type: "string", default: "15" },
      warmup: { type: "string", default: "8" },
      workers: { type: "string", default: "16" },
      out: { type: "string", default: new URL("./RESULTS.md", import.meta.url).pathname },
    },
  });
  const o = {
    durationS: Number(values.duration),
    warmupS: Number(values.warmup),
    workers: Number(values.workers),
  };
  if (values.gen) return await generate(values.target!, o.workers, o.warmupS, o.durationS);
  const peersDir = Deno.env.get("TFO_PEERS_DIR") ??
    `${Deno.env.get("HOME") ?? ""}/.cache/tfo-peers`;
  const contrib = `${peersDir}/bin/otelcol-contrib`;
  let hasContrib = true;
  try {
    await Deno.stat(contrib);
  } catch {
    hasContrib = false;
    console.error(
      `otelcol-contrib not found at ${contrib} (run bench/peers.sh); measuring tfo alone`,
    );
  }
  const dir = await Deno.makeTempDir({ prefix: "tfo-tail-bench-" });
  const group = new ChildGroup();
  const results: Partial<Record<Peer, Measured>> = {};
  try {
    await startSink(group);
    const peers: Peer[] = [
      "tfo",
      ...(values.storage ? ["tfo-storage" as const] : []),
      ...(hasContrib ? ["otelcol" as const] : []),
    ];
    for (const peer of peers) {
      const path = `${dir}/${peer}.yaml`;
      await Deno.writeTextFile(path, config(peer, `${dir}/storage`));
      const child = peer !== "otelcol"
        ? group.spawn("tfo", DENO, [
          "run",
          ...TFO_RUN_FLAGS,
          new URL("../main.ts", import.meta.url).pathname,
          "run",
          "--config",
          path,
        ])
        : group.spawn("otelcol-contrib", contrib, ["--config", path]);
      try {
        await waitForPort(PORTS.inHttp, 60_000, child);
        const sStart = await stats();
        const gen = group.spawn("tail_gen", DENO, [
          "run",
          "--allow-all",
          new URL(import.meta.url).pathname,
          "--gen",
          "--target",
          `127.0.0.1:${PORTS.inHttp}`,
          "--workers",
          String(o.workers),
          "--warmup",
          String(o.warmupS),
          "--duration",
          String(o.durationS),
        ]);
        const result = gen.nextLine(
          (l) => l.startsWith("{"),
          (o.warmupS + o.durationS) * 1000 + 60_000,
        );
        result.catch(() => {});
        await gen.nextLine((l) => l === "start", 30_000);
        await sleep(o.warmupS * 1000);
        const before = await sampleProc(child.pid);
        const t0 = performance.now();
        await sleep(o.durationS * 1000);
        const after = await sampleProc(child.pid);
        const seconds = (performance.now() - t0) / 1000;
        const g = JSON.parse(await result) as { acked: number; total: number; errors: number };
        await gen.exited;
        // Every trace is decided within decision_wait plus a tick; give the exporter time too.
        await sleep(8000);
        const sEnd = await stats();
        const cpu = after.cpuSeconds - before.cpuSeconds;
        const r: Measured = {
          spansPerSecond: g.acked / seconds,
          spansPerCpuSecond: g.acked / cpu,
          passedShare: (sEnd.items.traces - sStart.items.traces) / Math.max(1, g.total),
          peakRssMiB: after.hwmBytes / 1024 / 1024,
          errors: g.errors,
        };
        results[peer] = r;
        console.error(
          `${peer}: ${Math.round(r.spansPerSecond)} spans/s, ${
            Math.round(r.spansPerCpuSecond)
          } spans/CPU-s, ` +
            `${(r.passedShare * 100).toFixed(1)}% passed on, peak RSS ${
              r.peakRssMiB.toFixed(0)
            } MiB, ${r.errors} errors`,
        );
      } finally {
        await child.stop();
      }
    }
  } finally {
    await group.stopAll();
    await Deno.remove(dir, { recursive: true });
  }
  const row = (name: string, m: Measured | undefined) =>
    m === undefined
      ? `| ${name} | – | – | – | – |`
      : `| ${name} | ${Math.round(m.spansPerSecond)} | ${Math.round(m.spansPerCpuSecond)} | ${
        (m.passedShare * 100).toFixed(1)
      }% | ${m.peakRssMiB.toFixed(0)} |`;
  const t = results.tfo!, c = results.otelcol;
  const load = (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
  const cpuModel = (await Deno.readTextFile("/proc/cpuinfo")).match(/model name\s*:\s*(.*)/)?.[1] ??
    "?";
  const section = `
## Tail sampling (bench/tail_sampling_bench.ts)

${new Date().toISOString()} · ${navigator.hardwareConcurrency} cores (${cpuModel}), shared with
other work (load average ${load} at the end) · otlp (HTTP protobuf, 10 new traces × 10 spans per
request, ${o.workers} in flight) → tail_sampling (errors, latency > 1 s, 10% of the rest;
decision_wait 5 s) → otlphttp → sink; ${o.warmupS}s warm-up, ${o.durationS}s measured, the same
load on tfo, then on otelcol-contrib v0.161.0. Spans are counted when the peer acknowledged them;
CPU is the peer's own; "passed on" is the share of all acknowledged spans that reached the sink
once every trace was decided (about 19% is expected: 5% errors, 5% slow, 10% of the rest). Target: tfo ≥ 1.5× the Collector's spans per CPU-second.

| peer | spans/s | spans/CPU-s | passed on | peak RSS MiB |
| --- | --- | --- | --- | --- |
${row("tfo", t)}
${results["tfo-storage"] ? row("tfo, storage: file_storage", results["tfo-storage"]) + "\n" : ""}${
    row("otelcol-contrib", c)
  }
${
    c
      ? `\ntfo / contrib per CPU-second: ${
        (t.spansPerCpuSecond / c.spansPerCpuSecond).toFixed(2)
      }×\n`
      : ""
  }`;
  await Deno.writeTextFile(values.out!, section, { append: true });
  console.log(section);
}

if (import.meta.main) await main();
