/**
 * The pipeline page's cost: OTLP/HTTP traces → batch → `otlphttp` → sink through tfo, without the
 * `zpages` extension and with it while a page is open (one server-sent-events stream of stats, and
 * every route — the page, `/api/graph`, a component panel, a new event stream's first frame,
 * `/debug/servicez`, `/debug/pipelinez` — requested in turn, one at a time). Reports spans/s and
 * tfo's CPU per million spans for both, each route's answer times (p50/p95/p99/max), the longest
 * gap between stats frames (a stall of tfo's event loop) and the bench client's own longest stall
 * (so a slow answer can be told from a starved client). Runs alternate (off, on, off, on) so a
 * change in the machine's load shows up in both. The client's first request (its own `fetch`
 * start-up) is made before measuring.
 *
 * ```sh
 * deno run -A bench/zpages_bench.ts [--duration 10] [--workers 64] [--rounds 2] [--rate 1000]
 *   [--pause 50] [--page-only] [--trace-gc] [--main OTHER_CHECKOUT/main.ts] [--out bench/RESULTS.md]
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { ChildGroup, freePort, sleep, TFO_RUN_FLAGS, waitForPort } from "./_children.ts";
import { sampleProc } from "./_proc.ts";
import type { LoadGenResult } from "./load_gen.ts";
import { writeResultsSection } from "./_report.ts";

const DENO = Deno.execPath();
const MAIN = new URL("../main.ts", import.meta.url).pathname;
const SECTION_START = "<!-- zpages-bench:start -->";
const SECTION_END = "<!-- zpages-bench:end -->";

function config(otlp: number, sink: number, zpages: number | undefined): string {
  return [
    ...(zpages === undefined ? [] : ["extensions:", `  zpages: { endpoint: 127.0.0.1:${zpages} }`]),
    "receivers:",
    `  otlp: { protocols: { http: { endpoint: 127.0.0.1:${otlp} } } }`,
    "processors:",
    "  batch: {}",
    "exporters:",
    `  otlphttp: { endpoint: "http://127.0.0.1:${sink}", compression: none }`,
    "service:",
    ...(zpages === undefined ? [] : ["  extensions: [zpages]"]),
    "  telemetry: { metrics: { level: none } }",
    "  pipelines:",
    "    traces: { receivers: [otlp], processors: [batch], exporters: [otlphttp] }",
  ].join("\n");
}

/** The routes the page's user hits, timed one at a time; `sse` is an event stream's first frame. */
const ROUTES = [
  "/",
  "/api/graph",
  "/api/component?node=exporter:otlphttp",
  "/api/events (first frame)",
  "/debug/servicez",
  "/debug/pipelinez",
] as const;

interface Timing {
  route: string;
  ms: number;
  /** Seconds since the measurement started. */
  at: number;
}

interface Result {
  page: boolean;
  spansPerSecond: number;
  cpuPerMillion: number;
  timings: Timing[];
  frames: number;
  /** The longest gap between two stats frames on the page's open stream, ms. */
  maxFrameGapMs: number;
  /** The bench client's own longest event-loop stall (timer lateness), ms. */
  clientLagMs: number;
  errors: number;
  /** tfo's GC pauses while measured, ms (with `--trace-gc`). */
  gcPauses?: number[];
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted.length === 0
    ? 0
    : sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
}

/** Opens an event stream and resolves with the ms until its first stats frame. */
async function firstFrameMs(url: string): Promise<number> {
  const t0 = performance.now();
  const response = await fetch(url);
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  try {
    while (!text.includes("event: stats")) {
      const { value, done } = await reader.read();
      if (done) throw new Error("the event stream ended before its first frame");
      text += value;
    }
    return performance.now() - t0;
  } finally {
    await reader.cancel();
  }
}

/**
 * Keeps a page open: reads the stats stream (counting frames and the longest gap between them)
 * and hits every route in turn, one request at a time, every `pauseMs`, until `until`.
 */
