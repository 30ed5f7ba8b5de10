/**
 * The remote write exporter benchmark: metric points over OTLP/HTTP protobuf → remote write 1.0
 * (`prometheus_remote_write` in tfo, the contrib `prometheusremotewrite` in the Collector built by
 * `bench/peers.sh`), one peer after the other on the same load, both writing to the same sink in
 * this process (it reads each snappy body, counts it and answers 204). The requests are the
 * pass-through benchmark's metrics requests (cumulative gauges, sums and histograms, 100 points
 * a request), sent from this process; sender, peer and sink share the machine. Both peers run their
 * defaults: an in-memory queue with one sender, up to 5 requests of a batch at once.
 *
 * ```sh
 * deno run -A bench/prometheusremotewrite_bench.ts [--requests 3000] [--workers 16] [--out bench/RESULTS.md]
 * ```
 *
 * Prints a markdown section; with `--out`, puts it into that file's hand-written analysis section
 * (between the `analysis` markers, which `deno task bench` keeps), replacing an earlier one.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { ChildGroup, freePort, sleep, TFO_RUN_FLAGS, waitForPort } from "./_children.ts";
import { sampleProc } from "./_proc.ts";
import { requestTemplates, stampRequest } from "./_payloads.ts";
import { writeResultsSection } from "./_report.ts";

async function waitUntil(done: () => boolean, timeoutMs: number): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > end) throw new Error("Timed out waiting for the sink");
    await sleep(20);
  }
}

const DENO = Deno.execPath();
const MAIN = new URL("../main.ts", import.meta.url).pathname;
const SECTION_START = "<!-- prometheusremotewrite-bench:start -->";
const SECTION_END = "<!-- prometheusremotewrite-bench:end -->";

function peerConfig(type: string, otlp: number, sink: string, telemetry: string): string {
  return [
    "receivers:",
    "  otlp:",
    "    protocols:",
    `      http: { endpoint: 127.0.0.1:${otlp} }`,
    "exporters:",
    `  ${type}:`,
    `    endpoint: ${sink}`,
    "service:",
    telemetry,
    "  pipelines:",
    `    metrics: { receivers: [otlp], exporters: [${type}] }`,
  ].join("\n");
}

/** A remote write receiver that counts what it gets. */
function startSink() {
  const counts = { requests: 0, bytes: 0, refused: 0 };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const body = await req.bytes();
    if (req.headers.get("content-encoding") !== "snappy") {
      counts.refused++;
      return new Response("not snappy", { status: 400 });
    }
    counts.requests++;
    counts.bytes += body.length;
    return new Response(null, { status: 204 });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/api/v1/write`,
    counts,
    close: () => server.shutdown(),
  };
}

interface Result {
  peer: string;
  pointsPerSecond: number;
  cpuSeconds: number;
  pointsPerCpuSecond: number;
  requests: number;
  mibSent: number;
  rssMiB: number;
  errors: number;
}

async function run(
  peer: "tfo" | "otelcol",
  binary: string,
  o: { requests: number; warmup: number; workers: number; profileDir?: string },
): Promise<Result> {
  const group = new ChildGroup();
  const dir = await Deno.makeTempDir({ prefix: "tfo-prw-bench-" });
  const sink = startSink();
  try {
    const otlp = freePort();
    const telemetry = peer === "tfo"
      ? `  telemetry:\n    metrics: { address: 127.0.0.1:${freePort()} }`
      : "  telemetry:\n    metrics: { level: none }";
    const type = peer === "tfo" ? "prometheus_remote_write" : "prometheusremotewrite";
    await Deno.writeTextFile(`${dir}/config.yaml`, peerConfig(type, otlp, sink.url, telemetry));
    const child = peer === "tfo"
      ? group.spawn("tfo", DENO, [
        "run",
        ...(o.profileDir === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${o.profileDir}`]),
        ...TFO_RUN_FLAGS,
        MAIN,
        "run",
        "--config",
        `${dir}/config.yaml`,
      ])
      : group.spawn("otelcol", binary, ["--config", `${dir}/config.yaml`]);
    await waitForPort(otlp, 60_000, child);
    const templates = requestTemplates("metrics", 100);
    const post = async (i: number) => {
      const r = await fetch(`http://127.0.0.1:${otlp}/v1/metrics`, {
        method: "POST",
        headers: { "content-type": "application/x-protobuf" },
        body: stampRequest(templates[i % templates.length]!) as Uint8Array<ArrayBuffer>,
      });
      await r.body?.cancel();
      return r.ok;
    };
    // Warm up (the JIT, the connection pools), then wait for the sink to have it all.
    for (let i = 0; i < o.warmup; i++) await post(i);
    await waitUntil(() => sink.counts.requests >= o.warmup, 120_000);
    const before = await sampleProc(child.pid);
    const base = sink.counts.requests;
    const t0 = performance.now();
    let next = 0;
    let errors = 0;
    await Promise.all(Array.from({ length: o.workers }, async () => {
      while (next < o.requests) {
        const i = next++;
        if (!(await post(i))) errors++;
      }
    }));
    await waitUntil(() => sink.counts.requests - base >= o.requests - errors, 300_000);
    const seconds = (performance.now() - t0) / 1000;
    const after = await sampleProc(child.pid);
    const cpu = after.cpuSeconds - before.cpuSeconds;
    const points = (sink.counts.requests - base) * 100;
    return {
      peer,
      pointsPerSecond: points / seconds,
      cpuSeconds: cpu,
      pointsPerCpuSecond: points / Math.max(cpu, 1e-9),
      requests: sink.counts.requests - base,
      mibSent: sink.counts.bytes / 1048576,
      rssMiB: after.hwmBytes / 1048576,
      errors: errors + sink.counts.refused,
    };
  } finally {
    await group.stopAll();
    await sink.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

function fmt(n: number, digits = 0): string {
  return n.toLocaleString("en-US", {
    maximumFractionDigits: digits,
    minimumFractionDigits: digits,
  });
}

function render(results: Result[], o: { requests: number; workers: number }): string {
  const lines = [
    SECTION_START,
    "### prometheus_remote_write exporter: OTLP/HTTP metrics → remote write 1.0",
    "",
    `Measured by \`deno run -A bench/prometheusremotewrite_bench.ts --requests ${o.requests} ` +
    `--workers ${o.workers}\` on ${new Date().toISOString()} (${navigator.hardwareConcurrency} ` +
    "CPUs, shared with the sender and the sink (both in the benchmark process) and, at the time, other engineers' work: " +
    "compare the peers within this run only). Each peer gets the same requests of the " +
    "pass-through benchmark (100 cumulative points each) over OTLP/HTTP from the benchmark " +
    "process, as fast as it answers; the window ends when the sink (in the benchmark process) " +
    "has received every remote write request, so points/s and CPU are end to end. The peer's " +
    "CPU over that window.",
    "",
    "| peer | points/s delivered | CPU s | points per CPU-second | remote write requests | MiB sent (snappy) | peak RSS MiB | errors |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...results.map((r) =>
      `| ${r.peer} | ${fmt(r.pointsPerSecond)} | ${fmt(r.cpuSeconds, 1)} | ${
        fmt(r.pointsPerCpuSecond)
      } | ${fmt(r.requests)} | ${fmt(r.mibSent, 1)} | ${fmt(r.rssMiB)} | ${r.errors} |`
    ),
  ];
  const tfo = results.find((r) => r.peer === "tfo");
  const col = results.find((r) => r.peer === "otelcol");
  if (tfo !== undefined && col !== undefined) {
    lines.push(
      "",
      `tfo/otelcol points per CPU-second: ${
        (tfo.pointsPerCpuSecond / col.pointsPerCpuSecond).toFixed(2)
      }×; points/s: ${(tfo.pointsPerSecond / col.pointsPerSecond).toFixed(2)}×.`,
    );
  }
  lines.push(SECTION_END);
  return lines.join("\n");
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      requests: { type: "string", default: "3000" },
      warmup: { type: "string", default: "300" },
      workers: { type: "string", default: "16" },
      out: { type: "string" },
      "profile-dir": { type: "string" },
      "no-otelcol": { type: "boolean", default: false },
    },
  });
  const o = {
    requests: Number(values.requests),
    warmup: Number(values.warmup),
    workers: Number(values.workers),
    ...(values["profile-dir"] === undefined ? {} : { profileDir: values["profile-dir"] }),
  };
  const peers = `${
    Deno.env.get("TFO_PEERS_DIR") ?? `${Deno.env.get("HOME")}/.cache/tfo-peers`
  }/bin`;
  const otelcol = `${peers}/otelcol-contrib`;
  const results = [await run("tfo", "", o)];
  try {
    if (values["no-otelcol"]) throw new Error("not wanted");
    await Deno.stat(otelcol);
    results.push(await run("otelcol", otelcol, o));
  } catch {
    console.error(`${otelcol} is not built (bash bench/peers.sh): tfo only`);
  }
  const section = render(results, o);
  console.log(section);
  if (values.out !== undefined) {
    await writeResultsSection(values.out, SECTION_START, SECTION_END, section);
  }
}
