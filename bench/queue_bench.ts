/**
 * The sending queue benchmark: the persistent queue (Deno KV through `file_storage`) against the
 * in-memory queue, in the same run, with the load generator's realistic requests (100 spans,
 * ~41 KiB encoded each).
 *
 * 1. Enqueue and drain, in process: `offer` from 16 concurrent callers until N items are held,
 *    then 10 consumers `take` + `ack` until empty (no sending): items/s, spans/s and MB/s.
 * 2. Drain after a long outage: a tfo agent (otlp → batch → otlphttp) whose backend is down is
 *    filled with a backlog of `outageMib` MiB; then the bench sink comes up and the time until the
 *    queue is empty gives the drain rate.
 * 3. Pass-through cost: the same tfo pipeline with a memory queue, a persistent queue (journal,
 *    `fsync: false`) and a persistent queue with `fsync: true`, driven closed-loop by
 *    `load_gen.ts` over HTTP; items/s delivered at the sink and tfo's CPU time. Run in rounds that
 *    alternate the order, the cost taken per round and the median reported: the machine's load
 *    changes between runs otherwise decide the ratio. Target: the persistent queue costs less than
 *    30% of pass-through throughput.
 *
 * ```sh
 * deno run -A --unstable-kv bench/queue_bench.ts [--quick] [--only inprocess|outage|pass] [--rounds 3] [--workers 256]
 * ```
 *
 * `--only` runs one phase (for A/B runs); the report then holds that phase alone.
 *
 * {@linkcode runQueueBench} returns the results as markdown; run directly, it prints them.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { createMemoryQueue } from "../lib/exporterhelper/memory_queue.ts";
import { createPersistentQueue } from "../lib/exporterhelper/persistent_queue.ts";
import type { SendingQueue } from "../lib/exporterhelper/queue.ts";
import { TRACES_PROTO } from "../lib/otlp/mod.ts";
import { Payload } from "../lib/pdata/payload.ts";
import { createStorageClient, journalName } from "../lib/storage/client.ts";
import { openKvStore } from "../lib/storage/store.ts";
import {
  type Child,
  ChildGroup,
  freePort,
  sleep,
  TFO_RUN_FLAGS,
  waitForPort,
} from "./_children.ts";
import { sampleProc } from "./_proc.ts";
import { requestTemplates } from "./_payloads.ts";
import type { LoadGenResult } from "./load_gen.ts";
import type { SinkStats } from "./sink.ts";

/** How long and how much. */
export interface QueueBenchOptions {
  /** Items enqueued (and drained) in the in-process phase. @default 3000 (quick 800) */
  items?: number;
  /** MiB of backlog built up while the backend is down. @default 128 (quick 16) */
  outageMib?: number;
  /** Seconds of warm-up and of measurement of each pass-through run. @default 3 and 6 */
  warmupS?: number;
  durationS?: number;
  /**
   * Pass-through rounds, each one run per queue, alternating which goes first; costs are taken
   * per round and their median reported, so a change of the machine's load between two runs
   * moves one round, not the result. @default 3 (quick 1)
   */
  rounds?: number;
  /** Requests in flight in the pass-through phase (25,600 spans: the batch fills by size). @default 256 */
  workers?: number;
  /** Progress lines. @default stderr */
  log?: (line: string) => void;
  /** The phases run. @default all three */
  phases?: readonly Phase[];
}

/** The bench's phases. */
export type Phase = "inprocess" | "outage" | "pass";
const PHASES: readonly Phase[] = ["inprocess", "outage", "pass"];

type Kind = "memory" | "persistent";
const KINDS: readonly Kind[] = ["memory", "persistent"];
/** The pass-through phase also runs the persistent queue with `fsync: true` (no journal). */
type PassKind = Kind | "persistent-fsync";
const PASS_KINDS: readonly PassKind[] = ["memory", "persistent", "persistent-fsync"];
const MB = 1e6;
const MIB = 1024 * 1024;
const DENO = Deno.execPath();
const MAIN = new URL("../main.ts", import.meta.url).pathname;

/** Throughput of one phase. */
interface Rate {
  items: number;
  spans: number;
  bytes: number;
  seconds: number;
}

function perSecond(r: Rate): { itemsPs: number; spansPs: number; mbPs: number } {
  return {
    itemsPs: r.items / r.seconds,
    spansPs: r.spans / r.seconds,
    mbPs: r.bytes / MB / r.seconds,
  };
}

