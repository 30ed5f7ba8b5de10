/**
 * The Kafka benchmark: spans over OTLP/HTTP protobuf into an agent `tfo run` (otlp → `kafka`
 * exporter, its sending queue batching), through a real broker (Kafka 4.1.1, KRaft, started here
 * on loopback; see tests/fixtures/kafka.ts), out of a collector `tfo run` (`kafka` receiver, offsets
 * marked after the pipeline accepted → otlphttp → `bench/sink.ts`). Load generator, both tfos, the
 * broker and the sink share the machine.
 *
 * Produced is the rise of the agent's `otelcol_exporter_sent_spans`, consumed the rise of the
 * collector's `otelcol_receiver_accepted_spans` over the measured window; CPU is each process's
 * own over the same window, given per million spans. No Collector runs: the contrib build here
 * (bench/peers.sh) has no kafka components, and adding them is a separate Go build.
 *
 * ```sh
 * deno run -A bench/kafka_bench.ts [--duration 15] [--workers 8] [--compression none] [--out bench/RESULTS.md]
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { ChildGroup, freePort, sleep, TFO_RUN_FLAGS, waitForPort } from "./_children.ts";
import { sampleProc } from "./_proc.ts";
import type { LoadGenResult } from "./load_gen.ts";
import { writeResultsSection } from "./_report.ts";
import { KAFKA_MISSING, startKafka } from "../tests/fixtures/kafka.ts";

const DENO = Deno.execPath();
const MAIN = new URL("../main.ts", import.meta.url).pathname;
const SECTION_START = "<!-- kafka-bench:start -->";
const SECTION_END = "<!-- kafka-bench:end -->";

function agentConfig(bootstrap: string, otlp: number, metrics: number, compression: string) {
  return [
    "receivers:",
    "  otlp:",
    "    protocols:",
    `      http: { endpoint: 127.0.0.1:${otlp} }`,
    "exporters:",
    "  kafka:",
    `    brokers: [${bootstrap}]`,
    "    traces: { topic: bench_spans }",
    `    producer: { compression: ${compression} }`,
    "    sending_queue:",
    "      queue_size: 200",
    "      num_consumers: 4",
    "      batch: { flush_timeout: 200ms, min_size: 2000, max_size: 4000 }",
    "service:",
    "  telemetry:",
    `    metrics: { address: 127.0.0.1:${metrics} }`,
    "  pipelines:",
    "    traces: { receivers: [otlp], exporters: [kafka] }",
  ].join("\n");
}

function collectorConfig(bootstrap: string, sinkHttp: number, metrics: number) {
  return [
    "receivers:",
    "  kafka:",
    `    brokers: [${bootstrap}]`,
    "    group_id: bench",
    "    initial_offset: earliest",
    "    traces: { topics: [bench_spans] }",
    "    message_marking: { after: true }",
    "    max_fetch_size: 16MiB",
    "exporters:",
    "  otlphttp:",
    `    endpoint: http://127.0.0.1:${sinkHttp}`,
    "    compression: none",
    "    sending_queue: { queue_size: 200, num_consumers: 4 }",
    "service:",
    "  telemetry:",
    `    metrics: { address: 127.0.0.1:${metrics} }`,
    "  pipelines:",
    "    traces: { receivers: [kafka], exporters: [otlphttp] }",
  ].join("\n");
}

async function counter(metrics: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metrics}/metrics`)).text();
  let sum = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith(name)) sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}

interface Result {
  compression: string;
  produced: number;
  consumed: number;
  agentCpu: number;
  collectorCpu: number;
  brokerCpu: number;
  agentRss: number;
  collectorRss: number;
  records: number;
  offered: number;
  errors: number;
}

async function run(
  o: { durationS: number; warmupS: number; workers: number; compression: string },
): Promise<Result> {
  const group = new ChildGroup();
  const dir = await Deno.makeTempDir({ prefix: "tfo-kafka-bench-" });
  await using broker = await startKafka({ partitions: 4 });
  try {
    const otlp = freePort();
    const agentMetrics = freePort();
    const collectorMetrics = freePort();
    const sinkGrpc = freePort();
    const sinkHttp = freePort();
    const sink = group.spawn("sink", DENO, [
      "run",
      "--allow-all",
      new URL("./sink.ts", import.meta.url).pathname,
      "--grpc-port",
      String(sinkGrpc),
      "--http-port",
      String(sinkHttp),
    ]);
    await sink.nextLine((l) => l === "ready", 30_000);
    await Deno.writeTextFile(
      `${dir}/agent.yaml`,
      agentConfig(broker.bootstrap, otlp, agentMetrics, o.compression),
    );
    await Deno.writeTextFile(
      `${dir}/collector.yaml`,
      collectorConfig(broker.bootstrap, sinkHttp, collectorMetrics),
    );
    const tfo = (name: string) =>
      group.spawn(name, DENO, [
        "run",
        ...TFO_RUN_FLAGS,
        MAIN,
        "run",
        "--config",
        `${dir}/${name}.yaml`,
      ]);
    const collector = tfo("collector");
    await waitForPort(collectorMetrics, 60_000, collector);
    const agent = tfo("agent");
    await waitForPort(otlp, 60_000, agent);
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
    ]);
    const resultLine = gen.nextLine(
      (l) => l.startsWith("{"),
      (o.warmupS + o.durationS) * 1000 + 120_000,
    );
    resultLine.catch(() => {});
    await gen.nextLine((l) => l === "start", 30_000);
    await sleep(o.warmupS * 1000);
    const sample = async () => ({
      agent: await sampleProc(agent.pid),
      collector: await sampleProc(collector.pid),
      broker: broker.pid === undefined ? undefined : await sampleProc(broker.pid),
      produced: await counter(agentMetrics, "otelcol_exporter_sent_spans"),
      consumed: await counter(collectorMetrics, "otelcol_receiver_accepted_spans"),
      records: await counter(agentMetrics, "otelcol_kafka_exporter_messages"),
    });
    const before = await sample();
    const t0 = performance.now();
    await sleep(o.durationS * 1000);
    const after = await sample();
    const seconds = (performance.now() - t0) / 1000;
    const result = JSON.parse(await resultLine) as LoadGenResult;
    await gen.exited;
    return {
      compression: o.compression,
      produced: (after.produced - before.produced) / seconds,
      consumed: (after.consumed - before.consumed) / seconds,
      agentCpu: after.agent.cpuSeconds - before.agent.cpuSeconds,
      collectorCpu: after.collector.cpuSeconds - before.collector.cpuSeconds,
      brokerCpu: after.broker === undefined || before.broker === undefined
        ? NaN
        : after.broker.cpuSeconds - before.broker.cpuSeconds,
      agentRss: after.agent.hwmBytes / 1048576,
      collectorRss: after.collector.hwmBytes / 1048576,
      records: (after.records - before.records) / seconds,
      offered: result.window.items,
      errors: result.window.errors,
    };
  } finally {
    await group.stopAll();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

function fmt(n: number, digits = 0): string {
  if (!Number.isFinite(n)) return "n/a";
  return n.toLocaleString("en-US", {
    maximumFractionDigits: digits,
    minimumFractionDigits: digits,
  });
}

function render(results: Result[], o: { durationS: number; workers: number }, load: string) {
  const perMillion = (cpu: number, rate: number) => cpu / (rate * o.durationS) * 1e6;
  return [
    SECTION_START,
    "### Kafka: OTLP/HTTP spans → `kafka` exporter → Kafka 4.1.1 → `kafka` receiver → otlphttp",
    "",
    `Measured by \`deno run -A bench/kafka_bench.ts --duration ${o.durationS} --workers ${o.workers}\` ` +
    `on ${new Date().toISOString()} (${navigator.hardwareConcurrency} CPUs, load average ${load} ` +
    "before the run; the load generator, both tfos, the broker and the sink share the machine). " +
    "Requests carry 100 spans; the agent's sending queue batches 2,000–4,000 spans per record. " +
    "Produced: the agent's `otelcol_exporter_sent_spans` over the window; consumed: the " +
    "collector's `otelcol_receiver_accepted_spans`. CPU seconds per million spans are each " +
    "process's own. No Collector ran: the contrib build here has no kafka components.",
    "",
    "| compression | spans/s produced | records/s | spans/s consumed | agent CPU s / M spans | collector CPU s / M spans | broker CPU s / M spans | agent / collector peak RSS MiB | offered spans | refused requests |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...results.map((r) =>
      `| ${r.compression} | ${fmt(r.produced)} | ${fmt(r.records)} | ${fmt(r.consumed)} | ${
        fmt(perMillion(r.agentCpu, r.produced), 2)
      } | ${fmt(perMillion(r.collectorCpu, r.consumed), 2)} | ${
        fmt(perMillion(r.brokerCpu, r.produced), 2)
      } | ${fmt(r.agentRss)} / ${fmt(r.collectorRss)} | ${fmt(r.offered)} | ${fmt(r.errors)} |`
    ),
    SECTION_END,
  ].join("\n");
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      duration: { type: "string", default: "15" },
      warmup: { type: "string", default: "5" },
      workers: { type: "string", default: "8" },
      compression: { type: "string", default: "none,lz4" },
      out: { type: "string" },
    },
  });
  if (KAFKA_MISSING !== undefined) {
    console.error(`kafka_bench: ${KAFKA_MISSING}`);
    Deno.exit(1);
  }
  const load = (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
  const o = {
    durationS: Number(values.duration),
    warmupS: Number(values.warmup),
    workers: Number(values.workers),
  };
  const results: Result[] = [];
  for (const compression of values.compression.split(",")) {
    results.push(await run({ ...o, compression }));
  }
  const section = render(results, o, load);
  console.log(section);
  if (values.out !== undefined) {
    await writeResultsSection(values.out, SECTION_START, SECTION_END, section);
  }
}
