/**
 * The log backends benchmark: log records over OTLP/HTTP protobuf into `tfo run`, exported by the
 * `loki` exporter into VictoriaLogs' Loki push API and by the `opensearch` exporter into
 * OpenSearch's bulk API (both real servers, started here on loopback; see
 * tests/fixtures/backends.ts). Load generator (`load_gen.ts`, the pass-through benchmark's logs
 * requests, 100 records each), tfo and the backend share the machine.
 *
 * Throughput is what the exporter delivered: the rise of tfo's own
 * `otelcol_exporter_sent_log_records` over the measured window; CPU is tfo's over the same
 * window, so "records per CPU-second" is tfo's cost per delivered record. No Collector has
 * either exporter: the contrib `loki` exporter was removed before v0.161 and the module proxy
 * reachable here does not serve `exporter/opensearchexporter` (404). For a reference on the same
 * load and backend, `--only otlphttp` runs the Collector (core, `bench/peers.sh`) exporting the
 * same logs with its `otlphttp` exporter into VictoriaLogs' OTLP endpoint, batched as the loki
 * exporter is: the Collector's cheapest path into that backend (the protobuf goes on as it came,
 * nothing is converted per record), not the same work.
 *
 * ```sh
 * deno run -A bench/logs_backends_bench.ts [--duration 10] [--workers 16] [--only loki,opensearch]
 *   [--rate REQUESTS_PER_S] [--out bench/RESULTS.md]   # --only loki,opensearch,otlphttp
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
import type { LoadGenResult } from "./load_gen.ts";
import {
  type Backend,
  OPENSEARCH_MISSING,
  spawnOpenSearch,
  spawnVictoriaLogs,
  VICTORIA_LOGS,
  waitForOpenSearch,
} from "../tests/fixtures/backends.ts";
import { writeResultsSection } from "./_report.ts";

const DENO = Deno.execPath();
const MAIN = new URL("../main.ts", import.meta.url).pathname;
const SECTION_START = "<!-- logs-backends-bench:start -->";
const SECTION_END = "<!-- logs-backends-bench:end -->";

type Target = "loki" | "opensearch" | "otlphttp";

const OTELCOL = `${
  Deno.env.get("TFO_PEERS_DIR") ?? `${Deno.env.get("HOME")}/.cache/tfo-peers`
}/bin/otelcol`;

/** The Collector's config for the `otlphttp` reference: the loki exporter's batching. */
function otelcolConfig(backend: Backend, otlp: number, metrics: number): string {
  return [
    "receivers:",
    "  otlp:",
    "    protocols:",
    `      http: { endpoint: 127.0.0.1:${otlp} }`,
    "exporters:",
    "  otlphttp:",
    `    logs_endpoint: ${backend.url}/insert/opentelemetry/v1/logs`,
    "    sending_queue:",
    "      queue_size: 200",
    "      num_consumers: 4",
    "      sizer: requests",
    "      batch: { flush_timeout: 200ms, min_size: 2000, max_size: 4000, sizer: items }",
    "service:",
    "  telemetry:",
    "    metrics:",
    "      level: normal",
    "      readers:",
    `        - pull: { exporter: { prometheus: { host: 127.0.0.1, port: ${metrics} } } }`,
    "  pipelines:",
    "    logs: { receivers: [otlp], exporters: [otlphttp] }",
  ].join("\n");
}

function tfoConfig(target: Target, backend: Backend, otlp: number, metrics: number): string {
  const exporter = target === "loki"
    ? [
      "  loki:",
      `    endpoint: ${backend.url}/insert/loki/api/v1/push`,
    ]
    : [
      "  opensearch:",
      `    http: { endpoint: ${backend.url} }`,
      "    logs_index: bench-logs",
      // OpenSearch on this machine indexes a few hundred documents a second: smaller bulks,
      // fewer at once, and a deadline no bulk reaches (a timed-out bulk is sent again).
      "    timeout: 300s",
    ];
  return [
    "receivers:",
    "  otlp:",
    "    protocols:",
    `      http: { endpoint: 127.0.0.1:${otlp} }`,
    "exporters:",
    ...exporter,
    "    sending_queue:",
    "      queue_size: 200",
    `      num_consumers: ${target === "loki" ? 4 : 2}`,
    target === "loki"
      ? "      batch: { flush_timeout: 200ms, min_size: 2000, max_size: 4000 }"
      : "      batch: { flush_timeout: 200ms, min_size: 500, max_size: 1000 }",
    "service:",
    "  telemetry:",
    `    metrics: { address: 127.0.0.1:${metrics} }`,
    "  pipelines:",
    `    logs: { receivers: [otlp], exporters: [${target}] }`,
  ].join("\n");
}