// ---- 1. in process ----

interface QueueUnderTest {
  queue: SendingQueue<"traces">;
  close(): Promise<void>;
}

async function openQueue(kind: Kind, capacity: number): Promise<QueueUnderTest> {
  if (kind === "memory") {
    const queue = createMemoryQueue<"traces">({ capacity });
    return { queue, close: () => queue.close() };
  }
  const dir = await Deno.makeTempDir({ prefix: "tfo-queue-bench-" });
  const store = await openKvStore(dir, { createDirectory: true });
  // With a journal, as file_storage offers by default (fsync: false).
  const prefix = ["exporter", "bench", "traces"];
  const client = createStorageClient(store.kv, prefix, undefined, undefined, {
    directory: `${dir}/journal`,
    name: journalName(prefix),
  });
  const queue = await createPersistentQueue(client, "traces", { capacity });
  return {
    queue,
    async close() {
      await queue.close();
      await client.close();
      store.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Both phases of the in-process run, and the bytes the queue held when full. */
interface InProcess {
  enqueue: Rate;
  drain: Rate;
  /** `queue.bytes` with everything enqueued (stored size: compressed for the persistent queue). */
  heldBytes: number;
}

async function enqueueDrain(kind: Kind, items: number): Promise<InProcess> {
  const templates = requestTemplates("traces", 100);
  const { queue, close } = await openQueue(kind, items + 1);
  try {
    let next = 0;
    let bytes = 0;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (next < items) {
        const template = templates[next % templates.length]!;
        next++;
        bytes += template.bytes.length;
        // A fresh payload per offer, as a receiver makes one per request (same bytes).
        await queue.offer(Payload.fromProto("traces", template.bytes, TRACES_PROTO));
      }
    }));
    const enqueue = { items, spans: items * 100, bytes, seconds: (performance.now() - t0) / 1000 };
    const heldBytes = queue.bytes;
    let taken = 0;
    let drainedBytes = 0;
    let drainedSpans = 0;
    const t1 = performance.now();
    await Promise.all(Array.from({ length: 10 }, async () => {
      while (taken < items) {
        taken++;
        const entry = await queue.take();
        if (entry === undefined) return;
        drainedBytes += entry.payload.encodedProto?.length ?? 0;
        drainedSpans += entry.payload.itemCount;
        await entry.ack();
      }
    }));
    const drain = {
      items,
      spans: drainedSpans,
      bytes: drainedBytes,
      seconds: (performance.now() - t1) / 1000,
    };
    if (queue.size !== 0) throw new Error(`The ${kind} queue still holds ${queue.size} items`);
    return { enqueue, drain, heldBytes };
  } finally {
    await close();
  }
}

// ---- tfo processes ----

interface AgentPorts {
  http: number;
  metrics: number;
  sinkHttp: number;
}

function agentYaml(kind: PassKind, ports: AgentPorts, storageDir: string): string {
  const persistent = kind !== "memory";
  return `
extensions:
  file_storage:
    directory: ${storageDir}
    create_directory: true
    fsync: ${kind === "persistent-fsync"}
receivers:
  otlp:
    protocols:
      http: { endpoint: 127.0.0.1:${ports.http} }
processors:
  batch:
    send_batch_size: 8192
    timeout: 200ms
exporters:
  otlphttp:
    endpoint: http://127.0.0.1:${ports.sinkHttp}
    compression: none
    retry_on_failure: { initial_interval: 100ms, max_interval: 1s, max_elapsed_time: 0 }
    sending_queue: { queue_size: 100000${persistent ? ", storage: file_storage" : ""} }
service:
  extensions: [${persistent ? "file_storage" : ""}]
  telemetry:
    logs: { level: warn }
    metrics: { address: 127.0.0.1:${ports.metrics} }
  pipelines:
    traces: { receivers: [otlp], processors: [batch], exporters: [otlphttp] }
`;
}

async function startAgent(
  group: ChildGroup,
  kind: PassKind,
  ports: AgentPorts,
  dir: string,
): Promise<Child & { stop(graceMs?: number): Promise<number> }> {
  const config = `${dir}/agent-${kind}.yaml`;
  await Deno.writeTextFile(config, agentYaml(kind, ports, `${dir}/storage-${kind}`));
  const child = group.spawn(`tfo (${kind} queue)`, DENO, [
    "run",
    ...TFO_RUN_FLAGS,
    MAIN,
    "run",
    "--config",
    config,
  ]);
  await waitForPort(ports.http, 60_000, child);
  await waitForPort(ports.metrics, 10_000, child);
  return child;
}