async function openPage(
  base: string,
  until: number,
  pauseMs: number,
): Promise<Pick<Result, "timings" | "frames" | "maxFrameGapMs" | "clientLagMs">> {
  const started = performance.now();
  let clientLagMs = 0;
  let tickAt = performance.now();
  const lag = setInterval(() => {
    const now = performance.now();
    clientLagMs = Math.max(clientLagMs, now - tickAt - 20);
    tickAt = now;
  }, 20);
  // The client's first fetch starts its HTTP machinery (about 100 ms): not the server's time.
  await (await fetch(`${base}/api/graph`)).arrayBuffer();
  const events = await fetch(`${base}/api/events`);
  const reader = events.body!.pipeThrough(new TextDecoderStream()).getReader();
  let frames = 0;
  let maxFrameGapMs = 0;
  let lastFrame: number | undefined;
  const reading = (async () => {
    while (performance.now() < until) {
      const { value, done } = await reader.read();
      if (done) break;
      const n = value.split("event: stats").length - 1;
      if (n === 0) continue;
      const now = performance.now();
      if (lastFrame !== undefined) maxFrameGapMs = Math.max(maxFrameGapMs, now - lastFrame);
      lastFrame = now;
      frames += n;
    }
    await reader.cancel();
  })();
  const timings: Timing[] = [];
  for (let i = 0; performance.now() < until; i++) {
    const route = ROUTES[i % ROUTES.length]!;
    const t0 = performance.now();
    if (route.startsWith("/api/events")) {
      timings.push({
        route,
        ms: await firstFrameMs(`${base}/api/events`),
        at: (t0 - started) / 1000,
      });
    } else {
      const response = await fetch(`${base}${route}`);
      await response.arrayBuffer();
      if (!response.ok) throw new Error(`${route}: HTTP ${response.status}`);
      timings.push({ route, ms: performance.now() - t0, at: (t0 - started) / 1000 });
    }
    await sleep(Math.max(0, pauseMs - (performance.now() - t0)));
  }
  await reading;
  clearInterval(lag);
  return { timings, frames, maxFrameGapMs, clientLagMs };
}

interface Options {
  durationS: number;
  warmupS: number;
  workers: number;
  rate: number;
  /** Pause between two page requests, ms. */
  pauseMs: number;
  /** Run tfo with V8's `--trace-gc` and report its longest pauses. */
  traceGc: boolean;
  /** The tfo to measure: its `main.ts` (another checkout, to compare). */
  main: string;
}

/** A V8 `--trace-gc` line's pause in ms, or undefined for other lines. */
function gcPauseMs(line: string): number | undefined {
  const match =
    / ms: ([A-Za-z -]+?)(?: \(reduce\))? [\d.]+ \([\d.]+\) -> [\d.]+ \([\d.]+\) MB, (?:pooled: [\d.]+ MB, )?([\d.]+) \/ /
      .exec(line);
  return match === null ? undefined : Number(match[2]);
}

