/**
 * The span metrics benchmark: OTLP/HTTP traces in → `span_metrics` connector (default dimensions
 * plus `http.method`, explicit histogram, flush every 5 s) → metrics pipeline → `otlphttp` → the
 * bench sink, through tfo and through the contrib Collector (`otelcol-contrib`, built by
 * `bench/peers.sh`) on the same closed-loop load, one after the other in one run. Reports spans
 * accepted per second and per CPU-second of the peer and its peak RSS, and appends a section to
 * `bench/RESULTS.md` (or `--out`).
 *
 * ```sh
 * deno run -A bench/spanmetrics_bench.ts [--duration 10] [--warmup 3] [--out bench/RESULTS.md]
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { type Child, ChildGroup, sleep, TFO_RUN_FLAGS, waitForPort } from "./_children.ts";
import { sampleProc } from "./_proc.ts";
import type { LoadGenResult } from "./load_gen.ts";
import { PORTS, startSink } from "./passthrough.ts";

const DENO = Deno.execPath();

/**
 * The generator stamps every request's resource with its send time (`bench.sent_us`), so without
 * `resource_metrics_key_attributes` each request would be a new resource to both peers (the
 * cache-churn worst case). Keying resources by their identity is the documented remedy.
 */
const CONNECTOR = {
  dimensions: [{ name: "http.method" }],
  resource_metrics_key_attributes: ["service.name", "host.name", "k8s.pod.name"],
  metrics_flush_interval: "5s",
};

function config(peer: "tfo" | "otelcol"): string {
  const exporter =
    `otlphttp: { endpoint: "http://127.0.0.1:${PORTS.sinkHttp}", compression: none }`;
  const telemetry = peer === "tfo"
    ? `{ logs: { level: warn }, metrics: { address: "127.0.0.1:${PORTS.telemetry}" } }`
    : "{ logs: { level: warn }, metrics: { level: none } }";
  return `receivers:
  otlp:
    protocols:
      http: { endpoint: "127.0.0.1:${PORTS.inHttp}" }
connectors:
  span_metrics: ${JSON.stringify(CONNECTOR)}
exporters:
  ${exporter}
service:
  telemetry: ${telemetry}
  pipelines:
    traces: { receivers: [otlp], exporters: [span_metrics] }
    metrics: { receivers: [span_metrics], exporters: [otlphttp] }
`;
}

interface Measured {
  spansPerSecond: number;
  spansPerCpuSecond: number;
  peakRssMiB: number;
  errors: number;
}

async function measure(
  group: ChildGroup,
  peer: Child,
  o: { warmupS: number; durationS: number; workers: number; items: number },
): Promise<Measured> {
  const gen = group.spawn("load_gen", DENO, [
    "run",
    "--allow-all",
    new URL("./load_gen.ts", import.meta.url).pathname,
    "--signal",
    "traces",
    "--protocol",
    "http",
    "--target",
    `127.0.0.1:${PORTS.inHttp}`,
    "--workers",
    String(o.workers),
    "--rate",
    "0",
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
  await sleep(o.durationS * 1000);
  const after = await sampleProc(peer.pid);
  const g = JSON.parse(await result) as LoadGenResult;
  await gen.exited;
  const cpu = after.cpuSeconds - before.cpuSeconds;
  return {
    spansPerSecond: g.window.items / g.window.seconds,
    // The generator's window and the CPU window cover the same measured seconds.
    spansPerCpuSecond: (g.window.items / g.window.seconds) * (o.durationS / cpu),
    peakRssMiB: after.hwmBytes / 2 ** 20,
    errors: g.window.errors,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      duration: { type: "string", default: "10" },
      warmup: { type: "string", default: "3" },
      workers: { type: "string", default: "64" },
      items: { type: "string", default: "100" },
      out: { type: "string", default: new URL("./RESULTS.md", import.meta.url).pathname },
    },
  });
  const o = {
    durationS: Number(values.duration),
    warmupS: Number(values.warmup),
    workers: Number(values.workers),
    items: Number(values.items),
  };
  const peersDir = Deno.env.get("TFO_PEERS_DIR") ??
    `${Deno.env.get("HOME") ?? ""}/.cache/tfo-peers`;
  const contrib = `${peersDir}/bin/otelcol-contrib`;
  let hasContrib = true;
  try {
    await Deno.stat(contrib);
  } catch {
    hasContrib = false;
    console.error(`otelcol-contrib not found at ${contrib} (run bench/peers.sh); tfo alone`);
  }
  const dir = await Deno.makeTempDir({ prefix: "tfo-spanmetrics-bench-" });
  const group = new ChildGroup();
  const results: Partial<Record<"tfo" | "otelcol", Measured>> = {};
  const load = (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
  try {
    await startSink(group);
    for (const peer of hasContrib ? ["tfo", "otelcol"] as const : ["tfo"] as const) {
      const path = `${dir}/${peer}.yaml`;
      await Deno.writeTextFile(path, config(peer));
      const child = peer === "tfo"
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
        const r = await measure(group, child, o);
        results[peer] = r;
        console.error(
          `${peer}: ${Math.round(r.spansPerSecond)} spans/s, ${
            Math.round(r.spansPerCpuSecond)
          } spans/CPU-s, peak RSS ${r.peakRssMiB.toFixed(0)} MiB, ${r.errors} errors`,
        );
      } finally {
        await child.stop();
      }
    }
  } finally {
    await group.stopAll();
    await Deno.remove(dir, { recursive: true });
  }
  const loadAfter = (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
  const cpu = (await Deno.readTextFile("/proc/cpuinfo")).match(/model name\s*:\s*(.*)/)?.[1] ?? "?";
  const row = (name: string, r: Measured | undefined) =>
    r === undefined
      ? `| ${name} | – | – | – | – |`
      : `| ${name} | ${Math.round(r.spansPerSecond)} | ${Math.round(r.spansPerCpuSecond)} | ${
        r.peakRssMiB.toFixed(0)
      } | ${r.errors} |`;
  const t = results.tfo!, c = results.otelcol;
  const section = `
## span_metrics connector (bench/spanmetrics_bench.ts)

${new Date().toISOString()} · ${navigator.hardwareConcurrency} cores (${cpu}), shared with other
engineers' work (load average ${load} before, ${loadAfter} after: compare the peers within this run
only) · otlp (HTTP, ${o.items} spans/request, ${o.workers} in flight) → span_metrics (default
dimensions + http.method, resources keyed by service.name, host.name and k8s.pod.name, explicit
histogram, 5 s flush) → otlphttp → sink; ${o.warmupS}s warm-up,
${o.durationS}s measured. tfo against otelcol-contrib v0.161.0, one after the other. Target: tfo ≥
1.5× the Collector's spans per CPU-second.

| peer | spans/s | spans per CPU-second | peak RSS MiB | errors |
| --- | ---: | ---: | ---: | ---: |
${row("tfo", t)}
${row("otelcol-contrib", c)}

${
    c === undefined
      ? "The contrib Collector was not available."
      : `tfo / contrib spans per CPU-second: ${
        (t.spansPerCpuSecond / c.spansPerCpuSecond).toFixed(2)
      }×.`
  }
`;
  await Deno.writeTextFile(values.out!, section, { append: true });
  console.log(section);
}

if (import.meta.main) await main();