async function startSink(group: ChildGroup, ports: AgentPorts) {
  const sink = group.spawn("sink", DENO, [
    "run",
    "--allow-all",
    new URL("./sink.ts", import.meta.url).pathname,
    "--grpc-port",
    String(freePort()),
    "--http-port",
    String(ports.sinkHttp),
  ]);
  await sink.nextLine((l) => l === "ready", 30_000);
  await waitForPort(ports.sinkHttp, 10_000, sink);
  return sink;
}

async function sinkStats(port: number): Promise<SinkStats> {
  const response = await fetch(`http://127.0.0.1:${port}/stats`);
  return await response.json() as SinkStats;
}

async function queueGauge(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}{`) && l.includes('"traces"'));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(" ") + 1));
}

// ---- 2. drain after an outage ----

interface OutageResult {
  /** Request bytes accepted while the backend was down (the backlog's payload). */
  backlogBytes: number;
  /** `tfo_exporter_queue_bytes` with the backlog held (stored bytes: compressed on disk). */
  heldBytes: number;
  backlogBatches: number;
  fillSeconds: number;
  /** From the backend coming up to its first delivery (the retry wait in progress). */
  firstDeliverySeconds: number;
  /** From the first delivery until the queue is empty. */
  drain: Rate;
}

async function outageDrain(
  group: ChildGroup,
  kind: Kind,
  dir: string,
  outageMib: number,
): Promise<OutageResult> {
  const ports = { http: freePort(), metrics: freePort(), sinkHttp: freePort() };
  const agent = await startAgent(group, kind, ports, dir);
  let sink: Awaited<ReturnType<typeof startSink>> | undefined;
  try {
    const templates = requestTemplates("traces", 100);
    const target = outageMib * MIB;
    let sent = 0;
    let spans = 0;
    let accepted = 0;
    let stop = false;
    const t0 = performance.now();
    const senders = Array.from({ length: 64 }, async () => {
      while (!stop) {
        const t = templates[sent++ % templates.length]!;
        const response = await fetch(`http://127.0.0.1:${ports.http}/v1/traces`, {
          method: "POST",
          body: t.bytes as Uint8Array<ArrayBuffer>,
          headers: { "content-type": "application/x-protobuf" },
        });
        await response.body?.cancel();
        if (!response.ok) throw new Error(`The agent answered ${response.status} while filling`);
        spans += t.items;
        accepted += t.bytes.length;
      }
    });
    for (;;) {
      await sleep(200);
      if (accepted >= target) break;
      if (performance.now() - t0 > 300_000) throw new Error("Filling the backlog took over 5 min");
    }
    stop = true;
    await Promise.all(senders);
    await sleep(500); // the last batch leaves the batch processor
    const fillSeconds = (performance.now() - t0) / 1000;
    const backlogBytes = accepted;
    const heldBytes = await queueGauge(ports.metrics, "tfo_exporter_queue_bytes");
    const backlogBatches = await queueGauge(ports.metrics, "otelcol_exporter_queue_size");
    sink = await startSink(group, ports);
    // The exporter's consumers are in a retry wait (up to max_interval, 1 s) when the backend
    // comes up: the drain rate is measured from the first delivery, the wait reported apart.
    const up = performance.now();
    let first: number | undefined;
    for (;;) {
      const stats = await sinkStats(ports.sinkHttp);
      if (first === undefined && stats.items.traces > 0) first = performance.now();
      if (
        stats.items.traces >= spans &&
        await queueGauge(ports.metrics, "otelcol_exporter_queue_size") === 0
      ) break;
      if (performance.now() - up > 300_000) throw new Error("Draining took over 5 min");
      await sleep(20);
    }
    const done = performance.now();
    const stats = await sinkStats(ports.sinkHttp);
    return {
      backlogBytes,
      heldBytes,
      backlogBatches,
      fillSeconds,
      firstDeliverySeconds: ((first ?? done) - up) / 1000,
      drain: {
        items: backlogBatches,
        spans: stats.items.traces,
        bytes: stats.bytes,
        seconds: (done - (first ?? up)) / 1000,
      },
    };
  } catch (error) {
    throw new Error(`Outage phase (${kind}) failed; tfo's last output:\n${agent.tail()}`, {
      cause: error,
    });
  } finally {
    await agent.stop();
    await sink?.stop();
  }
}