async function run(page: boolean, o: Options): Promise<Result> {
  const group = new ChildGroup();
  const dir = await Deno.makeTempDir({ prefix: "tfo-zpages-bench-" });
  try {
    const [otlp, sinkGrpc, sinkHttp] = [freePort(), freePort(), freePort()];
    const zpages = page ? freePort() : undefined;
    const sink = group.spawn("sink", DENO, [
      "run",
      "--allow-all",
      new URL("./sink.ts", import.meta.url).pathname,
      "--grpc-port",
      String(sinkGrpc),
      "--http-port",
      String(sinkHttp),
    ]);
    await sink.nextLine((l) => l === "ready", 60_000);
    await Deno.writeTextFile(`${dir}/config.yaml`, config(otlp, sinkHttp, zpages));
    const tfo = group.spawn("tfo", DENO, [
      "run",
      ...TFO_RUN_FLAGS,
      ...(o.traceGc ? ["--v8-flags=--trace-gc"] : []),
      o.main,
      "run",
      "--config",
      `${dir}/config.yaml`,
    ]);
    await waitForPort(otlp, 60_000, tfo);
    const gcPauses: number[] = [];
    if (o.traceGc) {
      // Every stdout line passes this match; none is awaited.
      tfo.nextLine((line) => {
        const pause = gcPauseMs(line);
        if (pause !== undefined && measuring) gcPauses.push(pause);
        return false;
      }, 24 * 3600_000).catch(() => {});
    }
    let measuring = false;
    const gen = group.spawn("load_gen", DENO, [
      "run",
      "--allow-all",
      new URL("./load_gen.ts", import.meta.url).pathname,
      "--signal",
      "traces",
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
      // Open loop at a fixed rate (requests of 100 spans), as the issue's 100,000 items/s; 0 = as
      // fast as the workers go.
      "--rate",
      String(o.rate),
    ]);
    const resultLine = gen.nextLine(
      (l) => l.startsWith("{"),
      (o.warmupS + o.durationS) * 1000 + 60_000,
    );
    resultLine.catch(() => {});
    await gen.nextLine((l) => l === "start", 30_000);
    await sleep(o.warmupS * 1000);
    const before = await sampleProc(tfo.pid);
    measuring = true;
    const until = performance.now() + o.durationS * 1000;
    const seen = zpages === undefined
      ? (await sleep(o.durationS * 1000),
        { timings: [], frames: 0, maxFrameGapMs: 0, clientLagMs: 0 })
      : await openPage(`http://127.0.0.1:${zpages}`, until, o.pauseMs);
    measuring = false;
    const after = await sampleProc(tfo.pid);
    const result = JSON.parse(await resultLine) as LoadGenResult;
    await gen.exited;
    const cpu = after.cpuSeconds - before.cpuSeconds;
    return {
      page,
      spansPerSecond: result.window.items / result.window.seconds,
      cpuPerMillion: cpu / (result.window.items / 1e6),
      ...seen,
      errors: result.window.errors,
      ...(o.traceGc ? { gcPauses } : {}),
    };
  } finally {
    await group.stopAll();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

function fmt(n: number, digits = 0): string {
  return n.toLocaleString("en-US", {
    maximumFractionDigits: digits,
    minimumFractionDigits: digits,
  });
}

function render(results: Result[], o: Options, load: { before: string; after: string }): string {
  const mean = (page: boolean, pick: (r: Result) => number) => {
    const rs = results.filter((r) => r.page === page);
    return rs.reduce((a, r) => a + pick(r), 0) / Math.max(1, rs.length);
  };
  const off = mean(false, (r) => r.spansPerSecond);
  const on = mean(true, (r) => r.spansPerSecond);
  const timings = results.flatMap((r) => r.timings);
  const ms = (n: number) => fmt(n, 1);
  const routeRow = (route: string, list: Timing[]) => {
    const sorted = list.map((t) => t.ms).sort((a, b) => a - b);
    return `| \`${route}\` | ${sorted.length} | ${ms(percentile(sorted, 0.5))} | ${
      ms(percentile(sorted, 0.95))
    } | ${ms(percentile(sorted, 0.99))} | ${ms(sorted.at(-1) ?? 0)} | ${
      sorted.filter((x) => x > 50).length
    } |`;
  };
  const slow = timings.filter((t) => t.ms > 50).sort((a, b) => b.ms - a.ms).slice(0, 5);
  const gc = results.flatMap((r) => r.gcPauses ?? []).sort((a, b) => a - b);
  return [
    SECTION_START,
    "### The pipeline page's cost (`bench/zpages_bench.ts`)",
    "",
    `Measured by \`deno run -A bench/zpages_bench.ts --duration ${o.durationS} --workers ${o.workers} ` +
    `--rate ${o.rate} --pause ${o.pauseMs}${o.traceGc ? " --trace-gc" : ""}${
      o.main === MAIN ? "" : ` --main ${o.main}`
    }\` (${o.rate === 0 ? "closed loop" : `${fmt(o.rate * 100)} spans/s offered`}) on ${
      new Date().toISOString()
    } (${navigator.hardwareConcurrency} CPUs, shared with the ` +
    `load generator, the sink and other engineers' work: load average ${load.before} before, ` +
    `${load.after} after). OTLP/HTTP traces (100 spans a request) → batch → otlphttp → sink; with ` +
    "the page open: one stats stream, and every route below requested in turn, one at a time, " +
    `${o.pauseMs} ms apart (an event stream opened and timed to its first frame, then closed).`,
    "",
    "| run | page open | spans/s | tfo CPU s per million spans | page requests | stats frames | longest frame gap ms | bench client stall ms | errors |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...results.map((r, i) =>
      `| ${i + 1} | ${r.page ? "yes" : "no"} | ${fmt(r.spansPerSecond)} | ${
        fmt(r.cpuPerMillion, 2)
      } | ${r.timings.length} | ${r.frames} | ${r.page ? ms(r.maxFrameGapMs) : "-"} | ${
        r.page ? ms(r.clientLagMs) : "-"
      } | ${r.errors} |`
    ),
    "",
    `Throughput with the page open: ${fmt((on / off) * 100, 1)}% of without (cost ${
      fmt((1 - on / off) * 100, 1)
    }%).`,
    "",
    "Answer times under that load, ms (from sending the request to the last byte; for the event " +
    "stream, to its first stats frame):",
    "",
    "| route | requests | p50 | p95 | p99 | max | over 50 ms |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...ROUTES.map((route) => routeRow(route, timings.filter((t) => t.route === route))),
    routeRow("all", timings),
    "",
    slow.length === 0
      ? "No answer took over 50 ms."
      : `Slowest answers: ${
        slow.map((t) => `${t.route} ${ms(t.ms)} ms at ${fmt(t.at, 1)} s`).join(", ")
      }.`,
    ...(gc.length === 0 ? [] : [
      "",
      `tfo's GC pauses while measured (V8 \`--trace-gc\`): ${gc.length}, p50 ${
        ms(percentile(gc, 0.5))
      } ms, p99 ${ms(percentile(gc, 0.99))} ms, max ${ms(gc.at(-1) ?? 0)} ms.`,
    ]),
    SECTION_END,
  ].join("\n");
}

async function loadAverage(): Promise<string> {
  const text = await Deno.readTextFile("/proc/loadavg").catch(() => "");
  return text.split(" ").slice(0, 3).join(" ") || "unknown";
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      duration: { type: "string", default: "10" },
      warmup: { type: "string", default: "3" },
      workers: { type: "string", default: "64" },
      rounds: { type: "string", default: "2" },
      /** Requests per second (of 100 spans); 1000 is the issue's 100,000 items/s. */
      rate: { type: "string", default: "1000" },
      /** Pause between two page requests, ms. */
      pause: { type: "string", default: "50" },
      "trace-gc": { type: "boolean", default: false },
      /** Only runs with the page open (for answer times; no throughput comparison). */
      "page-only": { type: "boolean", default: false },
      /** Another checkout's main.ts to measure instead of this one. */
      main: { type: "string", default: MAIN },
      out: { type: "string" },
    },
  });
  const o: Options = {
    durationS: Number(values.duration),
    warmupS: Number(values.warmup),
    workers: Number(values.workers),
    rate: Number(values.rate),
    pauseMs: Number(values.pause),
    traceGc: values["trace-gc"],
    main: values.main,
  };
  const before = await loadAverage();
  const results: Result[] = [];
  for (let i = 0; i < Number(values.rounds); i++) {
    if (!values["page-only"]) results.push(await run(false, o));
    results.push(await run(true, o));
  }
  const section = render(results, o, { before, after: await loadAverage() });
  console.log(section);
  if (values.out !== undefined) {
    await writeResultsSection(values.out, SECTION_START, SECTION_END, section);
  }
}