async function exporterCounter(
  metrics: number,
  target: Target,
  name = "otelcol_exporter_sent_log_records",
): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metrics}/metrics`)).text();
  let sum = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith(name) && line.includes(`exporter="${target}"`)) {
      sum += Number(line.slice(line.lastIndexOf(" ") + 1));
    }
  }
  return sum;
}

interface Result {
  target: Target;
  recordsPerSecond: number;
  cpuSeconds: number;
  recordsPerCpuSecond: number;
  backendCpuSeconds: number;
  rssMiB: number;
  offered: number;
  refused: number;
  failed: number;
}

async function startBackend(target: Target): Promise<Backend> {
  if (target !== "opensearch") {
    const port = freePort();
    const vl = await spawnVictoriaLogs(port);
    await waitForPort(port, 30_000);
    return vl;
  }
  const os = await spawnOpenSearch(freePort(), freePort());
  await waitForOpenSearch(os);
  return os;
}

async function backendPid(backend: Backend): Promise<number | undefined> {
  // The backend's process is the one listening on its port: find it through /proc/net/tcp.
  const hex = backend.port.toString(16).toUpperCase().padStart(4, "0");
  // Java listens on an IPv6 socket even for 127.0.0.1: look in both tables.
  const tcp = (await Deno.readTextFile("/proc/net/tcp")) + "\n" +
    (await Deno.readTextFile("/proc/net/tcp6").catch(() => ""));
  const inode = tcp.split("\n").map((l) => l.trim().split(/\s+/)).find((f) =>
    f[1]?.endsWith(`:${hex}`) && f[3] === "0A"
  )?.[9];
  if (inode === undefined) return undefined;
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      for await (const fd of Deno.readDir(`/proc/${entry.name}/fd`)) {
        const link = await Deno.readLink(`/proc/${entry.name}/fd/${fd.name}`).catch(() => "");
        if (link === `socket:[${inode}]`) return Number(entry.name);
      }
    } catch {
      // not ours to read, or gone
    }
  }
  return undefined;
}

async function run(
  target: Target,
  o: { durationS: number; warmupS: number; workers: number; rate: number },
): Promise<Result> {
  if (target === "opensearch") {
    // A fresh JVM takes tens of seconds over its first bulk requests on a loaded machine.
    o = { ...o, warmupS: Math.max(o.warmupS, 45) };
  }
  const group = new ChildGroup();
  const dir = await Deno.makeTempDir({ prefix: "tfo-logs-bench-" });
  await using backend = await startBackend(target);
  try {
    const otlp = freePort();
    const metrics = freePort();
    await Deno.writeTextFile(
      `${dir}/config.yaml`,
      target === "otlphttp"
        ? otelcolConfig(backend, otlp, metrics)
        : tfoConfig(target, backend, otlp, metrics),
    );
    const tfo = target === "otlphttp"
      ? group.spawn("otelcol", OTELCOL, ["--config", `${dir}/config.yaml`])
      : group.spawn("tfo", DENO, [
        "run",
        ...TFO_RUN_FLAGS,
        MAIN,
        "run",
        "--config",
        `${dir}/config.yaml`,
      ]);
    await waitForPort(otlp, 60_000, tfo);
    const gen = group.spawn("load_gen", DENO, [
      "run",
      "--allow-all",
      new URL("./load_gen.ts", import.meta.url).pathname,
      "--signal",
      "logs",
      "--protocol",
      "http",
      "--target",
      `127.0.0.1:${otlp}`,
      "--workers",
      String(o.workers),
      "--warmup",
      String(o.warmupS),
      "--duration",
      String(o.durationS),
      "--items",
      "100",
      "--rate",
      String(o.rate),
    ]);
    const resultLine = gen.nextLine(
      (l) => l.startsWith("{"),
      (o.warmupS + o.durationS) * 1000 + 120_000,
    );
    resultLine.catch(() => {});
    await gen.nextLine((l) => l === "start", 30_000);
    await sleep(o.warmupS * 1000);
    const pid = await backendPid(backend);
    const before = await sampleProc(tfo.pid);
    const backendBefore = pid === undefined ? undefined : await sampleProc(pid);
    const sentBefore = await exporterCounter(metrics, target);
    const t0 = performance.now();
    await sleep(o.durationS * 1000);
    const sentAfter = await exporterCounter(metrics, target);
    const seconds = (performance.now() - t0) / 1000;
    const after = await sampleProc(tfo.pid);
    const backendAfter = pid === undefined ? undefined : await sampleProc(pid);
    const result = JSON.parse(await resultLine) as LoadGenResult;
    await gen.exited;
    const failed = await exporterCounter(
      metrics,
      target,
      "otelcol_exporter_send_failed_log_records",
    );
    if (sentAfter === sentBefore) {
      console.error(`${target}: nothing delivered; the peer said:\n${tfo.tail()}`);
    }
    const cpu = after.cpuSeconds - before.cpuSeconds;
    const sent = sentAfter - sentBefore;
    return {
      target,
      recordsPerSecond: sent / seconds,
      cpuSeconds: cpu,
      recordsPerCpuSecond: sent / Math.max(cpu, 1e-9),
      backendCpuSeconds: backendAfter === undefined || backendBefore === undefined
        ? NaN
        : backendAfter.cpuSeconds - backendBefore.cpuSeconds,
      rssMiB: after.hwmBytes / 1048576,
      offered: result.window.items,
      refused: result.window.errors,
      failed,
    };
  } finally {
    await group.stopAll();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

function fmt(n: number, digits = 0): string {
  if (Number.isNaN(n)) return "n/a";
  return n.toLocaleString("en-US", {
    maximumFractionDigits: digits,
    minimumFractionDigits: digits,
  });
}

async function loadAverage(): Promise<string> {
  try {
    return (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
  } catch {
    return "unknown";
  }
}

function render(
  results: Result[],
  o: { durationS: number; workers: number; rate: number },
  load: string,
): string {
  return [
    SECTION_START,
    "### Log backends: OTLP/HTTP logs → `loki` (VictoriaLogs) and `opensearch` (OpenSearch 2.19.6)",
    "",
    `Measured by \`deno run -A bench/logs_backends_bench.ts --duration ${o.durationS} ` +
    `--workers ${o.workers}${o.rate > 0 ? ` --rate ${o.rate}` : ""}\` on ${
      new Date().toISOString()
    } (${navigator.hardwareConcurrency} ` +
    `CPUs, load average ${load} before the run: the machine is shared with the load generator, ` +
    "the backend and other engineers' work). Records/s is what the exporter delivered " +
    "(`otelcol_exporter_sent_log_records` over the window), CPU is tfo's; the backend's CPU is " +
    "shown apart. Requests are the pass-through benchmark's logs requests (100 records); the " +
    "sending queue batches 2,000–4,000 records per push (4 pushes at once) for Loki and " +
    "500–1,000 per bulk (2 at once) for OpenSearch. No Collector has either exporter (the " +
    "contrib loki exporter is gone from v0.161, and the module proxy answers 404 for " +
    "exporter/opensearchexporter); the `otlphttp` row, when present, is the Collector " +
    "(core) exporting the same logs with otlphttp into VictoriaLogs' OTLP endpoint, batched " +
    "as for Loki: a reference for the same load and backend, not the same work (its CPU is " +
    "in the tfo columns).",
    "",
    "| exporter → backend | records/s delivered | tfo CPU s | records per tfo CPU-second | backend CPU s | tfo peak RSS MiB | offered records | refused requests | failed records |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...results.map((r) =>
      `| ${
        r.target === "loki"
          ? "loki → VictoriaLogs"
          : r.target === "opensearch"
          ? "opensearch → OpenSearch"
          : "otelcol otlphttp → VictoriaLogs (OTLP)"
      } | ${fmt(r.recordsPerSecond)} | ${fmt(r.cpuSeconds, 1)} | ${fmt(r.recordsPerCpuSecond)} | ${
        fmt(r.backendCpuSeconds, 1)
      } | ${fmt(r.rssMiB)} | ${fmt(r.offered)} | ${fmt(r.refused)} | ${fmt(r.failed)} |`
    ),
    SECTION_END,
  ].join("\n");
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      duration: { type: "string", default: "10" },
      warmup: { type: "string", default: "3" },
      workers: { type: "string", default: "16" },
      only: { type: "string", default: "loki,opensearch" },
      rate: { type: "string", default: "0" },
      out: { type: "string" },
    },
  });
  const o = {
    durationS: Number(values.duration),
    warmupS: Number(values.warmup),
    workers: Number(values.workers),
    rate: Number(values.rate),
  };
  const load = await loadAverage();
  const results: Result[] = [];
  const only = values.only.split(",");
  if (only.includes("loki")) {
    if (VICTORIA_LOGS === undefined) console.error("victoria-logs is not built (bench/peers.sh)");
    else results.push(await run("loki", o));
  }
  if (only.includes("otlphttp")) {
    if (VICTORIA_LOGS === undefined) console.error("victoria-logs is not built (bench/peers.sh)");
    else results.push(await run("otlphttp", o));
  }
  if (only.includes("opensearch")) {
    if (OPENSEARCH_MISSING !== undefined) console.error(`opensearch: ${OPENSEARCH_MISSING}`);
    else results.push(await run("opensearch", o));
  }
  const section = render(results, o, load);
  console.log(section);
  if (values.out !== undefined) {
    await writeResultsSection(values.out, SECTION_START, SECTION_END, section);
  }
}