// ---- 3. pass-through ----

interface PassResult {
  /** Spans delivered from the window's start until the queue drained, per second of that time. */
  itemsPs: number;
  /** Spans delivered in that time. */
  spans: number;
  /** Seconds from the window's start until the queue drained. */
  seconds: number;
  /** tfo's CPU time (user + system, all threads) over the same time, per second. */
  cpuPerS: number;
  /** The 1-minute load average when the window began. */
  load: number;
  errors: number;
  firstError: string | undefined;
}

async function loadAverage(): Promise<number> {
  return Number((await Deno.readTextFile("/proc/loadavg")).split(" ")[0]);
}

async function passThrough(
  group: ChildGroup,
  kind: PassKind,
  dir: string,
  o: Required<Pick<QueueBenchOptions, "warmupS" | "durationS" | "workers">>,
): Promise<PassResult> {
  const ports = { http: freePort(), metrics: freePort(), sinkHttp: freePort() };
  const sink = await startSink(group, ports);
  const agent = await startAgent(group, kind, ports, dir);
  try {
    const gen = group.spawn("load_gen", DENO, [
      "run",
      "--allow-all",
      new URL("./load_gen.ts", import.meta.url).pathname,
      "--signal",
      "traces",
      "--protocol",
      "http",
      "--target",
      `127.0.0.1:${ports.http}`,
      "--workers",
      String(o.workers),
      "--warmup",
      String(o.warmupS),
      "--duration",
      String(o.durationS),
      "--items",
      "100",
    ]);
    const result = gen.nextLine(
      (l) => l.startsWith("{"),
      (o.warmupS + o.durationS) * 1000 + 60_000,
    );
    result.catch(() => {}); // awaited below
    await gen.nextLine((l) => l === "start", 30_000);
    await sleep(o.warmupS * 1000);
    const load = await loadAverage();
    const before = await sinkStats(ports.sinkHttp);
    const cpu0 = (await sampleProc(agent.pid)).cpuSeconds;
    const t0 = performance.now();
    const g = JSON.parse(await result) as LoadGenResult;
    await gen.exited;
    // Count until what was accepted is delivered: on a loaded machine a window alone may end
    // before the first batch arrived (0 spans/s), whatever the queue.
    const deadline = performance.now() + 120_000;
    let after = await sinkStats(ports.sinkHttp);
    while (performance.now() < deadline) {
      const queued = await queueGauge(ports.metrics, "otelcol_exporter_queue_size");
      const now = await sinkStats(ports.sinkHttp);
      if (queued === 0 && now.items.traces === after.items.traces) break;
      after = now;
      await sleep(250);
    }
    const cpu1 = (await sampleProc(agent.pid)).cpuSeconds;
    const seconds = (performance.now() - t0) / 1000;
    const spans = after.items.traces - before.items.traces;
    return {
      itemsPs: spans / seconds,
      spans,
      seconds,
      cpuPerS: (cpu1 - cpu0) / seconds,
      load,
      errors: g.window.errors,
      firstError: g.firstError,
    };
  } catch (error) {
    throw new Error(`Pass-through phase (${kind}) failed; tfo's last output:\n${agent.tail()}`, {
      cause: error,
    });
  } finally {
    await agent.stop();
    await sink.stop();
  }
}

// ---- report ----

const fmt = (n: number, digits = 0) =>
  n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** Runs the three phases for both queues and returns the results as markdown. */
export async function runQueueBench(options: QueueBenchOptions = {}): Promise<string> {
  const log = options.log ?? ((line: string) => console.error(line));
  const items = options.items ?? 3000;
  const outageMib = options.outageMib ?? 128;
  const pass = {
    warmupS: options.warmupS ?? 3,
    durationS: options.durationS ?? 6,
    workers: options.workers ?? 256,
  };
  const rounds = options.rounds ?? 3;
  const dir = await Deno.makeTempDir({ prefix: "tfo-queue-bench-" });
  const group = new ChildGroup();
  const inProcess = new Map<Kind, InProcess>();
  const outage = new Map<Kind, OutageResult>();
  const through: Array<Record<PassKind, PassResult>> = [];
  const started = performance.now();
  const phases = new Set(options.phases ?? PHASES);
  try {
    for (const kind of phases.has("inprocess") ? KINDS : []) {
      log(`Queue bench: ${kind} queue, enqueue and drain ${items} items in process ...`);
      const r = await enqueueDrain(kind, items);
      inProcess.set(kind, r);
      log(
        `  enqueue ${fmt(perSecond(r.enqueue).itemsPs)} items/s, drain ${
          fmt(perSecond(r.drain).itemsPs)
        } items/s`,
      );
    }
    for (const kind of phases.has("outage") ? KINDS : []) {
      log(
        `Queue bench: ${kind} queue, ${outageMib} MiB backlog with the backend down, then drain ...`,
      );
      const r = await outageDrain(group, kind, dir, outageMib);
      outage.set(kind, r);
      log(`  drained ${fmt(r.backlogBytes / MIB)} MiB in ${r.drain.seconds.toFixed(1)} s`);
    }
    for (let round = 0; round < (phases.has("pass") ? rounds : 0); round++) {
      const results: Partial<Record<PassKind, PassResult>> = {};
      for (const kind of round % 2 === 0 ? PASS_KINDS : [...PASS_KINDS].reverse()) {
        log(`Queue bench: pass-through round ${round + 1} with the ${kind} queue ...`);
        const r = await passThrough(group, kind, dir, pass);
        results[kind] = r;
        log(
          `  ${fmt(r.itemsPs)} spans/s, ${fmt(r.itemsPs / r.cpuPerS)} spans per CPU-second, ` +
            `${r.errors} errors, load ${r.load}`,
        );
      }
      through.push(results as Record<PassKind, PassResult>);
    }
  } finally {
    await group.stopAll();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }

  const lines: string[] = [];
  lines.push("## Sending queue: persistent (Deno KV) vs in memory", "");
  lines.push(
    `Requests of 100 spans (~${fmt(requestTemplates("traces", 100, 1)[0]!.bytes.length / 1024)} ` +
      `KiB encoded) from the load generator's templates. Measured in ` +
      `${
        ((performance.now() - started) / 1000).toFixed(0)
      } s on ${navigator.hardwareConcurrency} ` +
      "cores shared with other work; numbers vary run to run.",
    "",
  );
  if (phases.has("inprocess")) inProcessReport(lines, items, inProcess);
  if (phases.has("outage")) outageReport(lines, outageMib, outage);
  if (phases.has("pass")) passReport(lines, pass, through);
  return lines.join("\n");
}

function inProcessReport(
  lines: string[],
  items: number,
  inProcess: ReadonlyMap<Kind, InProcess>,
): void {
  lines.push(`### Enqueue and drain in process (${items} items)`, "");
  lines.push(
    "16 concurrent `offer` calls until every item is held, then 10 consumers `take` + `ack` " +
      "(no sending). Persistent: every offer is written to the queue's journal before it resolves and " +
      "folded into Deno KV behind it (`fsync: false`, the default).",
    "",
  );
  lines.push(
    "| queue | enqueue items/s | enqueue spans/s | enqueue MB/s | drain items/s | drain spans/s | drain MB/s | held / payload bytes |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  for (const kind of KINDS) {
    const r = inProcess.get(kind)!;
    const e = perSecond(r.enqueue);
    const d = perSecond(r.drain);
    lines.push(
      `| ${kind} | ${fmt(e.itemsPs)} | ${fmt(e.spansPs)} | ${fmt(e.mbPs, 1)} | ${
        fmt(d.itemsPs)
      } | ` +
        `${fmt(d.spansPs)} | ${fmt(d.mbPs, 1)} | ${(r.heldBytes / r.enqueue.bytes).toFixed(3)} |`,
    );
  }
}

function outageReport(
  lines: string[],
  outageMib: number,
  outage: ReadonlyMap<Kind, OutageResult>,
): void {
  lines.push("", `### Drain after an outage (${outageMib} MiB backlog)`, "");
  lines.push(
    "tfo (otlp → batch → otlphttp) with the backend down is sent requests until it accepted the " +
      "backlog (batched by up to 8192 spans; held MiB is what its queue reports holding: stored, " +
      'compressed bytes for the persistent queue); then the bench sink comes up. "first delivery" is ' +
      "the retry wait still running when it does (retry up to 1 s apart); the drain runs from the " +
      "first delivery until the queue is empty and the sink has every span.",
    "",
  );
  lines.push(
    "| queue | backlog MiB | held MiB | batches | fill s | first delivery s | drain s | drain spans/s | drain MB/s |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  for (const kind of KINDS) {
    const r = outage.get(kind)!;
    const d = perSecond(r.drain);
    lines.push(
      [
        kind,
        fmt(r.backlogBytes / MIB, 1),
        fmt(r.heldBytes / MIB, 1),
        r.backlogBatches,
        r.fillSeconds.toFixed(1),
        r.firstDeliverySeconds.toFixed(2),
        r.drain.seconds.toFixed(2),
        fmt(d.spansPs),
        fmt(d.mbPs, 1),
      ].join(" | ").replace(/^/, "| ").concat(" |"),
    );
  }
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function passReport(
  lines: string[],
  pass: Required<Pick<QueueBenchOptions, "warmupS" | "durationS" | "workers">>,
  through: ReadonlyArray<Record<PassKind, PassResult>>,
): void {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  lines.push("", "### Pass-through cost", "");
  lines.push(
    `tfo otlp (HTTP) → batch → otlphttp → sink, closed loop with ${pass.workers} requests in ` +
      `flight, ${pass.warmupS} s warm-up, ${pass.durationS} s of load per run, counted from the ` +
      "end of the warm-up until the queue is empty and the sink has everything (spans, s); " +
      `${through.length} rounds of one run per queue, alternating which goes first. tfo CPU is ` +
      "its user + system time per second of that time (2 cores: at most 2.0); load is the " +
      "1-minute load average as the window began. Spans per tfo CPU-second is what the queue " +
      "costs tfo itself; spans/s also moves with the CPU the rest of the machine leaves tfo.",
    "",
  );
  lines.push(
    "| round | queue | spans | s | spans/s | tfo CPU (s/s) | spans per tfo CPU-second | load | errors |",
    "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  const costs: Record<"persistent" | "persistent-fsync", number[]> = {
    persistent: [],
    "persistent-fsync": [],
  };
  const cpuCosts: Record<"persistent" | "persistent-fsync", number[]> = {
    persistent: [],
    "persistent-fsync": [],
  };
  through.forEach((round, i) => {
    for (const kind of PASS_KINDS) {
      const r = round[kind];
      lines.push(
        `| ${i + 1} | ${kind} | ${fmt(r.spans)} | ${r.seconds.toFixed(1)} | ${fmt(r.itemsPs)} | ${
          r.cpuPerS.toFixed(2)
        } | ${fmt(r.itemsPs / r.cpuPerS)} | ${r.load.toFixed(1)} | ${r.errors}${
          r.firstError ? ` (${r.firstError})` : ""
        } |`,
      );
    }
    const perCpu = (r: PassResult) => r.itemsPs / r.cpuPerS;
    for (const kind of ["persistent", "persistent-fsync"] as const) {
      costs[kind].push(1 - round[kind].itemsPs / round.memory.itemsPs);
      cpuCosts[kind].push(1 - perCpu(round[kind]) / perCpu(round.memory));
    }
  });
  lines.push("");
  for (const kind of ["persistent", "persistent-fsync"] as const) {
    const cost = median(costs[kind]);
    const name = kind === "persistent"
      ? "the persistent queue (journal, `fsync: false`, the default)"
      : "the persistent queue with `fsync: true` (every answer waits for a synced commit)";
    lines.push(
      `Cost of ${name}, median of the rounds: ${pct(cost)} of pass-through throughput ` +
        `(rounds: ${costs[kind].map(pct).join(", ")}${
          kind === "persistent" ? `; target < 30%: ${cost < 0.3 ? "met" : "**not met**"}` : ""
        }); ${pct(median(cpuCosts[kind]))} of spans per tfo CPU-second (rounds: ${
          cpuCosts[kind].map(pct).join(", ")
        }).`,
      "",
    );
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      quick: { type: "boolean", default: false },
      only: { type: "string" },
      rounds: { type: "string" },
      workers: { type: "string" },
    },
  });
  const only = values.only;
  if (only !== undefined && !PHASES.includes(only as Phase)) {
    throw new Error(`Unknown phase "${only}": use one of ${PHASES.join(", ")}`);
  }
  const markdown = await runQueueBench({
    ...(values.quick ? { items: 800, outageMib: 16, warmupS: 1, durationS: 3, rounds: 1 } : {}),
    ...(only === undefined ? {} : { phases: [only as Phase] }),
    ...(values.rounds === undefined ? {} : { rounds: Number(values.rounds) }),
    ...(values.workers === undefined ? {} : { workers: Number(values.workers) }),
  });
  console.log(markdown);
}
